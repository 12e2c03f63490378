//! The page of one run: its time-series charts and the live updates.

use arbiter_store::{RunStatus, TickPoint};

use crate::svg::{Series, Style};

use super::*;

/// Builds the time-series charts of a run: demand and capacity, replicas, latency, SLO misses
/// and pending pods for every workload, then the nodes and estimated energy of each cluster.
pub fn run_charts(store: &RunStore, run: &RunSummary) -> Result<Vec<Chart>, WebError> {
    let series = store.series(run.id)?;
    let mut charts = Vec::new();
    for (index, (workload, clusters)) in workloads(&series).iter().enumerate() {
        let mut points: Vec<(String, Vec<TickPoint>)> = Vec::new();
        for cluster in clusters {
            points.push((
                cluster.clone(),
                store.tick_points(run.id, cluster, workload, MAX_POINTS)?,
            ));
        }
        let suffix = if index == 0 {
            String::new()
        } else {
            format!("-{index}")
        };
        let line =
            |name: String, color: &'static str, values: Vec<(f64, f64)>, style: Style| Series {
                name,
                color,
                points: values,
                style,
            };
        let map = |ticks: &[TickPoint], value: fn(&TickPoint) -> f64| -> Vec<(f64, f64)> {
            ticks
                .iter()
                .map(|tick| (tick.time_s, value(tick)))
                .collect()
        };
        // One line per cluster of a figure that every tick point has.
        let per_cluster = |value: fn(&TickPoint) -> f64| -> Vec<Series> {
            points
                .iter()
                .map(|(cluster, ticks)| {
                    line(
                        cluster_label(cluster),
                        cluster_color(cluster),
                        map(ticks, value),
                        Style::Line,
                    )
                })
                .collect()
        };

        let mut demand = Vec::new();
        if let Some((_, first)) = points.first() {
            demand.push(line(
                "demand".to_owned(),
                DEMAND_COLOR,
                map(first, |tick| tick.demand_cores),
                Style::Dashed,
            ));
        }
        for (cluster, ticks) in &points {
            demand.push(line(
                format!("ready capacity, {}", cluster_label(cluster)),
                cluster_color(cluster),
                map(ticks, |tick| tick.ready_capacity_cores),
                Style::Line,
            ));
        }
        charts.push(Chart {
            id: format!("demand{suffix}"),
            title: format!("Demand and ready capacity, {workload}"),
            unit: "cores".to_owned(),
            kind: FigureKind::Simulated,
            series: demand,
            reference: None,
            x_label: None,
        });

        charts.push(Chart {
            id: format!("replicas{suffix}"),
            title: format!("spec.replicas, {workload}"),
            unit: "replicas".to_owned(),
            kind: FigureKind::Simulated,
            series: per_cluster(|tick| tick.spec_replicas),
            reference: None,
            x_label: None,
        });

        charts.push(Chart {
            id: format!("latency{suffix}"),
            title: format!("p95 latency (highest per point), {workload}"),
            unit: "ms".to_owned(),
            kind: FigureKind::Simulated,
            series: per_cluster(|tick| tick.p95_ms),
            reference: slo_bound(run).map(|bound| (bound, format!("SLO {} ms", number(bound)))),
            x_label: None,
        });

        let tick_s = run
            .configuration
            .get("tick_s")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(15.0);
        charts.push(Chart {
            id: format!("slo-misses{suffix}"),
            title: format!("Cumulative SLO-miss minutes, {workload}"),
            unit: "minutes".to_owned(),
            kind: FigureKind::Simulated,
            series: points
                .iter()
                .map(|(cluster, ticks)| {
                    let mut total = 0.0;
                    let values = ticks
                        .iter()
                        .map(|tick| {
                            total += tick.slo_miss_ticks as f64 * tick_s / 60.0;
                            (tick.time_s, total)
                        })
                        .collect();
                    line(
                        cluster_label(cluster),
                        cluster_color(cluster),
                        values,
                        Style::Line,
                    )
                })
                .collect(),
            reference: None,
            x_label: None,
        });

        charts.push(Chart {
            id: format!("pending{suffix}"),
            title: format!("Pending pods, {workload}"),
            unit: "pods".to_owned(),
            kind: FigureKind::Simulated,
            series: per_cluster(|tick| tick.pending_pods),
            reference: None,
            x_label: None,
        });

        // Nodes and power are whole-cluster figures that repeat on every workload's rows, so
        // the first workload's rows carry them.
        if index == 0 && points.iter().any(|(_, ticks)| has_node_counts(ticks)) {
            charts.push(Chart {
                id: "nodes".to_owned(),
                title: "Nodes (mean per point)".to_owned(),
                unit: "nodes".to_owned(),
                kind: FigureKind::Simulated,
                series: per_cluster(|tick| tick.nodes),
                reference: None,
                x_label: None,
            });
        }

        if index == 0 {
            for (cluster, ticks) in &points {
                charts.push(Chart {
                    id: format!("energy-{cluster}"),
                    title: format!("Node power, {}", cluster_label(cluster)),
                    unit: "W".to_owned(),
                    kind: FigureKind::Estimated,
                    series: vec![
                        line(
                            "idle".to_owned(),
                            "#9e9e9e",
                            map(ticks, |tick| tick.idle_w),
                            Style::Stacked,
                        ),
                        line(
                            "background dynamic".to_owned(),
                            "#ffb74d",
                            map(ticks, |tick| tick.background_dynamic_w),
                            Style::Stacked,
                        ),
                        line(
                            "controlled dynamic".to_owned(),
                            "#43a047",
                            map(ticks, |tick| tick.controlled_dynamic_w),
                            Style::Stacked,
                        ),
                    ],
                    reference: None,
                    x_label: None,
                });
            }
        }
    }
    Ok(charts)
}

/// Returns whether any of the ticks has a node count. Ticks stored before schema version 3
/// read as 0 nodes because that version added the count, so a run without any is shown
/// without node charts rather than with a line at 0.
pub(super) fn has_node_counts(ticks: &[TickPoint]) -> bool {
    ticks.iter().any(|tick| tick.nodes > 0.0)
}

const LIVE_SCRIPT: &str = r#"<script>
(function () {
  var live = document.getElementById('live');
  if (!live || live.dataset.status !== 'running' || !window.EventSource) { return; }
  var run = live.dataset.run;
  var source = new EventSource('/runs/' + run + '/events');
  var lastRefresh = 0;
  function refreshCharts() {
    fetch('/runs/' + run + '/charts').then(function (response) {
      if (response.ok) { return response.text(); }
      throw new Error('chart refresh failed with status ' + response.status);
    }).then(function (html) {
      document.getElementById('charts').innerHTML = html;
    }).catch(function (error) { console.warn(error.message); });
  }
  source.addEventListener('tick', function (event) {
    var data = JSON.parse(event.data);
    document.getElementById('run-ticks').textContent = data.ticks_recorded;
    document.getElementById('live-time').textContent = (data.last_time_s / 3600).toFixed(2) + ' h simulated';
    if (Date.now() - lastRefresh > 5000) { lastRefresh = Date.now(); refreshCharts(); }
  });
  source.addEventListener('status', function (event) {
    source.close();
    window.location.reload();
  });
})();
</script>"#;

/// Renders the page of one run, with live updates while it runs.
pub fn run_page(store: &RunStore, run: RunId) -> Result<String, WebError> {
    let summary = store.run(run)?;
    let series = store.series(run)?;
    let charts = run_charts(store, &summary)?;
    let mut body = run_summary(&summary, &series);
    let _ = write!(
        body,
        r#"<p id="live" data-run="{run}" data-status="{status}" class="note">{live} <span id="live-time"></span></p>"#,
        status = summary.status.as_str(),
        live = if summary.status == RunStatus::Running {
            "Live: charts refresh while the run is written."
        } else {
            "Figures are simulated unless marked estimated; energy is an estimate from a utilization model, not a measurement."
        },
    );
    let _ = write!(body, r#"<div id="charts">{}</div>"#, charts_html(&charts));
    body.push_str(LIVE_SCRIPT);
    Ok(layout(
        &format!("Run {run}"),
        Some(run),
        &body,
        Links::Server,
    ))
}

/// Renders only the charts of a run, for the live page's refresh.
pub fn run_charts_fragment(store: &RunStore, run: RunId) -> Result<String, WebError> {
    let summary = store.run(run)?;
    Ok(charts_html(&run_charts(store, &summary)?))
}
