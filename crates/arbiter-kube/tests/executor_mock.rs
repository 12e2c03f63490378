//! The executor against a mock API (tower-test): the exact requests of each action.

use std::time::Duration;

use arbiter_core::action::Action;
use arbiter_core::execution::ExecutionStatus;
use arbiter_kube::api::{ApiClient, RetryPolicy};
use arbiter_kube::executor::{ExecutorConfig, KubeExecutor};
use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

type MockHandle = Handle<Request<Body>, Response<Body>>;

fn executor(execute: bool) -> (KubeExecutor, MockHandle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let policy = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        timeout: Duration::from_secs(5),
    };
    let api = ApiClient::new(kube::Client::new(service, "default"), policy);
    let config = ExecutorConfig {
        namespaces: vec!["lab".to_owned()],
        min_replicas: 2,
        max_replicas: 20,
        max_step_up: 4,
        max_step_down: 2,
        execute,
    };
    let mut executor = KubeExecutor::new(api, config);
    executor.set_time(1_767_225_660.0);
    (executor, handle)
}

fn deployment(name: &str, replicas: i64, labels: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": name, "namespace": "lab", "uid": "uid-1", "resourceVersion": "5", "labels": labels },
        "spec": { "replicas": replicas, "selector": { "matchLabels": { "app": name } }, "template": { "metadata": { "labels": { "app": name } }, "spec": { "containers": [] } } },
    })
}

fn exercise_labels(name: &str) -> Value {
    json!({ "app": name, "arbiter.dev/exercise": "true" })
}

/// One expected request: method, path, content type and JSON body.
struct Expected {
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Option<Value>,
    status: u16,
    reply: Value,
}

async fn serve(mut handle: MockHandle, expected: Vec<Expected>) {
    for (index, step) in expected.into_iter().enumerate() {
        let (request, respond) = handle
            .next_request()
            .await
            .unwrap_or_else(|| panic!("request {index} never came"));
        assert_eq!(
            request.method().as_str(),
            step.method,
            "method of request {index}"
        );
        assert_eq!(
            request.uri().to_string(),
            step.path,
            "path of request {index}"
        );
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            content_type.as_deref(),
            step.content_type,
            "content type of request {index}"
        );
        let bytes = request
            .into_body()
            .collect_bytes()
            .await
            .expect("request body");
        let body: Option<Value> =
            (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).expect("JSON request body"));
        assert_eq!(body, step.body, "body of request {index}");
        let response = Response::builder()
            .status(step.status)
            .header("content-type", "application/json")
            .body(Body::from(step.reply.to_string().into_bytes()))
            .unwrap();
        respond.send_response(response);
    }
}

fn get(name: &str, replicas: i64, labels: Value) -> Expected {
    Expected {
        method: "GET",
        path: format!("/apis/apps/v1/namespaces/lab/deployments/{name}"),
        content_type: None,
        body: None,
        status: 200,
        reply: deployment(name, replicas, labels),
    }
}

fn event(name: &str, reason: &str, message: &str) -> Expected {
    Expected {
        method: "POST",
        path: "/api/v1/namespaces/lab/events".to_owned(),
        content_type: Some("application/json"),
        body: Some(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": { "generateName": format!("{name}."), "namespace": "lab" },
            "involvedObject": { "apiVersion": "apps/v1", "kind": "Deployment", "name": name, "namespace": "lab", "uid": "uid-1" },
            "reason": reason, "message": message, "type": "Normal", "count": 1,
            "source": { "component": "arbiter" }, "reportingComponent": "arbiter", "reportingInstance": "arbiter",
            "firstTimestamp": "2026-01-01T00:01:00Z", "lastTimestamp": "2026-01-01T00:01:00Z",
        })),
        status: 201,
        reply: json!({ "kind": "Event", "metadata": { "name": format!("{name}.1"), "namespace": "lab" } }),
    }
}

fn scale_patch(name: &str, replicas: i64, status: u16) -> Expected {
    Expected {
        method: "PATCH",
        path: format!("/apis/apps/v1/namespaces/lab/deployments/{name}/scale"),
        content_type: Some("application/merge-patch+json"),
        body: Some(json!({ "spec": { "replicas": replicas } })),
        status,
        reply: if status == 200 {
            json!({ "kind": "Scale", "metadata": { "name": name, "namespace": "lab" }, "spec": { "replicas": replicas } })
        } else {
            json!({ "kind": "Status", "status": "Failure", "code": status, "message": format!("injected {status}") })
        },
    }
}

#[tokio::test]
async fn scale_sends_get_patch_event() {
    let (executor, handle) = executor(true);
    let server = tokio::spawn(serve(
        handle,
        vec![
            get("web", 4, exercise_labels("web")),
            scale_patch("web", 6, 200),
            event(
                "web",
                "SuccessfulRescale",
                "New size: 6; reason: Arbiter scaled from 4 to 6",
            ),
        ],
    ));
    let record = executor
        .execute(&Action::Scale {
            workload: "lab/web".to_owned(),
            from: 4,
            to: 6,
        })
        .await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::Executed);
    let codes: Vec<Option<u16>> = record.operations.iter().map(|op| op.status_code).collect();
    assert_eq!(codes, [Some(200), Some(200), Some(201)]);
    assert_eq!(
        record.operations[1].kubectl,
        "kubectl -n lab scale deployment/web --replicas=6"
    );
    assert_eq!(record.operations[1].method, "PATCH");
}

#[tokio::test]
async fn scale_dry_run_sends_only_the_read() {
    let (executor, handle) = executor(false);
    let server = tokio::spawn(serve(handle, vec![get("web", 4, exercise_labels("web"))]));
    let record = executor.scale("lab/web", 4, 6).await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::DryRun);
    assert_eq!(record.operations.len(), 2);
    assert_eq!(record.operations[1].status_code, None);
    assert_eq!(record.operations[1].response, "dry run: not sent");
}

#[tokio::test]
async fn scale_conflict_rereads_and_retries_once() {
    let (executor, handle) = executor(true);
    let server = tokio::spawn(serve(
        handle,
        vec![
            get("web", 4, exercise_labels("web")),
            scale_patch("web", 6, 409),
            get("web", 4, exercise_labels("web")),
            scale_patch("web", 6, 200),
            event(
                "web",
                "SuccessfulRescale",
                "New size: 6; reason: Arbiter scaled from 4 to 6",
            ),
        ],
    ));
    let record = executor.scale("lab/web", 4, 6).await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::Executed);
    let codes: Vec<Option<u16>> = record.operations.iter().map(|op| op.status_code).collect();
    assert_eq!(
        codes,
        [Some(200), Some(409), Some(200), Some(200), Some(201)]
    );
}

#[tokio::test]
async fn scale_retries_server_errors() {
    let (executor, handle) = executor(true);
    let server = tokio::spawn(serve(
        handle,
        vec![
            get("web", 4, exercise_labels("web")),
            scale_patch("web", 6, 500),
            scale_patch("web", 6, 503),
            scale_patch("web", 6, 500),
        ],
    ));
    let record = executor.scale("lab/web", 4, 6).await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::Error);
    let codes: Vec<Option<u16>> = record.operations.iter().map(|op| op.status_code).collect();
    assert_eq!(codes, [Some(200), Some(500), Some(503), Some(500)]);
    assert!(
        record.operations[3].description.contains("attempt 3 of 3"),
        "{}",
        record.operations[3].description
    );
}

#[tokio::test]
async fn scale_rejects_unlabelled_deployment() {
    let (executor, handle) = executor(true);
    let server = tokio::spawn(serve(handle, vec![get("db", 4, json!({ "app": "db" }))]));
    let record = executor.scale("lab/db", 4, 6).await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::NoTargets);
    assert_eq!(record.operations.len(), 2);
    assert!(
        record.operations[1].response.starts_with("rejected:"),
        "{}",
        record.operations[1].response
    );
}

#[tokio::test]
async fn scale_rejects_without_any_call() {
    let (executor, mut handle) = executor(true);
    let cases = [
        ("other/web", 4, 6, "not among the allowed namespaces"),
        ("lab/web", 4, 21, "outside the bounds"),
        ("lab/web", 4, 1, "outside the bounds"),
        ("web", 4, 6, "not a namespace/name key"),
    ];
    for (workload, from, to, reason) in cases {
        let record = executor.scale(workload, from, to).await;
        assert_eq!(record.status, ExecutionStatus::NoTargets, "{workload} {to}");
        assert_eq!(record.operations.len(), 1);
        assert!(
            record.operations[0].response.contains(reason),
            "{}",
            record.operations[0].response
        );
        assert_eq!(record.operations[0].status_code, None);
    }
    handle.allow(0);
    drop(executor);
    assert!(
        handle.next_request().await.is_none(),
        "a rejected action reached the API"
    );
}

#[tokio::test]
async fn scale_rejects_step_beyond_limit() {
    let (executor, handle) = executor(true);
    let server = tokio::spawn(serve(handle, vec![get("web", 4, exercise_labels("web"))]));
    let record = executor.scale("lab/web", 4, 9).await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::NoTargets);
    assert!(
        record.operations[1].response.contains("step limit of +4"),
        "{}",
        record.operations[1].response
    );
}

#[tokio::test]
async fn restart_patches_restarted_at() {
    let (executor, handle) = executor(true);
    let server = tokio::spawn(serve(
        handle,
        vec![
            get("web", 4, exercise_labels("web")),
            Expected {
                method: "PATCH",
                path: "/apis/apps/v1/namespaces/lab/deployments/web".to_owned(),
                content_type: Some("application/strategic-merge-patch+json"),
                body: Some(
                    json!({ "spec": { "template": { "metadata": { "annotations": { "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:01:00Z" } } } } }),
                ),
                status: 200,
                reply: deployment("web", 4, exercise_labels("web")),
            },
            event("web", "RolloutRestart", "Arbiter restarted the pods"),
        ],
    ));
    let record = executor.restart("lab/web").await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::Executed);
    assert_eq!(
        record.operations[1].kubectl,
        "kubectl -n lab rollout restart deployment/web"
    );
}

/// Labels of `web-load`, the load generator of `web`.
fn generator_labels() -> Value {
    let mut labels = exercise_labels("web-load");
    labels["arbiter.dev/load-target"] = json!("web");
    labels
}

/// Returns the read, patch and Event of capping `lab/web-load` at `cores` (as the annotation text).
fn cap_requests(cores: &str) -> Vec<Expected> {
    vec![
        get("web-load", 1, generator_labels()),
        Expected {
            method: "PATCH",
            path: "/apis/apps/v1/namespaces/lab/deployments/web-load".to_owned(),
            content_type: Some("application/merge-patch+json"),
            body: Some(
                json!({ "spec": { "template": { "metadata": { "annotations": { "arbiter.dev/load-cap-cores": cores } } } } }),
            ),
            status: 200,
            reply: deployment("web-load", 1, exercise_labels("web-load")),
        },
        event(
            "web-load",
            "LoadCapped",
            &format!("cap load generator lab/web-load at {cores} cores"),
        ),
    ]
}

#[tokio::test]
async fn cap_load_patches_generator_annotation() {
    let (executor, handle) = executor(true);
    let server = tokio::spawn(serve(handle, cap_requests("2.5")));
    let record = executor.cap_load("lab/web-load", Some(2.5)).await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::Executed);
}

/// Returns the list request that looks up the load generator of `lab/web`, with `items` as
/// the reply.
fn generator_list(items: Vec<Value>) -> Expected {
    Expected {
        method: "GET",
        path:
            "/apis/apps/v1/namespaces/lab/deployments?labelSelector=arbiter.dev%2Fload-target%3Dweb"
                .to_owned(),
        content_type: None,
        body: None,
        status: 200,
        reply: json!({ "apiVersion": "apps/v1", "kind": "DeploymentList", "items": items }),
    }
}

#[tokio::test]
async fn cap_action_finds_workload_generator() {
    let (executor, handle) = executor(true);
    let mut requests = vec![generator_list(vec![deployment(
        "web-load",
        1,
        generator_labels(),
    )])];
    requests.extend(cap_requests("3"));
    let server = tokio::spawn(serve(handle, requests));
    let action = Action::CapLoad {
        workload: "lab/web".to_owned(),
        cap_cores: Some(3.0),
    };
    let record = executor.execute(&action).await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::Executed);
    assert_eq!(
        record.operations[0].kubectl,
        "kubectl -n lab get deployments -l arbiter.dev/load-target=web -o json"
    );
}

#[tokio::test]
async fn cap_action_without_generator_rejected() {
    let (executor, handle) = executor(true);
    let server = tokio::spawn(serve(handle, vec![generator_list(Vec::new())]));
    let action = Action::CapLoad {
        workload: "lab/web".to_owned(),
        cap_cores: Some(3.0),
    };
    let record = executor.execute(&action).await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::NoTargets);
    assert_eq!(record.operations.len(), 1);
    assert!(
        record.operations[0]
            .response
            .contains("has no load generator to cap"),
        "{}",
        record.operations[0].response
    );
}

#[tokio::test]
async fn cap_action_with_two_generators_rejected() {
    let (executor, handle) = executor(true);
    let server = tokio::spawn(serve(
        handle,
        vec![generator_list(vec![
            deployment("web-load", 1, generator_labels()),
            deployment("web-load-2", 1, generator_labels()),
        ])],
    ));
    let action = Action::CapLoad {
        workload: "lab/web".to_owned(),
        cap_cores: None,
    };
    let record = executor.execute(&action).await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::NoTargets);
    assert!(
        record.operations[0].response.contains("cannot be split"),
        "{}",
        record.operations[0].response
    );
}

#[tokio::test]
async fn cap_load_rejects_a_workload() {
    let (executor, handle) = executor(true);
    let server = tokio::spawn(serve(handle, vec![get("web", 4, exercise_labels("web"))]));
    let record = executor.cap_load("lab/web", Some(1.0)).await;
    server.await.expect("mock server");
    assert_eq!(record.status, ExecutionStatus::NoTargets);
    assert!(
        record.operations[1]
            .response
            .contains("not a load generator")
    );
}

#[tokio::test]
async fn hold_and_noop_make_no_call() {
    let (executor, mut handle) = executor(true);
    for action in [
        Action::Noop,
        Action::Hold {
            workload: "lab/web".to_owned(),
        },
    ] {
        let record = executor.execute(&action).await;
        assert_eq!(record.status, ExecutionStatus::Noop);
        assert!(record.operations.is_empty());
    }
    drop(executor);
    assert!(handle.next_request().await.is_none());
}
