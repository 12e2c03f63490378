//! Simulator configuration with documented defaults.
//!
//! # Not modelled
//!
//! * Per-Deployment pod templates: one [`WorkloadConfig`] applies to every exercise Deployment.
//! * Heterogeneous static nodes: the static pool has one size; only a provisioner adds other
//!   [`InstanceType`]s.

use serde::{Deserialize, Serialize};

use arbiter_core::energy::{PowerCalibration, PowerModel};

use crate::SimError;

/// Bytes in one MiB.
pub const MIB: i64 = 1024 * 1024;
/// Bytes in one GiB.
pub const GIB: i64 = 1024 * MIB;

/// A pool of identical nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodePoolConfig {
    /// Number of nodes. Default 5.
    pub count: usize,
    /// Allocatable CPU per node in millicores. Default 8000.
    pub cpu_milli: i64,
    /// Allocatable memory per node in bytes. Default 32 GiB.
    pub memory_bytes: i64,
    /// CPU used by system and other tenants' pods on each node, in millicores. It is also
    /// requested, so it reduces schedulable room. Default 500.
    pub background_cpu_milli: i64,
    /// Memory used and requested by background pods on each node, in bytes. Default 2 GiB.
    pub background_memory_bytes: i64,
}

impl Default for NodePoolConfig {
    fn default() -> Self {
        Self {
            count: 5,
            cpu_milli: 8000,
            memory_bytes: 32 * GIB,
            background_cpu_milli: 500,
            background_memory_bytes: 2 * GIB,
        }
    }
}

/// The Deployment template every replayed workload gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    /// Namespace of the exercise Deployments. Default `arbiter-exercise`.
    pub namespace: String,
    /// CPU request per pod in millicores. Default 500.
    pub cpu_request_milli: i64,
    /// CPU limit per pod in millicores. Default 1000.
    pub cpu_limit_milli: i64,
    /// Memory request per pod in bytes. Default 512 MiB.
    pub memory_request_bytes: i64,
    /// Memory limit per pod in bytes. Default 1 GiB.
    pub memory_limit_bytes: i64,
    /// Memory every running container uses regardless of load, in bytes. Default 192 MiB.
    pub base_memory_bytes: i64,
    /// CPU a running pod that is not Ready uses, in millicores. Default 20.
    pub idle_cpu_milli: i64,
    /// `spec.replicas` at the start. Default 4.
    pub initial_replicas: i32,
    /// Lowest replicas either controller may set. Default 2.
    pub min_replicas: i32,
    /// Highest replicas either controller may set. Default 60.
    pub max_replicas: i32,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            namespace: "arbiter-exercise".to_owned(),
            cpu_request_milli: 500,
            cpu_limit_milli: 1000,
            memory_request_bytes: 512 * MIB,
            memory_limit_bytes: GIB,
            base_memory_bytes: 192 * MIB,
            idle_cpu_milli: 20,
            initial_replicas: 4,
            min_replicas: 2,
            max_replicas: 60,
        }
    }
}

/// Pod start-up: from binding to a node until the container runs, then until Ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartupConfig {
    /// Shortest image pull and container start, in seconds. Default 5.
    pub min_start_s: f64,
    /// Longest image pull and container start, in seconds. Default 40. Each pod draws its
    /// delay from `delay_distribution` with a generator seeded by the run seed and the pod.
    pub max_start_s: f64,
    /// Time from container start until the readiness probe first succeeds, in seconds.
    /// Default 10.
    pub readiness_delay_s: f64,
    /// First CrashLoopBackOff delay after a container dies, in seconds; it doubles with each
    /// restart up to `max_backoff_s`. Default 10, as the kubelet does.
    pub initial_backoff_s: f64,
    /// Longest CrashLoopBackOff delay, in seconds. Default 300, as the kubelet does.
    pub max_backoff_s: f64,
    /// Distribution of the image pull and container start delay, clamped to
    /// [`min_start_s`, `max_start_s`]. Default uniform between the two.
    ///
    /// [`min_start_s`]: StartupConfig::min_start_s
    /// [`max_start_s`]: StartupConfig::max_start_s
    #[serde(default)]
    pub delay_distribution: DelayDistribution,
    /// Period of the readiness probe, in seconds: a pod becomes Ready at the first probe at or
    /// after `readiness_delay_s`, probes counted from container start. 0 makes it Ready exactly
    /// at `readiness_delay_s`. Default 0.
    #[serde(default)]
    pub readiness_period_s: f64,
    /// CPU a container burns right after it starts, whatever its load, in millicores, as class
    /// loading and JIT compilation do in a JVM service. It is capped at the CPU limit.
    /// Default 0, no burst.
    #[serde(default)]
    pub burst_cpu_milli: i64,
    /// How long the start-up burst lasts after each container start, in seconds. Default 0.
    #[serde(default)]
    pub burst_s: f64,
    /// Running time after which the kubelet resets the CrashLoopBackOff delay to its initial
    /// value, in seconds. Default 600 (twice the longest back-off, as the
    /// kubelet resets it).
    #[serde(default = "default_backoff_reset_s")]
    pub backoff_reset_s: f64,
}

fn default_backoff_reset_s() -> f64 {
    600.0
}

/// Distribution of a pod's image pull and container start delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DelayDistribution {
    /// Uniform between the minimum and maximum delay.
    #[default]
    Uniform,
    /// Log-normal with the given median and shape, clamped to the minimum and maximum delay;
    /// it gives the long right tail of image pulls on cold nodes.
    LogNormal {
        /// Median delay in seconds.
        median_s: f64,
        /// Standard deviation of the delay's natural logarithm.
        sigma: f64,
    },
}

impl Default for StartupConfig {
    fn default() -> Self {
        Self {
            min_start_s: 5.0,
            max_start_s: 40.0,
            readiness_delay_s: 10.0,
            initial_backoff_s: 10.0,
            max_backoff_s: 300.0,
            delay_distribution: DelayDistribution::Uniform,
            readiness_period_s: 0.0,
            burst_cpu_milli: 0,
            burst_s: 0.0,
            backoff_reset_s: default_backoff_reset_s(),
        }
    }
}

/// The metrics pipeline controllers read, modelled on metrics-server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsConfig {
    /// Length of the window each usage sample averages, in seconds. Default 60.
    pub window_s: f64,
    /// Interval between published samples, in seconds; a controller sees the latest one, so
    /// samples are up to this old. Default 60.
    pub resolution_s: f64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            window_s: 60.0,
            resolution_s: 60.0,
        }
    }
}

/// The latency model and the SLO (see [`crate::latency`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyConfig {
    /// Mean service time of one request on an idle pod, in milliseconds. Default 20.
    pub service_time_ms: f64,
    /// p95 latency bound of the SLO in milliseconds. Default 200.
    pub slo_p95_ms: f64,
    /// Latency reported when no pod is Ready, and the longest a queued request waits before
    /// the client gives up, in milliseconds. Default 10000.
    pub timeout_ms: f64,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        Self {
            service_time_ms: 20.0,
            slo_p95_ms: 200.0,
            timeout_ms: 10_000.0,
        }
    }
}

/// How trace usage becomes demand in cores and GiB.
///
/// `cores = value * cores_per_unit`. When `cores_per_unit` is `None`, it is chosen so that the
/// median CPU value of the trace's windows (zero-task windows excluded) maps to
/// `median_cores`, whether the whole trace or only its first days are replayed. Memory is
/// scaled likewise with `median_memory_gib`. For traces in normalized units
/// (NCU, 1.0 = the trace's largest machine) an explicit `cores_per_unit` states the machine
/// size instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandMapping {
    /// Cores per trace CPU unit, or `None` to derive it from `median_cores`.
    pub cores_per_unit: Option<f64>,
    /// Cores the median CPU window maps to when `cores_per_unit` is `None`. Default 4.
    pub median_cores: f64,
    /// GiB per trace memory unit, or `None` to derive it from `median_memory_gib`.
    pub gib_per_unit: Option<f64>,
    /// GiB the median memory window maps to when `gib_per_unit` is `None`. Default 1.
    pub median_memory_gib: f64,
    /// Standard deviation of the per-tick multiplicative log-normal noise on demand, drawn from
    /// the seeded load generator. Default 0.1.
    pub noise_sigma: f64,
}

impl Default for DemandMapping {
    fn default() -> Self {
        Self {
            cores_per_unit: None,
            median_cores: 4.0,
            gib_per_unit: None,
            median_memory_gib: 1.0,
            noise_sigma: 0.1,
        }
    }
}

/// How kube-scheduler's NodeResourcesFit plugin scores nodes for a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoringStrategy {
    /// Prefer the node with the most free CPU and memory after binding: spreads pods. The
    /// kube-scheduler default.
    #[default]
    LeastAllocated,
    /// Prefer the node with the least free CPU and memory after binding: packs pods, so that
    /// empty nodes can be removed.
    MostAllocated,
}

/// The scheduler's settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SchedulerConfig {
    /// NodeResourcesFit scoring strategy. Default LeastAllocated.
    pub scoring: ScoringStrategy,
}

/// One instance type a node provisioner may launch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceType {
    /// Name, for example `m5.2xlarge`; launched nodes are named after it.
    pub name: String,
    /// Allocatable CPU in millicores.
    pub cpu_milli: i64,
    /// Allocatable memory in bytes.
    pub memory_bytes: i64,
    /// Price per hour in any currency unit; each launched node gets the cheapest type that fits
    /// the pods planned for it. Only the order matters.
    pub price_per_hour: f64,
}

/// A Karpenter-like node provisioner: launches nodes for unschedulable pods, consolidates
/// empty or underutilized ones and replaces failed ones (see the `cluster::nodes` module).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionerConfig {
    /// Instance types it may launch. Pending pods are packed by first-fit decreasing of their
    /// CPU and memory requests onto launching nodes, then onto new nodes, each of which fills
    /// up to the largest type and gets the cheapest type that fits its pods. Default 2, 4 and
    /// 8 cores with 4 GiB per core.
    pub instance_types: Vec<InstanceType>,
    /// Time from launch until the node is Ready and takes pods, in seconds. Default 60.
    pub launch_delay_s: f64,
    /// How long a node must stay empty or underutilized before it is consolidated, in
    /// seconds (Karpenter's `consolidateAfter`). Default 300.
    pub consolidate_after_s: f64,
    /// CPU requests below this share of allocatable make a node a candidate for
    /// consolidation. It is removed only if a first-fit decreasing placement of its pods onto
    /// the other schedulable nodes fits them all, by CPU and memory. 0 consolidates only empty
    /// nodes. Default 0.5.
    pub underutilized_below: f64,
    /// Most nodes that may be disrupted (draining or being removed) at once, as a share of the
    /// provisioned nodes, rounded up, at least 1 (Karpenter's disruption budget `nodes: 10%`).
    /// Default 0.1.
    pub disruption_budget: f64,
    /// Most nodes it may have at once. Default 100.
    pub max_nodes: usize,
    /// How long a provisioned node may stay NotReady before it is removed, in seconds, as by
    /// Karpenter's node repair. Pods still bound to it are evicted then, and evicted pods get
    /// new nodes like any pending pod. Static nodes are never removed. Default 600. Karpenter
    /// takes this toleration from its cloud provider, which sets 30 minutes in the AWS
    /// provider and 10 or 15 minutes in some others.
    #[serde(default = "default_repair_after_s")]
    pub repair_after_s: f64,
}

fn default_repair_after_s() -> f64 {
    600.0
}

impl Default for ProvisionerConfig {
    fn default() -> Self {
        let instance = |name: &str, cores: i64, price: f64| InstanceType {
            name: name.to_owned(),
            cpu_milli: cores * 1000,
            memory_bytes: cores * 4 * GIB,
            price_per_hour: price,
        };
        Self {
            instance_types: vec![
                instance("c2", 2, 0.1),
                instance("c4", 4, 0.2),
                instance("c8", 8, 0.4),
            ],
            launch_delay_s: 60.0,
            consolidate_after_s: 300.0,
            underutilized_below: 0.5,
            disruption_budget: 0.1,
            max_nodes: 100,
            repair_after_s: default_repair_after_s(),
        }
    }
}

/// Rolling update settings of every exercise Deployment (`spec.strategy.rollingUpdate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutConfig {
    /// Pods above `spec.replicas` a rollout may create, as a share of `spec.replicas` rounded
    /// up. Default 0.25, as Kubernetes.
    pub max_surge: f64,
    /// Pods below `spec.replicas` that may be unavailable during a rollout, as a share of
    /// `spec.replicas` rounded down. Default 0.25, as Kubernetes. If both round to 0, one pod
    /// may be unavailable.
    pub max_unavailable: f64,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        Self {
            max_surge: 0.25,
            max_unavailable: 0.25,
        }
    }
}

/// Node failure handling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureConfig {
    /// Time after a node becomes NotReady until its pods are evicted and replaced, in seconds
    /// (the default `tolerationSeconds` of the `node.kubernetes.io/unreachable` taint). Default
    /// 300.
    pub pod_eviction_timeout_s: f64,
}

impl Default for FailureConfig {
    fn default() -> Self {
        Self {
            pod_eviction_timeout_s: 300.0,
        }
    }
}

/// Everything that defines one simulated cluster.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// Nodes.
    pub nodes: NodePoolConfig,
    /// The exercise Deployment template.
    pub workload: WorkloadConfig,
    /// Pod start-up and restarts.
    pub startup: StartupConfig,
    /// Metrics pipeline.
    pub metrics: MetricsConfig,
    /// Latency model and SLO.
    pub latency: LatencyConfig,
    /// Node power model (an estimate).
    pub power: PowerModel,
    /// Scheduler scoring.
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    /// The node provisioner; `None` keeps the node pool fixed. Default `None`.
    #[serde(default)]
    pub provisioner: Option<ProvisionerConfig>,
    /// Rolling update settings.
    #[serde(default)]
    pub rollout: RolloutConfig,
    /// Node failure handling.
    #[serde(default)]
    pub failures: FailureConfig,
    /// Idle fractions of peak power at which energy is also estimated, to show how much the
    /// energy figures depend on the calibration. Default empty.
    #[serde(default)]
    pub energy_idle_fractions: Vec<f64>,
}

/// Reads a power calibration file (see [`PowerCalibration`]), such as the ones in
/// `data/power/`.
pub fn load_power_calibration(path: &std::path::Path) -> Result<PowerCalibration, SimError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SimError::CalibrationIo {
        file: file.clone(),
        source,
    })?;
    Ok(PowerCalibration::from_json(&text, &file)?)
}
