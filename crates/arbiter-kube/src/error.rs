//! The crate's error type.

/// Errors of the live observer, the executor, the live loop and the served simulator.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// A kubeconfig could not be read or used.
    #[error(
        "failed to load kubeconfig {path}: {message}; check the file or pass another --kubeconfig"
    )]
    Kubeconfig {
        /// Path of the kubeconfig.
        path: String,
        /// Error message.
        message: String,
    },
    /// An API call returned an error status, or failed to connect after its retries.
    #[error("{method} {path} failed: {message}")]
    Api {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// Status code, when the server responded.
        status: Option<u16>,
        /// Error text or the Status message.
        message: String,
    },
    /// A response body did not have the expected shape.
    #[error("invalid response to GET {path}: {message}")]
    InvalidResponse {
        /// Request path.
        path: String,
        /// Parser message.
        message: String,
    },
    /// A Kubernetes quantity such as `500m` or `1Gi` did not parse.
    #[error(
        "invalid quantity `{value}` in {field}: expected a Kubernetes quantity such as 500m or 1Gi"
    )]
    InvalidQuantity {
        /// Offending text.
        value: String,
        /// Field it came from.
        field: String,
    },
    /// A timestamp did not parse as RFC 3339 or as an HTTP date.
    #[error("invalid timestamp `{value}` in {field}: {message}")]
    InvalidTimestamp {
        /// Offending text.
        value: String,
        /// Field it came from.
        field: String,
        /// Parser message.
        message: String,
    },
    /// A setting of the served simulator or the live loop is out of range.
    #[error("invalid setting {field} = {value}: expected {expected}")]
    InvalidSetting {
        /// Setting name.
        field: String,
        /// Offending value.
        value: String,
        /// Accepted values.
        expected: String,
    },
    /// The simulator rejected its configuration or an operation.
    #[error(transparent)]
    Sim(#[from] arbiter_sim::SimError),
    /// The trace could not be read.
    #[error(transparent)]
    Trace(#[from] arbiter_trace::TraceError),
    /// Reading or writing a file or socket failed.
    #[error("{action} {path} failed: {source}")]
    Io {
        /// Operation attempted, for example `write kubeconfig`.
        action: String,
        /// File or address involved.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
