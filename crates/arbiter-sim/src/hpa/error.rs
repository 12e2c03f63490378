//! Errors of the HPA module.

use std::path::PathBuf;

/// An error from loading HPA test vectors or from validating HPA settings.
///
/// Metric failures inside a reconcile are not errors: the controller reports them as conditions
/// (see [`super::MetricFailure`]).
#[derive(Debug, thiserror::Error)]
pub enum HpaError {
    /// The vectors file could not be read.
    #[error("cannot read HPA test vectors {path}: {source}; check the path and permissions")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The vectors file is not valid JSON.
    #[error("invalid JSON in HPA test vectors {path} at line {line}, column {column}: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser message.
        message: String,
    },

    /// A field of the vectors file is missing or has the wrong type or value.
    #[error("invalid HPA test vector `{vector}` in {path}: field `{field}` {reason}")]
    InvalidVector {
        /// The file.
        path: PathBuf,
        /// The vector name, or `<file>` for top-level fields.
        vector: String,
        /// The JSON path of the field inside the vector, for example `input.pods[2].start_s`.
        field: String,
        /// The problem and the expected form of the field.
        reason: String,
    },

    /// A controller setting is out of range.
    #[error("invalid HPA controller setting {field} = {value}: {reason}")]
    InvalidConfig {
        /// The `HpaConfig` field.
        field: &'static str,
        /// The rejected value.
        value: f64,
        /// The accepted range.
        reason: &'static str,
    },

    /// An HPA spec breaks an API validation rule (`pkg/apis/autoscaling/validation/validation.go`).
    #[error("invalid HPA spec: {field} = {value}: {reason}")]
    InvalidSpec {
        /// The spec field, for example `behavior.scale_up.policies[0].period_s`.
        field: String,
        /// The rejected value.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
}
