//! Live Kubernetes for Arbiter: the simulator served as a Kubernetes API, the observer that
//! turns a cluster into a [`ClusterSnapshot`](arbiter_core::snapshot::ClusterSnapshot), the
//! executor bounded by the exercise label, and the live loop that joins them.
//!
//! - [`server`]: `arbiter apiserver`, the simulator behind a Kubernetes API subset on
//!   127.0.0.1 over plain HTTP, with a fault switch.
//! - [`api`]: API calls through kube-rs with timeouts and retries, each attempt recorded as an
//!   [`OperationRecord`](arbiter_core::execution::OperationRecord).
//! - [`observer`]: Deployments with the exercise label, their pods, nodes and metrics.k8s.io
//!   usage.
//! - [`executor`]: scaling within bounds, capping the load generator and rollout restarts,
//!   nothing else.
//! - [`live`]: the observe, decide and act loop against one or two clusters.
//! - [`exercise`]: the exercise workload and its open-loop load generator.

#![deny(missing_docs)]

pub mod api;
mod error;
pub mod executor;
pub mod exercise;
pub mod live;
pub mod observer;
pub mod quantity;
pub mod selector;
pub mod server;
pub mod time;

pub use error::KubeError;

/// Label of a load generator Deployment naming the Deployment (in the same namespace) it
/// sends load to.
pub const LOAD_TARGET_LABEL: &str = "arbiter.dev/load-target";

/// Pod template annotation of a load generator Deployment: the cap on the demand it offers,
/// in cores. Absent means no cap.
pub const LOAD_CAP_ANNOTATION: &str = "arbiter.dev/load-cap-cores";

/// Deployment annotation with the workload's p95 latency in milliseconds over the last
/// metrics window. The served simulator writes it; on a real cluster nothing does yet.
pub const LATENCY_P95_ANNOTATION: &str = "arbiter.dev/latency-p95-ms";

/// Pod template annotation kubectl's `rollout restart` sets, and the executor's restart too.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

/// Version string the served simulator reports for itself and its simulated kubelets.
pub const SIM_SERVER_VERSION: &str = "v1.33.0-arbiter-sim";
