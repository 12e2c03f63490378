//! The simulated cluster: nodes, Deployments, pods, the scheduler and the metrics pipeline.
//!
//! Time advances in fixed ticks. In each tick, in this order: the ReplicaSet controller
//! creates or deletes pods to match `spec.replicas`; the scheduler binds Pending pods to nodes
//! with room; pods advance through start-up and back-off; demand is served by the Ready pods
//! (CPU above the limit is throttled, and nodes share CPU when oversubscribed); memory above
//! the limit kills the container (OOM) and it restarts with CrashLoopBackOff back-off; the
//! metrics pipeline publishes usage samples; energy and the run's figures are accounted.
//!
//! Not modelled: node failures, drains and the node provisioner; rolling updates; readiness
//! probe failures other than start-up and OOM restarts; a start-up CPU burst; image caching
//! (every pod draws a fresh start-up delay); eviction under node memory pressure; pod
//! priority and preemption; topology spread and affinity.

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use arbiter_core::energy::NodePower;
use arbiter_core::snapshot::{
    ClusterSnapshot, EXERCISE_LABEL, LoadGeneratorObservation, NodeObservation, PodObservation,
    PodPhase, UsageSample, WorkloadObservation,
};

use crate::SimError;
use crate::config::{ClusterConfig, GIB};
use crate::latency::QueueState;
use crate::load::Demand;

/// One simulated node.
#[derive(Debug, Clone)]
struct Node {
    name: String,
    cpu_milli: i64,
    memory_bytes: i64,
    background_cpu_milli: i64,
    background_memory_bytes: i64,
    requested_cpu_milli: i64,
    requested_memory_bytes: i64,
}

/// One simulated pod of an exercise Deployment.
#[derive(Debug, Clone)]
struct Pod {
    name: String,
    ordinal: u64,
    node: Option<usize>,
    phase: PodPhase,
    created_s: f64,
    /// `status.startTime`: when the pod was bound and the kubelet took it.
    start_s: Option<f64>,
    container_start_s: f64,
    ready: bool,
    ready_at_s: Option<f64>,
    ready_transition_s: Option<f64>,
    restarts: u32,
    backoff_until_s: Option<f64>,
    cpu_history_milli: VecDeque<f64>,
    cpu_milli: f64,
    memory_bytes: i64,
    sample: Option<UsageSample>,
}

impl Pod {
    fn container_running(&self) -> bool {
        self.phase == PodPhase::Running && self.backoff_until_s.is_none()
    }

    /// Order in which the ReplicaSet controller deletes pods, first to go first: unscheduled
    /// before scheduled, Pending before Running, not Ready before Ready, Ready for a shorter
    /// time first, more restarts first, newer first (`ActivePods` in Kubernetes'
    /// controller_utils.go).
    fn deletion_key(&self) -> (bool, u8, bool, i64, i64, i64) {
        let phase_rank = match self.phase {
            PodPhase::Pending => 0,
            _ => 1,
        };
        let ready_since = self
            .ready_transition_s
            .filter(|_| self.ready)
            .unwrap_or(f64::MAX);
        (
            self.node.is_some(),
            phase_rank,
            self.ready,
            -(ready_since * 1000.0) as i64,
            -i64::from(self.restarts),
            -(self.created_s * 1000.0) as i64,
        )
    }
}

/// One exercise Deployment with its pods and queue.
#[derive(Debug, Clone)]
struct Deployment {
    namespace: String,
    name: String,
    spec_replicas: i32,
    pods: Vec<Pod>,
    next_ordinal: u64,
    queue: QueueState,
    latency_history_ms: VecDeque<f64>,
    published_latency_ms: Option<f64>,
    load_cap_cores: Option<f64>,
}

impl Deployment {
    fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Figures of one workload in one tick.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WorkloadTick {
    /// Offered demand in cores, after any load-generator cap.
    pub demand_cores: f64,
    /// Demand removed by a load-generator cap, in cores.
    pub capped_cores: f64,
    /// Work served in core-seconds.
    pub served_core_s: f64,
    /// Work dropped after the client timeout, in core-seconds.
    pub dropped_core_s: f64,
    /// CPU the Ready pods could use, in cores.
    pub ready_capacity_cores: f64,
    /// p95 latency in milliseconds.
    pub p95_ms: f64,
    /// `spec.replicas`.
    pub spec_replicas: i32,
    /// Ready pods.
    pub ready_pods: usize,
    /// Pods not bound to a node.
    pub pending_pods: usize,
    /// Sum of the CPU requests of pods bound to nodes, in millicores.
    pub requested_cpu_milli: i64,
    /// Containers killed for exceeding their memory limit in this tick.
    pub oom_kills: u32,
}

/// Figures of the whole cluster in one tick.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterTick {
    /// Per workload, in Deployment order.
    pub workloads: Vec<WorkloadTick>,
    /// Estimated idle power of all nodes, in watts.
    pub idle_w: f64,
    /// Estimated dynamic power attributed to exercise pods by CPU-time share, in watts.
    pub controlled_dynamic_w: f64,
    /// Estimated dynamic power of everything else, in watts.
    pub background_dynamic_w: f64,
}

/// A simulated Kubernetes cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    name: String,
    config: ClusterConfig,
    seed: u64,
    time_s: f64,
    last_publish_s: f64,
    nodes: Vec<Node>,
    deployments: Vec<Deployment>,
}

impl Cluster {
    /// Creates a cluster with one exercise Deployment per name, each at the configured initial
    /// replicas, at time 0. `seed` drives the per-pod start-up delays.
    pub fn new(
        name: &str,
        config: ClusterConfig,
        seed: u64,
        workloads: &[String],
    ) -> Result<Self, SimError> {
        validate(&config)?;
        let nodes = (0..config.nodes.count)
            .map(|index| Node {
                name: format!("node-{index:03}"),
                cpu_milli: config.nodes.cpu_milli,
                memory_bytes: config.nodes.memory_bytes,
                background_cpu_milli: config.nodes.background_cpu_milli,
                background_memory_bytes: config.nodes.background_memory_bytes,
                requested_cpu_milli: config.nodes.background_cpu_milli,
                requested_memory_bytes: config.nodes.background_memory_bytes,
            })
            .collect();
        let deployments = workloads
            .iter()
            .map(|workload| Deployment {
                namespace: config.workload.namespace.clone(),
                name: workload.clone(),
                spec_replicas: config.workload.initial_replicas,
                pods: Vec::new(),
                next_ordinal: 0,
                queue: QueueState::default(),
                latency_history_ms: VecDeque::new(),
                published_latency_ms: None,
                load_cap_cores: None,
            })
            .collect();
        Ok(Self {
            name: name.to_owned(),
            config,
            seed,
            time_s: 0.0,
            last_publish_s: f64::NEG_INFINITY,
            nodes,
            deployments,
        })
    }

    /// Cluster name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Current time in seconds since the start.
    pub fn time_s(&self) -> f64 {
        self.time_s
    }

    /// The cluster's configuration.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// Returns `spec.replicas` of a workload.
    pub fn spec_replicas(&self, workload: &str) -> Result<i32, SimError> {
        Ok(self.deployments[self.deployment_index(workload)?].spec_replicas)
    }

    /// Sets `spec.replicas` of a workload, as a write to the scale subresource does. The pods
    /// follow at the next tick.
    pub fn scale(&mut self, workload: &str, replicas: i32) -> Result<(), SimError> {
        if replicas < 0 {
            return Err(SimError::InvalidReplicas {
                workload: workload.to_owned(),
                replicas,
            });
        }
        let index = self.deployment_index(workload)?;
        self.deployments[index].spec_replicas = replicas;
        Ok(())
    }

    /// Caps the demand a workload's load generator offers, in cores (`None` removes the cap).
    pub fn cap_load(&mut self, workload: &str, cap_cores: Option<f64>) -> Result<(), SimError> {
        let index = self.deployment_index(workload)?;
        self.deployments[index].load_cap_cores = cap_cores;
        Ok(())
    }

    fn deployment_index(&self, workload: &str) -> Result<usize, SimError> {
        self.deployments
            .iter()
            .position(|deployment| deployment.key() == workload || deployment.name == workload)
            .ok_or_else(|| SimError::UnknownWorkload {
                workload: workload.to_owned(),
                known: self.deployments.iter().map(Deployment::key).collect(),
            })
    }

    /// Advances the cluster by `dt_s` seconds with one demand per Deployment, in order.
    pub fn step(&mut self, dt_s: f64, demands: &[Demand]) -> ClusterTick {
        self.time_s += dt_s;
        let now = self.time_s;
        let mut tick = ClusterTick::default();
        for index in 0..self.deployments.len() {
            self.reconcile_replicas(index);
        }
        self.schedule_pending();
        for index in 0..self.deployments.len() {
            self.advance_lifecycle(index);
        }
        let publish = now - self.last_publish_s >= self.config.metrics.resolution_s - 1e-9;
        for index in 0..self.deployments.len() {
            let demand = demands.get(index).copied().unwrap_or_default();
            let workload_tick = self.serve(index, demand, dt_s, publish);
            tick.workloads.push(workload_tick);
        }
        if publish {
            self.last_publish_s = now;
        }
        self.account_power(&mut tick);
        tick
    }

    /// Creates or deletes pods so that each Deployment has `spec.replicas` of them.
    fn reconcile_replicas(&mut self, index: usize) {
        let now = self.time_s;
        let deployment = &mut self.deployments[index];
        let wanted = deployment.spec_replicas.max(0) as usize;
        while deployment.pods.len() < wanted {
            let ordinal = deployment.next_ordinal;
            deployment.next_ordinal += 1;
            deployment.pods.push(Pod {
                name: format!("{}-{ordinal:05}", deployment.name),
                ordinal,
                node: None,
                phase: PodPhase::Pending,
                created_s: now,
                start_s: None,
                container_start_s: f64::INFINITY,
                ready: false,
                ready_at_s: None,
                ready_transition_s: None,
                restarts: 0,
                backoff_until_s: None,
                cpu_history_milli: VecDeque::new(),
                cpu_milli: 0.0,
                memory_bytes: 0,
                sample: None,
            });
        }
        if deployment.pods.len() > wanted {
            let excess = deployment.pods.len() - wanted;
            let mut order: Vec<usize> = (0..deployment.pods.len()).collect();
            order.sort_by_key(|&pod| {
                (
                    deployment.pods[pod].deletion_key(),
                    deployment.pods[pod].ordinal,
                )
            });
            let mut doomed: Vec<usize> = order.into_iter().take(excess).collect();
            doomed.sort_unstable_by(|a, b| b.cmp(a));
            for pod_index in doomed {
                let pod = deployment.pods.remove(pod_index);
                if let Some(node) = pod.node {
                    self.nodes[node].requested_cpu_milli -= self.config.workload.cpu_request_milli;
                    self.nodes[node].requested_memory_bytes -=
                        self.config.workload.memory_request_bytes;
                }
            }
        }
    }

    /// Binds Pending pods to the node with the most free room (the default scheduler's
    /// LeastAllocated scoring over CPU and memory, ties to the first node by name). Pods that
    /// fit nowhere stay Pending.
    fn schedule_pending(&mut self) {
        let now = self.time_s;
        let workload = &self.config.workload;
        let startup = &self.config.startup;
        for deployment in &mut self.deployments {
            for pod in deployment.pods.iter_mut().filter(|pod| pod.node.is_none()) {
                let mut best: Option<(usize, f64)> = None;
                for (node_index, node) in self.nodes.iter().enumerate() {
                    let free_cpu =
                        node.cpu_milli - node.requested_cpu_milli - workload.cpu_request_milli;
                    let free_memory = node.memory_bytes
                        - node.requested_memory_bytes
                        - workload.memory_request_bytes;
                    if free_cpu < 0 || free_memory < 0 {
                        continue;
                    }
                    let score = (free_cpu as f64 / node.cpu_milli as f64
                        + free_memory as f64 / node.memory_bytes as f64)
                        / 2.0;
                    if best.is_none_or(|(_, best_score)| score > best_score) {
                        best = Some((node_index, score));
                    }
                }
                let Some((node_index, _)) = best else {
                    continue;
                };
                let node = &mut self.nodes[node_index];
                node.requested_cpu_milli += workload.cpu_request_milli;
                node.requested_memory_bytes += workload.memory_request_bytes;
                pod.node = Some(node_index);
                pod.start_s = Some(now);
                let mut rng =
                    ChaCha8Rng::seed_from_u64(pod_seed(self.seed, &deployment.name, pod.ordinal));
                let delay = startup.min_start_s
                    + rng.random::<f64>() * (startup.max_start_s - startup.min_start_s);
                pod.container_start_s = now + delay;
            }
        }
    }

    /// Moves pods through container start, readiness and back-off.
    fn advance_lifecycle(&mut self, index: usize) {
        let now = self.time_s;
        let readiness_delay = self.config.startup.readiness_delay_s;
        for pod in &mut self.deployments[index].pods {
            if pod.phase == PodPhase::Pending && pod.node.is_some() && now >= pod.container_start_s
            {
                pod.phase = PodPhase::Running;
                pod.ready_at_s = Some(pod.container_start_s + readiness_delay);
            }
            if let Some(until) = pod.backoff_until_s
                && now >= until
            {
                pod.backoff_until_s = None;
                pod.ready_at_s = Some(now + readiness_delay);
            }
            if pod.container_running() && !pod.ready && pod.ready_at_s.is_some_and(|at| now >= at) {
                pod.ready = true;
                pod.ready_transition_s = Some(now);
            }
        }
    }

    /// Serves one Deployment's demand for one tick and updates its pods' usage and metrics.
    fn serve(&mut self, index: usize, demand: Demand, dt_s: f64, publish: bool) -> WorkloadTick {
        let now = self.time_s;
        let config = &self.config;
        let deployment = &mut self.deployments[index];
        let capped = deployment
            .load_cap_cores
            .map_or(demand.cpu_cores, |cap| demand.cpu_cores.min(cap));

        // Each Ready pod can use up to its limit, less its fair share of an oversubscribed node.
        let mut node_pods = vec![0usize; self.nodes.len()];
        for pod in deployment.pods.iter().filter(|pod| pod.ready) {
            node_pods[pod.node.expect("Ready pods are bound")] += 1;
        }
        let limit = config.workload.cpu_limit_milli as f64;
        let pod_capacity: Vec<f64> = deployment
            .pods
            .iter()
            .map(|pod| match (pod.ready, pod.node) {
                (true, Some(node)) => {
                    let node = &self.nodes[node];
                    let room = (node.cpu_milli - node.background_cpu_milli) as f64;
                    limit.min(room / node_pods[pod.node.unwrap_or(0)] as f64)
                }
                _ => 0.0,
            })
            .collect();
        let capacity_milli: f64 = pod_capacity.iter().sum();
        let queue_tick =
            deployment
                .queue
                .advance(&config.latency, capped, capacity_milli / 1000.0, dt_s);
        let served_milli = queue_tick.served_core_s / dt_s * 1000.0;

        // Memory of in-flight work is spread over the Ready pods; above the limit is an OOM kill.
        let ready_pods = deployment.pods.iter().filter(|pod| pod.ready).count();
        let work_memory = if ready_pods > 0 {
            demand.memory_gib * GIB as f64 / ready_pods as f64
        } else {
            0.0
        };
        let mut oom_kills = 0;
        for (pod, capacity) in deployment.pods.iter_mut().zip(&pod_capacity) {
            pod.cpu_milli = if pod.ready && capacity_milli > 0.0 {
                served_milli * capacity / capacity_milli
            } else if pod.container_running() {
                config.workload.idle_cpu_milli as f64
            } else {
                0.0
            };
            pod.memory_bytes = if pod.ready {
                config.workload.base_memory_bytes + work_memory as i64
            } else if pod.container_running() {
                config.workload.base_memory_bytes
            } else {
                0
            };
            if pod.memory_bytes > config.workload.memory_limit_bytes {
                oom_kills += 1;
                pod.restarts += 1;
                pod.ready = false;
                pod.ready_transition_s = Some(now);
                let backoff = (config.startup.initial_backoff_s
                    * 2f64.powi(pod.restarts as i32 - 1))
                .min(config.startup.max_backoff_s);
                pod.backoff_until_s = Some(now + backoff);
                pod.memory_bytes = 0;
                pod.cpu_milli = 0.0;
            }
        }

        // The metrics pipeline: a sample averages the last window of usage.
        let window_ticks = (config.metrics.window_s / dt_s).round().max(1.0) as usize;
        for pod in &mut deployment.pods {
            if pod.phase == PodPhase::Running {
                pod.cpu_history_milli.push_back(pod.cpu_milli);
                while pod.cpu_history_milli.len() > window_ticks {
                    pod.cpu_history_milli.pop_front();
                }
            }
            if publish && !pod.cpu_history_milli.is_empty() {
                let mean =
                    pod.cpu_history_milli.iter().sum::<f64>() / pod.cpu_history_milli.len() as f64;
                pod.sample = Some(UsageSample {
                    cpu_milli: mean.round() as i64,
                    memory_bytes: pod.memory_bytes,
                    timestamp_s: now,
                    window_s: config.metrics.window_s,
                });
            }
        }
        deployment.latency_history_ms.push_back(queue_tick.p95_ms);
        while deployment.latency_history_ms.len() > window_ticks {
            deployment.latency_history_ms.pop_front();
        }
        if publish {
            deployment.published_latency_ms = deployment
                .latency_history_ms
                .iter()
                .copied()
                .reduce(f64::max);
        }

        WorkloadTick {
            demand_cores: capped,
            capped_cores: demand.cpu_cores - capped,
            served_core_s: queue_tick.served_core_s,
            dropped_core_s: queue_tick.dropped_core_s,
            ready_capacity_cores: capacity_milli / 1000.0,
            p95_ms: queue_tick.p95_ms,
            spec_replicas: deployment.spec_replicas,
            ready_pods: deployment.pods.iter().filter(|pod| pod.ready).count(),
            pending_pods: deployment
                .pods
                .iter()
                .filter(|pod| pod.node.is_none())
                .count(),
            requested_cpu_milli: deployment
                .pods
                .iter()
                .filter(|pod| pod.node.is_some())
                .count() as i64
                * config.workload.cpu_request_milli,
            oom_kills,
        }
    }

    /// Estimates node power from CPU and memory utilization and attributes the dynamic part to
    /// exercise pods by their share of the node's CPU time.
    fn account_power(&self, tick: &mut ClusterTick) {
        let mut exercise_cpu = vec![0.0; self.nodes.len()];
        let mut exercise_memory = vec![0.0; self.nodes.len()];
        for pod in self
            .deployments
            .iter()
            .flat_map(|deployment| deployment.pods.iter())
        {
            if let Some(node) = pod.node {
                exercise_cpu[node] += pod.cpu_milli;
                exercise_memory[node] += pod.memory_bytes as f64;
            }
        }
        for (index, node) in self.nodes.iter().enumerate() {
            let cpu_used = node.background_cpu_milli as f64 + exercise_cpu[index];
            let memory_used = node.background_memory_bytes as f64 + exercise_memory[index];
            let NodePower { idle_w, dynamic_w } = self.config.power.node_power(
                cpu_used / node.cpu_milli as f64,
                memory_used / node.memory_bytes as f64,
            );
            let controlled_share = if cpu_used > 0.0 {
                exercise_cpu[index] / cpu_used
            } else {
                0.0
            };
            tick.idle_w += idle_w;
            tick.controlled_dynamic_w += dynamic_w * controlled_share;
            tick.background_dynamic_w += dynamic_w * (1.0 - controlled_share);
        }
    }

    /// Returns what an observer sees now: the latest published metrics, not the true usage.
    pub fn snapshot(&self) -> ClusterSnapshot {
        let workload = &self.config.workload;
        let mut missing = Vec::new();
        let workloads = self
            .deployments
            .iter()
            .map(|deployment| {
                let pods: Vec<PodObservation> = deployment
                    .pods
                    .iter()
                    .map(|pod| {
                        if pod.phase == PodPhase::Running && pod.sample.is_none() {
                            missing.push(format!(
                                "metrics.k8s.io: no sample yet for pod {}",
                                pod.name
                            ));
                        }
                        PodObservation {
                            name: pod.name.clone(),
                            phase: pod.phase,
                            ready: pod.ready,
                            node: pod.node.map(|node| self.nodes[node].name.clone()),
                            start_s: pod.start_s,
                            ready_transition_s: pod.ready_transition_s,
                            deleting: false,
                            restarts: pod.restarts,
                            usage: pod.sample,
                        }
                    })
                    .collect();
                WorkloadObservation {
                    namespace: deployment.namespace.clone(),
                    name: deployment.name.clone(),
                    labels: [
                        ("app".to_owned(), deployment.name.clone()),
                        (EXERCISE_LABEL.to_owned(), "true".to_owned()),
                    ]
                    .into_iter()
                    .collect(),
                    spec_replicas: deployment.spec_replicas,
                    ready_replicas: deployment.pods.iter().filter(|pod| pod.ready).count() as i32,
                    cpu_request_milli: workload.cpu_request_milli,
                    cpu_limit_milli: workload.cpu_limit_milli,
                    memory_request_bytes: workload.memory_request_bytes,
                    memory_limit_bytes: workload.memory_limit_bytes,
                    latency_p95_ms: deployment.published_latency_ms,
                    pods,
                }
            })
            .collect();
        let nodes = self
            .nodes
            .iter()
            .map(|node| NodeObservation {
                name: node.name.clone(),
                ready: true,
                cpu_allocatable_milli: node.cpu_milli,
                memory_allocatable_bytes: node.memory_bytes,
                cpu_requested_milli: node.requested_cpu_milli,
                cpu_usage_milli: None,
            })
            .collect();
        let load_generators = self
            .deployments
            .iter()
            .map(|deployment| LoadGeneratorObservation {
                target: deployment.key(),
                cap_cores: deployment.load_cap_cores,
            })
            .collect();
        ClusterSnapshot {
            cluster: self.name.clone(),
            time_s: self.time_s,
            nodes,
            workloads,
            load_generators,
            missing,
        }
    }
}

/// Seed of one pod's start-up delay: the same pod ordinal draws the same delay in every
/// cluster of a run, so the clusters differ only by what their controllers do.
fn pod_seed(seed: u64, deployment: &str, ordinal: u64) -> u64 {
    // FNV-1a over the deployment name, mixed with the seed and ordinal (SplitMix64 finalizer).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in deployment.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed ^ hash ^ ordinal.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn validate(config: &ClusterConfig) -> Result<(), SimError> {
    let invalid = |field: &str, value: String, expected: &str| {
        Err(SimError::InvalidConfig {
            field: field.to_owned(),
            value,
            expected: expected.to_owned(),
        })
    };
    let workload = &config.workload;
    if config.nodes.count == 0 {
        return invalid("nodes.count", "0".to_owned(), "at least 1 node");
    }
    if config.nodes.cpu_milli <= config.nodes.background_cpu_milli {
        return invalid(
            "nodes.cpu_milli",
            config.nodes.cpu_milli.to_string(),
            "more than the background CPU",
        );
    }
    if workload.cpu_request_milli <= 0 || workload.cpu_limit_milli < workload.cpu_request_milli {
        return invalid(
            "workload.cpu_limit_milli",
            format!(
                "request {} limit {}",
                workload.cpu_request_milli, workload.cpu_limit_milli
            ),
            "a positive request no larger than the limit",
        );
    }
    if workload.memory_request_bytes <= 0
        || workload.memory_limit_bytes < workload.memory_request_bytes
    {
        return invalid(
            "workload.memory_limit_bytes",
            format!(
                "request {} limit {}",
                workload.memory_request_bytes, workload.memory_limit_bytes
            ),
            "a positive request no larger than the limit",
        );
    }
    if workload.min_replicas < 1 || workload.max_replicas < workload.min_replicas {
        return invalid(
            "workload.max_replicas",
            format!(
                "min {} max {}",
                workload.min_replicas, workload.max_replicas
            ),
            "1 <= min_replicas <= max_replicas",
        );
    }
    let startup = &config.startup;
    if startup.min_start_s < 0.0 || startup.max_start_s < startup.min_start_s {
        return invalid(
            "startup.max_start_s",
            format!("min {} max {}", startup.min_start_s, startup.max_start_s),
            "0 <= min_start_s <= max_start_s",
        );
    }
    if config.metrics.window_s <= 0.0 || config.metrics.resolution_s <= 0.0 {
        return invalid(
            "metrics.window_s",
            format!(
                "window {} resolution {}",
                config.metrics.window_s, config.metrics.resolution_s
            ),
            "positive seconds",
        );
    }
    Ok(())
}
