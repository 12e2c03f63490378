//! HTML pages, built as strings from store queries. Every page is self-contained: inline CSS,
//! inline SVG charts, and only the run page carries a small inline script for live updates.

mod comparison;
mod feed;
mod predictions;
mod run;

pub use comparison::{comparison_page, comparison_section};
pub use feed::{FeedQuery, decision_feed, decisions_page};
pub use predictions::{predictions_page, predictions_section};
pub use run::{run_charts, run_charts_fragment, run_page};

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arbiter_store::{RunId, RunStore, RunSummary, SeriesInfo};

use crate::WebError;
use crate::svg::{Chart, FigureKind, escape, number};

/// Points per chart: enough for a 900 px wide chart, few enough to keep pages small.
pub const MAX_POINTS: usize = 1500;

/// Decisions per page of the feed.
pub const PAGE_SIZE: usize = 50;

const BASELINE_COLOR: &str = "#1f77b4";
const EXPERIMENTAL_COLOR: &str = "#d62728";
const DEMAND_COLOR: &str = "#444444";

/// Figures of a comparison report: JSON name, label and kind.
pub const FIGURES: [(&str, &str, FigureKind); 16] = [
    (
        "slo_miss_minutes",
        "SLO-miss minutes",
        FigureKind::Simulated,
    ),
    ("p95_latency_ms", "p95 latency (ms)", FigureKind::Simulated),
    (
        "requested_core_hours",
        "requested core-hours",
        FigureKind::Simulated,
    ),
    ("replica_changes", "replica changes", FigureKind::Simulated),
    ("oom_kills", "OOM kills", FigureKind::Simulated),
    (
        "pending_pod_minutes",
        "pending pod-minutes",
        FigureKind::Simulated,
    ),
    ("mean_replicas", "mean replicas", FigureKind::Simulated),
    ("max_replicas", "max replicas", FigureKind::Simulated),
    (
        "served_core_hours",
        "served core-hours",
        FigureKind::Simulated,
    ),
    (
        "dropped_core_hours",
        "dropped core-hours",
        FigureKind::Simulated,
    ),
    ("node_hours", "node-hours", FigureKind::Simulated),
    ("evicted_pods", "evicted pods", FigureKind::Simulated),
    ("energy_kwh", "energy (kWh)", FigureKind::Estimated),
    ("energy_idle_kwh", "  idle (kWh)", FigureKind::Estimated),
    (
        "energy_controlled_dynamic_kwh",
        "  controlled dynamic (kWh)",
        FigureKind::Estimated,
    ),
    (
        "energy_background_dynamic_kwh",
        "  background dynamic (kWh)",
        FigureKind::Estimated,
    ),
];

const STYLE: &str = "
body { font-family: sans-serif; margin: 0; color: #222; background: #fafafa; }
header { background: #20303f; color: #fff; padding: 10px 20px; }
header a { color: #cfe3ff; margin-right: 16px; text-decoration: none; }
header strong { margin-right: 24px; }
main { padding: 16px 20px; max-width: 1200px; }
table { border-collapse: collapse; margin: 8px 0 16px; background: #fff; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; font-size: 13px; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.kind { color: #8a4b00; font-size: 12px; }
.status { padding: 1px 6px; border-radius: 3px; font-size: 12px; color: #fff; background: #777; }
.status-complete, .status-executed { background: #2e7d32; }
.status-running, .status-dry_run { background: #1565c0; }
.status-incomplete, .status-noop, .status-no_targets { background: #8d6e00; }
.status-failed, .status-error { background: #c62828; }
.chart { display: block; margin: 8px 0 16px; border: 1px solid #ddd; max-width: 100%; height: auto; }
article.decision { background: #fff; border: 1px solid #ddd; margin: 10px 0; padding: 8px 12px; }
article.decision h3 { margin: 2px 0 6px; font-size: 15px; }
code { font-size: 12px; background: #f2f2f2; padding: 1px 3px; }
form.filters label { margin-right: 12px; font-size: 13px; }
.note { color: #555; font-size: 13px; }
nav.pages a { margin-right: 10px; }
";

/// Wraps a body in the page layout with the navigation of a run, if any.
pub fn layout(title: &str, run: Option<RunId>, body: &str, links: Links) -> String {
    let mut nav = String::new();
    let _ = write!(nav, r#"<a href="{}">Runs</a>"#, links.runs());
    if let Some(run) = run {
        let _ = write!(
            nav,
            r#"<a href="{}">Run {run}</a><a href="{}">Decisions</a><a href="{}">Comparison</a><a href="{}">Predictions</a>"#,
            links.run(run),
            links.decisions(run),
            links.comparison(run),
            links.predictions(run),
        );
    }
    if links == Links::Server {
        nav.push_str(r#"<a href="/metrics">Metrics</a>"#);
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>{STYLE}</style></head>
<body><header><strong>Arbiter</strong>{nav}</header><main>
<h1>{title}</h1>
{body}
</main></body></html>
"#,
        title = escape(title),
    )
}

/// Link targets: the live server's routes, or anchors within a static report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Routes of the dashboard server.
    Server,
    /// Anchors within one report file.
    Report,
}

impl Links {
    fn runs(self) -> String {
        match self {
            Links::Server => "/".to_owned(),
            Links::Report => "#run".to_owned(),
        }
    }

    fn run(self, run: RunId) -> String {
        match self {
            Links::Server => format!("/runs/{run}"),
            Links::Report => "#run".to_owned(),
        }
    }

    fn decisions(self, run: RunId) -> String {
        match self {
            Links::Server => format!("/runs/{run}/decisions"),
            Links::Report => "#decisions".to_owned(),
        }
    }

    fn comparison(self, run: RunId) -> String {
        match self {
            Links::Server => format!("/runs/{run}/comparison"),
            Links::Report => "#comparison".to_owned(),
        }
    }

    fn predictions(self, run: RunId) -> String {
        match self {
            Links::Server => format!("/runs/{run}/predictions"),
            Links::Report => "#predictions".to_owned(),
        }
    }
}

fn status_badge(status: &str) -> String {
    format!(
        r#"<span class="status status-{0}">{0}</span>"#,
        escape(status)
    )
}

fn figure(report: &serde_json::Value, cluster: &str, name: &str) -> Option<f64> {
    report.get(cluster)?.get(name)?.as_f64()
}

/// Renders the list of runs.
pub fn runs_page(store: &RunStore) -> Result<String, WebError> {
    let runs = store.list_runs()?;
    let mut body = String::new();
    if runs.is_empty() {
        body.push_str(r#"<p class="note">No runs in this store yet. Run <code>arbiter compare</code> to record one.</p>"#);
    } else {
        body.push_str(
            r#"<table id="runs"><tr><th>run</th><th>status</th><th>kind</th><th>trace</th><th>seed</th><th>started (UTC)</th><th>ticks</th><th>SLO-miss minutes, HPA → Arbiter <span class="kind">simulated</span></th><th>energy kWh, HPA → Arbiter <span class="kind">estimated</span></th></tr>"#,
        );
        for run in &runs {
            let headline = |name: &str| match &run.report {
                Some(report) => match (
                    figure(report, "baseline", name),
                    figure(report, "experimental", name),
                ) {
                    (Some(base), Some(exp)) => format!("{} → {}", number(base), number(exp)),
                    _ => "–".to_owned(),
                },
                None => "–".to_owned(),
            };
            let _ = write!(
                body,
                r#"<tr><td><a href="/runs/{id}">{id}</a></td><td>{status}</td><td>{kind}</td><td>{trace}</td><td class="num">{seed}</td><td>{started}</td><td class="num">{ticks}</td><td class="num">{slo}</td><td class="num">{energy}</td></tr>"#,
                id = run.id,
                status = status_badge(run.status.as_str()),
                kind = escape(&run.kind),
                trace = escape(&run.trace),
                seed = run.seed,
                started = escape(&run.started_at),
                ticks = run.ticks_recorded,
                slo = headline("slo_miss_minutes"),
                energy = headline("energy_kwh"),
            );
        }
        body.push_str("</table>");
    }
    Ok(layout("Runs", None, &body, Links::Server))
}

/// Renders the summary table of a run.
pub fn run_summary(run: &RunSummary, series: &[SeriesInfo]) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<table id="summary"><tr><th>status</th><td id="run-status">{status}</td></tr><tr><th>kind</th><td>{kind}</td></tr><tr><th>trace</th><td>{trace}</td></tr><tr><th>seed</th><td>{seed}</td></tr><tr><th>models</th><td>{models}</td></tr><tr><th>started (UTC)</th><td>{started}</td></tr><tr><th>ended (UTC)</th><td>{ended}</td></tr><tr><th>ticks recorded</th><td id="run-ticks">{ticks}</td></tr>"#,
        status = status_badge(run.status.as_str()),
        kind = escape(&run.kind),
        trace = escape(&run.trace),
        seed = run.seed,
        models = escape(
            run.models
                .as_deref()
                .unwrap_or("none (statistical forecaster)")
        ),
        started = escape(&run.started_at),
        ended = escape(run.ended_at.as_deref().unwrap_or("–")),
        ticks = run.ticks_recorded,
    );
    if let Some(error) = &run.error {
        let _ = write!(body, "<tr><th>error</th><td>{}</td></tr>", escape(error));
    }
    if let Some(nodes) = run.configuration.pointer("/cluster/nodes/count") {
        let provisioned = run
            .configuration
            .pointer("/cluster/provisioner")
            .is_some_and(|provisioner| !provisioner.is_null());
        let note = if provisioned {
            ", plus the nodes the provisioner launches"
        } else {
            ""
        };
        let _ = write!(
            body,
            "<tr><th>static nodes per cluster (configured)</th><td>{}{note}</td></tr>",
            escape(&nodes.to_string())
        );
    }
    let workloads: Vec<String> = series
        .iter()
        .map(|one| format!("{} / {}", one.cluster, one.workload))
        .collect();
    let _ = write!(
        body,
        "<tr><th>series</th><td>{}</td></tr></table>",
        escape(&workloads.join(", "))
    );
    body
}

/// Workloads of a run, in order, with the cluster names that recorded ticks for each.
fn workloads(series: &[SeriesInfo]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for one in series.iter().filter(|one| one.ticks > 0) {
        out.entry(one.workload.clone())
            .or_default()
            .push(one.cluster.clone());
    }
    out
}

fn cluster_color(cluster: &str) -> &'static str {
    if cluster == "baseline" {
        BASELINE_COLOR
    } else {
        EXPERIMENTAL_COLOR
    }
}

fn cluster_label(cluster: &str) -> String {
    match cluster {
        "baseline" => "baseline (HPA)".to_owned(),
        "experimental" => "experimental (Arbiter)".to_owned(),
        other => other.to_owned(),
    }
}

fn slo_bound(run: &RunSummary) -> Option<f64> {
    run.configuration
        .pointer("/cluster/latency/slo_p95_ms")
        .and_then(serde_json::Value::as_f64)
}

/// Renders charts as a block of inline SVG.
pub fn charts_html(charts: &[Chart]) -> String {
    charts
        .iter()
        .map(Chart::render)
        .collect::<Vec<_>>()
        .join("\n")
}
