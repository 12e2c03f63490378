//! The run store: every `arbiter compare` run in one SQLite file, for the dashboard, reports and
//! metrics.
//!
//! # What is stored
//!
//! - `runs`: kind, configuration JSON, seed, trace, models, start and end times, status
//!   (`running`, `complete`, `incomplete`, `failed`), the writer's pid and progress.
//! - `ticks`: one row per cluster, workload and tick with the figures of [`TickRecord`].
//! - `predictions`: one compact row per decision (tick, forecast mean and upper, risk, number of
//!   proposals), so that forecasts can be compared with what happened at every tick.
//! - `decisions`: the full JSON record, with indexed columns, of every decision that carries a
//!   proposal, a veto, a conflict, an action other than `Noop` or an operation. A `Noop` without
//!   proposals is only summarised by its `predictions` row, because it is most of the 167,040
//!   decisions per workload of a 29-day run and says nothing beyond its prediction.
//!   The record is compressed with DEFLATE into a BLOB, because the feature vector makes its
//!   JSON about 3 kB; a plain JSON text record reads back as well.
//! - `vetoes` and `operations`: one row per veto and per operation of a stored decision.
//! - `reports`: the final comparison report JSON.
//!
//! # Crash consistency
//!
//! The file is in WAL mode. A [`RunRecorder`] writes inside a transaction that it commits every
//! [`TICKS_PER_TRANSACTION`] ticks (one simulated hour at 15 s ticks), and at the end; a
//! process killed at any moment loses at most the uncommitted ticks and leaves a consistent
//! file. Dropping a recorder without [`RunRecorder::finish`] or [`RunRecorder::fail`] commits
//! what it has and marks the run `incomplete`. A run still `running` whose writer process is
//! gone (its pid no longer exists, or belongs to a process started at another time) is marked
//! `incomplete` by the next [`RunStore::open`] and reported as such by every read.
//!
//! Wall-clock timestamps (run start, end, last commit) come from SQLite's `now`, in UTC.

#![deny(missing_docs)]

mod error;
pub mod fixture;
mod liveness;
mod read;
mod recorder;
mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rusqlite::{Connection, OpenFlags, params};
use serde::{Deserialize, Serialize};

pub use error::StoreError;
pub use read::{
    DecisionFilter, DecisionPage, Facets, LatestPrediction, PredictionPoint, RiskBin, RunSummary,
    SeriesInfo, StoredDecision, StoredOperation, TickPoint,
};
pub use recorder::{RunRecorder, TICKS_PER_TRANSACTION, TickRecord};
pub use schema::SCHEMA_VERSION;

use error::sqlite;

/// Id of a run in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

impl FromStr for RunId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().parse::<i64>() {
            Ok(id) if id > 0 => Ok(RunId(id)),
            _ => Err(format!(
                "invalid run id `{text}`: expected a positive whole number such as 1"
            )),
        }
    }
}

/// State of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// A writer is adding records.
    Running,
    /// The run finished and its report is stored.
    Complete,
    /// The writer stopped without finishing (killed, crashed or dropped its recorder).
    Incomplete,
    /// The run stopped on an error, which is stored with it.
    Failed,
}

impl RunStatus {
    /// Returns the status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Incomplete => "incomplete",
            RunStatus::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> RunStatus {
        match text {
            "running" => RunStatus::Running,
            "complete" => RunStatus::Complete,
            "failed" => RunStatus::Failed,
            _ => RunStatus::Incomplete,
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Description of a new run: what it replays and how it is configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRun {
    /// Kind of run, for example `compare`.
    pub kind: String,
    /// Seed of every random draw.
    pub seed: u64,
    /// Trace file replayed.
    pub trace: String,
    /// Model files or directory used by the predictor, if any.
    pub models: Option<String>,
    /// The full configuration of the run.
    pub configuration: serde_json::Value,
}

/// An open run store. Writes go through [`RunStore::begin_run`] and [`RunRecorder`]; reads are
/// the methods of this type.
#[derive(Debug)]
pub struct RunStore {
    connection: Connection,
    path: PathBuf,
}

impl RunStore {
    /// Opens or creates the store at `path` for writing, migrates an older schema, and marks
    /// runs whose writer process is gone as `incomplete`.
    pub fn open(path: &Path) -> Result<RunStore, StoreError> {
        if path.is_dir() {
            return Err(StoreError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        let mut connection = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        configure(&connection, path, true)?;
        schema::migrate(&mut connection, path)?;
        let store = RunStore {
            connection,
            path: path.to_path_buf(),
        };
        store.mark_abandoned_runs()?;
        Ok(store)
    }

    /// Opens an existing store for reading only. Runs whose writer is gone are reported as
    /// `incomplete` without changing the file.
    pub fn open_read_only(path: &Path) -> Result<RunStore, StoreError> {
        if path.is_dir() {
            return Err(StoreError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        if !path.exists() {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            });
        }
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        configure(&connection, path, false)?;
        schema::check_readable(&connection, path)?;
        Ok(RunStore {
            connection,
            path: path.to_path_buf(),
        })
    }

    /// Returns the default store file, `arbiter/arbiter.sqlite` under the user's data directory
    /// (`~/.local/share/arbiter/arbiter.sqlite` on Linux), creating the directory.
    pub fn default_path() -> Result<PathBuf, StoreError> {
        default_path_under(dirs::data_dir())
    }

    /// Returns the store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a run in state `running`, owned by the current process.
    pub fn begin_run(&self, run: &NewRun) -> Result<RunId, StoreError> {
        let configuration =
            serde_json::to_string(&run.configuration).map_err(|source| StoreError::Json {
                operation: "encode",
                what: "the run configuration".to_owned(),
                source,
            })?;
        let writer = liveness::current_process();
        // SQLite integers are signed 64-bit, so the seed is stored as its two's-complement
        // bit pattern and read back with the inverse cast.
        let seed = run.seed as i64;
        self.connection
            .execute(
                "INSERT INTO runs (kind, seed, trace, models, configuration, started_at, updated_at, status, writer_pid, writer_start_ticks)
                 VALUES (?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 'running', ?6, ?7)",
                params![
                    run.kind,
                    seed,
                    run.trace,
                    run.models,
                    configuration,
                    i64::from(writer.pid),
                    writer.start_ticks
                ],
            )
            .map_err(sqlite(&self.path, "insert a run"))?;
        Ok(RunId(self.connection.last_insert_rowid()))
    }

    /// Creates the recorder that writes a run's ticks and decisions, on its own connection.
    pub fn recorder(&self, run: RunId) -> Result<RunRecorder, StoreError> {
        self.run(run)?;
        RunRecorder::new(&self.path, run)
    }

    /// Marks every `running` run whose writer process is gone as `incomplete`; returns them.
    pub fn mark_abandoned_runs(&self) -> Result<Vec<RunId>, StoreError> {
        let mut abandoned = Vec::new();
        for (id, pid, start) in self.running_writers()? {
            if liveness::writer_gone(pid, start) {
                self.connection
                    .execute(
                        "UPDATE runs SET status = 'incomplete', ended_at = COALESCE(ended_at, updated_at),
                         error = ?2 WHERE id = ?1 AND status = 'running'",
                        params![id, abandoned_reason(pid)],
                    )
                    .map_err(sqlite(&self.path, "mark an abandoned run incomplete"))?;
                abandoned.push(RunId(id));
            }
        }
        Ok(abandoned)
    }

    fn running_writers(&self) -> Result<Vec<WriterRow>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT id, writer_pid, writer_start_ticks FROM runs WHERE status = 'running'")
            .map_err(sqlite(&self.path, "list running runs"))?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .map_err(sqlite(&self.path, "list running runs"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sqlite(&self.path, "list running runs"))
    }
}

/// Returns `arbiter/arbiter.sqlite` under a data directory, creating `arbiter/`.
fn default_path_under(data_directory: Option<PathBuf>) -> Result<PathBuf, StoreError> {
    let directory = data_directory
        .ok_or(StoreError::NoDataDirectory)?
        .join("arbiter");
    std::fs::create_dir_all(&directory).map_err(|source| StoreError::CreateDirectory {
        path: directory.clone(),
        source,
    })?;
    Ok(directory.join("arbiter.sqlite"))
}

/// A running run's id, writer pid and writer start time.
type WriterRow = (i64, Option<i64>, Option<i64>);

/// Returns the message stored with a run whose writer disappeared.
pub(crate) fn abandoned_reason(pid: Option<i64>) -> String {
    match pid {
        Some(pid) => format!("writer process {pid} exited without finishing the run"),
        None => "the writer process is unknown and the run was never finished".to_owned(),
    }
}

/// Sets the pragmas every connection uses: WAL, foreign keys and a busy timeout so that a
/// reader and the writer can share the file.
pub(crate) fn configure(
    connection: &Connection,
    path: &Path,
    writable: bool,
) -> Result<(), StoreError> {
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(sqlite(path, "set the busy timeout"))?;
    // Reading the header first turns "file is not a database" into a clear error.
    connection
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| {
            row.get::<_, i64>(0)
        })
        .map_err(|source| StoreError::NotAStore {
            path: path.to_path_buf(),
            reason: source.to_string(),
        })?;
    if writable {
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite(path, "switch to WAL mode"))?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(sqlite(path, "set synchronous mode"))?;
    }
    connection
        .pragma_update(None, "foreign_keys", "ON")
        .map_err(sqlite(path, "enable foreign keys"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_layout() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = default_path_under(Some(directory.path().to_path_buf())).expect("path");
        assert_eq!(
            path,
            directory.path().join("arbiter").join("arbiter.sqlite")
        );
        assert!(directory.path().join("arbiter").is_dir());
        assert!(matches!(
            default_path_under(None),
            Err(StoreError::NoDataDirectory)
        ));
    }
}
