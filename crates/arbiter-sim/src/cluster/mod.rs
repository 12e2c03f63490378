//! The simulated cluster: nodes, Deployments, pods, the scheduler and the metrics pipeline.
//!
//! Time advances in fixed ticks. Each tick runs these steps in order:
//!
//! 1. Pods of nodes NotReady past the eviction timeout are deleted.
//! 2. The ReplicaSet and Deployment controllers create or delete pods to match
//!    `spec.replicas`, and replace pods of an old template revision by a rolling update.
//! 3. The scheduler binds Pending pods to the best-scoring node with room.
//! 4. The node provisioner, if configured, launches, consolidates and repairs nodes.
//! 5. Pods advance through start-up, readiness and back-off.
//! 6. The Ready pods serve the demand. CPU above the limit is throttled, and the Ready exercise
//!    pods of a node share its CPU when it is oversubscribed. Memory above the limit kills the
//!    container (OOM), which restarts with CrashLoopBackOff back-off.
//! 7. The metrics pipeline publishes usage samples, and energy is estimated.
//!
//! Lifecycle and serving are independent per Deployment, so [`Cluster::set_threads`] spreads
//! them over threads; results do not depend on the thread count.
//!
//! # Not modelled
//!
//! * One pod template for the whole cluster: every Deployment has the same requests and
//!   limits ([`crate::config::WorkloadConfig`]).
//! * The Deployment controller's proportional scaling of old and new ReplicaSets when
//!   `spec.replicas` changes mid-rollout: the rollout uses the current `spec.replicas`.
//!   `minReadySeconds` is 0 and `progressDeadlineSeconds` is not checked.
//! * Pod priority and preemption; topology spread and affinity, which the scheduler does not
//!   score.
//! * Eviction under node memory pressure, and the PodDisruptionBudgets of drains.
//! * Other tenants' pods are a fixed background load per node, not scheduled pods.

mod nodes;
mod pods;
mod scheduler;

use std::collections::BTreeSet;

use arbiter_core::energy::PowerModel;
use arbiter_core::snapshot::{
    ClusterSnapshot, EXERCISE_LABEL, LoadGeneratorObservation, NodeObservation, PodObservation,
    PodPhase, WorkloadObservation,
};

use crate::SimError;
use crate::config::ClusterConfig;
use crate::hpa::{
    ContainerKind, ContainerView, MetricSample, PodList, PodPhase as HpaPodPhase,
    PodResourceMetrics, PodStatus, PodView,
};
use crate::latency::QueueState;
use crate::load::Demand;
use crate::workers::Workers;

use nodes::{Node, NodeState};
use pods::{Deployment, Pod};

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

/// Estimated power of a cluster split three ways, in watts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PowerSplit {
    /// Idle power of all nodes.
    pub idle_w: f64,
    /// Dynamic power attributed to exercise pods by CPU-time share.
    pub controlled_dynamic_w: f64,
    /// Dynamic power of everything else.
    pub background_dynamic_w: f64,
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
    /// Nodes that exist (launching, Ready, cordoned or NotReady), billed for this tick.
    pub nodes: usize,
    /// Pods evicted in this tick by drains, consolidation or NotReady nodes.
    pub evicted_pods: usize,
    /// Estimated power under each of [`ClusterConfig::energy_idle_fractions`], in order.
    pub energy_sweep: Vec<PowerSplit>,
}

/// The HPA's views of one workload's pods, kept between refreshes so that refreshing them
/// reuses their allocations (see [`Cluster::update_pod_views`]). The baseline HPA reads the
/// pods through [`HpaPods`] instead, which needs no per-pod copy.
#[derive(Debug, Clone, Default)]
pub struct PodViewCache {
    /// One view per pod, in pod name order.
    pub views: Vec<PodView>,
    /// Ordinal of the pod each view was last filled from.
    ordinals: Vec<u64>,
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
    launched_nodes: u64,
    workers: Workers,
    sweep_models: Vec<PowerModel>,
    evicted_this_tick: usize,
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
        let background = (
            config.nodes.background_cpu_milli,
            config.nodes.background_memory_bytes,
        );
        let nodes = (0..config.nodes.count)
            .map(|index| {
                Node::new(
                    format!("node-{index:03}"),
                    config.nodes.cpu_milli,
                    config.nodes.memory_bytes,
                    background,
                )
            })
            .collect();
        let deployments = workloads
            .iter()
            .map(|workload| Deployment {
                namespace: config.workload.namespace.clone(),
                name: workload.clone(),
                key: format!("{}/{workload}", config.workload.namespace),
                spec_replicas: config.workload.initial_replicas,
                revision: 0,
                pods: Vec::new(),
                next_ordinal: 0,
                queue: QueueState::default(),
                latency_history_ms: Default::default(),
                published_latency_ms: None,
                load_cap_cores: None,
                readiness_failing_until_s: f64::NEG_INFINITY,
                demand: Demand::default(),
                tick: WorkloadTick::default(),
                ready_nodes: Vec::new(),
                usage: Vec::new(),
            })
            .collect();
        let sweep_models = config
            .energy_idle_fractions
            .iter()
            .map(|fraction| config.power.with_idle_fraction(*fraction))
            .collect();
        Ok(Self {
            name: name.to_owned(),
            config,
            seed,
            time_s: 0.0,
            last_publish_s: f64::NEG_INFINITY,
            nodes,
            deployments,
            launched_nodes: 0,
            workers: Workers::default(),
            sweep_models,
            evicted_this_tick: 0,
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

    /// Sets how many threads advance and serve the Deployments in [`Cluster::step`]; 1 (the
    /// default) runs everything on the caller's thread. Results are the same for any count.
    pub fn set_threads(&mut self, threads: usize) {
        self.workers = Workers::new(threads);
    }

    /// Returns `spec.replicas` of a workload.
    pub fn spec_replicas(&self, workload: &str) -> Result<i32, SimError> {
        Ok(self.deployments[self.deployment_index(workload)?].spec_replicas)
    }

    /// Returns `spec.replicas` of the workload at `index`; 0 when there is none.
    pub fn spec_replicas_at(&self, index: usize) -> i32 {
        self.deployments
            .get(index)
            .map_or(0, |deployment| deployment.spec_replicas)
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

    /// Starts a rolling update of a workload, as a change to its pod template does: pods of
    /// the previous revision are replaced within `rollout.max_surge` and
    /// `rollout.max_unavailable`.
    pub fn rollout(&mut self, workload: &str) -> Result<(), SimError> {
        let index = self.deployment_index(workload)?;
        self.deployments[index].revision += 1;
        Ok(())
    }

    /// Returns whether a workload still has pods of an older template revision.
    pub fn rollout_in_progress(&self, workload: &str) -> Result<bool, SimError> {
        let deployment = &self.deployments[self.deployment_index(workload)?];
        Ok(deployment
            .pods
            .iter()
            .any(|pod| pod.revision != deployment.revision))
    }

    /// Makes the readiness probes of every pod of a workload fail until `until_s`, as when a
    /// dependency the probe checks is down. Pods turn Ready again at the first tick after it.
    pub fn fail_readiness(&mut self, workload: &str, until_s: f64) -> Result<(), SimError> {
        let index = self.deployment_index(workload)?;
        self.deployments[index].readiness_failing_until_s = until_s;
        Ok(())
    }

    /// Makes the metrics pipeline drop the samples of the first `pods` pods of a workload (in
    /// name order) from the next publication on, and restores the others' samples. Pods
    /// created later are not affected.
    pub fn withhold_metrics(&mut self, workload: &str, pods: usize) -> Result<(), SimError> {
        let index = self.deployment_index(workload)?;
        for (position, pod) in self.deployments[index].pods.iter_mut().enumerate() {
            pod.metrics_withheld = position < pods;
        }
        Ok(())
    }

    /// Returns the index of a workload by `namespace/name` or name, the order of the demands
    /// [`Cluster::step`] takes.
    pub fn deployment_index(&self, workload: &str) -> Result<usize, SimError> {
        self.deployments
            .iter()
            .position(|deployment| deployment.key == workload || deployment.name == workload)
            .ok_or_else(|| SimError::UnknownWorkload {
                workload: workload.to_owned(),
                known: self
                    .deployments
                    .iter()
                    .map(|deployment| deployment.key.clone())
                    .collect(),
            })
    }

    /// Returns the key `namespace/name` of the workload at `index`, if there is one.
    pub fn workload_key(&self, index: usize) -> Option<&str> {
        self.deployments
            .get(index)
            .map(|deployment| deployment.key.as_str())
    }

    /// Counts the pods of all workloads.
    pub fn pod_count(&self) -> usize {
        self.deployments
            .iter()
            .map(|deployment| deployment.pods.len())
            .sum()
    }

    /// Returns the names of the nodes that exist, in cluster order.
    pub fn node_names(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|node| node.exists())
            .map(|node| node.name.clone())
            .collect()
    }

    /// Advances the cluster by `dt_s` seconds with one demand per Deployment, in order.
    pub fn step(&mut self, dt_s: f64, demands: &[Demand]) -> ClusterTick {
        self.time_s += dt_s;
        let now = self.time_s;
        self.evicted_this_tick = self.evict_from_lost_nodes();
        let mut may_have_pending = false;
        for index in 0..self.deployments.len() {
            may_have_pending |= self.reconcile_replicas(index);
        }
        if may_have_pending {
            self.schedule_pending();
        }
        if let Some(provisioner) = self.config.provisioner.clone() {
            self.provision(&provisioner);
            self.schedule_pending();
        }

        let startup = &self.config.startup;
        self.workers.for_chunks(&mut self.deployments, |chunk| {
            for deployment in chunk {
                pods::advance_lifecycle(deployment, startup, now);
            }
        });
        self.count_ready_pods();

        let publish = now - self.last_publish_s >= self.config.metrics.resolution_s - 1e-9;
        for (index, deployment) in self.deployments.iter_mut().enumerate() {
            deployment.demand = demands.get(index).copied().unwrap_or_default();
        }
        let nodes = &self.nodes;
        let config = &self.config;
        self.workers.for_chunks(&mut self.deployments, |chunk| {
            for deployment in chunk {
                deployment.tick = pods::serve(deployment, nodes, config, now, dt_s, publish);
            }
        });
        let workloads = self
            .deployments
            .iter()
            .map(|deployment| deployment.tick)
            .collect();
        if publish {
            self.last_publish_s = now;
        }
        let mut tick = ClusterTick {
            workloads,
            evicted_pods: self.evicted_this_tick,
            ..ClusterTick::default()
        };
        self.account_power(&mut tick);
        tick
    }

    /// Counts the Ready, serving exercise pods of each node, for the CPU share of each.
    fn count_ready_pods(&mut self) {
        for node in &mut self.nodes {
            node.ready_pods = 0;
        }
        for &node in self
            .deployments
            .iter()
            .flat_map(|deployment| &deployment.ready_nodes)
        {
            self.nodes[node].ready_pods += 1;
        }
    }

    /// Creates or deletes pods so that each Deployment has `spec.replicas` of them, by a
    /// rolling update while pods of an older revision remain. Returns `false` when the
    /// Deployment has no unbound pod afterwards, `true` when it may have one.
    fn reconcile_replicas(&mut self, index: usize) -> bool {
        let deployment = &self.deployments[index];
        let wanted = deployment.spec_replicas.max(0) as usize;
        // Pods are kept in creation order and revisions only grow, so the first pod has the
        // oldest revision.
        let old = deployment
            .pods
            .first()
            .is_some_and(|pod| pod.revision != deployment.revision);
        debug_assert_eq!(
            old,
            deployment
                .pods
                .iter()
                .any(|pod| pod.revision != deployment.revision)
        );
        // Pods are unbound only when created, and the last serving counted the unbound ones,
        // so no unbound pod then means none now.
        let unbound = deployment.tick.pending_pods > 0;
        debug_assert!(unbound || deployment.pods.iter().all(|pod| pod.node.is_some()));
        if old {
            self.roll(index, wanted);
            return true;
        }
        let current = deployment.pods.len();
        if current < wanted {
            self.create_pods(index, wanted - current);
            return true;
        } else if current > wanted {
            let doomed = self.deletion_order(index, |_| true, current - wanted);
            self.delete_pods(index, doomed);
        }
        unbound
    }

    /// Advances a rolling update by one step, as the Deployment controller's `rolloutRolling` does:
    /// scale the new revision up within the surge, delete unhealthy old pods, then delete old
    /// pods while enough pods stay available.
    fn roll(&mut self, index: usize, wanted: usize) {
        let rollout = &self.config.rollout;
        let surge = (rollout.max_surge * wanted as f64).ceil() as usize;
        let mut unavailable = (rollout.max_unavailable * wanted as f64).floor() as usize;
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        let deployment = &self.deployments[index];
        let revision = deployment.revision;
        let new = deployment
            .pods
            .iter()
            .filter(|pod| pod.revision == revision)
            .count();
        let total = deployment.pods.len();
        let create = wanted
            .saturating_sub(new)
            .min((wanted + surge).saturating_sub(total));
        self.create_pods(index, create);

        let deployment = &self.deployments[index];
        let total = deployment.pods.len() as i64;
        let min_available = wanted.saturating_sub(unavailable) as i64;
        let new_unavailable = deployment
            .pods
            .iter()
            .filter(|pod| pod.revision == revision && !pod.ready)
            .count() as i64;
        let max_scaled_down = total - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return;
        }
        let unhealthy = self.deletion_order(
            index,
            |pod| pod.revision != revision && !pod.ready,
            max_scaled_down as usize,
        );
        self.delete_pods(index, unhealthy);

        let deployment = &self.deployments[index];
        let available = deployment.pods.iter().filter(|pod| pod.ready).count() as i64;
        if available <= min_available {
            return;
        }
        let doomed = self.deletion_order(
            index,
            |pod| pod.revision != revision,
            (available - min_available) as usize,
        );
        self.delete_pods(index, doomed);
    }

    fn create_pods(&mut self, index: usize, count: usize) {
        let now = self.time_s;
        let deployment = &mut self.deployments[index];
        for _ in 0..count {
            let ordinal = deployment.next_ordinal;
            deployment.next_ordinal += 1;
            let name = format!("{}-{ordinal:05}", deployment.name);
            deployment
                .pods
                .push(Pod::new(name, ordinal, deployment.revision, now));
        }
    }

    /// Returns up to `count` indices of pods matching `filter`, in the ReplicaSet controller's
    /// deletion order.
    fn deletion_order(
        &self,
        index: usize,
        filter: impl Fn(&Pod) -> bool,
        count: usize,
    ) -> Vec<usize> {
        let pods = &self.deployments[index].pods;
        let mut order: Vec<usize> = (0..pods.len()).filter(|&pod| filter(&pods[pod])).collect();
        order.sort_by_key(|&pod| (pods[pod].deletion_key(), pods[pod].ordinal));
        order.truncate(count);
        order
    }

    /// Deletes pods by index and returns their requests to their nodes.
    fn delete_pods(&mut self, index: usize, mut doomed: Vec<usize>) {
        doomed.sort_unstable_by(|a, b| b.cmp(a));
        let workload = &self.config.workload;
        for pod_index in doomed {
            let pod = self.deployments[index].pods.remove(pod_index);
            if let Some(node) = pod.node {
                let node = &mut self.nodes[node];
                node.requested_cpu_milli -= workload.cpu_request_milli;
                node.requested_memory_bytes -= workload.memory_request_bytes;
                node.bound_pods -= 1;
            }
        }
    }

    /// Binds Pending pods, in Deployment and pod order, to the best-scoring schedulable node
    /// with room (see [`scheduler`]). Pods that fit nowhere stay Pending.
    fn schedule_pending(&mut self) {
        let has_pending = self
            .deployments
            .iter()
            .any(|deployment| deployment.pods.iter().any(|pod| pod.node.is_none()));
        if !has_pending {
            return;
        }
        let now = self.time_s;
        let workload = &self.config.workload;
        let (cpu, memory) = (workload.cpu_request_milli, workload.memory_request_bytes);
        let strategy = self.config.scheduler.scoring;
        // Candidates ordered by score, highest first, then by node index.
        let mut candidates: BTreeSet<(std::cmp::Reverse<i64>, usize)> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| node.schedulable() && node.room().fits(cpu, memory))
            .map(|(index, node)| {
                let score = scheduler::score(strategy, &node.room(), cpu, memory);
                (std::cmp::Reverse(score), index)
            })
            .collect();
        for deployment in &mut self.deployments {
            for pod in deployment.pods.iter_mut().filter(|pod| pod.node.is_none()) {
                let Some(best) = candidates.pop_first() else {
                    return;
                };
                let node_index = best.1;
                let node = &mut self.nodes[node_index];
                node.requested_cpu_milli += cpu;
                node.requested_memory_bytes += memory;
                node.bound_pods += 1;
                if node.room().fits(cpu, memory) {
                    let score = scheduler::score(strategy, &node.room(), cpu, memory);
                    candidates.insert((std::cmp::Reverse(score), node_index));
                }
                pod.node = Some(node_index);
                pod.start_s = Some(now);
                let delay = pods::start_delay(
                    &self.config.startup,
                    pod_seed(self.seed, &deployment.name, pod.ordinal),
                );
                pod.container_start_s = now + delay;
            }
        }
    }

    /// Estimates node power from CPU and memory utilization and attributes the dynamic part to
    /// exercise pods by their share of the node's CPU time, for the configured model and each
    /// idle fraction of the sweep.
    fn account_power(&mut self, tick: &mut ClusterTick) {
        for node in &mut self.nodes {
            node.exercise_cpu_milli = 0.0;
            node.exercise_memory_bytes = 0.0;
        }
        // Summed in Deployment and pod order, as the pods were served.
        for &(node, cpu_milli, memory_bytes) in self
            .deployments
            .iter()
            .flat_map(|deployment| &deployment.usage)
        {
            self.nodes[node].exercise_cpu_milli += cpu_milli;
            self.nodes[node].exercise_memory_bytes += memory_bytes;
        }
        tick.energy_sweep = vec![PowerSplit::default(); self.sweep_models.len()];
        for node in &self.nodes {
            if !node.exists() {
                continue;
            }
            tick.nodes += 1;
            let cpu_used = node.background_cpu_milli as f64 + node.exercise_cpu_milli;
            let memory_used = node.background_memory_bytes as f64 + node.exercise_memory_bytes;
            let cpu_utilization = cpu_used / node.cpu_milli as f64;
            let memory_utilization = memory_used / node.memory_bytes as f64;
            let power = self
                .config
                .power
                .node_power(cpu_utilization, memory_utilization);
            let (controlled, background) = power.split_dynamic(node.exercise_cpu_milli, cpu_used);
            tick.idle_w += power.idle_w;
            tick.controlled_dynamic_w += controlled;
            tick.background_dynamic_w += background;
            for (model, split) in self.sweep_models.iter().zip(&mut tick.energy_sweep) {
                let power = model.node_power(cpu_utilization, memory_utilization);
                let (controlled, background) =
                    power.split_dynamic(node.exercise_cpu_milli, cpu_used);
                split.idle_w += power.idle_w;
                split.controlled_dynamic_w += controlled;
                split.background_dynamic_w += background;
            }
        }
    }

    /// Refreshes the HPA's view of one workload's pods in place, reusing the allocations of
    /// `views`. Without `with_memory` the result equals [`crate::baseline::pod_views`] of the
    /// workload's snapshot. With it, each pod also gets one container `app` with CPU and memory
    /// requests and a resource metrics item with CPU and memory usage, in milli-units.
    pub fn update_pod_views(&self, index: usize, with_memory: bool, cache: &mut PodViewCache) {
        let PodViewCache { views, ordinals } = cache;
        let Some(deployment) = self.deployments.get(index) else {
            views.clear();
            ordinals.clear();
            return;
        };
        let request = self.config.workload.cpu_request_milli;
        views.resize_with(deployment.pods.len(), PodView::default);
        ordinals.resize(deployment.pods.len(), u64::MAX);
        for ((pod, view), ordinal) in deployment
            .pods
            .iter()
            .zip(views.iter_mut())
            .zip(ordinals.iter_mut())
        {
            // Pod names follow from ordinals, so comparing ordinals avoids reading the names.
            if *ordinal != pod.ordinal {
                *view = PodView {
                    name: pod.name.clone(),
                    ..PodView::default()
                };
                *ordinal = pod.ordinal;
            }
            view.phase = hpa_phase(pod.phase);
            view.ready = pod.start_s.map(|_| pod.ready);
            view.start_s = pod.start_s;
            view.ready_transition_s = pod.ready_transition_s.or(pod.start_s);
            view.deleting = false;
            view.request_milli = Some(request);
            view.cpu = pod.sample.map(|usage| MetricSample {
                value_milli: usage.cpu_milli,
                timestamp_s: usage.timestamp_s,
                window_s: usage.window_s,
            });
            if with_memory {
                let workload = &self.config.workload;
                let resources = |cpu_milli: i64, memory_bytes: i64| {
                    [
                        ("cpu".to_owned(), cpu_milli),
                        ("memory".to_owned(), memory_bytes.saturating_mul(1000)),
                    ]
                    .into_iter()
                    .collect()
                };
                view.containers = vec![ContainerView {
                    name: APP_CONTAINER.to_owned(),
                    kind: ContainerKind::Regular,
                    requests_milli: resources(
                        workload.cpu_request_milli,
                        workload.memory_request_bytes,
                    ),
                }];
                view.resource_metrics = pod.sample.map(|usage| PodResourceMetrics {
                    timestamp_s: usage.timestamp_s,
                    window_s: usage.window_s,
                    containers: [(
                        APP_CONTAINER.to_owned(),
                        resources(usage.cpu_milli, usage.memory_bytes),
                    )]
                    .into_iter()
                    .collect(),
                });
            } else {
                // A view filled with memory by an earlier call must not keep it.
                view.containers.clear();
                view.resource_metrics = None;
            }
        }
    }

    /// Returns the HPA's view of the pods of Deployment `index`, which reads the pod records
    /// in place. An unknown index gives no pods.
    pub(crate) fn hpa_pods(&self, index: usize, with_memory: bool) -> HpaPods<'_> {
        let workload = &self.config.workload;
        HpaPods {
            pods: self
                .deployments
                .get(index)
                .map_or(&[], |deployment| deployment.pods.as_slice()),
            cpu_request_milli: workload.cpu_request_milli,
            memory_request_milli: with_memory
                .then(|| workload.memory_request_bytes.saturating_mul(1000)),
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
        let mut nodes: Vec<NodeObservation> = self
            .nodes
            .iter()
            .filter(|node| node.registered())
            .map(|node| NodeObservation {
                name: node.name.clone(),
                ready: !matches!(node.state, NodeState::NotReady { .. }),
                cpu_allocatable_milli: node.cpu_milli,
                memory_allocatable_bytes: node.memory_bytes,
                cpu_requested_milli: node.requested_cpu_milli,
                cpu_usage_milli: None,
            })
            .collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        let load_generators = self
            .deployments
            .iter()
            .map(|deployment| LoadGeneratorObservation {
                target: deployment.key.clone(),
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

/// Name of the one container of the pod views that carry memory.
const APP_CONTAINER: &str = "app";

/// Tests whether `container` is [`APP_CONTAINER`], comparing bytes in place rather than
/// through a library call.
fn is_app(container: &str) -> bool {
    matches!(container.as_bytes(), [b'a', b'p', b'p'])
}

fn hpa_phase(phase: PodPhase) -> HpaPodPhase {
    match phase {
        PodPhase::Pending => HpaPodPhase::Pending,
        PodPhase::Running => HpaPodPhase::Running,
        PodPhase::Succeeded => HpaPodPhase::Succeeded,
        PodPhase::Failed => HpaPodPhase::Failed,
    }
}

/// The HPA's view of one Deployment's pods, read from the pod records in place (see
/// [`Cluster::hpa_pods`]).
///
/// Each pod reads as its [`PodView`] from [`Cluster::update_pod_views`] with the same
/// `with_memory`, without the copy: CPU request and sample only, or with memory one container
/// `app` with CPU and memory requests and usage in milli-units.
pub(crate) struct HpaPods<'a> {
    pods: &'a [Pod],
    cpu_request_milli: i64,
    /// Memory request of the `app` container in milli-bytes, when the views carry memory.
    memory_request_milli: Option<i64>,
}

impl PodList for HpaPods<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.pods.len()
    }

    #[inline]
    fn name(&self, index: usize) -> &str {
        &self.pods[index].name
    }

    /// Pod names are the Deployment name followed by an ordinal no other pod of the
    /// Deployment has.
    #[inline]
    fn names_distinct(&self) -> bool {
        true
    }

    #[inline]
    fn status(&self, index: usize) -> PodStatus {
        let pod = &self.pods[index];
        PodStatus {
            phase: hpa_phase(pod.phase),
            ready: pod.start_s.map(|_| pod.ready),
            start_s: pod.start_s,
            ready_transition_s: pod.ready_transition_s.or(pod.start_s),
            deleting: false,
        }
    }

    #[inline]
    fn resource_sample(
        &self,
        index: usize,
        resource: &str,
        container: &str,
    ) -> Option<Result<Option<MetricSample>, String>> {
        let pod = &self.pods[index];
        let usage = pod.sample.as_ref()?;
        let sample = |value_milli| MetricSample {
            value_milli,
            timestamp_s: usage.timestamp_s,
            window_s: usage.window_s,
        };
        let known_container = self.memory_request_milli.is_some() && is_app(container);
        if !container.is_empty() && !known_container {
            return Some(Err(format!(
                "container {container} not present in metrics for pod {}",
                pod.name
            )));
        }
        let value_milli = match resource.as_bytes() {
            [b'c', b'p', b'u'] => Some(usage.cpu_milli),
            [b'm', b'e', b'm', b'o', b'r', b'y'] if self.memory_request_milli.is_some() => {
                Some(usage.memory_bytes.saturating_mul(1000))
            }
            _ => None,
        };
        Some(Ok(value_milli.map(sample)))
    }

    #[inline]
    fn request(
        &self,
        index: usize,
        container: &str,
        resource: &str,
        _pod_level_resources: bool,
    ) -> Result<i64, String> {
        let pod = &self.pods[index];
        // Without memory the view has no containers, only the pod's CPU total. With memory
        // it has the one container and no pod-level requests.
        let Some(memory_request_milli) = self.memory_request_milli else {
            if !container.is_empty() {
                return Err(format!(
                    "container {container} not found in Pod {}",
                    pod.name
                ));
            }
            if matches!(resource.as_bytes(), [b'c', b'p', b'u']) {
                return Ok(self.cpu_request_milli);
            }
            return Err(format!(
                "missing request for {resource} in a container of Pod {}",
                pod.name
            ));
        };
        if !container.is_empty() && !is_app(container) {
            return Err(format!(
                "container {container} not found in Pod {}",
                pod.name
            ));
        }
        match resource.as_bytes() {
            [b'c', b'p', b'u'] => Ok(self.cpu_request_milli),
            [b'm', b'e', b'm', b'o', b'r', b'y'] => Ok(memory_request_milli),
            _ => Err(format!(
                "missing request for {resource} in container {APP_CONTAINER} of Pod {}",
                pod.name
            )),
        }
    }

    #[inline]
    fn custom_metric(&self, _index: usize, _metric: &str) -> Option<MetricSample> {
        None
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
    crate::splitmix64_finalize(seed ^ hash ^ ordinal.wrapping_mul(0x9e37_79b9_7f4a_7c15))
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
    if config.nodes.count == 0 && config.provisioner.is_none() {
        return invalid(
            "nodes.count",
            "0".to_owned(),
            "at least 1 node, or a provisioner",
        );
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
    if let crate::config::DelayDistribution::LogNormal { median_s, sigma } =
        startup.delay_distribution
        && !(median_s > 0.0 && median_s.is_finite() && sigma >= 0.0 && sigma.is_finite())
    {
        return invalid(
            "startup.delay_distribution",
            format!("median_s {median_s} sigma {sigma}"),
            "a positive finite median and a finite sigma >= 0",
        );
    }
    if !(startup.readiness_period_s >= 0.0
        && startup.burst_s >= 0.0
        && startup.burst_cpu_milli >= 0)
    {
        return invalid(
            "startup.burst_s",
            format!(
                "readiness_period_s {} burst_s {} burst_cpu_milli {}",
                startup.readiness_period_s, startup.burst_s, startup.burst_cpu_milli
            ),
            "values >= 0",
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
    let rollout = &config.rollout;
    if !((0.0..=1.0).contains(&rollout.max_surge) && (0.0..=1.0).contains(&rollout.max_unavailable))
    {
        return invalid(
            "rollout.max_surge",
            format!(
                "max_surge {} max_unavailable {}",
                rollout.max_surge, rollout.max_unavailable
            ),
            "shares of spec.replicas in [0, 1]",
        );
    }
    if let Some(provisioner) = &config.provisioner {
        if provisioner.instance_types.is_empty() {
            return invalid(
                "provisioner.instance_types",
                "[]".to_owned(),
                "at least one instance type",
            );
        }
        for instance in &provisioner.instance_types {
            if instance.cpu_milli <= config.nodes.background_cpu_milli
                || instance.memory_bytes <= config.nodes.background_memory_bytes
            {
                return invalid(
                    "provisioner.instance_types",
                    format!(
                        "{} with {}m CPU and {} bytes",
                        instance.name, instance.cpu_milli, instance.memory_bytes
                    ),
                    "more CPU and memory than the background pods of a node request",
                );
            }
        }
        if !(provisioner.launch_delay_s >= 0.0
            && provisioner.consolidate_after_s >= 0.0
            && provisioner.repair_after_s >= 0.0
            && (0.0..=1.0).contains(&provisioner.underutilized_below)
            && (0.0..=1.0).contains(&provisioner.disruption_budget))
        {
            return invalid(
                "provisioner",
                format!(
                    "launch_delay_s {} consolidate_after_s {} repair_after_s {} underutilized_below {} disruption_budget {}",
                    provisioner.launch_delay_s,
                    provisioner.consolidate_after_s,
                    provisioner.repair_after_s,
                    provisioner.underutilized_below,
                    provisioner.disruption_budget
                ),
                "delays >= 0 and shares in [0, 1]",
            );
        }
    }
    for fraction in &config.energy_idle_fractions {
        if !(0.0..=1.0).contains(fraction) {
            return invalid(
                "energy_idle_fractions",
                fraction.to_string(),
                "shares of peak power in [0, 1]",
            );
        }
    }
    if let Err(error) = config.power.validate("cluster.power") {
        return invalid("power", error.to_string(), "a valid power model");
    }
    Ok(())
}
