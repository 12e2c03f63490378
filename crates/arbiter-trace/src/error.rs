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
    /// A line is not valid in its format's syntax (JSON, CSV, a dict literal).
    #[error(
        "{at}: {message}; correct or remove the line, or pass --skip-bad-lines to count and skip \
         bad lines"
    )]
    MalformedLine {
        /// The line.
        at: Location,
        /// The problem found.
        message: String,
    },
    /// A mandatory field is absent or empty.
    #[error(
        "{at}: the mandatory field {field} is missing; correct or remove the line, or pass \
         --skip-bad-lines to count and skip bad lines"
    )]
    MissingField {
        /// The line.
        at: Location,
        /// The field, by its name in the trace documentation.
        field: &'static str,
    },
    /// A field has a value the format does not allow, such as an unknown enum code.
    #[error(
        "{at}: field {field} is {value}, expected {expected}; correct or remove the line, or pass \
         --skip-bad-lines to count and skip bad lines"
    )]
    InvalidField {
        /// The line.
        at: Location,
        /// The field: a JSON path, a CSV column with its name, or a header name.
        field: String,
        /// The value as written, cut to 120 characters.
        value: String,
        /// A description of the allowed values.
        expected: String,
    },
    /// A gzip member ends early or is corrupt.
    #[error(
        "{at}: the gzip stream is truncated or corrupt after line {lines_read} ({source}); \
         download the file again, or pass --skip-bad-lines to keep the lines before the damage"
    )]
    TruncatedGzip {
        /// The line where the damage begins.
        at: Location,
        /// Complete lines read before the damage.
        lines_read: usize,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },
    /// A double-quoted CSV field is never closed.
    #[error("{at}: a quoted field is never closed; the file may be truncated")]
    UnclosedQuote {
        /// The line where the record starts.
        at: Location,
    },
    /// An input path, directory or glob names no file.
    #[error("{input}: no trace file found; check the path, or quote a glob pattern")]
    NoInput {
        /// The input as given.
        input: String,
    },
    /// An input mixes formats that cannot be read together.
    #[error("{file}: {reason}")]
    Unsupported {
        /// File path, as given to the reader.
        file: String,
        /// The reason the file cannot be read this way, and what to do.
        reason: String,
    },
}
