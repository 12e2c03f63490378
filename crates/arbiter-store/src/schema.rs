//! Schema migrations. Version N of the schema is the result of applying `MIGRATIONS[..N]` in
//! order; the `schema_version` table contains the version a file is at.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::error::{StoreError, sqlite};

/// Schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 3;

/// Version 1: runs, per-tick figures, decisions, operations and reports.
const MIGRATION_1: &str = "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    seed INTEGER NOT NULL,
    trace TEXT NOT NULL,
    models TEXT,
    configuration TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete', 'failed')),
    error TEXT,
    writer_pid INTEGER,
    writer_start_ticks INTEGER
);
CREATE TABLE series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    cluster TEXT NOT NULL,
    workload TEXT NOT NULL,
    UNIQUE (run_id, cluster, workload)
);
CREATE TABLE ticks (
    series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    tick_index INTEGER NOT NULL,
    time_s REAL NOT NULL,
    demand_cores REAL NOT NULL,
    ready_capacity_cores REAL NOT NULL,
    spec_replicas INTEGER NOT NULL,
    ready_pods INTEGER NOT NULL,
    pending_pods INTEGER NOT NULL,
    p95_ms REAL NOT NULL,
    slo_miss INTEGER NOT NULL,
    oom_kills INTEGER NOT NULL,
    idle_w REAL NOT NULL,
    controlled_dynamic_w REAL NOT NULL,
    background_dynamic_w REAL NOT NULL,
    PRIMARY KEY (series_id, tick_index)
) WITHOUT ROWID;
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tick INTEGER NOT NULL,
    time_s REAL NOT NULL,
    cluster TEXT NOT NULL,
    workload TEXT NOT NULL,
    action_kind TEXT NOT NULL,
    chosen_agent TEXT,
    proposing_agents TEXT NOT NULL,
    execution_status TEXT NOT NULL,
    conflict_kinds TEXT NOT NULL,
    veto_bounds TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX decisions_by_run_tick ON decisions (run_id, tick);
CREATE TABLE vetoes (
    decision_id INTEGER NOT NULL REFERENCES decisions(id) ON DELETE CASCADE,
    agent TEXT NOT NULL,
    bound TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX vetoes_by_decision ON vetoes (decision_id);
CREATE TABLE operations (
    decision_id INTEGER NOT NULL REFERENCES decisions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    description TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status_code INTEGER,
    kubectl TEXT NOT NULL,
    response TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    PRIMARY KEY (decision_id, position)
) WITHOUT ROWID;
CREATE TABLE reports (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    report TEXT NOT NULL
);
";

/// Version 2: one compact prediction row per decision, and the run's progress heartbeat.
const MIGRATION_2: &str = "
CREATE TABLE predictions (
    series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    tick INTEGER NOT NULL,
    time_s REAL NOT NULL,
    cpu_mean_cores REAL NOT NULL,
    cpu_upper_cores REAL NOT NULL,
    risk REAL NOT NULL,
    proposals INTEGER NOT NULL,
    PRIMARY KEY (series_id, tick)
) WITHOUT ROWID;
ALTER TABLE runs ADD COLUMN updated_at TEXT;
ALTER TABLE runs ADD COLUMN ticks_recorded INTEGER NOT NULL DEFAULT 0;
";

/// Version 3: the cluster's node count on every tick row. Rows written before it read as 0
/// nodes, because earlier builds did not record the count.
const MIGRATION_3: &str = "
ALTER TABLE ticks ADD COLUMN nodes INTEGER NOT NULL DEFAULT 0;
";

/// Every migration in order; `MIGRATIONS[i]` takes a file from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: [&str; SCHEMA_VERSION as usize] =
    [MIGRATION_1, MIGRATION_2, MIGRATION_3];

/// Reads the schema version, 0 for an empty database.
pub(crate) fn read_version(connection: &Connection, path: &Path) -> Result<i64, StoreError> {
    let has_table: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')",
            [],
            |row| row.get(0),
        )
        .map_err(|source| not_a_store(path, source))?;
    if !has_table {
        let other_tables: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |row| row.get(0),
            )
            .map_err(|source| not_a_store(path, source))?;
        if other_tables > 0 {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: format!(
                    "it is a SQLite database with {other_tables} tables but no schema_version table"
                ),
            });
        }
        return Ok(0);
    }
    let version: Option<i64> = connection
        .query_row("SELECT MAX(version) FROM schema_version", [], |row| {
            row.get(0)
        })
        .optional()
        .map_err(sqlite(path, "read the schema version"))?
        .flatten();
    Ok(version.unwrap_or(0))
}

fn not_a_store(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::NotAStore {
        path: path.to_path_buf(),
        reason: source.to_string(),
    }
}

/// Applies the missing migrations, each in its own transaction, and rejects newer schemas.
pub(crate) fn migrate(connection: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found = read_version(connection, path)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        let transaction = connection
            .transaction()
            .map_err(sqlite(path, "begin a migration"))?;
        transaction
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)",
            )
            .map_err(sqlite(path, "create the schema_version table"))?;
        transaction
            .execute_batch(migration)
            .map_err(sqlite(path, "apply a schema migration"))?;
        transaction
            .execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                [version],
            )
            .map_err(sqlite(path, "record the schema version"))?;
        transaction
            .commit()
            .map_err(sqlite(path, "commit a schema migration"))?;
    }
    Ok(())
}

/// Checks that a read-only connection finds a schema this build can read.
pub(crate) fn check_readable(connection: &Connection, path: &Path) -> Result<(), StoreError> {
    let found = read_version(connection, path)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found < SCHEMA_VERSION {
        return Err(StoreError::NotAStore {
            path: path.to_path_buf(),
            reason: format!(
                "it has schema version {found}, older than version {SCHEMA_VERSION}; open it once for writing (for example with `arbiter compare --store`) to migrate it"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunStore;

    /// Creates a file at schema version 1 with one finished run, as an older build wrote it.
    fn version_1_store(path: &Path) {
        let connection = Connection::open(path).expect("create file");
        connection
            .execute_batch(
                "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL);",
            )
            .expect("version table");
        connection
            .execute_batch(MIGRATION_1)
            .expect("version 1 schema");
        connection
            .execute_batch(
                "INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00Z');
                 INSERT INTO runs (kind, seed, trace, configuration, started_at, ended_at, status)
                 VALUES ('compare', 11, 'old.csv', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 'complete');",
            )
            .expect("version 1 run");
    }

    #[test]
    fn version_1_migrates() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("old.sqlite");
        version_1_store(&path);

        let error = RunStore::open_read_only(&path).expect_err("read-only open of version 1");
        assert!(
            error
                .to_string()
                .contains(&format!("older than version {SCHEMA_VERSION}")),
            "{error}"
        );

        let store = RunStore::open(&path).expect("open migrates");
        assert_eq!(
            read_version(&store.connection, &path).expect("version"),
            SCHEMA_VERSION
        );
        let runs = store.list_runs().expect("runs after migration");
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].seed, 11);
        assert_eq!(runs[0].ticks_recorded, 0);
        assert_eq!(runs[0].status, crate::RunStatus::Complete);
        drop(store);

        let store = RunStore::open(&path).expect("second open is a no-op");
        let versions: i64 = store
            .connection
            .query_row("SELECT COUNT(*) FROM schema_version", [], |row| row.get(0))
            .expect("count versions");
        assert_eq!(versions, SCHEMA_VERSION);
        RunStore::open_read_only(&path).expect("read-only open after migration");
    }

    /// Creates a file at schema version 2 with one finished run of two ticks on one series,
    /// as a build without node counts wrote it.
    fn version_2_store(path: &Path) {
        let connection = Connection::open(path).expect("create file");
        connection
            .execute_batch(
                "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL);",
            )
            .expect("version table");
        connection
            .execute_batch(MIGRATION_1)
            .expect("version 1 schema");
        connection
            .execute_batch(MIGRATION_2)
            .expect("version 2 schema");
        connection
            .execute_batch(
                "INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00Z');
                 INSERT INTO schema_version VALUES (2, '2026-01-01T00:00:00Z');
                 INSERT INTO runs (kind, seed, trace, configuration, started_at, ended_at, status, ticks_recorded)
                 VALUES ('compare', 12, 'old.csv', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 'complete', 2);
                 INSERT INTO series (run_id, cluster, workload) VALUES (1, 'baseline', 'ns/web');
                 INSERT INTO ticks (series_id, tick_index, time_s, demand_cores, ready_capacity_cores,
                     spec_replicas, ready_pods, pending_pods, p95_ms, slo_miss, oom_kills, idle_w,
                     controlled_dynamic_w, background_dynamic_w)
                 VALUES (1, 0, 15.0, 2.5, 3.0, 6, 6, 0, 120.0, 0, 0, 320.0, 40.0, 35.0),
                        (1, 1, 30.0, 3.5, 3.0, 6, 6, 1, 260.0, 1, 0, 320.0, 50.0, 35.0);",
            )
            .expect("version 2 run");
    }

    #[test]
    fn version_2_migrates() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("old.sqlite");
        version_2_store(&path);

        let error = RunStore::open_read_only(&path).expect_err("read-only open of version 2");
        assert!(
            error.to_string().contains("schema version 2, older than"),
            "{error}"
        );

        let store = RunStore::open(&path).expect("open migrates");
        assert_eq!(
            read_version(&store.connection, &path).expect("version"),
            SCHEMA_VERSION
        );
        let runs = store.list_runs().expect("runs after migration");
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].seed, 12);
        assert_eq!(runs[0].ticks_recorded, 2);

        let run = runs[0].id;
        let ticks = store.latest_ticks(run, 10).expect("ticks after migration");
        assert_eq!(ticks.len(), 2);
        assert_eq!(ticks[0].demand_cores, 2.5);
        assert_eq!(ticks[1].pending_pods, 1);
        assert!(ticks[1].slo_miss);
        assert_eq!(ticks[0].nodes, 0, "old rows read as 0 nodes");
        assert_eq!(ticks[1].nodes, 0, "old rows read as 0 nodes");
        let points = store
            .tick_points(run, "baseline", "ns/web", 1)
            .expect("points after migration");
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].ticks, 2);
        assert_eq!(points[0].nodes, 0.0);
        assert_eq!(points[0].demand_cores, 3.0);
        drop(store);

        RunStore::open_read_only(&path).expect("read-only open after migration");
    }

    #[test]
    fn newer_schema_rejected() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("new.sqlite");
        drop(RunStore::open(&path).expect("create"));
        Connection::open(&path)
            .expect("reopen")
            .execute_batch("INSERT INTO schema_version VALUES (99, '2030-01-01T00:00:00Z')")
            .expect("bump version");
        for error in [
            RunStore::open(&path).expect_err("writable open"),
            RunStore::open_read_only(&path).expect_err("read-only open"),
        ] {
            assert!(
                matches!(
                    error,
                    StoreError::NewerSchema {
                        found: 99,
                        supported: SCHEMA_VERSION,
                        ..
                    }
                ),
                "{error}"
            );
            assert!(error.to_string().contains("upgrade arbiter"));
        }
    }
}
