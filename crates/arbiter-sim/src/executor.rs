//! The executor for simulated clusters: applies an action through the simulated scale
//! subresource and records each operation as the live executor would.
//!
//! # Not modelled
//!
//! * API latency, conflicts and admission webhooks: a write succeeds at once unless the
//!   Deployment does not exist. The recorded `duration_ms` is 0.
//! * The load generator is not a Kubernetes object here: a cap is recorded with the method
//!   `SIM` and no kubectl equivalent.

use arbiter_core::action::Action;
use arbiter_core::execution::{ExecutionRecord, ExecutionStatus, Executor, OperationRecord};

use crate::cluster::Cluster;

/// Applies actions to one simulated cluster.
pub struct SimExecutor<'a> {
    cluster: &'a mut Cluster,
    dry_run: bool,
}

impl<'a> SimExecutor<'a> {
    /// Creates an executor; with `dry_run` it records operations without applying them.
    pub fn new(cluster: &'a mut Cluster, dry_run: bool) -> Self {
        Self { cluster, dry_run }
    }
}

impl Executor for SimExecutor<'_> {
    fn execute(&mut self, action: &Action) -> ExecutionRecord {
        let Some(workload) = action.workload() else {
            return ExecutionRecord {
                status: ExecutionStatus::Noop,
                operations: Vec::new(),
            };
        };
        let (namespace, name) = workload.split_once('/').unwrap_or(("default", workload));
        let mut operation = match action {
            Action::Scale { from, to, .. } => OperationRecord {
                description: format!("scale deployment {workload} from {from} to {to} replicas"),
                kubectl: format!("kubectl -n {namespace} scale deployment/{name} --replicas={to}"),
                method: "PATCH".to_owned(),
                path: format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"),
                request: Some(serde_json::json!({ "spec": { "replicas": to } })),
                status_code: None,
                response: String::new(),
                duration_ms: 0.0,
            },
            Action::RolloutRestart { .. } => OperationRecord {
                description: format!(
                    "restart the pods of deployment {workload} with a rolling update"
                ),
                kubectl: format!("kubectl -n {namespace} rollout restart deployment/{name}"),
                method: "PATCH".to_owned(),
                path: format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"),
                request: Some(serde_json::json!({
                    "spec": { "template": { "metadata": { "annotations": {
                        "kubectl.kubernetes.io/restartedAt": format!("simulated:{:.0}", self.cluster.time_s())
                    } } } }
                })),
                status_code: None,
                response: String::new(),
                duration_ms: 0.0,
            },
            Action::CapLoad { cap_cores, .. } => OperationRecord {
                description: match cap_cores {
                    Some(cap) => {
                        format!("cap the load generator of {workload} at {cap:.2} cores of demand")
                    }
                    None => format!("lift the load generator cap of {workload}"),
                },
                kubectl: String::new(),
                method: "SIM".to_owned(),
                path: format!("loadgen/{workload}"),
                request: Some(serde_json::json!({ "cap_cores": cap_cores })),
                status_code: None,
                response: String::new(),
                duration_ms: 0.0,
            },
            Action::Noop | Action::Hold { .. } => {
                return ExecutionRecord {
                    status: ExecutionStatus::Noop,
                    operations: Vec::new(),
                };
            }
        };
        if self.dry_run {
            operation.response = "dry run: not sent".to_owned();
            return ExecutionRecord {
                status: ExecutionStatus::DryRun,
                operations: vec![operation],
            };
        }
        let applied = match action {
            Action::Scale { to, .. } => self
                .cluster
                .scale(workload, *to)
                .map(|()| format!("spec.replicas={to}")),
            Action::RolloutRestart { .. } => self
                .cluster
                .rollout(workload)
                .map(|()| "rollout started".to_owned()),
            Action::CapLoad { cap_cores, .. } => {
                self.cluster
                    .cap_load(workload, *cap_cores)
                    .map(|()| match cap_cores {
                        Some(cap) => format!("load capped at {cap:.2} cores"),
                        None => "load cap lifted".to_owned(),
                    })
            }
            Action::Noop | Action::Hold { .. } => unreachable!("returned above"),
        };
        let status = match applied {
            Ok(response) => {
                operation.status_code = Some(200);
                operation.response = response;
                ExecutionStatus::Executed
            }
            Err(error) => {
                operation.status_code = Some(404);
                operation.response = error.to_string();
                ExecutionStatus::NoTargets
            }
        };
        ExecutionRecord {
            status,
            operations: vec![operation],
        }
    }
}
