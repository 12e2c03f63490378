//! Writing one run: ticks and decisions in batched transactions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use arbiter_core::action::{Action, AgentId};
use arbiter_core::referee::Decision;

use crate::RunId;
use crate::error::{StoreError, sqlite};

/// Ticks written per transaction: one simulated hour at 15 s ticks. A crash loses at most this
/// many ticks; larger batches barely speed up writing.
pub const TICKS_PER_TRANSACTION: u32 = 240;

/// One cluster's figures for one workload at one tick. Power figures and the node count are
/// the whole cluster's and repeat on each of its workloads' rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickRecord {
    /// Simulated time at the end of the tick, in seconds.
    pub time_s: f64,
    /// Cluster name, `baseline` or `experimental` in `arbiter compare`.
    pub cluster: String,
    /// Workload key `namespace/name`, as in the decisions.
    pub workload: String,
    /// Offered demand in cores.
    pub demand_cores: f64,
    /// CPU the Ready pods could use, in cores.
    pub ready_capacity_cores: f64,
    /// `spec.replicas`.
    pub spec_replicas: i32,
    /// Ready pods.
    pub ready_pods: u32,
    /// Pods not bound to a node.
    pub pending_pods: u32,
    /// p95 latency in milliseconds.
    pub p95_ms: f64,
    /// Whether the p95 latency exceeded the SLO bound in this tick.
    pub slo_miss: bool,
    /// Containers killed for exceeding their memory limit in this tick.
    pub oom_kills: u32,
    /// Estimated idle power of all nodes, in watts.
    pub idle_w: f64,
    /// Estimated dynamic power attributed to the exercise pods, in watts.
    pub controlled_dynamic_w: f64,
    /// Estimated dynamic power of everything else on the nodes, in watts.
    pub background_dynamic_w: f64,
    /// Nodes of the cluster that exist in this tick (launching, Ready, cordoned or NotReady).
    /// Ticks stored before schema version 3 read as 0.
    pub nodes: u32,
}

/// Writes one run. Created by [`crate::RunStore::recorder`]; consumed by [`RunRecorder::finish`]
/// or [`RunRecorder::fail`]. Dropping it otherwise commits what it has and marks the run
/// `incomplete`.
#[derive(Debug)]
pub struct RunRecorder {
    connection: Connection,
    path: PathBuf,
    run: RunId,
    series: BTreeMap<(String, String), SeriesCursor>,
    in_transaction: bool,
    batch_ticks: u32,
    last_time_s: Option<f64>,
    ticks_recorded: i64,
    closed: bool,
}

#[derive(Debug, Clone, Copy)]
struct SeriesCursor {
    id: i64,
    next_index: i64,
}

impl RunRecorder {
    pub(crate) fn new(path: &Path, run: RunId) -> Result<RunRecorder, StoreError> {
        let connection = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        crate::configure(&connection, path, true)?;
        let mut recorder = RunRecorder {
            connection,
            path: path.to_path_buf(),
            run,
            series: BTreeMap::new(),
            in_transaction: false,
            batch_ticks: 0,
            last_time_s: None,
            ticks_recorded: 0,
            closed: false,
        };
        recorder.load_series()?;
        Ok(recorder)
    }

    /// Loads the series a previous recorder of the same run created, so that a second
    /// recorder appends after them.
    fn load_series(&mut self) -> Result<(), StoreError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT s.id, s.cluster, s.workload,
                        COALESCE((SELECT MAX(tick_index) + 1 FROM ticks WHERE series_id = s.id), 0)
                 FROM series s WHERE s.run_id = ?1",
            )
            .map_err(sqlite(&self.path, "load a run's series"))?;
        let rows = statement
            .query_map([self.run.0], |row| {
                Ok((
                    (row.get::<_, String>(1)?, row.get::<_, String>(2)?),
                    SeriesCursor {
                        id: row.get(0)?,
                        next_index: row.get(3)?,
                    },
                ))
            })
            .map_err(sqlite(&self.path, "load a run's series"))?;
        let loaded = rows
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map_err(sqlite(&self.path, "load a run's series"))?;
        drop(statement);
        self.series = loaded;
        self.ticks_recorded = self
            .connection
            .query_row(
                "SELECT ticks_recorded FROM runs WHERE id = ?1",
                [self.run.0],
                |row| row.get(0),
            )
            .map_err(sqlite(&self.path, "read a run's progress"))?;
        Ok(())
    }

    /// Returns the run this recorder writes.
    pub fn run(&self) -> RunId {
        self.run
    }

    /// Records one cluster's figures for one workload at one tick.
    pub fn record_tick(&mut self, tick: &TickRecord) -> Result<(), StoreError> {
        self.advance(tick.time_s)?;
        let cursor = self.series_cursor(&tick.cluster, &tick.workload)?;
        self.connection
            .prepare_cached(
                "INSERT INTO ticks (series_id, tick_index, time_s, demand_cores, ready_capacity_cores,
                 spec_replicas, ready_pods, pending_pods, p95_ms, slo_miss, oom_kills, idle_w,
                 controlled_dynamic_w, background_dynamic_w, nodes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    cursor.id,
                    cursor.next_index,
                    tick.time_s,
                    tick.demand_cores,
                    tick.ready_capacity_cores,
                    tick.spec_replicas,
                    tick.ready_pods,
                    tick.pending_pods,
                    tick.p95_ms,
                    tick.slo_miss,
                    tick.oom_kills,
                    tick.idle_w,
                    tick.controlled_dynamic_w,
                    tick.background_dynamic_w,
                    tick.nodes
                ])
            })
            .map_err(sqlite(&self.path, "insert a tick"))?;
        if let Some(entry) = self
            .series
            .get_mut(&(tick.cluster.clone(), tick.workload.clone()))
        {
            entry.next_index += 1;
        }
        Ok(())
    }

    /// Records one decision: a compact prediction row always, and the full record with its
    /// vetoes and operations when it is more than a `Noop` without proposals.
    pub fn record_decision(&mut self, decision: &Decision) -> Result<(), StoreError> {
        self.advance(decision.time_s)?;
        let cursor = self.series_cursor(&decision.cluster, &decision.workload)?;
        self.connection
            .prepare_cached(
                "INSERT OR REPLACE INTO predictions (series_id, tick, time_s, cpu_mean_cores, cpu_upper_cores, risk, proposals)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    cursor.id,
                    decision.tick as i64,
                    decision.time_s,
                    decision.prediction.cpu_mean_cores,
                    decision.prediction.cpu_upper_cores,
                    decision.prediction.risk,
                    decision.proposals.len() as i64
                ])
            })
            .map_err(sqlite(&self.path, "insert a prediction"))?;
        if is_notable(decision) {
            self.insert_full_decision(decision)?;
        }
        Ok(())
    }

    fn insert_full_decision(&mut self, decision: &Decision) -> Result<(), StoreError> {
        let json = serde_json::to_vec(decision).map_err(|source| StoreError::Json {
            operation: "encode",
            what: format!(
                "the decision of tick {} for {}",
                decision.tick, decision.workload
            ),
            source,
        })?;
        let record = compress_record(&json);
        let proposing: Vec<String> = decision
            .proposals
            .iter()
            .map(|proposal| agent_code(proposal.agent))
            .collect();
        let conflicts: Vec<String> = decision.conflicts.iter().map(serde_name).collect();
        let bounds: Vec<String> = decision
            .vetoes
            .iter()
            .map(|veto| serde_name(&veto.bound))
            .collect();
        let status = decision.execution.as_ref().map_or_else(
            || "none".to_owned(),
            |execution| serde_name(&execution.status),
        );
        self.connection
            .prepare_cached(
                "INSERT INTO decisions (run_id, tick, time_s, cluster, workload, action_kind, chosen_agent,
                 proposing_agents, execution_status, conflict_kinds, veto_bounds, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    self.run.0,
                    decision.tick as i64,
                    decision.time_s,
                    decision.cluster,
                    decision.workload,
                    serde_name(&decision.action),
                    decision.chosen_agent.map(agent_code),
                    joined(&proposing),
                    status,
                    joined(&conflicts),
                    joined(&bounds),
                    record
                ])
            })
            .map_err(sqlite(&self.path, "insert a decision"))?;
        let decision_id = self.connection.last_insert_rowid();
        for veto in &decision.vetoes {
            self.connection
                .prepare_cached(
                    "INSERT INTO vetoes (decision_id, agent, bound, reason) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut statement| {
                    statement.execute(params![
                        decision_id,
                        agent_code(veto.agent),
                        serde_name(&veto.bound),
                        veto.reason
                    ])
                })
                .map_err(sqlite(&self.path, "insert a veto"))?;
        }
        let operations = decision
            .execution
            .iter()
            .flat_map(|execution| execution.operations.iter());
        for (position, operation) in operations.enumerate() {
            self.connection
                .prepare_cached(
                    "INSERT INTO operations (decision_id, position, description, method, path, status_code,
                     kubectl, response, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .and_then(|mut statement| {
                    statement.execute(params![
                        decision_id,
                        position as i64,
                        operation.description,
                        operation.method,
                        operation.path,
                        operation.status_code,
                        operation.kubectl,
                        operation.response,
                        operation.duration_ms
                    ])
                })
                .map_err(sqlite(&self.path, "insert an operation"))?;
        }
        Ok(())
    }

    /// Commits the final batch, stores the report and marks the run `complete`.
    pub fn finish(mut self, report: &serde_json::Value) -> Result<(), StoreError> {
        let text = serde_json::to_string(report).map_err(|source| StoreError::Json {
            operation: "encode",
            what: format!("the report of run {}", self.run),
            source,
        })?;
        self.begin_if_needed()?;
        self.connection
            .execute(
                "INSERT OR REPLACE INTO reports (run_id, report) VALUES (?1, ?2)",
                params![self.run.0, text],
            )
            .map_err(sqlite(&self.path, "insert the report"))?;
        self.close("complete", None)
    }

    /// Commits the final batch and marks the run `failed` with the error.
    pub fn fail(mut self, error: &str) -> Result<(), StoreError> {
        self.close("failed", Some(error))
    }

    /// Commits the batch when the tick's time starts a new tick beyond the batch size, and
    /// opens a transaction when none is open.
    fn advance(&mut self, time_s: f64) -> Result<(), StoreError> {
        if self.last_time_s != Some(time_s) {
            if self.batch_ticks >= TICKS_PER_TRANSACTION {
                self.commit()?;
            }
            self.last_time_s = Some(time_s);
            self.batch_ticks += 1;
            self.ticks_recorded += 1;
        }
        self.begin_if_needed()
    }

    fn begin_if_needed(&mut self) -> Result<(), StoreError> {
        if !self.in_transaction {
            self.connection
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(sqlite(&self.path, "begin a transaction"))?;
            self.in_transaction = true;
        }
        Ok(())
    }

    /// Updates the run's progress and commits the open transaction.
    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.in_transaction {
            return Ok(());
        }
        self.connection
            .execute(
                "UPDATE runs SET ticks_recorded = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?1",
                params![self.run.0, self.ticks_recorded],
            )
            .map_err(sqlite(&self.path, "update the run's progress"))?;
        self.connection
            .execute_batch("COMMIT")
            .map_err(sqlite(&self.path, "commit a batch"))?;
        self.in_transaction = false;
        self.batch_ticks = 0;
        Ok(())
    }

    fn close(&mut self, status: &str, error: Option<&str>) -> Result<(), StoreError> {
        self.closed = true;
        self.begin_if_needed()?;
        self.connection
            .execute(
                "UPDATE runs SET status = ?2, error = ?3, ended_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?1",
                params![self.run.0, status, error],
            )
            .map_err(sqlite(&self.path, "close the run"))?;
        self.commit()
    }

    fn series_cursor(&mut self, cluster: &str, workload: &str) -> Result<SeriesCursor, StoreError> {
        let key = (cluster.to_owned(), workload.to_owned());
        if let Some(cursor) = self.series.get(&key) {
            return Ok(*cursor);
        }
        self.connection
            .execute(
                "INSERT INTO series (run_id, cluster, workload) VALUES (?1, ?2, ?3)",
                params![self.run.0, cluster, workload],
            )
            .map_err(sqlite(&self.path, "insert a series"))?;
        let cursor = SeriesCursor {
            id: self.connection.last_insert_rowid(),
            next_index: 0,
        };
        self.series.insert(key, cursor);
        Ok(cursor)
    }
}

impl Drop for RunRecorder {
    fn drop(&mut self) {
        if self.closed {
            if self.in_transaction {
                let _ = self.connection.execute_batch("ROLLBACK");
            }
            return;
        }
        // Best effort: a drop cannot report an error, and a failure here leaves the run
        // `running` until the next open finds its writer gone.
        let reason = "the recorder was dropped before the run finished".to_owned();
        let _ = self.close("incomplete", Some(&reason));
    }
}

/// Compresses a decision's JSON with raw DEFLATE at the fastest level. The fixture's decision
/// JSON is about 3.0 kB, mostly the named feature vector, and compresses to about 1.1 kB.
fn compress_record(json: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(json.len() / 3),
        flate2::Compression::fast(),
    );
    // `Write` for `Vec<u8>` never returns an error, so neither call can fail here.
    let _ = encoder.write_all(json);
    encoder.finish().unwrap_or_default()
}

/// Returns whether a decision is stored in full rather than only as its prediction row.
fn is_notable(decision: &Decision) -> bool {
    let has_operations = decision
        .execution
        .as_ref()
        .is_some_and(|execution| !execution.operations.is_empty());
    !decision.proposals.is_empty()
        || !decision.vetoes.is_empty()
        || !decision.conflicts.is_empty()
        || !decision.adjustments.is_empty()
        || !matches!(decision.action, Action::Noop)
        || has_operations
}

fn joined(values: &[String]) -> String {
    let mut unique: Vec<&str> = values.iter().map(String::as_str).collect();
    unique.sort_unstable();
    unique.dedup();
    unique.join(",")
}

/// Returns the name a value has in the decision JSON: the string of a unit variant, or the
/// `kind` tag of a tagged one. Using serde keeps the columns in step with new variants.
pub(crate) fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(serde_json::Value::Object(map)) => match map.get("kind") {
            Some(serde_json::Value::String(kind)) => kind.clone(),
            _ => "unknown".to_owned(),
        },
        _ => "unknown".to_owned(),
    }
}

/// Returns an agent's one-letter code, as in the decision JSON.
pub(crate) fn agent_code(agent: AgentId) -> String {
    serde_name(&agent)
}
