//! The store's error type.

use std::path::PathBuf;

/// Everything that can go wrong when opening, writing or reading a run store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store file could not be opened or created.
    #[error(
        "failed to open run store {path}: {source}; pass a path to a writable file (its directory must exist) with --store"
    )]
    Open {
        /// Store file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A read-only open found no file.
    #[error(
        "run store {path} not found; run `arbiter compare` to create it or pass another --store PATH"
    )]
    NotFound {
        /// Store file.
        path: PathBuf,
    },
    /// The path names a directory, not a file.
    #[error("run store path {path} is a directory; pass a file path such as {path}/arbiter.sqlite")]
    IsDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// The file is not a SQLite database, or one without the store's tables.
    #[error("{path} is not an arbiter run store: {reason}")]
    NotAStore {
        /// Store file.
        path: PathBuf,
        /// Reason the file was rejected.
        reason: String,
    },
    /// The file was written by a newer build whose schema this build cannot read.
    #[error(
        "run store {path} has schema version {found}, newer than version {supported} that this build supports; upgrade arbiter or pass another --store PATH"
    )]
    NewerSchema {
        /// Store file.
        path: PathBuf,
        /// Version found in the file.
        found: i64,
        /// Highest version this build supports.
        supported: i64,
    },
    /// A SQLite statement failed.
    #[error("SQLite failed to {operation} in run store {path}: {source}")]
    Sqlite {
        /// Store file.
        path: PathBuf,
        /// Operation the statement performed.
        operation: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// No run has this id.
    #[error(
        "run {run} not found in run store {path}; the Runs page of `arbiter dashboard --store {path}` lists the runs it has"
    )]
    RunNotFound {
        /// The requested id.
        run: i64,
        /// Store file.
        path: PathBuf,
    },
    /// A record or its stored JSON could not be encoded or decoded.
    #[error("failed to {operation} JSON of {what}: {source}")]
    Json {
        /// Encode or decode.
        operation: &'static str,
        /// Owner of the JSON, with its id.
        what: String,
        /// serde_json's error.
        source: serde_json::Error,
    },
    /// A stored record cannot be read back.
    #[error("stored {what} is corrupt: {reason}; the run store file may be damaged")]
    CorruptRecord {
        /// The record, with its id.
        what: String,
        /// Reason the record cannot be read.
        reason: String,
    },
    /// No user data directory is known on this platform.
    #[error("no user data directory found (is $HOME set?); pass --store PATH")]
    NoDataDirectory,
    /// The directory for the default store could not be created.
    #[error("failed to create directory {path}: {source}")]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Wraps a SQLite error with the store path and what was being done.
pub(crate) fn sqlite<'a>(
    path: &'a std::path::Path,
    operation: &'static str,
) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
    move |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        operation,
        source,
    }
}
