//! The crate's error type.

use std::fmt;
use std::path::PathBuf;

/// A place in a trace file: the file as named by the caller and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File path, as given to the reader.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// An error from reading a trace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The file could not be opened or read, or is not UTF-8.
    #[error("cannot read {}: check that the file exists and is readable UTF-8 text", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file contains no data rows.
    #[error("{file}: the file contains no data rows, expected a {format} file")]
    Empty {
        /// File path, as given to the reader.
        file: String,
        /// Name of the format the file was read as.
        format: &'static str,
    },
    /// The first line matches no known format.
    #[error(
        "{file}: cannot detect the trace format from the first line {first_line:?}, \
         so name the format explicitly (one of: {known})"
    )]
    UndetectedFormat {
        /// File path, as given to the reader.
        file: String,
        /// The first non-blank line, cut to 120 characters.
        first_line: String,
        /// The known format names, comma separated.
        known: String,
    },
    /// A format name that matches no reader.
    #[error("unknown trace format {name:?}, expected one of: {known}")]
    UnknownFormat {
        /// The name given.
        name: String,
        /// The known format names, comma separated.
        known: String,
    },
    /// The header lacks a column the reader needs.
    #[error(
        "{file}: the header {header:?} has no column {column:?}, expected a header like {example:?}"
    )]
    MissingColumn {
        /// File path, as given to the reader.
        file: String,
        /// The header line as written.
        header: String,
        /// The missing column.
        column: &'static str,
        /// A valid header of the format.
        example: &'static str,
    },
    /// A row has the wrong number of fields.
    #[error(
        "{at}: found {found} comma-separated fields, expected {expected} for {format}; \
         the line may be truncated, or the file is in another format"
    )]
    FieldCount {
        /// The row.
        at: Location,
        /// Name of the format the file was read as.
        format: &'static str,
        /// Fields the format has.
        expected: usize,
        /// Fields the row has.
        found: usize,
    },
    /// A field contains a value the format does not allow.
    #[error(
        "{at}: column {column} ({name}) is {value:?}, expected {expected}; correct or remove the row"
    )]
    InvalidValue {
        /// The row.
        at: Location,
        /// 1-based column.
        column: usize,
        /// The column's name.
        name: String,
        /// The field as written.
        value: String,
        /// A description of the allowed values.
        expected: &'static str,
    },
    /// A row's time does not follow the previous row's by a whole number of windows.
    #[error(
        "{at}: column 1 (time) is {found_s} s but the previous row is at {previous_s} s, \
         expected a later time on the same {window_s} s grid; sort the rows or correct the time"
    )]
    TimeStep {
        /// The row.
        at: Location,
        /// Time of the previous row in seconds.
        previous_s: i64,
        /// Time of this row in seconds.
        found_s: i64,
        /// Window length in seconds.
        window_s: i64,
    },
}
