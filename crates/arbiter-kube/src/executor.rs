//! The bounded executor: the only code that changes a live cluster.
//!
//! It finds targets only through the exercise label inside the allowed namespaces. It makes
//! three kinds of change: scaling an exercise Deployment within the replica bounds and step
//! limits, capping a load generator, and a rollout restart (the
//! `kubectl.kubernetes.io/restartedAt` pod template annotation kubectl sets). Everything else
//! is rejected and recorded as rejected. Every API call, each retry included, becomes an
//! [`OperationRecord`]. In dry-run mode, the default, reads are sent and changes are only
//! recorded. Each executed change is followed by a core/v1 Event on the Deployment, as the
//! HPA emits `SuccessfulRescale`.

use arbiter_core::action::Action;
use arbiter_core::execution::{ExecutionRecord, ExecutionStatus, OperationRecord};
use arbiter_core::referee::RefereeConfig;
use arbiter_core::snapshot::EXERCISE_LABEL;
use http::Method;
use serde_json::{Value, json};

use crate::api::{ApiClient, Call, MERGE_PATCH, Outcome, STRATEGIC_MERGE_PATCH};
use crate::time::format_rfc3339;
use crate::{LOAD_CAP_ANNOTATION, LOAD_TARGET_LABEL, RESTARTED_AT_ANNOTATION};

/// Component name the executor writes into Events.
pub const EVENT_COMPONENT: &str = "arbiter";

/// The executor's bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorConfig {
    /// Namespaces the executor may change. Everything elsewhere is rejected without a call.
    pub namespaces: Vec<String>,
    /// Lowest `spec.replicas` the executor sets.
    pub min_replicas: i32,
    /// Highest `spec.replicas` the executor sets.
    pub max_replicas: i32,
    /// Largest increase of `spec.replicas` in one action.
    pub max_step_up: i32,
    /// Largest decrease of `spec.replicas` in one action.
    pub max_step_down: i32,
    /// Whether changes are sent. When false (dry run) they are only recorded.
    pub execute: bool,
}

impl ExecutorConfig {
    /// Takes the bounds from the referee's configuration, so that the executor enforces the
    /// same limits the referee applies.
    pub fn from_referee(referee: &RefereeConfig, execute: bool) -> Self {
        Self {
            namespaces: referee.allowed_namespaces.clone(),
            min_replicas: referee.min_replicas,
            max_replicas: referee.max_replicas,
            max_step_up: referee.max_step_up,
            max_step_down: referee.max_step_down,
            execute,
        }
    }
}

/// Executes actions against one cluster.
pub struct KubeExecutor {
    api: ApiClient,
    config: ExecutorConfig,
    now_unix: Option<f64>,
}

/// A Deployment as the executor read it.
struct Target {
    namespace: String,
    name: String,
    body: Value,
}

impl Target {
    fn label(&self, key: &str) -> Option<&str> {
        self.body["metadata"]["labels"][key].as_str()
    }

    fn replicas(&self) -> i32 {
        self.body["spec"]["replicas"].as_i64().unwrap_or(1) as i32
    }
}

/// Outcome of the discovery step of an action.
enum Found {
    Target(Target),
    Done(ExecutionStatus),
}

fn rejected(
    description: String,
    kubectl: String,
    method: &str,
    path: String,
    request: Option<Value>,
    reason: &str,
) -> OperationRecord {
    OperationRecord {
        description,
        kubectl,
        method: method.to_owned(),
        path,
        request,
        status_code: None,
        response: format!("rejected: {reason}"),
        duration_ms: 0.0,
    }
}

/// Percent-encodes a query parameter value, leaving only unreserved characters as they are.
fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn split_key(workload: &str) -> Option<(&str, &str)> {
    workload
        .split_once('/')
        .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains('/'))
}

impl KubeExecutor {
    /// Creates an executor.
    pub fn new(api: ApiClient, config: ExecutorConfig) -> Self {
        Self {
            api,
            config,
            now_unix: None,
        }
    }

    /// Returns the executor's bounds.
    pub fn config(&self) -> &ExecutorConfig {
        &self.config
    }

    /// Sets the cluster time, in Unix seconds, written into Events and restart annotations.
    pub fn set_time(&mut self, now_unix: f64) {
        self.now_unix = Some(now_unix);
    }

    fn now_text(&self) -> Option<String> {
        self.now_unix.map(format_rfc3339)
    }

    /// Applies a controller action: a scale within bounds, a rollout restart, or a load cap on
    /// the workload's load generator; nothing for `Noop` and `Hold`.
    pub async fn execute(&self, action: &Action) -> ExecutionRecord {
        #[allow(unreachable_patterns)]
        match action {
            Action::Scale { workload, from, to } => self.scale(workload, *from, *to).await,
            Action::RolloutRestart { workload } => self.restart(workload).await,
            Action::CapLoad {
                workload,
                cap_cores,
            } => self.cap_workload_load(workload, *cap_cores).await,
            Action::Noop | Action::Hold { .. } => ExecutionRecord {
                status: ExecutionStatus::Noop,
                operations: Vec::new(),
            },
            other => ExecutionRecord {
                status: ExecutionStatus::NoTargets,
                operations: vec![rejected(
                    format!("reject action {other:?}"),
                    String::new(),
                    "",
                    String::new(),
                    serde_json::to_value(other).ok(),
                    "the executor makes only scale, load cap and rollout restart changes",
                )],
            },
        }
    }

    /// Reads the Deployment `workload` and checks that it is in scope: an allowed namespace,
    /// the exercise label set to `true`, and `load_generator` matching whether it carries
    /// [`LOAD_TARGET_LABEL`].
    async fn find(
        &self,
        workload: &str,
        load_generator: bool,
        intent: &OperationRecord,
        operations: &mut Vec<OperationRecord>,
    ) -> Found {
        let reject = |reason: String, operations: &mut Vec<OperationRecord>| {
            let mut record = intent.clone();
            record.response = format!("rejected: {reason}");
            operations.push(record);
            Found::Done(ExecutionStatus::NoTargets)
        };
        let Some((namespace, name)) = split_key(workload) else {
            return reject(
                format!("workload `{workload}` is not a namespace/name key"),
                operations,
            );
        };
        if !self
            .config
            .namespaces
            .iter()
            .any(|allowed| allowed == namespace)
        {
            return reject(
                format!(
                    "namespace {namespace} is not among the allowed namespaces {:?}",
                    self.config.namespaces
                ),
                operations,
            );
        }
        let call = Call::get(
            format!("read deployment {workload}"),
            format!("kubectl -n {namespace} get deployment {name} -o json"),
            format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"),
        );
        let body = match self.api.send(&call, operations).await {
            Outcome::Success { body, .. } => body,
            Outcome::Failure {
                status: Some(404), ..
            } => return Found::Done(ExecutionStatus::NoTargets),
            Outcome::Failure { .. } => return Found::Done(ExecutionStatus::Error),
        };
        let target = Target {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            body,
        };
        if target.label(EXERCISE_LABEL) != Some("true") {
            return reject(
                format!("deployment {workload} does not carry {EXERCISE_LABEL}=true"),
                operations,
            );
        }
        match (load_generator, target.label(LOAD_TARGET_LABEL).is_some()) {
            (true, false) => reject(
                format!(
                    "deployment {workload} is not a load generator (no {LOAD_TARGET_LABEL} label)"
                ),
                operations,
            ),
            (false, true) => reject(
                format!("deployment {workload} is a load generator; only its load cap may change"),
                operations,
            ),
            _ => Found::Target(target),
        }
    }

    /// Sets `spec.replicas` of an exercise Deployment through the scale subresource. The
    /// target must be within `[min_replicas, max_replicas]` and within the step limits of the
    /// replicas read from the cluster; otherwise the action is rejected, not clamped.
    pub async fn scale(&self, workload: &str, from: i32, to: i32) -> ExecutionRecord {
        let (namespace, name) = split_key(workload).unwrap_or(("", workload));
        let patch = json!({ "spec": { "replicas": to } });
        let call = Call {
            description: format!("scale deployment {workload} from {from} to {to} replicas"),
            kubectl: format!("kubectl -n {namespace} scale deployment/{name} --replicas={to}"),
            method: Method::PATCH,
            path: format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"),
            body: Some(patch),
            content_type: Some(MERGE_PATCH),
        };
        let mut operations = Vec::new();
        let intent = call.record();
        if to < self.config.min_replicas || to > self.config.max_replicas {
            let mut record = intent;
            record.response = format!(
                "rejected: {to} replicas is outside the bounds [{}, {}]",
                self.config.min_replicas, self.config.max_replicas
            );
            return ExecutionRecord {
                status: ExecutionStatus::NoTargets,
                operations: vec![record],
            };
        }
        let mut target = match self.find(workload, false, &intent, &mut operations).await {
            Found::Target(target) => target,
            Found::Done(status) => return ExecutionRecord { status, operations },
        };
        let mut conflict_retried = false;
        loop {
            let current = target.replicas();
            if let Err(reason) = self.check_step(current, to) {
                let mut record = intent.clone();
                record.response = format!("rejected: {reason}");
                operations.push(record);
                return ExecutionRecord {
                    status: ExecutionStatus::NoTargets,
                    operations,
                };
            }
            if current == to {
                return ExecutionRecord {
                    status: ExecutionStatus::Noop,
                    operations,
                };
            }
            if !self.config.execute {
                let mut record = intent.clone();
                record.response = "dry run: not sent".to_owned();
                operations.push(record);
                return ExecutionRecord {
                    status: ExecutionStatus::DryRun,
                    operations,
                };
            }
            match self.api.send(&call, &mut operations).await {
                Outcome::Success { .. } => break,
                Outcome::Failure {
                    status: Some(409), ..
                } if !conflict_retried => {
                    conflict_retried = true;
                    target = match self.find(workload, false, &intent, &mut operations).await {
                        Found::Target(target) => target,
                        Found::Done(status) => return ExecutionRecord { status, operations },
                    };
                }
                Outcome::Failure { .. } => {
                    return ExecutionRecord {
                        status: ExecutionStatus::Error,
                        operations,
                    };
                }
            }
        }
        let message = format!(
            "New size: {to}; reason: Arbiter scaled from {} to {to}",
            target.replicas()
        );
        self.emit_event(&target, "SuccessfulRescale", &message, &mut operations)
            .await;
        ExecutionRecord {
            status: ExecutionStatus::Executed,
            operations,
        }
    }

    fn check_step(&self, current: i32, to: i32) -> Result<(), String> {
        let delta = to - current;
        if delta > self.config.max_step_up {
            Err(format!(
                "scaling from {current} to {to} exceeds the step limit of +{}",
                self.config.max_step_up
            ))
        } else if -delta > self.config.max_step_down {
            Err(format!(
                "scaling from {current} to {to} exceeds the step limit of -{}",
                self.config.max_step_down
            ))
        } else {
            Ok(())
        }
    }

    /// Restarts the pods of an exercise Deployment as `kubectl rollout restart` does: a
    /// strategic merge patch of the `kubectl.kubernetes.io/restartedAt` template annotation.
    pub async fn restart(&self, workload: &str) -> ExecutionRecord {
        let (namespace, name) = split_key(workload).unwrap_or(("", workload));
        let stamp = self.now_text().unwrap_or_else(|| "unknown".to_owned());
        let patch = json!({ "spec": { "template": { "metadata": { "annotations": { RESTARTED_AT_ANNOTATION: stamp } } } } });
        let call = Call {
            description: format!("rollout restart deployment {workload}"),
            kubectl: format!("kubectl -n {namespace} rollout restart deployment/{name}"),
            method: Method::PATCH,
            path: format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"),
            body: Some(patch),
            content_type: Some(STRATEGIC_MERGE_PATCH),
        };
        self.patch_deployment(
            workload,
            false,
            call,
            "RolloutRestart",
            "Arbiter restarted the pods",
        )
        .await
    }

    /// Caps the load offered to `workload` (a `namespace/name` key) by finding its load
    /// generator, the one Deployment in the same namespace whose [`LOAD_TARGET_LABEL`] names
    /// it, and capping that generator as [`KubeExecutor::cap_load`] does. No generator, or
    /// more than one, is rejected: a cap in cores cannot be split between generators.
    pub async fn cap_workload_load(
        &self,
        workload: &str,
        cap_cores: Option<f64>,
    ) -> ExecutionRecord {
        let mut operations = Vec::new();
        let Some((namespace, name)) = split_key(workload) else {
            return ExecutionRecord {
                status: ExecutionStatus::NoTargets,
                operations: vec![rejected(
                    format!("cap the load of {workload}"),
                    String::new(),
                    "",
                    String::new(),
                    None,
                    &format!("workload `{workload}` is not a namespace/name key"),
                )],
            };
        };
        let selector = format!("{LOAD_TARGET_LABEL}={name}");
        let call = Call::get(
            format!("find the load generator of deployment {workload}"),
            format!("kubectl -n {namespace} get deployments -l {selector} -o json"),
            format!(
                "/apis/apps/v1/namespaces/{namespace}/deployments?labelSelector={}",
                encode_query_value(&selector)
            ),
        );
        let body = match self.api.send(&call, &mut operations).await {
            Outcome::Success { body, .. } => body,
            Outcome::Failure { .. } => {
                return ExecutionRecord {
                    status: ExecutionStatus::Error,
                    operations,
                };
            }
        };
        let generators: Vec<String> = body["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item["metadata"]["name"].as_str())
                    .map(|generator| format!("{namespace}/{generator}"))
                    .collect()
            })
            .unwrap_or_default();
        let [generator] = generators.as_slice() else {
            let reason = if generators.is_empty() {
                format!(
                    "no deployment in {namespace} carries {selector}, so deployment {workload} has no load generator to cap"
                )
            } else {
                format!(
                    "deployments {} all carry {selector}; a cap in cores cannot be split between them",
                    generators.join(", ")
                )
            };
            if let Some(last) = operations.last_mut() {
                last.response = format!("{}; rejected: {reason}", last.response);
            }
            return ExecutionRecord {
                status: ExecutionStatus::NoTargets,
                operations,
            };
        };
        let mut record = self.cap_load(generator, cap_cores).await;
        operations.append(&mut record.operations);
        record.operations = operations;
        record
    }

    /// Caps the demand of the load generator Deployment `generator` (a `namespace/name` key of
    /// a Deployment with [`LOAD_TARGET_LABEL`]) at `cap_cores`, or removes the cap with `None`.
    pub async fn cap_load(&self, generator: &str, cap_cores: Option<f64>) -> ExecutionRecord {
        let (namespace, name) = split_key(generator).unwrap_or(("", generator));
        let value = cap_cores.map_or(Value::Null, |cores| json!(cores.to_string()));
        let patch = json!({ "spec": { "template": { "metadata": { "annotations": { LOAD_CAP_ANNOTATION: value } } } } });
        let call = Call {
            description: match cap_cores {
                Some(cores) => format!("cap load generator {generator} at {cores} cores"),
                None => format!("remove the load cap of load generator {generator}"),
            },
            kubectl: format!(
                "kubectl -n {namespace} patch deployment/{name} --type=merge -p '{patch}'"
            ),
            method: Method::PATCH,
            path: format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"),
            body: Some(patch),
            content_type: Some(MERGE_PATCH),
        };
        if let Some(cores) = cap_cores
            && !(cores.is_finite() && cores >= 0.0)
        {
            let mut record = call.record();
            record.response =
                format!("rejected: cap {cores} is not a non-negative number of cores");
            return ExecutionRecord {
                status: ExecutionStatus::NoTargets,
                operations: vec![record],
            };
        }
        let message = call.description.clone();
        self.patch_deployment(generator, true, call, "LoadCapped", &message)
            .await
    }

    async fn patch_deployment(
        &self,
        workload: &str,
        load_generator: bool,
        call: Call,
        reason: &str,
        message: &str,
    ) -> ExecutionRecord {
        let mut operations = Vec::new();
        let intent = call.record();
        let mut target = match self
            .find(workload, load_generator, &intent, &mut operations)
            .await
        {
            Found::Target(target) => target,
            Found::Done(status) => return ExecutionRecord { status, operations },
        };
        if !self.config.execute {
            let mut record = intent;
            record.response = "dry run: not sent".to_owned();
            operations.push(record);
            return ExecutionRecord {
                status: ExecutionStatus::DryRun,
                operations,
            };
        }
        let mut conflict_retried = false;
        loop {
            match self.api.send(&call, &mut operations).await {
                Outcome::Success { .. } => break,
                Outcome::Failure {
                    status: Some(409), ..
                } if !conflict_retried => {
                    conflict_retried = true;
                    target = match self
                        .find(workload, load_generator, &intent, &mut operations)
                        .await
                    {
                        Found::Target(target) => target,
                        Found::Done(status) => return ExecutionRecord { status, operations },
                    };
                }
                Outcome::Failure { .. } => {
                    return ExecutionRecord {
                        status: ExecutionStatus::Error,
                        operations,
                    };
                }
            }
        }
        self.emit_event(&target, reason, message, &mut operations)
            .await;
        ExecutionRecord {
            status: ExecutionStatus::Executed,
            operations,
        }
    }

    /// Creates a Normal core/v1 Event on the Deployment. A failed Event is recorded but does
    /// not change the action's status, because the change itself succeeded.
    async fn emit_event(
        &self,
        target: &Target,
        reason: &str,
        message: &str,
        operations: &mut Vec<OperationRecord>,
    ) {
        let mut event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": { "generateName": format!("{}.", target.name), "namespace": target.namespace },
            "involvedObject": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": target.name,
                "namespace": target.namespace,
                "uid": target.body["metadata"]["uid"],
            },
            "reason": reason,
            "message": message,
            "type": "Normal",
            "count": 1,
            "source": { "component": EVENT_COMPONENT },
            "reportingComponent": EVENT_COMPONENT,
            "reportingInstance": EVENT_COMPONENT,
        });
        if let Some(now) = self.now_text() {
            event["firstTimestamp"] = json!(now);
            event["lastTimestamp"] = json!(now);
        }
        let call = Call {
            description: format!(
                "record event {reason} on deployment {}/{}",
                target.namespace, target.name
            ),
            kubectl: format!("kubectl -n {} create -f event.json", target.namespace),
            method: Method::POST,
            path: format!("/api/v1/namespaces/{}/events", target.namespace),
            body: Some(event),
            content_type: None,
        };
        self.api.send(&call, operations).await;
    }
}
