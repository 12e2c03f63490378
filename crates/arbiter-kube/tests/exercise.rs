//! The exercise workload and the open-loop load generator on 127.0.0.1.

mod common;

use std::time::Duration;

use arbiter_kube::exercise::{LoadConfig, LoadPlan, WorkConfig, WorkloadServer, run_load};

async fn http_get(url: &str) -> (u16, String) {
    let uri: http::Uri = url.parse().unwrap();
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let response = client.get(uri).await.expect("request");
    let status = response.status().as_u16();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn load_config(server: &WorkloadServer, cap_file: Option<std::path::PathBuf>) -> LoadConfig {
    LoadConfig {
        target: format!("http://{}/work", server.address()),
        duration: None,
        cap_file,
        core_seconds_per_request: 0.002,
        request_timeout: Duration::from_secs(5),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_follows_plan_and_histogram_counts() {
    let server = WorkloadServer::start(
        "127.0.0.1:0".parse().unwrap(),
        WorkConfig {
            cpu_ms: 2.0,
            memory_mb: 1,
        },
    )
    .await
    .unwrap();
    let plan = LoadPlan {
        steps: vec![(0.0, 40.0), (0.5, 20.0)],
        duration_s: 1.0,
    };
    let report = run_load(&plan, &load_config(&server, None)).await.unwrap();
    assert_eq!(
        report.sent, 30,
        "20 requests in the first half second, 10 in the second"
    );
    assert_eq!(report.succeeded, 30);
    assert_eq!(report.failed, 0);
    let (status, metrics) = http_get(&format!("http://{}/metrics", server.address())).await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("arbiter_exercise_request_duration_seconds_count 30\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE arbiter_exercise_request_duration_seconds histogram"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_cap_limits_rate() {
    let server = WorkloadServer::start(
        "127.0.0.1:0".parse().unwrap(),
        WorkConfig {
            cpu_ms: 1.0,
            memory_mb: 0,
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cap_file = dir.path().join("annotations");
    // 0.02 cores at 0.002 core-seconds per request: at most 10 requests per second.
    std::fs::write(&cap_file, "arbiter.dev/load-cap-cores=\"0.02\"\n").unwrap();
    let plan = LoadPlan {
        steps: vec![(0.0, 100.0)],
        duration_s: 1.0,
    };
    let report = run_load(&plan, &load_config(&server, Some(cap_file)))
        .await
        .unwrap();
    assert_eq!(report.sent, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_rejects_bad_queries() {
    let server = WorkloadServer::start(
        "127.0.0.1:0".parse().unwrap(),
        WorkConfig {
            cpu_ms: 1.0,
            memory_mb: 0,
        },
    )
    .await
    .unwrap();
    let base = format!("http://{}", server.address());
    assert_eq!(http_get(&format!("{base}/work?cpu_ms=abc")).await.0, 400);
    assert_eq!(
        http_get(&format!("{base}/work?memory_mb=999999")).await.0,
        400
    );
    assert_eq!(http_get(&format!("{base}/nothing")).await.0, 404);
    let (status, body) = http_get(&format!("{base}/work?cpu_ms=3&memory_mb=2")).await;
    assert_eq!(status, 200);
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["memory_mb"], 2);
    assert!(reply["elapsed_ms"].as_f64().unwrap() >= 3.0);
    assert_eq!(server.histogram().count(), 1);
}

#[test]
fn plan_from_shipped_trace() {
    let series = arbiter_trace::read_series(&common::trace_path(), None, &Default::default())
        .unwrap()
        .remove(0);
    let plan = LoadPlan::from_series(&series, 50.0, 60.0).unwrap();
    let peak = plan.steps.iter().map(|(_, rate)| *rate).fold(0.0, f64::max);
    assert!((peak - 50.0).abs() < 1e-9);
    assert!(plan.rate_at(0.0) > 0.0);
    assert_eq!(plan.rate_at(plan.duration_s + 1.0), 0.0);
    assert!(LoadPlan::from_series(&series, 0.0, 60.0).is_err());
    assert!(LoadPlan::from_series(&series, 10.0, -1.0).is_err());
}

#[test]
fn plan_arrivals_integrate_the_rate() {
    let plan = LoadPlan {
        steps: vec![(0.0, 0.0), (1.0, 0.5), (3.0, 4.0)],
        duration_s: 4.0,
    };
    // No load in the first second, so the first request waits for the rate to rise.
    assert_eq!(plan.next_arrival(0.0, 0.0, 4.0, None), 1.0);
    // At 0.5 per second one request's worth of rate accumulates over exactly 2 seconds.
    assert_eq!(plan.next_arrival(1.0, 1.0, 4.0, None), 3.0);
    // Half a request accumulated by 2.0; the other half comes at 4 per second.
    assert_eq!(plan.next_arrival(2.0, 1.0, 4.0, None), 3.125);
    // A cap of 2 per second halves the rate of the last step.
    assert_eq!(plan.next_arrival(3.0, 1.0, 4.0, Some(2.0)), 3.5);
    // Past the plan's end there is no further request.
    assert_eq!(plan.next_arrival(3.9, 1.0, 4.0, None), 4.0);
}
