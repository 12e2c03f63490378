//! The error type of the core crate: invalid configurations and decision records.

/// Errors of the core crate. Each names the offending value and what to do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoreError {
    /// A configuration field has a value the referee cannot work with.
    #[error("invalid configuration: `{field}` is {value}, expected {expected}")]
    InvalidConfig {
        /// Field name, for example `referee.max_replicas`.
        field: String,
        /// The value found.
        value: String,
        /// The form the value must take.
        expected: String,
    },
    /// A line of a decisions file is not a decision record.
    #[error(
        "{source_name} line {line}: invalid decision record: {message}; each line must be one JSON decision as `arbiter compare --decisions` writes it"
    )]
    InvalidRecord {
        /// File or stream the line came from.
        source_name: String,
        /// Line number, from 1.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A decision record has a schema version this build does not read.
    #[error(
        "{source_name} line {line}: decision schema version {found} is not supported; this build reads version {supported}, so record the run again with this build"
    )]
    UnsupportedSchema {
        /// File or stream the line came from.
        source_name: String,
        /// Line number, from 1.
        line: usize,
        /// The version found.
        found: u32,
        /// The version this build writes and reads.
        supported: u32,
    },
    /// A decisions file contains no decision.
    #[error(
        "{source_name}: no decision records found; pass the file `arbiter compare --decisions` wrote"
    )]
    NoRecords {
        /// File or stream name.
        source_name: String,
    },
}
