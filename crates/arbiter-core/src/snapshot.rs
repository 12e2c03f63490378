//! Layer 1, observe: what a controller sees of a cluster at one instant.
//!
//! The simulator and the live observer produce the same [`ClusterSnapshot`]. Missing metrics
//! are data, not errors: a pod without a usage sample has `cpu_usage_milli: None`, and the
//! snapshot lists what was missing in [`ClusterSnapshot::missing`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Label that marks a Deployment as part of an Arbiter exercise. Arbiter changes only
/// Deployments that carry it with the value `true`.
pub const EXERCISE_LABEL: &str = "arbiter.dev/exercise";

/// Pod phase, as Kubernetes spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PodPhase {
    /// Accepted but not running: unscheduled, or scheduled and still pulling its image.
    Pending,
    /// Bound to a node with at least one container running.
    Running,
    /// All containers exited successfully.
    Succeeded,
    /// All containers exited and at least one failed.
    Failed,
}

/// One metrics-server style usage sample: the average over `window_s` ending at `timestamp_s`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UsageSample {
    /// CPU usage in millicores, averaged over the window.
    pub cpu_milli: i64,
    /// Memory working set in bytes at the end of the window.
    pub memory_bytes: i64,
    /// End of the window, in seconds on the observed cluster's clock.
    pub timestamp_s: f64,
    /// Window length in seconds.
    pub window_s: f64,
}

/// A pod as the observer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodObservation {
    /// Pod name.
    pub name: String,
    /// Pod phase.
    pub phase: PodPhase,
    /// Whether the Ready condition is True.
    pub ready: bool,
    /// Node the pod is bound to, if scheduled.
    pub node: Option<String>,
    /// `status.startTime`, if the kubelet has started the pod.
    pub start_s: Option<f64>,
    /// Last transition time of the Ready condition.
    pub ready_transition_s: Option<f64>,
    /// Whether the pod has a deletion timestamp.
    pub deleting: bool,
    /// Container restarts so far.
    pub restarts: u32,
    /// The latest usage sample, or `None` when the metrics pipeline has none for this pod yet.
    pub usage: Option<UsageSample>,
}

impl PodObservation {
    /// Returns whether the pod is Pending or Running but not yet Ready, and not being deleted.
    pub fn is_starting(&self) -> bool {
        !self.deleting
            && (self.phase == PodPhase::Pending || (self.phase == PodPhase::Running && !self.ready))
    }
}

/// A Deployment with its pods and resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadObservation {
    /// Namespace of the Deployment.
    pub namespace: String,
    /// Deployment name.
    pub name: String,
    /// Deployment labels.
    pub labels: BTreeMap<String, String>,
    /// `spec.replicas` of the Deployment (the scale subresource's `spec.replicas`).
    pub spec_replicas: i32,
    /// Pods that are Ready.
    pub ready_replicas: i32,
    /// CPU request per pod, in millicores.
    pub cpu_request_milli: i64,
    /// CPU limit per pod, in millicores.
    pub cpu_limit_milli: i64,
    /// Memory request per pod, in bytes.
    pub memory_request_bytes: i64,
    /// Memory limit per pod, in bytes.
    pub memory_limit_bytes: i64,
    /// p95 request latency in milliseconds over the last metrics window, as the workload's own
    /// latency histogram reports it; `None` when the workload exports none.
    pub latency_p95_ms: Option<f64>,
    /// The workload's pods, sorted by name.
    pub pods: Vec<PodObservation>,
}

impl WorkloadObservation {
    /// Returns `namespace/name`, the key Arbiter uses for a workload everywhere.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Returns whether the Deployment carries the exercise label with the value `true`.
    pub fn is_exercise(&self) -> bool {
        self.labels.get(EXERCISE_LABEL).map(String::as_str) == Some("true")
    }

    /// Sums the CPU usage of the pods that have a sample, in cores, with the number of pods
    /// that had one.
    pub fn cpu_usage_cores(&self) -> (f64, usize) {
        let samples: Vec<i64> = self
            .pods
            .iter()
            .filter(|pod| !pod.deleting)
            .filter_map(|pod| pod.usage.map(|usage| usage.cpu_milli))
            .collect();
        (samples.iter().sum::<i64>() as f64 / 1000.0, samples.len())
    }

    /// Returns the highest memory working set over the pods' memory limit, if any pod has a
    /// sample.
    pub fn max_memory_over_limit(&self) -> Option<f64> {
        if self.memory_limit_bytes <= 0 {
            return None;
        }
        self.pods
            .iter()
            .filter_map(|pod| pod.usage.map(|usage| usage.memory_bytes))
            .max()
            .map(|bytes| bytes as f64 / self.memory_limit_bytes as f64)
    }

    /// Counts the pods that are still starting (see [`PodObservation::is_starting`]).
    pub fn starting_pods(&self) -> usize {
        self.pods.iter().filter(|pod| pod.is_starting()).count()
    }

    /// Sums the memory working set of the pods that have a sample, in GiB.
    pub fn memory_usage_gib(&self) -> f64 {
        let bytes: i64 = self
            .pods
            .iter()
            .filter(|pod| !pod.deleting)
            .filter_map(|pod| pod.usage.map(|usage| usage.memory_bytes))
            .sum();
        bytes as f64 / GIB
    }

    /// Sums the container restarts of all pods.
    pub fn restarts(&self) -> u32 {
        self.pods.iter().map(|pod| pod.restarts).sum()
    }
}

/// Bytes in one GiB.
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// A node as the observer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeObservation {
    /// Node name.
    pub name: String,
    /// Whether the node's Ready condition is True.
    pub ready: bool,
    /// Allocatable CPU in millicores.
    pub cpu_allocatable_milli: i64,
    /// Allocatable memory in bytes.
    pub memory_allocatable_bytes: i64,
    /// Sum of the CPU requests of the pods bound to the node, in millicores.
    pub cpu_requested_milli: i64,
    /// CPU usage in millicores, when node metrics are available.
    pub cpu_usage_milli: Option<i64>,
}

/// Settings of the comparison load generator, which Agent C may cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadGeneratorObservation {
    /// Workload key the generator sends load to.
    pub target: String,
    /// Current cap on the offered load in cores of demand, if any.
    pub cap_cores: Option<f64>,
}

/// Everything a controller sees of one cluster at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSnapshot {
    /// Cluster name (for example `baseline` or `experimental`).
    pub cluster: String,
    /// Observation time in seconds on the cluster's clock.
    pub time_s: f64,
    /// Nodes, sorted by name.
    pub nodes: Vec<NodeObservation>,
    /// Deployments in scope, sorted by key.
    pub workloads: Vec<WorkloadObservation>,
    /// Load generators, sorted by target.
    pub load_generators: Vec<LoadGeneratorObservation>,
    /// Metrics the observer could not get, as short descriptions (for example
    /// `metrics.k8s.io: no sample for pod web-7`).
    pub missing: Vec<String>,
}

/// The part of a workload's observation that the referee reads and the decision record
/// stores, so that a stored decision can be replayed without the full snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedWorkload {
    /// Namespace of the Deployment.
    pub namespace: String,
    /// Deployment name.
    pub name: String,
    /// Deployment labels.
    pub labels: BTreeMap<String, String>,
    /// `spec.replicas` when observed.
    pub spec_replicas: i32,
    /// Pods that were Ready.
    pub ready_replicas: i32,
    /// Pods still starting (see [`PodObservation::is_starting`]).
    pub starting_pods: u32,
    /// Pods that are Pending without a node.
    pub unbound_pods: u32,
    /// CPU request per pod, in millicores.
    pub cpu_request_milli: i64,
    /// CPU limit per pod, in millicores.
    pub cpu_limit_milli: i64,
    /// Memory request per pod, in bytes.
    pub memory_request_bytes: i64,
    /// Memory limit per pod, in bytes.
    pub memory_limit_bytes: i64,
    /// p95 request latency in milliseconds, when the workload exports it.
    pub latency_p95_ms: Option<f64>,
    /// Container restarts of all pods so far.
    pub restarts: u32,
    /// Pods bound to each node, by node name; pods being deleted are left out.
    pub placement: BTreeMap<String, u32>,
}

impl ObservedWorkload {
    /// Returns `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Returns whether the Deployment carries the exercise label with the value `true`.
    pub fn is_exercise(&self) -> bool {
        self.labels.get(EXERCISE_LABEL).map(String::as_str) == Some("true")
    }
}

impl WorkloadObservation {
    /// Summarizes the observation into the fields the decision record stores.
    pub fn summary(&self) -> ObservedWorkload {
        let mut placement = BTreeMap::new();
        for pod in self.pods.iter().filter(|pod| !pod.deleting) {
            if let Some(node) = &pod.node {
                *placement.entry(node.clone()).or_insert(0) += 1;
            }
        }
        let unbound = self
            .pods
            .iter()
            .filter(|pod| !pod.deleting && pod.phase == PodPhase::Pending && pod.node.is_none())
            .count();
        ObservedWorkload {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            labels: self.labels.clone(),
            spec_replicas: self.spec_replicas,
            ready_replicas: self.ready_replicas,
            starting_pods: u32::try_from(self.starting_pods()).unwrap_or(u32::MAX),
            unbound_pods: u32::try_from(unbound).unwrap_or(u32::MAX),
            cpu_request_milli: self.cpu_request_milli,
            cpu_limit_milli: self.cpu_limit_milli,
            memory_request_bytes: self.memory_request_bytes,
            memory_limit_bytes: self.memory_limit_bytes,
            latency_p95_ms: self.latency_p95_ms,
            restarts: self.restarts(),
            placement,
        }
    }
}

impl NodeObservation {
    /// Returns the CPU still free for requests on the node, in millicores (0 when the node is
    /// not Ready).
    pub fn cpu_free_milli(&self) -> i64 {
        if self.ready {
            (self.cpu_allocatable_milli - self.cpu_requested_milli).max(0)
        } else {
            0
        }
    }
}

impl ClusterSnapshot {
    /// Counts the Pending pods without a node whose CPU request fits on no Ready node: pods
    /// the cluster itself cannot take. Only CPU is checked, because the snapshot carries no
    /// per-node memory requests.
    pub fn unschedulable_pods(&self) -> usize {
        let largest_free = self
            .nodes
            .iter()
            .map(NodeObservation::cpu_free_milli)
            .max()
            .unwrap_or(0);
        self.workloads
            .iter()
            .map(|workload| {
                let unbound = workload
                    .pods
                    .iter()
                    .filter(|pod| {
                        !pod.deleting && pod.phase == PodPhase::Pending && pod.node.is_none()
                    })
                    .count();
                if workload.cpu_request_milli > largest_free {
                    unbound
                } else {
                    0
                }
            })
            .sum()
    }

    /// Returns the load generator that sends load to `workload` (a `namespace/name` key).
    pub fn load_generator(&self, workload: &str) -> Option<&LoadGeneratorObservation> {
        self.load_generators
            .iter()
            .find(|generator| generator.target == workload)
    }
}
