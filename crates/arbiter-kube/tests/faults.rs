//! Fault tests: the served simulator returns 500s, 409s and 429s, responds slowly and drops
//! connections. The live loop keeps running, records each failure and stays in scope.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use arbiter_kube::live::LiveRecord;
use arbiter_kube::server::{FaultKind, FaultRule};

fn rule(kind: FaultKind, count: u32, method: &str, path: &str, delay_ms: u64) -> FaultRule {
    FaultRule {
        kind,
        count,
        method: Some(method.to_owned()),
        path_contains: Some(path.to_owned()),
        delay_ms,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_survives_and_records_faults() {
    let server = common::start("experimental", false, 0).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut live = common::live_loop(&server, None, dir.path(), common::fast_policy()).await;
    let deployments = "/apis/apps/v1/namespaces/arbiter-exercise/deployments?";
    server.set_faults(vec![
        // Two drops then a success: the observation retries and completes.
        rule(FaultKind::Drop, 2, "GET", deployments, 0),
        // Three drops: every attempt fails, so the next tick is skipped.
        rule(FaultKind::Drop, 3, "GET", deployments, 0),
        rule(
            FaultKind::Slow,
            1,
            "GET",
            "/api/v1/namespaces/arbiter-exercise/pods",
            2500,
        ),
        rule(
            FaultKind::Slow,
            1,
            "GET",
            "/apis/metrics.k8s.io/v1beta1/nodes",
            100,
        ),
        rule(FaultKind::TooManyRequests, 1, "GET", "/api/v1/nodes", 0),
        rule(FaultKind::InternalError, 2, "PATCH", "/scale", 0),
        rule(FaultKind::Conflict, 1, "PATCH", "/scale", 0),
    ]);
    let before = server.replicas();

    let mut records = Vec::new();
    for _ in 0..120 {
        server.step(1);
        records.extend(live.tick().await);
    }

    // The loop kept running and skipped exactly the tick whose deployment list failed.
    let skipped = records
        .iter()
        .filter(|r| matches!(r, LiveRecord::Skipped { .. }))
        .count();
    assert_eq!(skipped, 1, "skipped ticks");
    let observations = records
        .iter()
        .filter(|r| matches!(r, LiveRecord::Observation { .. }))
        .count();
    assert_eq!(observations, 120);

    // Each failure is recorded.
    let statuses: Vec<Option<u16>> = records
        .iter()
        .flat_map(|r| r.operations())
        .map(|op| op.status_code)
        .collect();
    let count = |code: Option<u16>| statuses.iter().filter(|s| **s == code).count();
    assert_eq!(count(Some(500)), 2, "500 answers recorded");
    assert_eq!(count(Some(409)), 1, "409 answers recorded");
    assert_eq!(count(Some(429)), 1, "429 answers recorded");
    // Five dropped connections and one timed-out slow response.
    let failed: Vec<String> = records
        .iter()
        .flat_map(|r| r.operations())
        .filter(|op| {
            op.status_code.is_none()
                && !op.method.is_empty()
                && !op.response.starts_with("rejected")
                && op.response != "dry run: not sent"
        })
        .map(|op| op.response.clone())
        .collect();
    assert_eq!(failed.len(), 6, "connection failures recorded: {failed:#?}");
    assert!(
        failed.iter().any(|text| text.contains("timed out")
            || text.contains("timeout")
            || text.contains("Timeout")),
        "{failed:#?}"
    );

    // The conflict was re-read and retried, and the scale went through in scope.
    let after = server.replicas();
    for key in ["arbiter-exercise/bystander", "arbiter-other/outsider"] {
        assert_eq!(after[key], before[key], "{key} changed");
    }
    let changed: Vec<&String> = after
        .keys()
        .filter(|key| after[*key] != before[*key])
        .collect();
    assert!(!changed.is_empty(), "no scale went through despite retries");
    for key in changed {
        assert!(
            !key.ends_with("-load") && key.starts_with("arbiter-exercise/"),
            "{key} is out of scope"
        );
    }

    // The slow request finishes on the server after the client gave up; wait for its log entry.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let served = common::served_calls(&server.requests());
    let recorded = common::recorded_calls(&records, "experimental");
    let by_call = |counts: &BTreeMap<(String, String, Option<u16>), usize>| {
        let mut totals: BTreeMap<(String, String), usize> = BTreeMap::new();
        for ((method, path, _), n) in counts {
            *totals.entry((method.clone(), path.clone())).or_default() += n;
        }
        totals
    };
    assert_eq!(
        by_call(&recorded),
        by_call(&served),
        "calls recorded versus calls served"
    );
    // Statuses agree, except that the server responded to the timed-out request after the
    // client had recorded it without a status.
    let mut answered_after_timeout = 0;
    for (key, n) in &served {
        if key.2.is_some() {
            let seen = recorded.get(key).copied().unwrap_or(0);
            assert!(seen <= *n, "{key:?}: recorded {seen}, served {n}");
            answered_after_timeout += n - seen;
        }
    }
    assert_eq!(answered_after_timeout, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_rule_parsing() {
    let parsed = FaultRule::parse("409:2:patch:/scale").expect("valid rule");
    assert_eq!(parsed.kind, FaultKind::Conflict);
    assert_eq!(parsed.count, 2);
    assert_eq!(parsed.method.as_deref(), Some("PATCH"));
    assert_eq!(parsed.path_contains.as_deref(), Some("/scale"));
    assert_eq!(FaultRule::parse("slow=250").unwrap().delay_ms, 250);
    assert_eq!(FaultRule::parse("drop").unwrap().count, 1);
    for bad in ["418", "slow=fast", "500:many", ""] {
        assert!(FaultRule::parse(bad).is_err(), "{bad} parsed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_endpoint_over_http() {
    let server = common::start("experimental", false, 2).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let api = common::client(&server, dir.path(), "control", common::fast_policy()).await;
    let set = arbiter_kube::api::Call {
        description: "set faults".to_owned(),
        kubectl: String::new(),
        method: http::Method::PUT,
        path: "/arbiter/v1/faults".to_owned(),
        body: Some(
            serde_json::json!([{ "kind": "internal_error", "count": 1, "path_contains": "/version" }]),
        ),
        content_type: None,
    };
    let mut operations = Vec::new();
    assert_eq!(api.send(&set, &mut operations).await.status(), Some(200));
    let version = arbiter_kube::api::Call::get("version", "kubectl version", "/version");
    let single = arbiter_kube::api::ApiClient::new(
        kube::Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap(),
        arbiter_kube::api::RetryPolicy {
            max_attempts: 1,
            ..common::fast_policy()
        },
    );
    assert_eq!(
        single.send(&version, &mut operations).await.status(),
        Some(500)
    );
    assert_eq!(
        single.send(&version, &mut operations).await.status(),
        Some(200)
    );
    let bad = arbiter_kube::api::Call {
        body: Some(serde_json::json!({"kind": 1})),
        ..set
    };
    assert_eq!(api.send(&bad, &mut operations).await.status(), Some(400));
}
