//! The predictions page: forecasts against demand and risk against SLO misses.

use crate::svg::{Series, Style};

use super::*;

/// Builds the predictions section: forecast band against actual demand, risk against SLO
/// misses, and a calibration table.
pub fn predictions_section(store: &RunStore, run: RunId) -> Result<(String, Vec<Chart>), WebError> {
    let summary = store.run(run)?;
    let series = store.series(run)?;
    let mut body = String::new();
    let mut charts = Vec::new();
    let tick_s = summary
        .configuration
        .get("tick_s")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(15.0);
    for (index, predicted) in series.iter().filter(|one| one.predictions > 0).enumerate() {
        let (cluster, workload) = (&predicted.cluster, &predicted.workload);
        let forecasts = store.prediction_points(run, cluster, workload, MAX_POINTS)?;
        let actual = store.tick_points(run, cluster, workload, MAX_POINTS)?;
        let suffix = if index == 0 {
            String::new()
        } else {
            format!("-{index}")
        };
        charts.push(Chart {
            id: format!("forecast{suffix}"),
            title: format!("Forecast band (mean to upper) against demand, {workload}"),
            unit: "cores".to_owned(),
            kind: FigureKind::Estimated,
            series: vec![
                Series {
                    name: "forecast, mean to upper (estimated)".to_owned(),
                    color: "#7e57c2",
                    points: forecasts
                        .iter()
                        .map(|point| (point.time_s, point.cpu_upper_cores))
                        .collect(),
                    style: Style::Band(
                        forecasts.iter().map(|point| point.cpu_mean_cores).collect(),
                    ),
                },
                Series {
                    name: "actual demand (simulated)".to_owned(),
                    color: DEMAND_COLOR,
                    points: actual
                        .iter()
                        .map(|point| (point.time_s, point.demand_cores))
                        .collect(),
                    style: Style::Line,
                },
            ],
            reference: None,
            x_label: None,
        });
        charts.push(Chart {
            id: format!("risk{suffix}"),
            title: format!("Predicted SLO risk against SLO misses, {workload}"),
            unit: "risk / share of ticks".to_owned(),
            kind: FigureKind::Estimated,
            series: vec![
                Series {
                    name: "mean predicted risk (estimated)".to_owned(),
                    color: "#7e57c2",
                    points: forecasts
                        .iter()
                        .map(|point| (point.time_s, point.risk))
                        .collect(),
                    style: Style::Line,
                },
                Series {
                    name: "share of ticks with an SLO miss (simulated)".to_owned(),
                    color: EXPERIMENTAL_COLOR,
                    points: actual
                        .iter()
                        .map(|point| {
                            (
                                point.time_s,
                                point.slo_miss_ticks as f64 / point.ticks.max(1) as f64,
                            )
                        })
                        .collect(),
                    style: Style::Line,
                },
            ],
            reference: None,
            x_label: None,
        });

        let horizon_s = 300.0;
        let bins = store.risk_calibration(run, cluster, workload, horizon_s, 5)?;
        let _ = write!(
            body,
            r#"<h2>{workload} on {cluster}</h2><p class="note">The forecast is for the next 300 s window and is drawn at the time it was made. Calibration: decisions by predicted risk, and the share followed by an SLO miss within {horizon} s ({ticks} ticks of {tick_s} s).</p><table class="calibration"><tr><th>predicted risk <span class="kind">estimated</span></th><th>decisions</th><th>followed by an SLO miss <span class="kind">simulated</span></th></tr>"#,
            workload = escape(workload),
            cluster = escape(cluster),
            horizon = horizon_s,
            ticks = (horizon_s / tick_s).round(),
        );
        for bin in bins {
            let share = if bin.decisions > 0 {
                format!("{:.1}%", 100.0 * bin.breached as f64 / bin.decisions as f64)
            } else {
                "–".to_owned()
            };
            let _ = write!(
                body,
                r#"<tr><td>{:.1} to {:.1}</td><td class="num">{}</td><td class="num">{share}</td></tr>"#,
                bin.low, bin.high, bin.decisions,
            );
        }
        body.push_str("</table>");
    }
    if charts.is_empty() {
        body.push_str(r#"<p class="note">This run has no recorded decisions, so there are no predictions to show.</p>"#);
    }
    Ok((body, charts))
}

/// Renders the predictions page.
pub fn predictions_page(store: &RunStore, run: RunId) -> Result<String, WebError> {
    let (mut body, charts) = predictions_section(store, run)?;
    body.push_str(&charts_html(&charts));
    Ok(layout(
        &format!("Predictions of run {run}"),
        Some(run),
        &body,
        Links::Server,
    ))
}
