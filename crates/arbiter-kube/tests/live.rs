//! The live loop against two served simulators with execute on: replicas change only on
//! labelled Deployments in allowed namespaces, and every API call is in the records.

mod common;

use std::collections::BTreeMap;

use arbiter_core::action::Action;
use arbiter_core::execution::ExecutionStatus;
use arbiter_kube::live::LiveRecord;
use arbiter_kube::server::ApiServer;

const TICKS: u32 = 120;

/// Exercise Deployment keys of a served simulator: labelled, not a load generator.
fn exercise_keys(server: &ApiServer) -> Vec<String> {
    server
        .replicas()
        .keys()
        .filter(|key| {
            key.starts_with("arbiter-exercise/")
                && !key.ends_with("-load")
                && !key.ends_with("/bystander")
        })
        .cloned()
        .collect()
}

fn changed(before: &BTreeMap<String, i32>, after: &BTreeMap<String, i32>) -> Vec<String> {
    after
        .iter()
        .filter(|(key, replicas)| before.get(*key) != Some(replicas))
        .map(|(key, _)| key.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_loop_two_clusters() {
    let experimental = common::start("experimental", false, 0).await;
    let baseline = common::start("baseline", true, 0).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut live = common::live_loop(
        &experimental,
        Some(&baseline),
        dir.path(),
        common::fast_policy(),
    )
    .await;
    let experimental_before = experimental.replicas();
    let baseline_before = baseline.replicas();

    let mut records = Vec::new();
    for _ in 0..TICKS {
        experimental.step(1);
        baseline.step(1);
        records.extend(live.tick().await);
    }

    // Scope: only the labelled Deployment in the allowed namespace changed.
    let exercise = exercise_keys(&experimental);
    let experimental_changed = changed(&experimental_before, &experimental.replicas());
    assert!(
        !experimental_changed.is_empty(),
        "Arbiter changed nothing in {TICKS} ticks"
    );
    for key in &experimental_changed {
        assert!(
            exercise.contains(key),
            "Arbiter changed {key}, which is out of scope"
        );
    }
    for key in ["arbiter-exercise/bystander", "arbiter-other/outsider"] {
        assert_eq!(
            experimental.replicas()[key],
            experimental_before[key],
            "{key} changed"
        );
    }
    // The baseline's own HPA acted; Arbiter did not touch it (no PATCH in its log).
    assert!(
        !changed(&baseline_before, &baseline.replicas()).is_empty(),
        "the baseline HPA never rescaled"
    );
    assert!(
        baseline
            .requests()
            .iter()
            .all(|entry| entry.method == "GET"),
        "Arbiter wrote to the baseline"
    );

    // Decisions: at least one scale executed, each with the event call.
    let executed: Vec<_> = records
        .iter()
        .filter_map(|record| match record {
            LiveRecord::Decision(decision) => Some(decision),
            _ => None,
        })
        .filter(|decision| {
            decision
                .execution
                .as_ref()
                .is_some_and(|e| e.status == ExecutionStatus::Executed)
        })
        .collect();
    assert!(!executed.is_empty());
    for decision in &executed {
        assert!(matches!(decision.action, Action::Scale { .. }));
        let methods: Vec<&str> = decision
            .execution
            .as_ref()
            .unwrap()
            .operations
            .iter()
            .map(|op| op.method.as_str())
            .collect();
        assert_eq!(methods, ["GET", "PATCH", "POST"]);
    }
    let events = experimental.events();
    assert_eq!(
        events
            .iter()
            .filter(|event| event["reason"] == "SuccessfulRescale")
            .count(),
        executed.len(),
        "one SuccessfulRescale event per executed scale"
    );

    // Every call the servers received is in the records with its status code, and no more.
    assert_eq!(
        common::recorded_calls(&records, "experimental"),
        common::served_calls(&experimental.requests())
    );
    assert_eq!(
        common::recorded_calls(&records, "baseline"),
        common::served_calls(&baseline.requests())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_loop_respects_label_removal() {
    let experimental = common::start("experimental", false, 0).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut live = common::live_loop(&experimental, None, dir.path(), common::fast_policy()).await;
    // Take the exercise label away through the API, as `kubectl label ... arbiter.dev/exercise-` does.
    let key = exercise_keys(&experimental).remove(0);
    let (namespace, name) = key.split_once('/').unwrap();
    let client = common::client(&experimental, dir.path(), "patch", common::fast_policy()).await;
    let call = arbiter_kube::api::Call {
        description: "remove the exercise label".to_owned(),
        kubectl: String::new(),
        method: http::Method::PATCH,
        path: format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"),
        body: Some(
            serde_json::json!({ "metadata": { "labels": { "arbiter.dev/exercise": null } } }),
        ),
        content_type: Some(arbiter_kube::api::MERGE_PATCH),
    };
    let mut operations = Vec::new();
    let outcome = client.send(&call, &mut operations).await;
    assert_eq!(outcome.status(), Some(200));
    let before = experimental.replicas();
    for _ in 0..60 {
        experimental.step(1);
        for record in live.tick().await {
            assert!(
                !matches!(record, LiveRecord::Decision(_)),
                "decided for an unlabelled deployment: {record:?}"
            );
        }
    }
    assert_eq!(experimental.replicas()[&key], before[&key]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_without_metrics_server() {
    let mut config = common::config("experimental", false);
    config.metrics = false;
    let server = arbiter_kube::server::ApiServer::start(config, 0)
        .await
        .expect("server starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut live = common::live_loop(&server, None, dir.path(), common::fast_policy()).await;
    let mut missing = Vec::new();
    let mut decisions = 0;
    for _ in 0..20 {
        server.step(1);
        for record in live.tick().await {
            match record {
                LiveRecord::Observation {
                    complete,
                    missing: gaps,
                    workloads,
                    ..
                } => {
                    assert!(
                        complete,
                        "a missing metrics API must not make the observation incomplete"
                    );
                    assert_eq!(workloads.len(), 1);
                    assert_eq!(workloads[0].cpu_cores, 0.0, "usage without metrics.k8s.io");
                    missing.extend(gaps);
                }
                LiveRecord::Decision(_) => decisions += 1,
                LiveRecord::Skipped { reason, .. } => panic!("skipped: {reason}"),
            }
        }
    }
    assert_eq!(decisions, 20, "one decision per tick for the one workload");
    assert!(
        missing
            .iter()
            .any(|gap| gap.contains("metrics.k8s.io: not served by this cluster")),
        "{missing:?}"
    );
    assert!(
        missing
            .iter()
            .any(|gap| gap.contains("node metrics not served")),
        "{missing:?}"
    );
}
