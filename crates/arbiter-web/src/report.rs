//! Static snapshots of a run: one self-contained HTML file with every chart inline and the
//! decision feed, plus each chart as its own SVG file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use arbiter_store::{DecisionFilter, RunId, RunStore};

use crate::WebError;
use crate::pages::{
    Links, charts_html, comparison_section, decision_feed, layout, predictions_section, run_charts,
    run_summary,
};
use crate::svg::Chart;

/// Stored decisions a report lists in full; a longer feed is cut, with a note saying so.
pub const REPORT_DECISIONS: usize = 2000;

/// Writes the report of `run` from the store at `store_path` into `out_dir`: `index.html` and
/// `charts/*.svg`. Creates the directory; overwrites files of an earlier report. Returns the
/// path of `index.html`.
pub fn write_report(store_path: &Path, run: RunId, out_dir: &Path) -> Result<PathBuf, WebError> {
    let store = RunStore::open_read_only(store_path)?;
    write_report_from(&store, run, out_dir)
}

/// Writes the report of `run` from an open store; see [`write_report`].
pub fn write_report_from(
    store: &RunStore,
    run: RunId,
    out_dir: &Path,
) -> Result<PathBuf, WebError> {
    let summary = store.run(run)?;
    let series = store.series(run)?;
    let run_chart_list = run_charts(store, &summary)?;
    let (comparison_html, comparison_charts) = comparison_section(store, run)?;
    let (prediction_html, prediction_charts) = predictions_section(store, run)?;
    let feed = store.decisions(run, &DecisionFilter::default(), 0, REPORT_DECISIONS)?;
    let (all, full) = store.decision_totals(run)?;

    let mut body = String::new();
    let _ = write!(
        body,
        r#"<p class="note">Snapshot of run {run} as stored at the time of writing (status {status}, {ticks} ticks). Figures are simulated unless marked estimated.</p><section id="run"><h2>Run</h2>{summary}{charts}</section>"#,
        status = summary.status,
        ticks = summary.ticks_recorded,
        summary = run_summary(&summary, &series),
        charts = charts_html(&run_chart_list),
    );
    let _ = write!(
        body,
        r#"<section id="comparison"><h2>Comparison</h2>{comparison_html}{}</section>"#,
        charts_html(&comparison_charts)
    );
    let _ = write!(
        body,
        r#"<section id="predictions"><h2>Predictions</h2>{prediction_html}{}</section>"#,
        charts_html(&prediction_charts)
    );
    let _ = write!(
        body,
        r#"<section id="decisions"><h2>Decisions</h2><p class="note">{all} decisions; {full} stored in full{cut}. The rest were Noop without proposals.</p><div id="feed">{}</div></section>"#,
        decision_feed(&feed),
        cut = if feed.total as usize > REPORT_DECISIONS {
            format!(", of which the first {REPORT_DECISIONS} are listed")
        } else {
            String::new()
        },
    );
    let html = layout(
        &format!("Run {run} report"),
        Some(run),
        &body,
        Links::Report,
    );

    let charts_dir = out_dir.join("charts");
    std::fs::create_dir_all(&charts_dir).map_err(|source| WebError::WriteReport {
        path: charts_dir.clone(),
        source,
    })?;
    let all_charts: Vec<&Chart> = run_chart_list
        .iter()
        .chain(&comparison_charts)
        .chain(&prediction_charts)
        .collect();
    for chart in all_charts {
        let path = charts_dir.join(format!("{}.svg", chart.id));
        std::fs::write(&path, chart.render())
            .map_err(|source| WebError::WriteReport { path, source })?;
    }
    let index = out_dir.join("index.html");
    std::fs::write(&index, html).map_err(|source| WebError::WriteReport {
        path: index.clone(),
        source,
    })?;
    Ok(index)
}
