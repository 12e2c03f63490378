//! Helpers shared by the integration tests: served simulators on 127.0.0.1 built from the
//! shipped trace.

#![allow(dead_code)]

use std::path::PathBuf;

use arbiter_kube::server::{ApiServer, ServerConfig};

/// Returns the trace `arbiter apiserver` serves by default.
pub fn trace_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/borg/g2011_job6176858948_taskusage_sum_5min.csv")
}

/// Builds the default served simulator's configuration for one day of the trace, manual clock.
pub fn config(cluster: &str, hpa: bool) -> ServerConfig {
    let mut config =
        ServerConfig::from_trace(&trace_path(), 1, cluster).expect("shipped trace reads");
    config.experiment.days = Some(1.0);
    config.hpa = hpa;
    config
}

/// Starts a served simulator on a free port and advances it `warm_ticks` ticks.
pub async fn start(cluster: &str, hpa: bool, warm_ticks: u32) -> ApiServer {
    let server = ApiServer::start(config(cluster, hpa), 0)
        .await
        .expect("server starts");
    server.step(warm_ticks);
    server
}

use std::collections::BTreeMap;
use std::time::Duration;

use arbiter_core::controller::ControllerConfig;
use arbiter_kube::api::{ApiClient, RetryPolicy};
use arbiter_kube::executor::{ExecutorConfig, KubeExecutor};
use arbiter_kube::live::{LiveLoop, LiveRecord};
use arbiter_kube::observer::{KubeObserver, ObserverConfig};
use arbiter_kube::server::RequestLogEntry;
use arbiter_kube::time::SIM_EPOCH_UNIX_S;

/// The exercise namespace of the default served simulator.
pub const NAMESPACE: &str = "arbiter-exercise";

/// Returns a retry policy fast enough for tests.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        timeout: Duration::from_millis(1500),
    }
}

/// Builds a client for `server` from the kubeconfig the server writes, as the CLI does.
pub async fn client(
    server: &ApiServer,
    dir: &std::path::Path,
    name: &str,
    policy: RetryPolicy,
) -> ApiClient {
    let path = dir.join(format!("{name}.kubeconfig"));
    server.write_kubeconfig(&path).expect("kubeconfig written");
    ApiClient::from_kubeconfig(&path, policy)
        .await
        .expect("client from kubeconfig")
}

/// Creates an observer of the exercise namespace on the served simulator's clock.
pub fn observer(api: ApiClient, cluster: &str) -> KubeObserver {
    KubeObserver::new(
        api,
        ObserverConfig {
            cluster: cluster.to_owned(),
            namespaces: vec![NAMESPACE.to_owned()],
            epoch_unix_s: Some(SIM_EPOCH_UNIX_S as f64),
        },
    )
}

/// Builds the live loop against `experimental` (executing) and optionally `baseline`.
pub async fn live_loop(
    experimental: &ApiServer,
    baseline: Option<&ApiServer>,
    dir: &std::path::Path,
    policy: RetryPolicy,
) -> LiveLoop {
    let controller: ControllerConfig = config("experimental", false).experiment.controller;
    let api = client(experimental, dir, "experimental", policy.clone()).await;
    let executor = KubeExecutor::new(
        api.clone(),
        ExecutorConfig::from_referee(&controller.referee, true),
    );
    let baseline = match baseline {
        Some(server) => Some(observer(
            client(server, dir, "baseline", policy).await,
            "baseline",
        )),
        None => None,
    };
    LiveLoop::new(
        observer(api, "experimental"),
        executor,
        controller,
        baseline,
    )
}

/// Counts (method, path, status) over operation records of one cluster's lines.
pub fn recorded_calls(
    records: &[LiveRecord],
    cluster: &str,
) -> BTreeMap<(String, String, Option<u16>), usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        let belongs = match record {
            LiveRecord::Observation { cluster: name, .. }
            | LiveRecord::Skipped { cluster: name, .. } => name == cluster,
            LiveRecord::Decision(decision) => decision.cluster == cluster,
        };
        if !belongs {
            continue;
        }
        for operation in record.operations() {
            if operation.method.is_empty()
                || (operation.status_code.is_none() && operation.response.starts_with("rejected"))
            {
                continue;
            }
            if operation.response == "dry run: not sent" {
                continue;
            }
            *counts
                .entry((
                    operation.method.clone(),
                    operation.path.clone(),
                    operation.status_code,
                ))
                .or_default() += 1;
        }
    }
    counts
}

/// Counts (method, path, status) over a server's request log.
pub fn served_calls(log: &[RequestLogEntry]) -> BTreeMap<(String, String, Option<u16>), usize> {
    let mut counts = BTreeMap::new();
    for entry in log {
        *counts
            .entry((entry.method.clone(), entry.path.clone(), entry.status))
            .or_default() += 1;
    }
    counts
}
