//! The comparison page: the side-by-side table, intervals over seeds and paired differences.

use arbiter_core::stats::mean_interval;
use arbiter_store::TickPoint;

use crate::svg::{Series, Style};

use super::run::has_node_counts;
use super::*;

/// Builds the comparison table and charts of a run: HTML and the charts.
pub fn comparison_section(store: &RunStore, run: RunId) -> Result<(String, Vec<Chart>), WebError> {
    let summary = store.run(run)?;
    let siblings = store.sibling_runs(run)?;
    let mut body = String::new();
    match &summary.report {
        None => {
            let _ = write!(
                body,
                r#"<p class="note">Run {run} is {} and has no final report yet; the table appears when it completes.</p>"#,
                summary.status
            );
        }
        Some(report) => {
            body.push_str(r#"<table id="comparison-table"><tr><th>figure</th><th>baseline (HPA)</th><th>experimental (Arbiter)</th><th>difference</th><th>kind</th></tr>"#);
            for (name, label, kind) in FIGURES {
                let (Some(base), Some(exp)) = (
                    figure(report, "baseline", name),
                    figure(report, "experimental", name),
                ) else {
                    continue;
                };
                let _ = write!(
                    body,
                    r#"<tr><td>{label}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{:+.2}</td><td class="kind">{}</td></tr>"#,
                    number(base),
                    number(exp),
                    exp - base,
                    kind.label(),
                    label = escape(label),
                );
            }
            body.push_str("</table>");
        }
    }

    let mut charts = Vec::new();
    let reports: Vec<(u64, &serde_json::Value)> = siblings
        .iter()
        .filter_map(|one| Some((one.seed, one.report.as_ref()?)))
        .collect();
    if reports.len() >= 2 {
        let _ = write!(
            body,
            r#"<h2>Across {} seeds of this trace</h2><p class="note">Runs {}. Mean with a 95% confidence interval (Student's t) over seeds; the difference is paired by seed (Arbiter minus HPA).</p>"#,
            reports.len(),
            siblings
                .iter()
                .map(|one| format!("{} (seed {})", one.id, one.seed))
                .collect::<Vec<_>>()
                .join(", ")
        );
        body.push_str(r#"<table id="seeds-table"><tr><th>figure</th><th>baseline (HPA)</th><th>experimental (Arbiter)</th><th>paired difference</th><th>kind</th></tr>"#);
        let interval = |values: &[f64]| match mean_interval(values) {
            Some(found) => match (found.low, found.high) {
                (Some(low), Some(high)) => {
                    format!("{} [{}, {}]", number(found.mean), number(low), number(high))
                }
                _ => number(found.mean),
            },
            None => "–".to_owned(),
        };
        for (name, label, kind) in FIGURES {
            let mut base = Vec::new();
            let mut exp = Vec::new();
            for (_, report) in &reports {
                if let (Some(b), Some(e)) = (
                    figure(report, "baseline", name),
                    figure(report, "experimental", name),
                ) {
                    base.push(b);
                    exp.push(e);
                }
            }
            let difference: Vec<f64> = exp.iter().zip(&base).map(|(e, b)| e - b).collect();
            let _ = write!(
                body,
                r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="kind">{}</td></tr>"#,
                escape(label),
                interval(&base),
                interval(&exp),
                interval(&difference),
                kind.label(),
            );
        }
        body.push_str("</table>");
        for (name, label, kind) in [FIGURES[0], FIGURES[10]] {
            let points: Vec<(f64, f64)> = reports
                .iter()
                .enumerate()
                .filter_map(|(index, (_, report))| {
                    Some((
                        index as f64 + 1.0,
                        figure(report, "experimental", name)? - figure(report, "baseline", name)?,
                    ))
                })
                .collect();
            charts.push(Chart {
                id: format!("seed-difference-{name}"),
                title: format!("Paired difference by seed, {}", label.trim()),
                unit: label.trim().to_owned(),
                kind,
                series: vec![Series {
                    name: "Arbiter minus HPA".to_owned(),
                    color: EXPERIMENTAL_COLOR,
                    points,
                    style: Style::Line,
                }],
                reference: Some((0.0, "no difference".to_owned())),
                x_label: Some("seed, in run order".to_owned()),
            });
        }
    } else {
        body.push_str(r#"<p class="note">One seed of this trace is complete, so there are no confidence intervals; run more seeds to get them.</p>"#);
    }

    let series = store.series(run)?;
    for (workload, clusters) in workloads(&series) {
        if !(clusters.iter().any(|c| c == "baseline")
            && clusters.iter().any(|c| c == "experimental"))
        {
            continue;
        }
        let base = store.tick_points(run, "baseline", &workload, MAX_POINTS)?;
        let exp = store.tick_points(run, "experimental", &workload, MAX_POINTS)?;
        let difference = |value: fn(&TickPoint) -> f64| -> Vec<(f64, f64)> {
            base.iter()
                .zip(&exp)
                .map(|(b, e)| (b.time_s, value(e) - value(b)))
                .collect()
        };
        let paired =
            |id: &str, title: &str, unit: &str, kind: FigureKind, value: fn(&TickPoint) -> f64| {
                Chart {
                    id: format!("difference-{id}"),
                    title: format!("Paired difference, Arbiter minus HPA: {title}, {workload}"),
                    unit: unit.to_owned(),
                    kind,
                    series: vec![Series {
                        name: "Arbiter minus HPA".to_owned(),
                        color: EXPERIMENTAL_COLOR,
                        points: difference(value),
                        style: Style::Line,
                    }],
                    reference: Some((0.0, "no difference".to_owned())),
                    x_label: None,
                }
            };
        charts.push(paired(
            "capacity",
            "ready capacity",
            "cores",
            FigureKind::Simulated,
            |t| t.ready_capacity_cores,
        ));
        charts.push(paired(
            "replicas",
            "spec.replicas",
            "replicas",
            FigureKind::Simulated,
            |t| t.spec_replicas,
        ));
        charts.push(paired(
            "latency",
            "p95 latency",
            "ms",
            FigureKind::Simulated,
            |t| t.p95_ms,
        ));
        if has_node_counts(&base) || has_node_counts(&exp) {
            charts.push(paired(
                "nodes",
                "nodes",
                "nodes",
                FigureKind::Simulated,
                |t| t.nodes,
            ));
        }
        charts.push(paired(
            "power",
            "node power",
            "W",
            FigureKind::Estimated,
            |t| t.idle_w + t.controlled_dynamic_w + t.background_dynamic_w,
        ));
        break;
    }
    Ok((body, charts))
}

/// Renders the comparison page.
pub fn comparison_page(store: &RunStore, run: RunId) -> Result<String, WebError> {
    let (mut body, charts) = comparison_section(store, run)?;
    body.push_str(&charts_html(&charts));
    Ok(layout(
        &format!("Comparison of run {run}"),
        Some(run),
        &body,
        Links::Server,
    ))
}
