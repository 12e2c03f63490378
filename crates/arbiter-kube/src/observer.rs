//! The live observer: turns a cluster's API into the [`ClusterSnapshot`] the simulator
//! produces.
//!
//! In each allowed namespace it lists the Deployments with the exercise label, the namespace's
//! pods and the pods' metrics.k8s.io usage. Across the cluster it lists nodes and node metrics.
//! Deployments with [`LOAD_TARGET_LABEL`] are load generators, not workloads. A cluster
//! without metrics-server leaves pods without usage and says so in
//! [`ClusterSnapshot::missing`].

use std::collections::BTreeMap;

use arbiter_core::execution::OperationRecord;
use arbiter_core::snapshot::{
    ClusterSnapshot, EXERCISE_LABEL, LoadGeneratorObservation, NodeObservation, PodObservation,
    PodPhase, UsageSample, WorkloadObservation,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as K8sSelector, Time};
use kube::core::ObjectList;
use serde::Deserialize;

use crate::api::{ApiClient, Call, Outcome, encode_query};
use crate::quantity::{parse_milli, parse_units};
use crate::selector::{LabelSelector, Requirement};
use crate::time::{parse_go_duration, parse_rfc3339_nanos};
use crate::{KubeError, LATENCY_P95_ANNOTATION, LOAD_CAP_ANNOTATION, LOAD_TARGET_LABEL};

/// Scope and clock of the observer.
#[derive(Debug, Clone, PartialEq)]
pub struct ObserverConfig {
    /// Name written to [`ClusterSnapshot::cluster`].
    pub cluster: String,
    /// Namespaces to observe. Deployments elsewhere are never seen.
    pub namespaces: Vec<String>,
    /// Unix time that is second 0 of the snapshot clock. `None` takes the first observation's
    /// time, so a live run's clock starts near 0 as a simulated run's does.
    pub epoch_unix_s: Option<f64>,
}

/// One observation: the snapshot and the API calls that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Snapshot for the controller.
    pub snapshot: ClusterSnapshot,
    /// Every API call made, in order, one record per attempt.
    pub operations: Vec<OperationRecord>,
    /// Whether every Deployment and pod list succeeded. A controller should not act on an
    /// incomplete observation, because workloads may be missing from it.
    pub complete: bool,
}

/// Observes one cluster.
pub struct KubeObserver {
    api: ApiClient,
    config: ObserverConfig,
    last_time_s: f64,
}

/// metrics.k8s.io/v1beta1 PodMetrics.
#[derive(Debug, Deserialize)]
struct PodMetrics {
    metadata: MetricsMetadata,
    timestamp: String,
    window: String,
    containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Deserialize)]
struct MetricsMetadata {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ContainerMetrics {
    usage: BTreeMap<String, String>,
}

/// metrics.k8s.io/v1beta1 NodeMetrics.
#[derive(Debug, Deserialize)]
struct NodeMetrics {
    metadata: MetricsMetadata,
    usage: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct MetricsList<T> {
    items: Vec<T>,
}

fn nanos_of(time: &Time) -> i128 {
    time.0.as_nanosecond()
}

impl KubeObserver {
    /// Creates an observer.
    pub fn new(api: ApiClient, config: ObserverConfig) -> Self {
        Self {
            api,
            config,
            last_time_s: 0.0,
        }
    }

    /// Returns the observer's settings.
    pub fn config(&self) -> &ObserverConfig {
        &self.config
    }

    /// Observes the cluster once. Failed calls do not end the observation: they are in the
    /// operation records and [`ClusterSnapshot::missing`], and `complete` is false when a
    /// Deployment or pod list failed.
    pub async fn observe(&mut self) -> Observation {
        let mut operations = Vec::new();
        let mut missing = Vec::new();
        let mut complete = true;
        let mut date_unix = None;
        let mut workloads = Vec::new();
        let mut load_generators = Vec::new();
        let mut pods_by_node: BTreeMap<String, i64> = BTreeMap::new();

        for namespace in self.config.namespaces.clone() {
            let selector = format!("{EXERCISE_LABEL}=true");
            let call = Call::get(
                format!("list exercise deployments in namespace {namespace}"),
                format!("kubectl -n {namespace} get deployments -l {selector} -o json"),
                format!(
                    "/apis/apps/v1/namespaces/{namespace}/deployments?labelSelector={}",
                    encode_query(&selector)
                ),
            );
            let deployments: ObjectList<Deployment> =
                match self.fetch(&call, &mut operations, &mut date_unix).await {
                    Ok(list) => list,
                    Err(error) => {
                        missing.push(format!("deployments in {namespace}: {error}"));
                        complete = false;
                        continue;
                    }
                };
            if deployments.items.is_empty() {
                continue;
            }
            let call = Call::get(
                format!("list pods in namespace {namespace}"),
                format!("kubectl -n {namespace} get pods -o json"),
                format!("/api/v1/namespaces/{namespace}/pods"),
            );
            let pods: ObjectList<Pod> =
                match self.fetch(&call, &mut operations, &mut date_unix).await {
                    Ok(list) => list,
                    Err(error) => {
                        missing.push(format!("pods in {namespace}: {error}"));
                        complete = false;
                        continue;
                    }
                };
            let usage = self
                .pod_usage(&namespace, &mut operations, &mut date_unix, &mut missing)
                .await;

            for deployment in &deployments.items {
                let name = deployment.metadata.name.clone().unwrap_or_default();
                let labels: BTreeMap<String, String> =
                    deployment.metadata.labels.clone().unwrap_or_default();
                if labels.get(EXERCISE_LABEL).map(String::as_str) != Some("true") {
                    continue;
                }
                if let Some(target) = labels.get(LOAD_TARGET_LABEL) {
                    load_generators.push(load_generator(
                        &namespace,
                        target,
                        deployment,
                        &mut missing,
                    ));
                    continue;
                }
                let workload = self.workload(
                    &namespace,
                    &name,
                    deployment,
                    &pods.items,
                    &usage,
                    &mut missing,
                );
                for pod in &workload.pods {
                    if let Some(node) = &pod.node
                        && !pod.deleting
                    {
                        *pods_by_node.entry(node.clone()).or_default() +=
                            workload.cpu_request_milli;
                    }
                }
                workloads.push(workload);
            }
        }

        let nodes = self
            .nodes(&pods_by_node, &mut operations, &mut date_unix, &mut missing)
            .await;

        let time_s = match date_unix {
            Some(unix) => {
                let epoch = *self.config.epoch_unix_s.get_or_insert(unix);
                unix - epoch
            }
            None => {
                missing.push(
                    "cluster clock: no response carried a Date header; reusing the previous time"
                        .to_owned(),
                );
                self.last_time_s
            }
        };
        self.last_time_s = time_s;
        workloads.sort_by_key(WorkloadObservation::key);
        load_generators.sort_by(|a: &LoadGeneratorObservation, b| a.target.cmp(&b.target));
        Observation {
            snapshot: ClusterSnapshot {
                cluster: self.config.cluster.clone(),
                time_s,
                nodes,
                workloads,
                load_generators,
                missing,
            },
            operations,
            complete,
        }
    }

    /// Keeps the first `Date` of this observation, and fixes the epoch from it when unset.
    fn note_date(&mut self, date: Option<f64>, date_unix: &mut Option<f64>) {
        if date_unix.is_none() {
            *date_unix = date;
        }
        if self.config.epoch_unix_s.is_none() {
            self.config.epoch_unix_s = date;
        }
    }

    /// Converts Unix seconds to the snapshot clock. Before any `Date` has fixed the epoch,
    /// the clock is Unix time.
    fn clock(&self, unix_nanos: i128) -> f64 {
        let epoch_nanos = (self.config.epoch_unix_s.unwrap_or(0.0) * 1e9).round() as i128;
        (unix_nanos - epoch_nanos) as f64 / 1e9
    }

    async fn fetch<T: serde::de::DeserializeOwned>(
        &mut self,
        call: &Call,
        operations: &mut Vec<OperationRecord>,
        date_unix: &mut Option<f64>,
    ) -> Result<T, KubeError> {
        let outcome = self.api.send(call, operations).await;
        self.note_date(outcome.date_unix(), date_unix);
        let body = outcome.into_result(call)?;
        serde_json::from_value(body).map_err(|error| KubeError::InvalidResponse {
            path: call.path.clone(),
            message: error.to_string(),
        })
    }

    async fn pod_usage(
        &mut self,
        namespace: &str,
        operations: &mut Vec<OperationRecord>,
        date_unix: &mut Option<f64>,
        missing: &mut Vec<String>,
    ) -> BTreeMap<String, (i64, i64, i128, f64)> {
        let path = format!("/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods");
        let call = Call::get(
            format!("read pod metrics in namespace {namespace}"),
            format!("kubectl get --raw {path}"),
            path,
        );
        let outcome = self.api.send(&call, operations).await;
        self.note_date(outcome.date_unix(), date_unix);
        if let Outcome::Failure {
            status: Some(404), ..
        } = outcome
        {
            missing.push(
                "metrics.k8s.io: not served by this cluster (is metrics-server installed?)"
                    .to_owned(),
            );
            return BTreeMap::new();
        }
        let list: MetricsList<PodMetrics> = match outcome.into_result(&call).and_then(|body| {
            serde_json::from_value(body).map_err(|error| KubeError::InvalidResponse {
                path: call.path.clone(),
                message: error.to_string(),
            })
        }) {
            Ok(list) => list,
            Err(error) => {
                missing.push(format!("metrics.k8s.io pods in {namespace}: {error}"));
                return BTreeMap::new();
            }
        };
        let mut usage = BTreeMap::new();
        for item in list.items {
            if item
                .metadata
                .namespace
                .as_deref()
                .is_some_and(|ns| ns != namespace)
            {
                continue;
            }
            let field = format!("PodMetrics {namespace}/{}", item.metadata.name);
            let parsed = (|| -> Result<(i64, i64, i128, f64), KubeError> {
                let mut cpu = 0;
                let mut memory = 0;
                for container in &item.containers {
                    if let Some(text) = container.usage.get("cpu") {
                        cpu += parse_milli(text, &format!("{field} cpu"))?;
                    }
                    if let Some(text) = container.usage.get("memory") {
                        memory += parse_units(text, &format!("{field} memory"))?;
                    }
                }
                let timestamp =
                    parse_rfc3339_nanos(&item.timestamp, &format!("{field} timestamp"))?;
                let window = parse_go_duration(&item.window, &format!("{field} window"))?;
                Ok((cpu, memory, timestamp, window))
            })();
            match parsed {
                Ok(sample) => {
                    usage.insert(item.metadata.name.clone(), sample);
                }
                Err(error) => missing.push(format!("metrics.k8s.io: {error}")),
            }
        }
        usage
    }

    fn workload(
        &self,
        namespace: &str,
        name: &str,
        deployment: &Deployment,
        pods: &[Pod],
        usage: &BTreeMap<String, (i64, i64, i128, f64)>,
        missing: &mut Vec<String>,
    ) -> WorkloadObservation {
        let spec = deployment.spec.clone().unwrap_or_default();
        let containers: Vec<Container> = spec
            .template
            .spec
            .clone()
            .map(|s| s.containers)
            .unwrap_or_default();
        let key = format!("{namespace}/{name}");
        let resource = |kind: &str, limits: bool, missing: &mut Vec<String>| -> i64 {
            let mut total = 0;
            for container in &containers {
                let resources = container.resources.clone().unwrap_or_default();
                let map = if limits {
                    resources.limits
                } else {
                    resources.requests
                };
                if let Some(quantity) = map.as_ref().and_then(|m| m.get(kind)) {
                    let field = format!(
                        "deployment {key} container {} {} {kind}",
                        container.name,
                        if limits { "limits" } else { "requests" }
                    );
                    let parsed = if kind == "cpu" {
                        parse_milli(&quantity.0, &field)
                    } else {
                        parse_units(&quantity.0, &field)
                    };
                    match parsed {
                        Ok(value) => total += value,
                        Err(error) => missing.push(error.to_string()),
                    }
                }
            }
            total
        };
        let cpu_request_milli = resource("cpu", false, missing);
        let memory_request_bytes = resource("memory", false, missing);
        let mut cpu_limit_milli = resource("cpu", true, missing);
        let memory_limit_bytes = resource("memory", true, missing);
        if cpu_limit_milli == 0 && cpu_request_milli > 0 {
            missing.push(format!(
                "deployment {key}: no CPU limit; the CPU request stands in for it"
            ));
            cpu_limit_milli = cpu_request_milli;
        }

        let selector = selector_of(Some(&spec.selector));
        let mut observed: Vec<PodObservation> = pods
            .iter()
            .filter(|pod| {
                selector
                    .as_ref()
                    .is_some_and(|s| s.matches(&pod.metadata.labels.clone().unwrap_or_default()))
            })
            .map(|pod| self.pod(pod, usage, missing))
            .collect();
        if selector.is_none() {
            missing.push(format!(
                "deployment {key}: spec.selector is empty or invalid, so no pods are matched"
            ));
        }
        observed.sort_by(|a, b| a.name.cmp(&b.name));
        let latency_p95_ms = deployment
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(LATENCY_P95_ANNOTATION))
            .and_then(|text| text.parse::<f64>().ok())
            .filter(|value| value.is_finite());
        WorkloadObservation {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            labels: deployment.metadata.labels.clone().unwrap_or_default(),
            spec_replicas: spec.replicas.unwrap_or(1),
            ready_replicas: observed
                .iter()
                .filter(|pod| pod.ready && !pod.deleting)
                .count() as i32,
            cpu_request_milli,
            cpu_limit_milli,
            memory_request_bytes,
            memory_limit_bytes,
            latency_p95_ms,
            pods: observed,
        }
    }

    fn pod(
        &self,
        pod: &Pod,
        usage: &BTreeMap<String, (i64, i64, i128, f64)>,
        missing: &mut Vec<String>,
    ) -> PodObservation {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let status = pod.status.clone().unwrap_or_default();
        let phase = match status.phase.as_deref() {
            Some("Running") => PodPhase::Running,
            Some("Succeeded") => PodPhase::Succeeded,
            Some("Failed") => PodPhase::Failed,
            _ => PodPhase::Pending,
        };
        let ready_condition = status
            .conditions
            .as_ref()
            .and_then(|conditions| conditions.iter().find(|c| c.type_ == "Ready"));
        let sample = usage
            .get(&name)
            .map(|(cpu, memory, timestamp, window)| UsageSample {
                cpu_milli: *cpu,
                memory_bytes: *memory,
                timestamp_s: self.clock(*timestamp),
                window_s: *window,
            });
        if phase == PodPhase::Running && sample.is_none() {
            missing.push(format!("metrics.k8s.io: no sample yet for pod {name}"));
        }
        PodObservation {
            name,
            phase,
            ready: ready_condition.is_some_and(|c| c.status == "True"),
            node: pod.spec.as_ref().and_then(|spec| spec.node_name.clone()),
            start_s: status.start_time.as_ref().map(|t| self.clock(nanos_of(t))),
            ready_transition_s: ready_condition
                .and_then(|c| c.last_transition_time.as_ref())
                .map(|t| self.clock(nanos_of(t))),
            deleting: pod.metadata.deletion_timestamp.is_some(),
            restarts: status.container_statuses.as_ref().map_or(0, |statuses| {
                statuses.iter().map(|s| s.restart_count.max(0) as u32).sum()
            }),
            usage: sample,
        }
    }

    async fn nodes(
        &mut self,
        requested: &BTreeMap<String, i64>,
        operations: &mut Vec<OperationRecord>,
        date_unix: &mut Option<f64>,
        missing: &mut Vec<String>,
    ) -> Vec<NodeObservation> {
        let call = Call::get("list nodes", "kubectl get nodes -o json", "/api/v1/nodes");
        let nodes: ObjectList<Node> = match self.fetch(&call, operations, date_unix).await {
            Ok(list) => list,
            Err(error) => {
                missing.push(format!("nodes: {error}"));
                return Vec::new();
            }
        };
        let path = "/apis/metrics.k8s.io/v1beta1/nodes";
        let call = Call::get(
            "read node metrics",
            format!("kubectl get --raw {path}"),
            path,
        );
        let usage: BTreeMap<String, i64> = match self
            .fetch::<MetricsList<NodeMetrics>>(&call, operations, date_unix)
            .await
        {
            Ok(list) => list
                .items
                .into_iter()
                .filter_map(|item| {
                    let text = item.usage.get("cpu")?;
                    match parse_milli(text, &format!("NodeMetrics {} cpu", item.metadata.name)) {
                        Ok(milli) => Some((item.metadata.name, milli)),
                        Err(error) => {
                            missing.push(format!("metrics.k8s.io: {error}"));
                            None
                        }
                    }
                })
                .collect(),
            Err(KubeError::Api {
                status: Some(404), ..
            }) => {
                missing.push("metrics.k8s.io: node metrics not served by this cluster".to_owned());
                BTreeMap::new()
            }
            Err(error) => {
                missing.push(format!("metrics.k8s.io nodes: {error}"));
                BTreeMap::new()
            }
        };
        let mut observed: Vec<NodeObservation> = nodes
            .items
            .iter()
            .map(|node| {
                let name = node.metadata.name.clone().unwrap_or_default();
                let status = node.status.clone().unwrap_or_default();
                let allocatable = status.allocatable.unwrap_or_default();
                let quantity = |key: &str, milli: bool, missing: &mut Vec<String>| {
                    allocatable.get(key).map_or(0, |q| {
                        let field = format!("node {name} allocatable {key}");
                        let parsed = if milli {
                            parse_milli(&q.0, &field)
                        } else {
                            parse_units(&q.0, &field)
                        };
                        parsed.unwrap_or_else(|error| {
                            missing.push(error.to_string());
                            0
                        })
                    })
                };
                NodeObservation {
                    ready: status.conditions.as_ref().is_some_and(|c| {
                        c.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                    }),
                    cpu_allocatable_milli: quantity("cpu", true, missing),
                    memory_allocatable_bytes: quantity("memory", false, missing),
                    // NOTE: only pods in the observed namespaces count, because Arbiter's role
                    // may not list pods cluster-wide.
                    cpu_requested_milli: requested.get(&name).copied().unwrap_or(0),
                    cpu_usage_milli: usage.get(&name).copied(),
                    name,
                }
            })
            .collect();
        observed.sort_by(|a, b| a.name.cmp(&b.name));
        observed
    }
}

fn load_generator(
    namespace: &str,
    target: &str,
    deployment: &Deployment,
    missing: &mut Vec<String>,
) -> LoadGeneratorObservation {
    let annotation = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.metadata.as_ref())
        .and_then(|metadata| metadata.annotations.as_ref())
        .and_then(|annotations| annotations.get(LOAD_CAP_ANNOTATION));
    let cap_cores = annotation.and_then(|text| match text.parse::<f64>() {
        Ok(cores) if cores.is_finite() && cores >= 0.0 => Some(cores),
        _ => {
            missing.push(format!(
                "load generator {namespace}/{}: annotation {LOAD_CAP_ANNOTATION}=`{text}` is not a non-negative number",
                deployment.metadata.name.as_deref().unwrap_or_default()
            ));
            None
        }
    });
    LoadGeneratorObservation {
        target: format!("{namespace}/{target}"),
        cap_cores,
    }
}

/// Converts a Deployment's `spec.selector` into a label selector; `None` when it is empty,
/// because an empty Deployment selector is invalid in apps/v1.
fn selector_of(selector: Option<&K8sSelector>) -> Option<LabelSelector> {
    let selector = selector?;
    let mut requirements: Vec<Requirement> = selector
        .match_labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| Requirement::Equals(key, value))
        .collect();
    for expression in selector.match_expressions.clone().unwrap_or_default() {
        let values = expression.values.unwrap_or_default().into_iter().collect();
        requirements.push(match expression.operator.as_str() {
            "In" => Requirement::In(expression.key, values),
            "NotIn" => Requirement::NotIn(expression.key, values),
            "Exists" => Requirement::Exists(expression.key),
            "DoesNotExist" => Requirement::DoesNotExist(expression.key),
            _ => return None,
        });
    }
    (!requirements.is_empty()).then_some(LabelSelector { requirements })
}
