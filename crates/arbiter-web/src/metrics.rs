//! `/metrics` in OpenMetrics text, computed from the store on every scrape.
//!
//! The figures describe the newest run of the store (the highest run id), labelled with its id
//! and kind; `arbiter_run_info` carries its status, and `arbiter_runs` counts runs by status.
//! Counters restart when a newer run begins.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use arbiter_store::{RunStatus, RunStore};

use crate::WebError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunInfoLabels {
    run: String,
    kind: String,
    status: String,
}

/// Labels of per-run series. The status is left out so that a series keeps its identity
/// when the run completes; `arbiter_run_info` carries it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    run: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    run: String,
    agent: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VetoLabels {
    run: String,
    agent: String,
    bound: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    run: String,
    method: String,
    status_code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PredictionLabels {
    run: String,
    cluster: String,
    workload: String,
    bound: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RiskLabels {
    run: String,
    cluster: String,
    workload: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    run: String,
    cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PowerLabels {
    run: String,
    cluster: String,
    component: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Encodes the metrics of the store's newest run in OpenMetrics text.
pub fn render_metrics(store: &RunStore) -> Result<String, WebError> {
    let mut registry = Registry::with_prefix("arbiter");
    let runs = store.list_runs()?;

    let runs_by_status = Family::<StatusLabels, Gauge>::default();
    registry.register(
        "runs",
        "Runs in the store by status",
        runs_by_status.clone(),
    );
    for status in [
        RunStatus::Running,
        RunStatus::Complete,
        RunStatus::Incomplete,
        RunStatus::Failed,
    ] {
        let count = runs.iter().filter(|run| run.status == status).count();
        runs_by_status
            .get_or_create(&StatusLabels {
                status: status.as_str().to_owned(),
            })
            .set(count as i64);
    }

    let run_info = Family::<RunInfoLabels, Gauge>::default();
    let run_ticks = Family::<RunLabels, Counter>::default();
    let decisions = Family::<DecisionLabels, Counter>::default();
    let vetoes = Family::<VetoLabels, Counter>::default();
    let operations = Family::<OperationLabels, Counter>::default();
    let predicted = Family::<PredictionLabels, FloatGauge>::default();
    let risk = Family::<RiskLabels, FloatGauge>::default();
    let watts = Family::<PowerLabels, FloatGauge>::default();
    let cluster_nodes = Family::<ClusterLabels, Gauge>::default();
    let tick_seconds = Family::<RunLabels, FloatGauge>::default();
    let wall_per_tick = Family::<RunLabels, FloatGauge>::default();
    registry.register(
        "run_info",
        "The newest run with its status, value 1",
        run_info.clone(),
    );
    registry.register(
        "run_ticks",
        "Ticks committed by the newest run",
        run_ticks.clone(),
    );
    registry.register(
        "decisions",
        "Decisions of the newest run by chosen agent (none when no proposal was chosen) and execution outcome",
        decisions.clone(),
    );
    registry.register(
        "vetoes",
        "Vetoed proposals of the newest run by agent and bound",
        vetoes.clone(),
    );
    registry.register(
        "operations",
        "API operations of the newest run by method and HTTP status code (none when not sent)",
        operations.clone(),
    );
    registry.register(
        "predicted_demand_cores",
        "Latest predicted CPU demand per workload, mean and upper bound (estimated)",
        predicted.clone(),
    );
    registry.register(
        "predicted_risk",
        "Latest predicted SLO risk per workload, 0 to 1 (estimated)",
        risk.clone(),
    );
    registry.register(
        "estimated_watts",
        "Node power of the latest tick per cluster, idle, controlled dynamic and background dynamic (estimated)",
        watts.clone(),
    );
    registry.register(
        "cluster_nodes",
        "Nodes per cluster in the latest tick of the newest run (simulated), absent when its ticks carry no node count",
        cluster_nodes.clone(),
    );
    registry.register(
        "tick_simulated_seconds",
        "Simulated seconds per tick of the newest run",
        tick_seconds.clone(),
    );
    registry.register(
        "tick_wall_seconds",
        "Mean wall-clock seconds per recorded tick of the newest run, from its start to its last commit",
        wall_per_tick.clone(),
    );

    if let Some(newest) = runs.first() {
        let id = newest.id.to_string();
        run_info
            .get_or_create(&RunInfoLabels {
                run: id.clone(),
                kind: newest.kind.clone(),
                status: newest.status.as_str().to_owned(),
            })
            .set(1);
        let labels = RunLabels {
            run: id.clone(),
            kind: newest.kind.clone(),
        };
        run_ticks
            .get_or_create(&labels)
            .inc_by(newest.ticks_recorded.max(0) as u64);
        for ((agent, outcome), count) in store.decision_counts(newest.id)? {
            decisions
                .get_or_create(&DecisionLabels {
                    run: id.clone(),
                    agent,
                    outcome,
                })
                .inc_by(count.max(0) as u64);
        }
        for ((agent, bound), count) in store.veto_counts(newest.id)? {
            vetoes
                .get_or_create(&VetoLabels {
                    run: id.clone(),
                    agent,
                    bound,
                })
                .inc_by(count.max(0) as u64);
        }
        for ((method, status_code), count) in store.operation_counts(newest.id)? {
            operations
                .get_or_create(&OperationLabels {
                    run: id.clone(),
                    method,
                    status_code,
                })
                .inc_by(count.max(0) as u64);
        }
        for ((cluster, workload), latest) in store.latest_predictions(newest.id)? {
            for (bound, cores) in [
                ("mean", latest.cpu_mean_cores),
                ("upper", latest.cpu_upper_cores),
            ] {
                predicted
                    .get_or_create(&PredictionLabels {
                        run: id.clone(),
                        cluster: cluster.clone(),
                        workload: workload.clone(),
                        bound: bound.to_owned(),
                    })
                    .set(cores);
            }
            risk.get_or_create(&RiskLabels {
                run: id.clone(),
                cluster,
                workload,
            })
            .set(latest.risk);
        }
        // Every workload row of a cluster carries the same power and node figures, so the
        // first row of each cluster is used.
        let mut seen_clusters = std::collections::BTreeSet::new();
        let latest: Vec<_> = store
            .latest_ticks(newest.id, 1)?
            .into_iter()
            .filter(|tick| seen_clusters.insert(tick.cluster.clone()))
            .collect();
        // Ticks stored before schema version 3 read as 0 nodes, so a latest tick with 0
        // nodes in every cluster is taken as one without a node count.
        if latest.iter().any(|tick| tick.nodes > 0) {
            for tick in &latest {
                cluster_nodes
                    .get_or_create(&ClusterLabels {
                        run: id.clone(),
                        cluster: tick.cluster.clone(),
                    })
                    .set(i64::from(tick.nodes));
            }
        }
        for tick in latest {
            for (component, value) in [
                ("idle", tick.idle_w),
                ("controlled_dynamic", tick.controlled_dynamic_w),
                ("background_dynamic", tick.background_dynamic_w),
            ] {
                watts
                    .get_or_create(&PowerLabels {
                        run: id.clone(),
                        cluster: tick.cluster.clone(),
                        component: component.to_owned(),
                    })
                    .set(value);
            }
        }
        if let Some(tick_s) = newest
            .configuration
            .get("tick_s")
            .and_then(serde_json::Value::as_f64)
        {
            tick_seconds.get_or_create(&labels).set(tick_s);
        }
        if let Some(elapsed) = elapsed_seconds(&newest.started_at, newest.updated_at.as_deref())
            && newest.ticks_recorded > 0
        {
            wall_per_tick
                .get_or_create(&labels)
                .set(elapsed / newest.ticks_recorded as f64);
        }
    }

    let mut text = String::new();
    encode(&mut text, &registry).map_err(|error| WebError::Metrics {
        reason: error.to_string(),
    })?;
    Ok(text)
}

/// Seconds between two UTC timestamps `YYYY-MM-DDTHH:MM:SSZ` of the same or a later day.
fn elapsed_seconds(start: &str, end: Option<&str>) -> Option<f64> {
    let seconds = |text: &str| -> Option<f64> {
        let (date, time) = text.trim_end_matches('Z').split_once('T')?;
        let mut date_parts = date.split('-').map(|part| part.parse::<i64>());
        let (year, month, day) = (
            date_parts.next()?.ok()?,
            date_parts.next()?.ok()?,
            date_parts.next()?.ok()?,
        );
        let mut time_parts = time.split(':').map(|part| part.parse::<f64>());
        let (hour, minute, second) = (
            time_parts.next()?.ok()?,
            time_parts.next()?.ok()?,
            time_parts.next()?.ok()?,
        );
        Some(
            days_from_civil(year, month, day) as f64 * 86_400.0
                + hour * 3600.0
                + minute * 60.0
                + second,
        )
    };
    let elapsed = seconds(end?)? - seconds(start)?;
    (elapsed >= 0.0).then_some(elapsed)
}

/// Days since 1970-01-01 of a proleptic Gregorian date, counted in 400-year eras.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_across_midnight() {
        assert_eq!(
            elapsed_seconds("2026-12-31T23:59:00Z", Some("2027-01-01T00:01:30Z")),
            Some(150.0)
        );
        assert_eq!(elapsed_seconds("2026-01-01T00:00:00Z", None), None);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
