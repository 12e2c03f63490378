//! Simulator configuration with documented defaults.

use serde::{Deserialize, Serialize};

use arbiter_core::energy::PowerModel;

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
    /// delay uniformly between the two from a generator seeded by the run seed and the pod.
    pub max_start_s: f64,
    /// Time from container start until the readiness probe first succeeds, in seconds.
    /// Default 10.
    pub readiness_delay_s: f64,
    /// First CrashLoopBackOff delay after a container dies, in seconds; it doubles with each
    /// restart up to `max_backoff_s`. Default 10, as the kubelet does.
    pub initial_backoff_s: f64,
    /// Longest CrashLoopBackOff delay, in seconds. Default 300, as the kubelet does.
    pub max_backoff_s: f64,
}

impl Default for StartupConfig {
    fn default() -> Self {
        Self {
            min_start_s: 5.0,
            max_start_s: 40.0,
            readiness_delay_s: 10.0,
            initial_backoff_s: 10.0,
            max_backoff_s: 300.0,
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
/// median CPU value of the replayed windows (zero-task windows excluded) maps to
/// `median_cores`; memory likewise with `median_memory_gib`. For traces in normalized units
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
}
