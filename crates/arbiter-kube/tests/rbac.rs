//! deploy/rbac.yaml grants exactly the permissions Arbiter's calls need: every call the live
//! loop and each executor action make is allowed, and every granted verb is used.

mod common;

use std::collections::BTreeSet;

use arbiter_kube::executor::{ExecutorConfig, KubeExecutor};
use arbiter_kube::live::LiveRecord;
use serde_json::Value;

/// (API group, resource, verb, namespaced) of a permission.
type Permission = (String, String, String, bool);

/// Maps a request to the RBAC permission it needs.
fn permission(method: &str, path: &str) -> Permission {
    let path = path.split('?').next().unwrap();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, rest) = match segments.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => panic!("unexpected path {path}"),
    };
    let (namespaced, rest) = match rest {
        ["namespaces", _ns, rest @ ..] if !rest.is_empty() => (true, rest),
        _ => (false, rest),
    };
    let (resource, named) = match rest {
        [resource] => (resource.to_string(), false),
        [resource, _name] => (resource.to_string(), true),
        [resource, _name, sub] => (format!("{resource}/{sub}"), true),
        _ => panic!("unexpected path {path}"),
    };
    let verb = match (method, named) {
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("PATCH", _) => "patch",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("DELETE", _) => "delete",
        _ => panic!("unexpected method {method}"),
    };
    (group.to_owned(), resource, verb.to_owned(), namespaced)
}

fn granted() -> BTreeSet<Permission> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/rbac.yaml");
    let text = std::fs::read_to_string(&path).expect("deploy/rbac.yaml reads");
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&text).expect("deploy/rbac.yaml is YAML");
    let mut permissions = BTreeSet::new();
    for document in documents {
        let namespaced = match document["kind"].as_str() {
            Some("Role") => true,
            Some("ClusterRole") => false,
            _ => continue,
        };
        for rule in document["rules"].as_array().expect("rules") {
            for group in rule["apiGroups"].as_array().unwrap() {
                for resource in rule["resources"].as_array().unwrap() {
                    for verb in rule["verbs"].as_array().unwrap() {
                        permissions.insert((
                            group.as_str().unwrap().to_owned(),
                            resource.as_str().unwrap().to_owned(),
                            verb.as_str().unwrap().to_owned(),
                            namespaced,
                        ));
                    }
                }
            }
        }
    }
    permissions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_grants_exactly_the_calls_made() {
    let server = common::start("experimental", false, 0).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut live = common::live_loop(&server, None, dir.path(), common::fast_policy()).await;
    let mut calls = Vec::new();
    for _ in 0..60 {
        server.step(1);
        for record in live.tick().await {
            if let LiveRecord::Decision(_) | LiveRecord::Observation { .. } = record {
                calls.extend(
                    record
                        .operations()
                        .iter()
                        .map(|op| (op.method.clone(), op.path.clone())),
                );
            }
        }
    }
    // The load cap and the rollout restart, which the controller does not propose by itself.
    let api = common::client(&server, dir.path(), "actions", common::fast_policy()).await;
    let controller = common::config("experimental", false).experiment.controller;
    let executor = KubeExecutor::new(api, ExecutorConfig::from_referee(&controller.referee, true));
    let workload = server.snapshot().workloads[0].key();
    for record in [
        executor.restart(&workload).await,
        // The executor finds the load generator by its label, as the live loop's cap does.
        executor
            .execute(&arbiter_core::action::Action::CapLoad {
                workload: workload.clone(),
                cap_cores: Some(1.5),
            })
            .await,
    ] {
        assert_eq!(
            record.status,
            arbiter_core::execution::ExecutionStatus::Executed,
            "{record:?}"
        );
        calls.extend(
            record
                .operations
                .iter()
                .map(|op| (op.method.clone(), op.path.clone())),
        );
    }

    let used: BTreeSet<Permission> = calls
        .iter()
        .map(|(method, path)| permission(method, path))
        .collect();
    let granted = granted();
    let missing: Vec<_> = used.difference(&granted).collect();
    let unused: Vec<_> = granted.difference(&used).collect();
    assert!(
        missing.is_empty(),
        "calls deploy/rbac.yaml does not allow: {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "permissions deploy/rbac.yaml grants but Arbiter never uses: {unused:?}"
    );
}
