//! Builders of cluster snapshots and decision inputs shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use arbiter_core::snapshot::{
    ClusterSnapshot, EXERCISE_LABEL, LoadGeneratorObservation, NodeObservation, ObservedWorkload,
    PodObservation, PodPhase, UsageSample, WorkloadObservation,
};

/// Namespace of the test workloads.
pub const NAMESPACE: &str = "arbiter-exercise";

/// One workload's state for [`snapshot`].
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// Deployment name.
    pub name: String,
    /// `spec.replicas`.
    pub spec: i32,
    /// Ready pods; the rest of `spec` are Running but not Ready.
    pub ready: i32,
    /// Pods that are Pending without a node, on top of `spec` bound pods.
    pub unbound: i32,
    /// Total CPU usage in cores, spread evenly over the Ready pods.
    pub cpu_cores: f64,
    /// Memory working set per pod in bytes.
    pub memory_bytes: i64,
}

impl WorkloadSpec {
    /// Creates a workload with every pod Ready and 256 MiB per pod.
    pub fn new(name: &str, spec: i32, cpu_cores: f64) -> Self {
        Self {
            name: name.to_owned(),
            spec,
            ready: spec,
            unbound: 0,
            cpu_cores,
            memory_bytes: 256 << 20,
        }
    }
}

/// Builds a snapshot with `nodes` nodes of 8 cores and the workloads, pods spread round-robin
/// over the nodes. Each pod requests 500m and is limited to 1000m, with a 1 GiB memory limit.
pub fn snapshot(time_s: f64, nodes: usize, workloads: &[WorkloadSpec]) -> ClusterSnapshot {
    let mut node_requests = vec![500i64; nodes];
    let mut observed = Vec::new();
    for spec in workloads {
        let mut pods = Vec::new();
        let per_pod = if spec.ready > 0 {
            (spec.cpu_cores * 1000.0 / f64::from(spec.ready)).round() as i64
        } else {
            0
        };
        for ordinal in 0..spec.spec.max(0) {
            let node = ordinal as usize % nodes;
            node_requests[node] += 500;
            let ready = ordinal < spec.ready;
            pods.push(PodObservation {
                name: format!("{}-{ordinal:05}", spec.name),
                phase: PodPhase::Running,
                ready,
                node: Some(format!("node-{node:03}")),
                start_s: Some(0.0),
                ready_transition_s: ready.then_some(0.0),
                deleting: false,
                restarts: 0,
                usage: ready.then_some(UsageSample {
                    cpu_milli: per_pod,
                    memory_bytes: spec.memory_bytes,
                    timestamp_s: time_s,
                    window_s: 60.0,
                }),
            });
        }
        for extra in 0..spec.unbound.max(0) {
            pods.push(PodObservation {
                name: format!("{}-pending-{extra:05}", spec.name),
                phase: PodPhase::Pending,
                ready: false,
                node: None,
                start_s: None,
                ready_transition_s: None,
                deleting: false,
                restarts: 0,
                usage: None,
            });
        }
        observed.push(WorkloadObservation {
            namespace: NAMESPACE.to_owned(),
            name: spec.name.clone(),
            labels: exercise_labels(&spec.name),
            spec_replicas: spec.spec,
            ready_replicas: spec.ready,
            cpu_request_milli: 500,
            cpu_limit_milli: 1000,
            memory_request_bytes: 512 << 20,
            memory_limit_bytes: 1 << 30,
            latency_p95_ms: None,
            pods,
        });
    }
    observed.sort_by_key(WorkloadObservation::key);
    ClusterSnapshot {
        cluster: "experimental".to_owned(),
        time_s,
        nodes: (0..nodes)
            .map(|index| NodeObservation {
                name: format!("node-{index:03}"),
                ready: true,
                cpu_allocatable_milli: 8000,
                memory_allocatable_bytes: 32 << 30,
                cpu_requested_milli: node_requests[index],
                cpu_usage_milli: None,
            })
            .collect(),
        load_generators: observed
            .iter()
            .map(|workload| LoadGeneratorObservation {
                target: workload.key(),
                cap_cores: None,
            })
            .collect(),
        workloads: observed,
        missing: Vec::new(),
    }
}

/// Labels of an exercise Deployment.
pub fn exercise_labels(name: &str) -> BTreeMap<String, String> {
    [
        ("app".to_owned(), name.to_owned()),
        (EXERCISE_LABEL.to_owned(), "true".to_owned()),
    ]
    .into_iter()
    .collect()
}

/// Builds an observed workload summary for referee-only tests.
pub fn observed(
    namespace: &str,
    name: &str,
    exercise: bool,
    spec: i32,
    ready: i32,
) -> ObservedWorkload {
    let mut labels = BTreeMap::new();
    labels.insert("app".to_owned(), name.to_owned());
    if exercise {
        labels.insert(EXERCISE_LABEL.to_owned(), "true".to_owned());
    }
    ObservedWorkload {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        labels,
        spec_replicas: spec,
        ready_replicas: ready,
        starting_pods: u32::try_from((spec - ready).max(0)).unwrap_or(0),
        unbound_pods: 0,
        cpu_request_milli: 500,
        cpu_limit_milli: 1000,
        memory_request_bytes: 512 << 20,
        memory_limit_bytes: 1 << 30,
        latency_p95_ms: None,
        restarts: 0,
        placement: BTreeMap::new(),
    }
}

/// Demand in cores at `time_s` of a scenario with a quiet first day, a sustained surge on the
/// second day and a quiet third day: enough for every agent to act.
pub fn scenario_demand(time_s: f64) -> f64 {
    let hour = time_s / 3600.0;
    if (30.0..36.0).contains(&hour) {
        14.0
    } else {
        3.0 + (hour * std::f64::consts::PI / 12.0).sin()
    }
}

/// A one-workload cluster small enough for tests. Scale actions take effect at once and new
/// pods become Ready after `start_ticks` ticks. Usage is the demand up to the Ready pods'
/// limits, and each pod's working set grows by `leak_bytes_per_tick` until a rollout restart
/// resets it.
#[derive(Debug, Clone)]
pub struct MiniCluster {
    /// `spec.replicas`.
    pub spec: i32,
    /// Ticks left for each starting pod.
    pub starting: Vec<u32>,
    /// Ticks a new pod takes to become Ready.
    pub start_ticks: u32,
    /// Working set per pod in bytes.
    pub memory_bytes: i64,
    /// Working-set growth per pod and tick in bytes.
    pub leak_bytes_per_tick: i64,
    /// Load cap in cores.
    pub cap_cores: Option<f64>,
}

impl MiniCluster {
    /// Creates a cluster with `spec` Ready pods and no leak.
    pub fn new(spec: i32) -> Self {
        Self {
            spec,
            starting: Vec::new(),
            start_ticks: 2,
            memory_bytes: 256 << 20,
            leak_bytes_per_tick: 0,
            cap_cores: None,
        }
    }

    /// Advances one tick and returns the snapshot at `time_s` with `demand` cores offered.
    pub fn observe(&mut self, time_s: f64, demand: f64) -> ClusterSnapshot {
        for left in &mut self.starting {
            *left = left.saturating_sub(1);
        }
        self.starting.retain(|left| *left > 0);
        self.memory_bytes = (self.memory_bytes + self.leak_bytes_per_tick).min(1 << 30);
        let starting = i32::try_from(self.starting.len()).unwrap_or(0);
        let ready = (self.spec - starting).max(0);
        let offered = self.cap_cores.map_or(demand, |cap| demand.min(cap));
        let mut spec = WorkloadSpec::new("web", self.spec, offered.min(f64::from(ready)));
        spec.ready = ready;
        spec.memory_bytes = self.memory_bytes;
        let mut snapshot = snapshot(time_s, 5, &[spec]);
        snapshot.load_generators[0].cap_cores = self.cap_cores;
        snapshot
    }

    /// Applies an action unless `dry_run`.
    pub fn apply(&mut self, action: &arbiter_core::action::Action, dry_run: bool) {
        use arbiter_core::action::Action;
        if dry_run {
            return;
        }
        match action {
            Action::Scale { to, .. } => {
                for _ in self.spec..*to {
                    self.starting.push(self.start_ticks);
                }
                let surplus = usize::try_from(self.spec - to).unwrap_or(0);
                let drop_starting = surplus.min(self.starting.len());
                self.starting.truncate(self.starting.len() - drop_starting);
                self.spec = *to;
            }
            Action::RolloutRestart { .. } => self.memory_bytes = 256 << 20,
            Action::CapLoad { cap_cores, .. } => self.cap_cores = *cap_cores,
            Action::Noop | Action::Hold { .. } => {}
        }
    }
}

/// Runs the controller over [`scenario_demand`] for `ticks` ticks of 60 s on a
/// [`MiniCluster`] and returns every decision.
pub fn run_scenario(
    config: arbiter_core::controller::ControllerConfig,
    cluster: &mut MiniCluster,
    ticks: usize,
) -> Vec<arbiter_core::referee::Decision> {
    let mut controller = arbiter_core::controller::Controller::new(config);
    let mut decisions = Vec::new();
    for tick in 0..ticks {
        let time_s = tick as f64 * 60.0;
        let snapshot = cluster.observe(time_s, scenario_demand(time_s));
        for decision in controller.decide(&snapshot) {
            cluster.apply(&decision.action, decision.dry_run());
            decisions.push(decision);
        }
    }
    decisions
}

/// Returns the test scenario's controller configuration: the defaults with the test
/// namespace in scope and no node ceiling, because a [`MiniCluster`] serves one core per
/// Ready pod whatever its nodes, as a cluster with a node autoscaler would.
pub fn scenario_config() -> arbiter_core::controller::ControllerConfig {
    let mut config = arbiter_core::controller::ControllerConfig::default();
    config.referee.allowed_namespaces = vec![NAMESPACE.to_owned()];
    config.policy.node_capacity_ceiling = false;
    config
}
