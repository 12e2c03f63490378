//! Read queries for the dashboard, reports and metrics.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use arbiter_core::referee::Decision;

use crate::error::{StoreError, sqlite};
use crate::recorder::TickRecord;
use crate::{RunId, RunStatus, RunStore, abandoned_reason, liveness};

/// A run as listed, with its report when it finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub id: RunId,
    /// Kind of run, for example `compare`.
    pub kind: String,
    /// Seed.
    pub seed: u64,
    /// Trace file.
    pub trace: String,
    /// Model files, if any.
    pub models: Option<String>,
    /// Configuration JSON.
    pub configuration: serde_json::Value,
    /// Start time, UTC, ISO 8601.
    pub started_at: String,
    /// End time, UTC, ISO 8601, when the run ended.
    pub ended_at: Option<String>,
    /// Time of the last committed batch, UTC, ISO 8601.
    pub updated_at: Option<String>,
    /// Status, with a `running` run whose writer is gone shown as `incomplete`.
    pub status: RunStatus,
    /// Error or reason stored with a failed or incomplete run.
    pub error: Option<String>,
    /// Ticks committed so far.
    pub ticks_recorded: i64,
    /// The final report, when the run completed.
    pub report: Option<serde_json::Value>,
}

/// One cluster and workload of a run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeriesInfo {
    /// Cluster name.
    pub cluster: String,
    /// Workload key.
    pub workload: String,
    /// Tick rows stored.
    pub ticks: i64,
    /// Prediction rows stored (one per decision).
    pub predictions: i64,
}

/// Tick figures averaged over a bucket of consecutive ticks (one tick when not downsampled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickPoint {
    /// Time of the bucket's first tick, in seconds.
    pub time_s: f64,
    /// Ticks in the bucket.
    pub ticks: i64,
    /// Mean demand in cores.
    pub demand_cores: f64,
    /// Mean ready capacity in cores.
    pub ready_capacity_cores: f64,
    /// Mean `spec.replicas`.
    pub spec_replicas: f64,
    /// Mean ready pods.
    pub ready_pods: f64,
    /// Mean pending pods.
    pub pending_pods: f64,
    /// Highest p95 latency in the bucket, in ms.
    pub p95_ms: f64,
    /// Ticks with an SLO miss.
    pub slo_miss_ticks: i64,
    /// OOM kills in the bucket.
    pub oom_kills: i64,
    /// Mean estimated idle watts.
    pub idle_w: f64,
    /// Mean estimated controlled dynamic watts.
    pub controlled_dynamic_w: f64,
    /// Mean estimated background dynamic watts.
    pub background_dynamic_w: f64,
    /// Mean nodes of the cluster. The mean, like the replica mean, keeps node-ticks (the
    /// area under the chart) when ticks are bucketed. 0 for ticks stored before schema
    /// version 3, which did not record the count.
    pub nodes: f64,
}

/// Predictions averaged over a bucket of consecutive decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionPoint {
    /// Time of the bucket's first decision, in seconds.
    pub time_s: f64,
    /// Mean forecast demand in cores.
    pub cpu_mean_cores: f64,
    /// Mean upper forecast demand in cores.
    pub cpu_upper_cores: f64,
    /// Mean risk.
    pub risk: f64,
    /// Highest risk in the bucket.
    pub max_risk: f64,
    /// Decisions in the bucket.
    pub decisions: i64,
    /// Decisions in the bucket that had at least one proposal.
    pub with_proposals: i64,
}

/// The newest prediction of one series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatestPrediction {
    /// Expected CPU demand in cores.
    pub cpu_mean_cores: f64,
    /// Upper CPU demand in cores.
    pub cpu_upper_cores: f64,
    /// Risk of an SLO breach, 0 to 1.
    pub risk: f64,
}

/// Decisions whose predicted risk fell in `[low, high)`, and how many saw an SLO miss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskBin {
    /// Lower end of the risk bin.
    pub low: f64,
    /// Upper end of the risk bin (inclusive for the last bin).
    pub high: f64,
    /// Decisions in the bin.
    pub decisions: i64,
    /// Decisions followed by an SLO miss within the horizon.
    pub breached: i64,
}

/// Filters of the decision feed; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionFilter {
    /// Workload key.
    pub workload: Option<String>,
    /// Proposing agent, `A`, `B` or `C`.
    pub agent: Option<String>,
    /// Execution status, for example `executed` or `noop`.
    pub status: Option<String>,
    /// Conflict kind, `opposing_scale` or `hold_against_scale`.
    pub conflict: Option<String>,
}

/// One operation of a stored decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredOperation {
    /// Description of the operation.
    pub description: String,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// HTTP status code, `None` when nothing was sent.
    pub status_code: Option<u16>,
    /// Equivalent kubectl command.
    pub kubectl: String,
    /// Response summary or error.
    pub response: String,
}

/// A decision stored in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDecision {
    /// Row id.
    pub id: i64,
    /// The record as the controller emitted it.
    pub decision: Decision,
    /// Its operations, from the operations table.
    pub operations: Vec<StoredOperation>,
}

/// One page of the decision feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionPage {
    /// Stored decisions matching the filter.
    pub total: i64,
    /// Decisions of this page, by tick.
    pub decisions: Vec<StoredDecision>,
}

/// Values present in a run's stored decisions, for filter menus.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facets {
    /// Workload keys.
    pub workloads: Vec<String>,
    /// Proposing agents.
    pub agents: Vec<String>,
    /// Execution statuses.
    pub statuses: Vec<String>,
    /// Conflict kinds.
    pub conflicts: Vec<String>,
}

const RUN_COLUMNS: &str = "r.id, r.kind, r.seed, r.trace, r.models, r.configuration, r.started_at, r.ended_at,
     r.updated_at, r.status, r.error, r.ticks_recorded, r.writer_pid, r.writer_start_ticks, p.report";

impl RunStore {
    /// Lists every run, newest first.
    pub fn list_runs(&self) -> Result<Vec<RunSummary>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r LEFT JOIN reports p ON p.run_id = r.id ORDER BY r.id DESC"
        );
        let mut statement = self
            .connection
            .prepare(&sql)
            .map_err(sqlite(&self.path, "list runs"))?;
        let rows = statement
            .query_map([], raw_run)
            .map_err(sqlite(&self.path, "list runs"))?;
        let raws = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(sqlite(&self.path, "list runs"))?;
        raws.into_iter().map(|raw| self.summary(raw)).collect()
    }

    /// Returns one run.
    pub fn run(&self, run: RunId) -> Result<RunSummary, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r LEFT JOIN reports p ON p.run_id = r.id WHERE r.id = ?1"
        );
        let raw = self
            .connection
            .query_row(&sql, [run.0], raw_run)
            .optional()
            .map_err(sqlite(&self.path, "read a run"))?
            .ok_or_else(|| StoreError::RunNotFound {
                run: run.0,
                path: self.path.clone(),
            })?;
        self.summary(raw)
    }

    /// Lists the complete runs with a report that differ from `run` at most in their seed:
    /// the same kind, trace, models and configuration apart from its top-level `seed` field.
    /// They are the seeds a multi-seed comparison pools, by id.
    pub fn sibling_runs(&self, run: RunId) -> Result<Vec<RunSummary>, StoreError> {
        let this = self.run(run)?;
        let this_configuration = without_seed(&this.configuration);
        Ok(self
            .list_runs()?
            .into_iter()
            .rev()
            .filter(|other| {
                other.kind == this.kind
                    && other.trace == this.trace
                    && other.models == this.models
                    && without_seed(&other.configuration) == this_configuration
                    && other.status == RunStatus::Complete
                    && other.report.is_some()
            })
            .collect())
    }

    /// Lists a run's series (cluster and workload pairs), sorted.
    pub fn series(&self, run: RunId) -> Result<Vec<SeriesInfo>, StoreError> {
        self.run(run)?;
        let mut statement = self
            .connection
            .prepare(
                "SELECT s.cluster, s.workload,
                        (SELECT COUNT(*) FROM ticks t WHERE t.series_id = s.id),
                        (SELECT COUNT(*) FROM predictions q WHERE q.series_id = s.id)
                 FROM series s WHERE s.run_id = ?1 ORDER BY s.cluster, s.workload",
            )
            .map_err(sqlite(&self.path, "list series"))?;
        let rows = statement
            .query_map([run.0], |row| {
                Ok(SeriesInfo {
                    cluster: row.get(0)?,
                    workload: row.get(1)?,
                    ticks: row.get(2)?,
                    predictions: row.get(3)?,
                })
            })
            .map_err(sqlite(&self.path, "list series"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sqlite(&self.path, "list series"))
    }

    /// Returns a series' ticks, averaged into at most `max_points` buckets of equal size. The
    /// node count of a bucket is its mean, as for replicas, so that node-ticks are kept.
    pub fn tick_points(
        &self,
        run: RunId,
        cluster: &str,
        workload: &str,
        max_points: usize,
    ) -> Result<Vec<TickPoint>, StoreError> {
        let Some(series_id) = self.series_id(run, cluster, workload)? else {
            return Ok(Vec::new());
        };
        let count: i64 = self
            .connection
            .query_row(
                "SELECT COUNT(*) FROM ticks WHERE series_id = ?1",
                [series_id],
                |row| row.get(0),
            )
            .map_err(sqlite(&self.path, "count ticks"))?;
        let step = bucket_size(count, max_points);
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT MIN(time_s), COUNT(*), AVG(demand_cores), AVG(ready_capacity_cores), AVG(spec_replicas),
                        AVG(ready_pods), AVG(pending_pods), MAX(p95_ms), SUM(slo_miss), SUM(oom_kills),
                        AVG(idle_w), AVG(controlled_dynamic_w), AVG(background_dynamic_w), AVG(nodes)
                 FROM ticks WHERE series_id = ?1 GROUP BY tick_index / ?2 ORDER BY tick_index / ?2",
            )
            .map_err(sqlite(&self.path, "read ticks"))?;
        let rows = statement
            .query_map(params![series_id, step], |row| {
                Ok(TickPoint {
                    time_s: row.get(0)?,
                    ticks: row.get(1)?,
                    demand_cores: row.get(2)?,
                    ready_capacity_cores: row.get(3)?,
                    spec_replicas: row.get(4)?,
                    ready_pods: row.get(5)?,
                    pending_pods: row.get(6)?,
                    p95_ms: row.get(7)?,
                    slo_miss_ticks: row.get(8)?,
                    oom_kills: row.get(9)?,
                    idle_w: row.get(10)?,
                    controlled_dynamic_w: row.get(11)?,
                    background_dynamic_w: row.get(12)?,
                    nodes: row.get(13)?,
                })
            })
            .map_err(sqlite(&self.path, "read ticks"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sqlite(&self.path, "read ticks"))
    }

    /// Returns the last `limit` ticks of every series of a run, oldest first within a series.
    pub fn latest_ticks(&self, run: RunId, limit: usize) -> Result<Vec<TickRecord>, StoreError> {
        let mut out = Vec::new();
        for series in self.series(run)? {
            let Some(series_id) = self.series_id(run, &series.cluster, &series.workload)? else {
                continue;
            };
            let mut statement = self
                .connection
                .prepare_cached(
                    "SELECT time_s, demand_cores, ready_capacity_cores, spec_replicas, ready_pods, pending_pods,
                            p95_ms, slo_miss, oom_kills, idle_w, controlled_dynamic_w, background_dynamic_w,
                            nodes
                     FROM ticks WHERE series_id = ?1 ORDER BY tick_index DESC LIMIT ?2",
                )
                .map_err(sqlite(&self.path, "read the latest ticks"))?;
            let rows = statement
                .query_map(params![series_id, limit as i64], |row| {
                    Ok(TickRecord {
                        time_s: row.get(0)?,
                        cluster: series.cluster.clone(),
                        workload: series.workload.clone(),
                        demand_cores: row.get(1)?,
                        ready_capacity_cores: row.get(2)?,
                        spec_replicas: row.get(3)?,
                        ready_pods: row.get(4)?,
                        pending_pods: row.get(5)?,
                        p95_ms: row.get(6)?,
                        slo_miss: row.get(7)?,
                        oom_kills: row.get(8)?,
                        idle_w: row.get(9)?,
                        controlled_dynamic_w: row.get(10)?,
                        background_dynamic_w: row.get(11)?,
                        nodes: row.get(12)?,
                    })
                })
                .map_err(sqlite(&self.path, "read the latest ticks"))?;
            let mut ticks = rows
                .collect::<Result<Vec<_>, _>>()
                .map_err(sqlite(&self.path, "read the latest ticks"))?;
            ticks.reverse();
            out.extend(ticks);
        }
        Ok(out)
    }

    /// Returns a series' predictions, averaged into at most `max_points` buckets.
    pub fn prediction_points(
        &self,
        run: RunId,
        cluster: &str,
        workload: &str,
        max_points: usize,
    ) -> Result<Vec<PredictionPoint>, StoreError> {
        let Some(series_id) = self.series_id(run, cluster, workload)? else {
            return Ok(Vec::new());
        };
        let count: i64 = self
            .connection
            .query_row(
                "SELECT COUNT(*) FROM predictions WHERE series_id = ?1",
                [series_id],
                |row| row.get(0),
            )
            .map_err(sqlite(&self.path, "count predictions"))?;
        let step = bucket_size(count, max_points);
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT MIN(time_s), AVG(cpu_mean_cores), AVG(cpu_upper_cores), AVG(risk), MAX(risk), COUNT(*),
                        SUM(proposals > 0)
                 FROM predictions WHERE series_id = ?1 GROUP BY tick / ?2 ORDER BY tick / ?2",
            )
            .map_err(sqlite(&self.path, "read predictions"))?;
        let rows = statement
            .query_map(params![series_id, step], |row| {
                Ok(PredictionPoint {
                    time_s: row.get(0)?,
                    cpu_mean_cores: row.get(1)?,
                    cpu_upper_cores: row.get(2)?,
                    risk: row.get(3)?,
                    max_risk: row.get(4)?,
                    decisions: row.get(5)?,
                    with_proposals: row.get(6)?,
                })
            })
            .map_err(sqlite(&self.path, "read predictions"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sqlite(&self.path, "read predictions"))
    }

    /// Returns the latest prediction of every predicted series, by cluster and workload.
    pub fn latest_predictions(
        &self,
        run: RunId,
    ) -> Result<BTreeMap<(String, String), LatestPrediction>, StoreError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT s.cluster, s.workload, q.cpu_mean_cores, q.cpu_upper_cores, q.risk
                 FROM series s JOIN predictions q ON q.series_id = s.id
                 WHERE s.run_id = ?1 AND q.tick = (SELECT MAX(tick) FROM predictions WHERE series_id = s.id)",
            )
            .map_err(sqlite(&self.path, "read the latest predictions"))?;
        let rows = statement
            .query_map([run.0], |row| {
                Ok((
                    (row.get(0)?, row.get(1)?),
                    LatestPrediction {
                        cpu_mean_cores: row.get(2)?,
                        cpu_upper_cores: row.get(3)?,
                        risk: row.get(4)?,
                    },
                ))
            })
            .map_err(sqlite(&self.path, "read the latest predictions"))?;
        rows.collect::<Result<BTreeMap<_, _>, _>>()
            .map_err(sqlite(&self.path, "read the latest predictions"))
    }

    /// Compares predicted risk with what happened: decisions grouped into `bins` equal risk
    /// bins, each with the share that saw an SLO miss on the same cluster and workload within
    /// `horizon_s` seconds after the decision.
    pub fn risk_calibration(
        &self,
        run: RunId,
        cluster: &str,
        workload: &str,
        horizon_s: f64,
        bins: usize,
    ) -> Result<Vec<RiskBin>, StoreError> {
        let bins = bins.max(1);
        let Some(series_id) = self.series_id(run, cluster, workload)? else {
            return Ok(Vec::new());
        };
        let mut statement = self
            .connection
            .prepare("SELECT time_s FROM ticks WHERE series_id = ?1 AND slo_miss = 1 ORDER BY tick_index")
            .map_err(sqlite(&self.path, "read SLO misses"))?;
        let misses = statement
            .query_map([series_id], |row| row.get::<_, f64>(0))
            .map_err(sqlite(&self.path, "read SLO misses"))?
            .collect::<Result<Vec<f64>, _>>()
            .map_err(sqlite(&self.path, "read SLO misses"))?;
        let mut statement = self
            .connection
            .prepare("SELECT time_s, risk FROM predictions WHERE series_id = ?1 ORDER BY tick")
            .map_err(sqlite(&self.path, "read predictions"))?;
        let predictions = statement
            .query_map([series_id], |row| {
                Ok((row.get::<_, f64>(0)?, row.get::<_, f64>(1)?))
            })
            .map_err(sqlite(&self.path, "read predictions"))?
            .collect::<Result<Vec<(f64, f64)>, _>>()
            .map_err(sqlite(&self.path, "read predictions"))?;
        let mut out: Vec<RiskBin> = (0..bins)
            .map(|index| RiskBin {
                low: index as f64 / bins as f64,
                high: (index + 1) as f64 / bins as f64,
                decisions: 0,
                breached: 0,
            })
            .collect();
        for (time_s, risk) in predictions {
            let index = ((risk.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
            // The first miss strictly after the decision decides whether one falls in the
            // horizon; `misses` is sorted by time because ticks are recorded in order.
            let next = misses.partition_point(|miss| *miss <= time_s);
            let breached = misses
                .get(next)
                .is_some_and(|miss| *miss <= time_s + horizon_s);
            out[index].decisions += 1;
            out[index].breached += i64::from(breached);
        }
        Ok(out)
    }

    /// Counts a run's decisions: every decision (prediction rows) and those stored in full.
    pub fn decision_totals(&self, run: RunId) -> Result<(i64, i64), StoreError> {
        let all: i64 = self
            .connection
            .query_row(
                "SELECT COUNT(*) FROM predictions q JOIN series s ON s.id = q.series_id WHERE s.run_id = ?1",
                [run.0],
                |row| row.get(0),
            )
            .map_err(sqlite(&self.path, "count decisions"))?;
        let full: i64 = self
            .connection
            .query_row(
                "SELECT COUNT(*) FROM decisions WHERE run_id = ?1",
                [run.0],
                |row| row.get(0),
            )
            .map_err(sqlite(&self.path, "count decisions"))?;
        Ok((all, full))
    }

    /// Returns one page of the stored decisions matching `filter`, by tick. Pages count from 0.
    pub fn decisions(
        &self,
        run: RunId,
        filter: &DecisionFilter,
        page: usize,
        page_size: usize,
    ) -> Result<DecisionPage, StoreError> {
        self.run(run)?;
        let condition = "run_id = ?1
            AND (?2 IS NULL OR workload = ?2)
            AND (?3 IS NULL OR instr(',' || proposing_agents || ',', ',' || ?3 || ',') > 0)
            AND (?4 IS NULL OR execution_status = ?4)
            AND (?5 IS NULL OR instr(',' || conflict_kinds || ',', ',' || ?5 || ',') > 0)";
        let total: i64 = self
            .connection
            .query_row(
                &format!("SELECT COUNT(*) FROM decisions WHERE {condition}"),
                params![
                    run.0,
                    filter.workload,
                    filter.agent,
                    filter.status,
                    filter.conflict
                ],
                |row| row.get(0),
            )
            .map_err(sqlite(&self.path, "count decisions"))?;
        let mut statement = self
            .connection
            .prepare(&format!(
                "SELECT id, record FROM decisions WHERE {condition} ORDER BY tick, id LIMIT ?6 OFFSET ?7"
            ))
            .map_err(sqlite(&self.path, "read decisions"))?;
        let rows = statement
            .query_map(
                params![
                    run.0,
                    filter.workload,
                    filter.agent,
                    filter.status,
                    filter.conflict,
                    page_size as i64,
                    (page * page_size) as i64
                ],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, rusqlite::types::Value>(1)?,
                    ))
                },
            )
            .map_err(sqlite(&self.path, "read decisions"))?;
        let raws = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(sqlite(&self.path, "read decisions"))?;
        let mut decisions = Vec::with_capacity(raws.len());
        for (id, record) in raws {
            let decision = decode_record(id, record)?;
            decisions.push(StoredDecision {
                id,
                decision,
                operations: self.operations(id)?,
            });
        }
        Ok(DecisionPage { total, decisions })
    }

    fn operations(&self, decision_id: i64) -> Result<Vec<StoredOperation>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT description, method, path, status_code, kubectl, response FROM operations
                 WHERE decision_id = ?1 ORDER BY position",
            )
            .map_err(sqlite(&self.path, "read operations"))?;
        let rows = statement
            .query_map([decision_id], |row| {
                Ok(StoredOperation {
                    description: row.get(0)?,
                    method: row.get(1)?,
                    path: row.get(2)?,
                    status_code: row.get(3)?,
                    kubectl: row.get(4)?,
                    response: row.get(5)?,
                })
            })
            .map_err(sqlite(&self.path, "read operations"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sqlite(&self.path, "read operations"))
    }

    /// Returns the values present in a run's stored decisions, sorted.
    pub fn facets(&self, run: RunId) -> Result<Facets, StoreError> {
        let distinct = |column: &str| -> Result<Vec<String>, StoreError> {
            let mut statement = self
                .connection
                .prepare(&format!(
                    "SELECT DISTINCT {column} FROM decisions WHERE run_id = ?1"
                ))
                .map_err(sqlite(&self.path, "read decision facets"))?;
            let rows = statement
                .query_map([run.0], |row| row.get::<_, String>(0))
                .map_err(sqlite(&self.path, "read decision facets"))?;
            let mut values = std::collections::BTreeSet::new();
            for row in rows {
                let text = row.map_err(sqlite(&self.path, "read decision facets"))?;
                values.extend(
                    text.split(',')
                        .filter(|part| !part.is_empty())
                        .map(str::to_owned),
                );
            }
            Ok(values.into_iter().collect())
        };
        Ok(Facets {
            workloads: distinct("workload")?,
            agents: distinct("proposing_agents")?,
            statuses: distinct("execution_status")?,
            conflicts: distinct("conflict_kinds")?,
        })
    }

    /// Counts a run's stored decisions by chosen agent (`none` when no proposal was chosen)
    /// and execution status. Decisions summarised only by their prediction row are counted
    /// as agent `none`, outcome `noop`.
    pub fn decision_counts(
        &self,
        run: RunId,
    ) -> Result<BTreeMap<(String, String), i64>, StoreError> {
        let mut counts = self.grouped_counts(
            "SELECT COALESCE(chosen_agent, 'none'), execution_status, COUNT(*) FROM decisions
             WHERE run_id = ?1 GROUP BY 1, 2",
            run,
        )?;
        let (all, full) = self.decision_totals(run)?;
        if all > full {
            *counts
                .entry(("none".to_owned(), "noop".to_owned()))
                .or_insert(0) += all - full;
        }
        Ok(counts)
    }

    /// Counts a run's vetoes by agent and bound.
    pub fn veto_counts(&self, run: RunId) -> Result<BTreeMap<(String, String), i64>, StoreError> {
        self.grouped_counts(
            "SELECT v.agent, v.bound, COUNT(*) FROM vetoes v JOIN decisions d ON d.id = v.decision_id
             WHERE d.run_id = ?1 GROUP BY 1, 2",
            run,
        )
    }

    /// Counts a run's operations by HTTP method and status code (`none` when nothing was sent).
    pub fn operation_counts(
        &self,
        run: RunId,
    ) -> Result<BTreeMap<(String, String), i64>, StoreError> {
        self.grouped_counts(
            "SELECT o.method, COALESCE(CAST(o.status_code AS TEXT), 'none'), COUNT(*) FROM operations o
             JOIN decisions d ON d.id = o.decision_id WHERE d.run_id = ?1 GROUP BY 1, 2",
            run,
        )
    }

    fn grouped_counts(
        &self,
        sql: &str,
        run: RunId,
    ) -> Result<BTreeMap<(String, String), i64>, StoreError> {
        let mut statement = self
            .connection
            .prepare(sql)
            .map_err(sqlite(&self.path, "count records"))?;
        let rows = statement
            .query_map([run.0], |row| Ok(((row.get(0)?, row.get(1)?), row.get(2)?)))
            .map_err(sqlite(&self.path, "count records"))?;
        rows.collect::<Result<BTreeMap<_, _>, _>>()
            .map_err(sqlite(&self.path, "count records"))
    }

    fn series_id(
        &self,
        run: RunId,
        cluster: &str,
        workload: &str,
    ) -> Result<Option<i64>, StoreError> {
        self.connection
            .query_row(
                "SELECT id FROM series WHERE run_id = ?1 AND cluster = ?2 AND workload = ?3",
                params![run.0, cluster, workload],
                |row| row.get(0),
            )
            .optional()
            .map_err(sqlite(&self.path, "find a series"))
    }

    fn summary(&self, raw: RawRun) -> Result<RunSummary, StoreError> {
        let configuration =
            serde_json::from_str(&raw.configuration).map_err(|source| StoreError::Json {
                operation: "decode",
                what: format!("the configuration of run {}", raw.id),
                source,
            })?;
        let report = match raw.report {
            Some(text) => Some(
                serde_json::from_str(&text).map_err(|source| StoreError::Json {
                    operation: "decode",
                    what: format!("the report of run {}", raw.id),
                    source,
                })?,
            ),
            None => None,
        };
        let mut status = RunStatus::parse(&raw.status);
        let mut error = raw.error;
        if status == RunStatus::Running && liveness::writer_gone(raw.writer_pid, raw.writer_start) {
            status = RunStatus::Incomplete;
            error = Some(abandoned_reason(raw.writer_pid));
        }
        Ok(RunSummary {
            id: RunId(raw.id),
            kind: raw.kind,
            seed: raw.seed as u64,
            trace: raw.trace,
            models: raw.models,
            configuration,
            started_at: raw.started_at,
            ended_at: raw.ended_at,
            updated_at: raw.updated_at,
            status,
            error,
            ticks_recorded: raw.ticks_recorded,
            report,
        })
    }
}

/// Decodes a stored decision: DEFLATE-compressed JSON in a BLOB, or plain JSON text.
fn decode_record(id: i64, record: rusqlite::types::Value) -> Result<Decision, StoreError> {
    use std::io::Read as _;
    let json = match record {
        rusqlite::types::Value::Text(text) => text.into_bytes(),
        rusqlite::types::Value::Blob(bytes) => {
            let mut json = Vec::with_capacity(bytes.len() * 4);
            flate2::read::DeflateDecoder::new(bytes.as_slice())
                .read_to_end(&mut json)
                .map_err(|error| StoreError::CorruptRecord {
                    what: format!("decision {id}"),
                    reason: format!("invalid DEFLATE data: {error}"),
                })?;
            json
        }
        other => {
            return Err(StoreError::CorruptRecord {
                what: format!("decision {id}"),
                reason: format!(
                    "expected JSON text or a DEFLATE blob, found {:?}",
                    other.data_type()
                ),
            });
        }
    };
    serde_json::from_slice(&json).map_err(|source| StoreError::Json {
        operation: "decode",
        what: format!("decision {id}"),
        source,
    })
}

/// Returns a configuration without its top-level `seed` field.
fn without_seed(configuration: &serde_json::Value) -> serde_json::Value {
    let mut copy = configuration.clone();
    if let Some(object) = copy.as_object_mut() {
        object.remove("seed");
    }
    copy
}

/// Number of rows per bucket so that `count` rows make at most `max_points` buckets.
fn bucket_size(count: i64, max_points: usize) -> i64 {
    let max_points = max_points.max(1) as i64;
    ((count + max_points - 1) / max_points).max(1)
}

struct RawRun {
    id: i64,
    kind: String,
    seed: i64,
    trace: String,
    models: Option<String>,
    configuration: String,
    started_at: String,
    ended_at: Option<String>,
    updated_at: Option<String>,
    status: String,
    error: Option<String>,
    ticks_recorded: i64,
    writer_pid: Option<i64>,
    writer_start: Option<i64>,
    report: Option<String>,
}

fn raw_run(row: &Row<'_>) -> rusqlite::Result<RawRun> {
    Ok(RawRun {
        id: row.get(0)?,
        kind: row.get(1)?,
        seed: row.get(2)?,
        trace: row.get(3)?,
        models: row.get(4)?,
        configuration: row.get(5)?,
        started_at: row.get(6)?,
        ended_at: row.get(7)?,
        updated_at: row.get(8)?,
        status: row.get(9)?,
        error: row.get(10)?,
        ticks_recorded: row.get(11)?,
        writer_pid: row.get(12)?,
        writer_start: row.get(13)?,
        report: row.get(14)?,
    })
}
