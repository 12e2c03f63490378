//! kubectl 1.32 against the served simulator: get, describe, scale, label, rollout restart and
//! get hpa, each through /usr/bin/kubectl with a kubeconfig for 127.0.0.1.

mod common;

use std::path::Path;
use std::process::Command;

use arbiter_kube::server::ApiServer;

const KUBECTL: &str = "/usr/bin/kubectl";

/// Runs kubectl with the server's kubeconfig and a private cache directory; returns
/// (success, stdout, stderr).
fn kubectl(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", dir)
        .output()
        .expect("/usr/bin/kubectl runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn kubectl_async(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        kubectl(&dir, &args)
    })
    .await
    .expect("kubectl task")
}

async fn served() -> (ApiServer, tempfile::TempDir, String) {
    let server = common::start("experimental", true, 8).await;
    let dir = tempfile::tempdir().expect("temp dir");
    server
        .write_kubeconfig(&dir.path().join("kubeconfig"))
        .expect("kubeconfig written");
    let deployment = server
        .replicas()
        .keys()
        .find(|key| {
            key.starts_with("arbiter-exercise/")
                && !key.ends_with("-load")
                && !key.ends_with("/bystander")
        })
        .expect("an exercise deployment")
        .trim_start_matches("arbiter-exercise/")
        .to_owned();
    (server, dir, deployment)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_lists_objects() {
    let (server, dir, deployment) = served().await;
    let dir = dir.path();

    let (ok, out, err) = kubectl_async(dir, &["get", "deployments"]).await;
    assert!(ok, "kubectl get deployments failed: {err}");
    assert!(out.contains("READY"), "no table header in:\n{out}");
    assert!(out.contains(&deployment), "deployment missing in:\n{out}");
    assert!(out.contains("bystander"), "bystander missing in:\n{out}");

    let (ok, out, err) = kubectl_async(dir, &["get", "pods", "-o", "wide"]).await;
    assert!(ok, "kubectl get pods failed: {err}");
    assert!(out.contains("Running"), "no running pod in:\n{out}");
    assert!(out.contains("node-"), "no node column in:\n{out}");

    let (ok, out, err) = kubectl_async(dir, &["get", "nodes"]).await;
    assert!(ok, "kubectl get nodes failed: {err}");
    assert!(out.contains("Ready"), "{out}");

    let (ok, out, err) = kubectl_async(dir, &["get", "namespaces"]).await;
    assert!(ok, "kubectl get namespaces failed: {err}");
    assert!(
        out.contains("arbiter-exercise") && out.contains("arbiter-other"),
        "{out}"
    );

    let (ok, out, err) = kubectl_async(
        dir,
        &[
            "get",
            "deployments",
            "-l",
            "arbiter.dev/exercise=true",
            "-o",
            "name",
        ],
    )
    .await;
    assert!(ok, "kubectl get -l failed: {err}");
    assert!(
        out.contains(&format!("deployment.apps/{deployment}")),
        "{out}"
    );
    assert!(
        !out.contains("bystander"),
        "the selector let the unlabelled deployment through:\n{out}"
    );

    let (ok, out, err) =
        kubectl_async(dir, &["get", "deployment", &deployment, "-o", "json"]).await;
    assert!(ok, "kubectl get -o json failed: {err}");
    let object: serde_json::Value = serde_json::from_str(&out).expect("kubectl printed JSON");
    assert_eq!(object["kind"], "Deployment");

    let (ok, _, err) = kubectl_async(dir, &["get", "deployment", "no-such-deployment"]).await;
    assert!(!ok);
    assert!(
        err.contains("NotFound") || err.contains("not found"),
        "unexpected error text: {err}"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_describe_deployment() {
    let (server, dir, deployment) = served().await;
    let (ok, out, err) = kubectl_async(dir.path(), &["describe", "deployment", &deployment]).await;
    assert!(ok, "kubectl describe failed: {err}");
    assert!(
        out.contains(&format!("Name:                   {deployment}")),
        "{out}"
    );
    assert!(
        out.contains("arbiter.dev/exercise=true"),
        "labels missing:\n{out}"
    );
    assert!(out.contains("Replicas:"), "{out}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_scale_changes_replicas() {
    let (server, dir, deployment) = served().await;
    let (ok, out, err) = kubectl_async(
        dir.path(),
        &["scale", &format!("deployment/{deployment}"), "--replicas=7"],
    )
    .await;
    assert!(ok, "kubectl scale failed: {err}");
    assert!(out.contains("scaled"), "{out}");
    assert_eq!(
        server.replicas()[&format!("arbiter-exercise/{deployment}")],
        7
    );

    let (ok, _, err) = kubectl_async(
        dir.path(),
        &[
            "scale",
            &format!("deployment/{deployment}"),
            "--replicas=-1",
        ],
    )
    .await;
    assert!(!ok, "a negative replica count was accepted");
    assert!(!err.is_empty());
    assert_eq!(
        server.replicas()[&format!("arbiter-exercise/{deployment}")],
        7
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_label_adds_and_removes() {
    let (server, dir, deployment) = served().await;
    let target = format!("deployment/{deployment}");
    let (ok, out, err) = kubectl_async(dir.path(), &["label", &target, "team=lab"]).await;
    assert!(ok, "kubectl label failed: {err}");
    assert!(out.contains("labeled"), "{out}");
    let (_, out, _) = kubectl_async(
        dir.path(),
        &["get", "deployments", "-l", "team=lab", "-o", "name"],
    )
    .await;
    assert!(out.contains(&deployment), "label not applied:\n{out}");

    let (ok, _, err) =
        kubectl_async(dir.path(), &["label", &target, "arbiter.dev/exercise-"]).await;
    assert!(ok, "kubectl label removal failed: {err}");
    let (_, out, _) = kubectl_async(
        dir.path(),
        &[
            "get",
            "deployments",
            "-l",
            "arbiter.dev/exercise=true",
            "-o",
            "name",
        ],
    )
    .await;
    assert!(
        !out.contains(&format!("deployment.apps/{deployment}\n")),
        "label not removed:\n{out}"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_restart_annotates() {
    let (server, dir, deployment) = served().await;
    let (ok, out, err) = kubectl_async(
        dir.path(),
        &["rollout", "restart", &format!("deployment/{deployment}")],
    )
    .await;
    assert!(ok, "kubectl rollout restart failed: {err}");
    assert!(out.contains("restarted"), "{out}");
    let (_, out, _) = kubectl_async(
        dir.path(),
        &[
            "get",
            "deployment",
            &deployment,
            "-o",
            "jsonpath={.spec.template.metadata.annotations}",
        ],
    )
    .await;
    assert!(
        out.contains("kubectl.kubernetes.io/restartedAt"),
        "annotation missing: {out}"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_hpa_shows_target() {
    let (server, dir, deployment) = served().await;
    let (ok, out, err) = kubectl_async(dir.path(), &["get", "hpa"]).await;
    assert!(ok, "kubectl get hpa failed: {err}");
    assert!(out.contains(&format!("Deployment/{deployment}")), "{out}");
    assert!(out.contains("cpu: "), "{out}");
    assert!(out.contains("/70%"), "{out}");
    drop(server);
}
