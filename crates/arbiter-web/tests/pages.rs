//! Every page handler against fixture runs written to a temporary store: status codes, key
//! content, read-only methods, bad run ids, metrics, reports and the live event stream.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use arbiter_store::fixture::{
    fixture_report, fixture_run, fixture_ticks, record_fixture_ticks, write_fixture_run,
};
use arbiter_store::{RunId, RunStore, TICKS_PER_TRANSACTION};
use arbiter_web::{TickEvent, WebError, router, spawn_server, write_report};

/// Creates a store with two complete runs of the same trace (seeds 1 and 2).
fn fixture_store() -> (tempfile::TempDir, PathBuf) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("runs.sqlite");
    let store = RunStore::open(&path).expect("open store");
    write_fixture_run(&store, 1, 600).expect("run 1");
    write_fixture_run(&store, 2, 600).expect("run 2");
    (directory, path)
}

async fn get(path: &Path, uri: &str) -> (StatusCode, String) {
    request(path, Method::GET, uri).await
}

async fn request(path: &Path, method: Method, uri: &str) -> (StatusCode, String) {
    let response = router(path.to_path_buf())
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn runs_page_lists_runs() {
    let (_directory, path) = fixture_store();
    let (status, body) = get(&path, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"<a href="/runs/1">1</a>"#));
    assert!(body.contains(r#"<a href="/runs/2">2</a>"#));
    assert!(body.contains("status-complete"));
    assert!(body.contains("fixture/sine.csv"));
    // Seed 1 shifts the fixture's SLO-miss minutes, 12 and 9, by 1.
    assert!(body.contains("13 → 10"), "{body}");
}

#[tokio::test]
async fn empty_store_lists_nothing() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("empty.sqlite");
    RunStore::open(&path).expect("create store");
    let (status, body) = get(&path, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("No runs in this store yet"));
}

#[tokio::test]
async fn run_page_has_charts() {
    let (_directory, path) = fixture_store();
    let (status, body) = get(&path, "/runs/1").await;
    assert_eq!(status, StatusCode::OK);
    for chart in [
        "demand",
        "replicas",
        "latency",
        "slo-misses",
        "pending",
        "nodes",
        "energy-baseline",
        "energy-experimental",
    ] {
        assert!(
            body.contains(&format!(r#"data-chart="{chart}""#)),
            "chart {chart} missing"
        );
    }
    assert!(body.contains(">simulated<"));
    assert!(body.contains(">estimated<"));
    assert!(body.contains("SLO 250 ms"));
    assert!(body.contains(r#"data-status="complete""#));
    assert!(!body.contains("NaN"));
    assert!(body.contains("Nodes (mean per point)"));

    let (status, fragment) = get(&path, "/runs/1/charts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(fragment.starts_with("<svg"));
}

#[tokio::test]
async fn run_without_node_counts() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("runs.sqlite");
    let store = RunStore::open(&path).expect("open store");
    let run = store.begin_run(&fixture_run(1)).expect("begin");
    let mut recorder = store.recorder(run).expect("recorder");
    // Ticks stored before node counts were recorded read as 0 nodes.
    for tick in 0..100 {
        for mut record in fixture_ticks(tick, 1) {
            record.nodes = 0;
            recorder.record_tick(&record).expect("tick");
        }
    }
    recorder.finish(&fixture_report(1, 100)).expect("finish");

    let (status, body) = get(&path, "/runs/1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"data-chart="pending""#));
    assert!(!body.contains(r#"data-chart="nodes""#));
    let (_, comparison) = get(&path, "/runs/1/comparison").await;
    assert!(comparison.contains(r#"data-chart="difference-replicas""#));
    assert!(!comparison.contains(r#"data-chart="difference-nodes""#));
    let (_, metrics) = get(&path, "/metrics").await;
    assert!(
        metrics.contains("arbiter_estimated_watts{"),
        "the latest tick is read: {metrics}"
    );
    assert!(!metrics.contains("arbiter_cluster_nodes"), "{metrics}");
}

#[tokio::test]
async fn decision_feed_shows_details() {
    let (_directory, path) = fixture_store();
    let (status, body) = get(&path, "/runs/1/decisions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("30 matching decisions, page 1 of 1."),
        "{body}"
    );
    assert!(body.contains("600 decisions in this run; the 30"));
    assert!(body.contains("A (SLO guard)"));
    assert!(body.contains("B (efficiency)"));
    assert!(body.contains("opposing_scale"));
    assert!(body.contains("Veto of agent B (efficiency) by bound <code>cooldown</code>"));
    assert!(body.contains("kubectl -n arbiter-exercise scale deployment/web"));
    assert!(body.contains("status status-executed"));
    assert!(body.contains("Conflict: the object has been modified"));

    let (status, errors) = get(&path, "/runs/1/decisions?status=error").await;
    assert_eq!(status, StatusCode::OK);
    assert!(errors.contains("6 matching decisions"), "{errors}");
    assert!(!errors.contains("status status-executed"));

    let (_, by_agent) = get(&path, "/runs/1/decisions?agent=C").await;
    assert!(by_agent.contains("0 matching decisions"));
    assert!(by_agent.contains("No stored decision matches these filters."));

    let (_, by_conflict) = get(
        &path,
        "/runs/1/decisions?conflict=opposing_scale&workload=arbiter-exercise%2Fweb&agent=&status=",
    )
    .await;
    assert!(by_conflict.contains("30 matching decisions"));
}

#[tokio::test]
async fn decision_feed_paginates() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("runs.sqlite");
    let store = RunStore::open(&path).expect("open store");
    write_fixture_run(&store, 1, 2400).expect("long run");
    let (_, first) = get(&path, "/runs/1/decisions").await;
    assert!(first.contains("120 matching decisions, page 1 of 3."));
    assert_eq!(first.matches("<article").count(), 50);
    assert!(first.contains(r#"href="/runs/1/decisions?page=2""#));
    let (_, last) = get(&path, "/runs/1/decisions?page=3").await;
    assert_eq!(last.matches("<article").count(), 20);
    assert!(last.contains(r#"href="/runs/1/decisions?page=2""#));
    assert!(!last.contains("?page=4"));
    let (_, filtered) = get(&path, "/runs/1/decisions?status=executed").await;
    assert!(filtered.contains("?page=2&amp;status=executed"));

    let (status, body) = get(&path, "/runs/1/decisions?page=zero").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid value `zero` for query parameter `page`"));
    let (status, _) = get(&path, "/runs/1/decisions?page=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn comparison_with_seed_intervals() {
    let (_directory, path) = fixture_store();
    let (status, body) = get(&path, "/runs/2/comparison").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"id="comparison-table""#));
    assert!(body.contains("SLO-miss minutes"));
    assert!(body.contains("Across 2 seeds of this trace"));
    assert!(body.contains(r#"id="seeds-table""#));
    // SLO-miss minutes of the baseline over seeds 1 and 2 are 13 and 14: mean 13.5.
    assert!(body.contains("13.5 ["), "{body}");
    for chart in [
        "difference-capacity",
        "difference-replicas",
        "difference-latency",
        "difference-nodes",
        "difference-power",
        "seed-difference-slo_miss_minutes",
    ] {
        assert!(
            body.contains(&format!(r#"data-chart="{chart}""#)),
            "{chart}"
        );
    }
}

#[tokio::test]
async fn comparison_of_running_run() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("runs.sqlite");
    let store = RunStore::open(&path).expect("open store");
    let run = store.begin_run(&fixture_run(3)).expect("begin");
    let mut recorder = store.recorder(run).expect("recorder");
    record_fixture_ticks(&mut recorder, 3, 0..300).expect("ticks");
    let (status, body) = get(&path, "/runs/1/comparison").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("is running and has no final report yet"));
    let (_, page) = get(&path, "/runs/1").await;
    assert!(page.contains(r#"data-status="running""#));
    assert!(page.contains("new EventSource"));
    recorder.finish(&fixture_report(3, 300)).expect("finish");
}

#[tokio::test]
async fn predictions_page_has_band_and_calibration() {
    let (_directory, path) = fixture_store();
    let (status, body) = get(&path, "/runs/1/predictions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"data-chart="forecast""#));
    assert!(body.contains(r#"data-chart="risk""#));
    assert!(body.contains("<polygon"), "the forecast band is drawn");
    assert!(body.contains(r#"class="calibration""#));
    assert!(body.contains("0.8 to 1.0"));
}

#[tokio::test]
async fn unknown_run_is_404() {
    let (_directory, path) = fixture_store();
    for page in [
        "",
        "/decisions",
        "/comparison",
        "/predictions",
        "/charts",
        "/events",
    ] {
        let (status, body) = get(&path, &format!("/runs/999{page}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "page {page}");
        assert!(body.contains("run 999 not found"), "page {page}: {body}");
    }
    let (status, body) = get(&path, "/runs/abc").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("invalid run id `abc`"));
    let (status, body) = get(&path, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("No page at /no/such/page"));
}

#[tokio::test]
async fn writes_are_rejected() {
    let (_directory, path) = fixture_store();
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        for uri in ["/", "/runs/1", "/runs/1/decisions", "/metrics"] {
            let (status, _) = request(&path, method.clone(), uri).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        }
    }
    let store = RunStore::open_read_only(&path).expect("reopen");
    assert_eq!(store.list_runs().expect("runs").len(), 2);
}

#[tokio::test]
async fn missing_store_is_clear_error() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("absent.sqlite");
    let (status, body) = get(&path, "/").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("absent.sqlite not found"), "{body}");
    assert!(!path.exists());
}

#[test]
fn spawn_rejects_bad_store_paths() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let address: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let error =
        spawn_server(directory.path().join("absent.sqlite"), address).expect_err("absent store");
    assert!(error.to_string().contains("not found"), "{error}");
    let error = spawn_server(directory.path().to_path_buf(), address).expect_err("a directory");
    assert!(error.to_string().contains("is a directory"), "{error}");
    let text = directory.path().join("notes.txt");
    std::fs::write(
        &text,
        "plain text, not SQLite, long enough to have a header",
    )
    .expect("write");
    let error = spawn_server(text, address).expect_err("a text file");
    assert!(
        error.to_string().contains("is not an arbiter run store"),
        "{error}"
    );
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text() {
    let (_directory, path) = fixture_store();
    let (status, body) = get(&path, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.ends_with("# EOF\n"));

    let lines = body.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("parse metrics");
    let value = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        scrape
            .samples
            .iter()
            .find(|sample| {
                sample.metric == name
                    && labels
                        .iter()
                        .all(|(key, value)| sample.labels.get(key) == Some(*value))
            })
            .map(|sample| match sample.value {
                prometheus_parse::Value::Counter(value)
                | prometheus_parse::Value::Gauge(value)
                | prometheus_parse::Value::Untyped(value) => value,
                _ => f64::NAN,
            })
    };

    assert_eq!(value("arbiter_runs", &[("status", "complete")]), Some(2.0));
    assert_eq!(
        value(
            "arbiter_decisions_total",
            &[("run", "2"), ("agent", "A"), ("outcome", "executed")]
        ),
        Some(24.0)
    );
    assert_eq!(
        value(
            "arbiter_decisions_total",
            &[("agent", "none"), ("outcome", "noop")]
        ),
        Some(570.0)
    );
    assert_eq!(
        value(
            "arbiter_vetoes_total",
            &[("agent", "B"), ("bound", "cooldown")]
        ),
        Some(15.0)
    );
    assert_eq!(
        value(
            "arbiter_operations_total",
            &[("method", "PATCH"), ("status_code", "409")]
        ),
        Some(6.0)
    );
    assert!(value("arbiter_predicted_demand_cores", &[("bound", "upper")]).is_some());
    assert!(
        value(
            "arbiter_predicted_risk",
            &[("workload", "arbiter-exercise/web")]
        )
        .is_some()
    );
    assert_eq!(
        value(
            "arbiter_estimated_watts",
            &[("cluster", "baseline"), ("component", "idle")]
        ),
        Some(320.0)
    );
    // Run 2's last tick is fixture tick 599 of seed 2.
    let last = fixture_ticks(599, 2);
    assert_eq!(last[0].nodes, 4);
    assert_eq!(
        value(
            "arbiter_cluster_nodes",
            &[("run", "2"), ("cluster", "baseline")]
        ),
        Some(4.0)
    );
    assert_eq!(
        value(
            "arbiter_cluster_nodes",
            &[("run", "2"), ("cluster", "experimental")]
        ),
        Some(f64::from(last[1].nodes))
    );
    assert_ne!(last[1].nodes, last[0].nodes, "the two clusters differ");
    assert_eq!(value("arbiter_tick_simulated_seconds", &[]), Some(15.0));
    assert_eq!(
        value("arbiter_run_info", &[("run", "2"), ("status", "complete")]),
        Some(1.0)
    );
    assert_eq!(
        value("arbiter_run_ticks_total", &[("run", "2")]),
        Some(600.0)
    );
}

#[test]
fn report_is_self_contained() {
    let (directory, path) = fixture_store();
    let out = directory.path().join("report");
    let index = write_report(&path, RunId(1), &out).expect("write report");
    assert_eq!(index, out.join("index.html"));
    let html = std::fs::read_to_string(&index).expect("read report");
    assert!(html.contains(r#"data-chart="demand""#));
    assert!(html.contains(r#"data-chart="forecast""#));
    assert!(html.contains(r#"id="comparison-table""#));
    assert!(html.contains(r#"<article class="decision""#));
    assert!(!html.contains("<script"), "a report needs no script");
    assert!(!html.contains("src=\"http"));
    assert!(!html.contains("href=\"http"));
    assert!(html.contains(r#"data-chart="nodes""#));
    for chart in [
        "demand",
        "nodes",
        "energy-baseline",
        "forecast",
        "difference-nodes",
        "difference-power",
    ] {
        let svg = std::fs::read_to_string(out.join("charts").join(format!("{chart}.svg")))
            .expect("chart file");
        assert!(svg.starts_with("<svg xmlns="), "{chart}");
    }
    let error = write_report(&path, RunId(9), &out).expect_err("unknown run");
    assert!(error.to_string().contains("run 9 not found"));
    let blocked = directory.path().join("blocked");
    std::fs::write(&blocked, "a file where the directory should be").expect("write");
    let error = write_report(&path, RunId(1), &blocked).expect_err("out is a file");
    assert!(matches!(error, WebError::WriteReport { .. }), "{error}");
}

/// Reads server-sent events from a raw HTTP connection: (event name, data) pairs.
struct EventReader {
    reader: BufReader<TcpStream>,
}

impl EventReader {
    fn connect(addr: SocketAddr, path: &str) -> EventReader {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .expect("send request");
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        EventReader { reader }
    }

    fn next(&mut self) -> (String, String) {
        let (mut name, mut data) = (String::new(), String::new());
        loop {
            let mut line = String::new();
            let read = self.reader.read_line(&mut line).expect("read event line");
            assert!(read > 0, "the stream ended before an event");
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(value) = line.strip_prefix("event: ") {
                name = value.to_owned();
            } else if let Some(value) = line.strip_prefix("data: ") {
                data = value.to_owned();
            } else if line.is_empty() && !name.is_empty() {
                return (name, data);
            }
        }
    }
}

#[test]
fn events_deliver_new_ticks() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("runs.sqlite");
    let store = RunStore::open(&path).expect("open store");
    let run = store.begin_run(&fixture_run(7)).expect("begin");
    let mut recorder = store.recorder(run).expect("recorder");
    let server =
        spawn_server(path.clone(), "127.0.0.1:0".parse().expect("address")).expect("spawn server");
    assert!(server.url().starts_with("http://127.0.0.1:"));

    let mut events = EventReader::connect(server.addr(), &format!("/runs/{run}/events"));
    let (name, data) = events.next();
    assert_eq!(name, "tick");
    let first: TickEvent = serde_json::from_str(&data).expect("tick event JSON");
    assert_eq!(first.ticks_recorded, 0);

    let batch = u64::from(TICKS_PER_TRANSACTION);
    record_fixture_ticks(&mut recorder, 7, 0..batch + 1).expect("one batch");
    let (name, data) = events.next();
    assert_eq!(name, "tick");
    let second: TickEvent = serde_json::from_str(&data).expect("tick event JSON");
    assert_eq!(second.ticks_recorded, i64::from(TICKS_PER_TRANSACTION));
    assert_eq!(second.last_time_s, batch as f64 * 15.0);
    assert_eq!(second.latest.len(), 2, "one latest tick per cluster");

    recorder
        .finish(&fixture_report(7, batch + 1))
        .expect("finish");
    let (name, data) = events.next();
    assert_eq!(name, "status");
    assert_eq!(data, r#"{"status":"complete"}"#);
    server.shutdown().expect("shutdown");
}
