//! A deterministic Kubernetes cluster simulator.
//!
//! Discrete time with a fixed tick, seeded randomness, ordered state and no wall-clock reads:
//! the same seed and inputs give byte-identical results. [`cluster`] holds nodes, pods, the
//! scheduler, the node provisioner and the metrics pipeline; [`latency`] the queueing model and SLO; [`load`] the
//! trace-driven load generator; [`hpa`] the HorizontalPodAutoscaler algorithm; [`baseline`]
//! the HPA acting on snapshots; [`executor`] Arbiter's executor for simulated clusters; and
//! [`experiment`] the lockstep comparison.

#![deny(missing_docs)]

pub mod baseline;
pub mod cluster;
pub mod config;
pub mod executor;
pub mod experiment;
pub mod hpa;
pub mod latency;
pub mod load;
mod workers;

/// Errors of the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value is out of range.
    #[error("invalid simulator setting {field} = {value}: expected {expected}")]
    InvalidConfig {
        /// Setting name.
        field: String,
        /// Offending value.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// A series has no windows.
    #[error(
        "workload `{workload}` from {file} has no usage windows to replay; check the file or --days"
    )]
    EmptySeries {
        /// Workload name.
        workload: String,
        /// File it came from.
        file: String,
    },
    /// A series has no positive CPU value to scale demand from.
    #[error(
        "workload `{workload}` from {file} has no positive CPU usage, so demand cannot be scaled; check the trace or pass --cores-per-unit"
    )]
    NoDemand {
        /// Workload name.
        workload: String,
        /// File it came from.
        file: String,
    },
    /// The experiment was given no series.
    #[error("no workloads to replay: the trace yielded no series")]
    NoWorkloads,
    /// An action named a workload the cluster does not have.
    #[error("deployment `{workload}` not found; the cluster has {known:?}")]
    UnknownWorkload {
        /// The requested workload.
        workload: String,
        /// The workloads that exist.
        known: Vec<String>,
    },
    /// A node name the cluster does not have.
    #[error("node `{node}` not found; the cluster has {known:?}")]
    UnknownNode {
        /// The requested node.
        node: String,
        /// The nodes that exist.
        known: Vec<String>,
    },
    /// A power calibration file could not be read.
    #[error("failed to read power calibration {file}: {source}; check the path")]
    CalibrationIo {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A power calibration file is invalid.
    #[error("{0}")]
    Calibration(#[from] arbiter_core::error::CoreError),
    /// A negative replica count.
    #[error("invalid replicas {replicas} for `{workload}`: must be 0 or more")]
    InvalidReplicas {
        /// Workload key.
        workload: String,
        /// Requested replicas.
        replicas: i32,
    },
    /// Writing a decision or tick record failed.
    #[error("failed to write the run's output: {0}")]
    Output(#[source] std::io::Error),
}

/// Mixes a 64-bit value with the SplitMix64 finalizer, so that nearby inputs (consecutive seeds,
/// ordinals) give unrelated outputs.
pub(crate) fn splitmix64_finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
