//! The executor for simulated clusters: applies an action through the simulated scale
//! subresource and records each operation as the live executor would.

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
        let Action::Scale { workload, from, to } = action else {
            return ExecutionRecord {
                status: ExecutionStatus::Noop,
                operations: Vec::new(),
            };
        };
        let (namespace, name) = workload.split_once('/').unwrap_or(("default", workload));
        let body = serde_json::json!({ "spec": { "replicas": to } });
        let mut operation = OperationRecord {
            description: format!("scale deployment {workload} from {from} to {to} replicas"),
            kubectl: format!("kubectl -n {namespace} scale deployment/{name} --replicas={to}"),
            method: "PATCH".to_owned(),
            path: format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"),
            request: Some(body),
            status_code: None,
            response: String::new(),
            duration_ms: 0.0,
        };
        if self.dry_run {
            operation.response = "dry run: not sent".to_owned();
            return ExecutionRecord {
                status: ExecutionStatus::DryRun,
                operations: vec![operation],
            };
        }
        let status = match self.cluster.scale(workload, *to) {
            Ok(()) => {
                operation.status_code = Some(200);
                operation.response = format!("spec.replicas={to}");
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
