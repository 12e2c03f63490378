//! Rendering of the served simulator's state as Kubernetes JSON objects and kubectl tables.

use std::collections::BTreeMap;

use arbiter_core::snapshot::{PodObservation, PodPhase, WorkloadObservation};
use serde_json::{Value, json};

use super::state::{Backing, SimState};
use crate::quantity::{format_bytes, format_cpu_milli};
use crate::time::{
    SIM_EPOCH_UNIX_S, format_age, format_go_duration, format_rfc3339, format_sim_rfc3339,
};
use crate::{LATENCY_P95_ANNOTATION, SIM_SERVER_VERSION};

/// Container name of every simulated pod.
const CONTAINER: &str = "app";

/// Image name shown for simulated pods.
const IMAGE: &str = "arbiter.dev/simulated-workload:latest";

fn epoch_rfc3339() -> String {
    format_rfc3339(SIM_EPOCH_UNIX_S as f64)
}

fn unix(state_s: f64) -> f64 {
    SIM_EPOCH_UNIX_S as f64 + state_s
}

/// Returns the simulated workload behind a served Deployment, if it has one.
pub(crate) fn workload_of(state: &SimState, index: usize) -> Option<WorkloadObservation> {
    let deployment = &state.deployments[index];
    let Backing::Simulated { cluster } = deployment.backing else {
        return None;
    };
    let key = deployment.key();
    state
        .snapshot(cluster)
        .workloads
        .into_iter()
        .find(|workload| workload.key() == key)
}

fn resources(workload: Option<&WorkloadObservation>, state: &SimState) -> Value {
    let config = &state.clusters[0].cluster.config().workload;
    let (cpu_request, cpu_limit, memory_request, memory_limit) = match workload {
        Some(w) => (
            w.cpu_request_milli,
            w.cpu_limit_milli,
            w.memory_request_bytes,
            w.memory_limit_bytes,
        ),
        None => (
            config.cpu_request_milli,
            config.cpu_limit_milli,
            config.memory_request_bytes,
            config.memory_limit_bytes,
        ),
    };
    json!({
        "requests": { "cpu": format_cpu_milli(cpu_request), "memory": format_bytes(memory_request) },
        "limits": { "cpu": format_cpu_milli(cpu_limit), "memory": format_bytes(memory_limit) },
    })
}

/// Renders the apps/v1 Deployment at `index`.
pub(crate) fn deployment(state: &SimState, index: usize) -> Value {
    let deployment = &state.deployments[index];
    let workload = workload_of(state, index);
    let replicas = state.spec_replicas(index).unwrap_or(0);
    let app = deployment
        .labels
        .get("app")
        .cloned()
        .unwrap_or_else(|| deployment.name.clone());
    let mut annotations = deployment.annotations.clone();
    annotations.insert(
        "deployment.kubernetes.io/revision".to_owned(),
        "1".to_owned(),
    );
    if let Some(p95) = workload.as_ref().and_then(|w| w.latency_p95_ms) {
        annotations.insert(LATENCY_P95_ANNOTATION.to_owned(), p95.to_string());
    }
    let (status_replicas, ready) = match &workload {
        Some(w) => (w.pods.len() as i32, w.ready_replicas),
        None => (replicas, replicas),
    };
    let mut status = json!({
        "observedGeneration": deployment.generation,
        "replicas": status_replicas,
        "updatedReplicas": status_replicas,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [{
            "type": "Available",
            "status": if ready > 0 || replicas == 0 { "True" } else { "False" },
            "reason": if ready > 0 || replicas == 0 { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
            "message": if ready > 0 || replicas == 0 {
                "Deployment has minimum availability."
            } else {
                "Deployment does not have minimum availability."
            },
            "lastUpdateTime": epoch_rfc3339(),
            "lastTransitionTime": epoch_rfc3339(),
        }],
    });
    if status_replicas > ready {
        status["unavailableReplicas"] = json!(status_replicas - ready);
    }
    let mut template_metadata = json!({ "labels": { "app": app } });
    if !deployment.template_annotations.is_empty() {
        template_metadata["annotations"] = json!(deployment.template_annotations);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": deployment.name,
            "namespace": deployment.namespace,
            "uid": deployment.uid,
            "resourceVersion": deployment.resource_version.to_string(),
            "generation": deployment.generation,
            "creationTimestamp": epoch_rfc3339(),
            "labels": deployment.labels,
            "annotations": annotations,
        },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": app } },
            "template": {
                "metadata": template_metadata,
                "spec": {
                    "containers": [{
                        "name": CONTAINER,
                        "image": IMAGE,
                        "resources": resources(workload.as_ref(), state),
                    }],
                },
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": { "maxSurge": "25%", "maxUnavailable": "25%" },
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": status,
    })
}

/// Renders the autoscaling/v1 Scale of the Deployment at `index`.
pub(crate) fn scale(state: &SimState, index: usize) -> Value {
    let deployment = &state.deployments[index];
    let status_replicas = workload_of(state, index).map_or_else(
        || state.spec_replicas(index).unwrap_or(0),
        |w| w.pods.len() as i32,
    );
    let app = deployment
        .labels
        .get("app")
        .cloned()
        .unwrap_or_else(|| deployment.name.clone());
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": deployment.name,
            "namespace": deployment.namespace,
            "uid": deployment.uid,
            "resourceVersion": deployment.resource_version.to_string(),
            "creationTimestamp": epoch_rfc3339(),
        },
        "spec": { "replicas": state.spec_replicas(index).unwrap_or(0) },
        "status": { "replicas": status_replicas, "selector": format!("app={app}") },
    })
}

/// Renders one ReplicaSet per simulated Deployment, named `NAME-sim`.
pub(crate) fn replica_sets(state: &SimState) -> Vec<Value> {
    (0..state.deployments.len())
        .map(|index| {
            let deployment = &state.deployments[index];
            let replicas = state.spec_replicas(index).unwrap_or(0);
            let workload = workload_of(state, index);
            let (current, ready) = workload
                .as_ref()
                .map_or((replicas, replicas), |w| (w.pods.len() as i32, w.ready_replicas));
            let app = deployment.labels.get("app").cloned().unwrap_or_else(|| deployment.name.clone());
            json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": format!("{}-sim", deployment.name),
                    "namespace": deployment.namespace,
                    "uid": format!("{}-rs", deployment.uid),
                    "resourceVersion": deployment.resource_version.to_string(),
                    "creationTimestamp": epoch_rfc3339(),
                    "labels": { "app": app, "pod-template-hash": "sim" },
                    "annotations": { "deployment.kubernetes.io/revision": "1" },
                    "ownerReferences": [{
                        "apiVersion": "apps/v1", "kind": "Deployment", "name": deployment.name,
                        "uid": deployment.uid, "controller": true, "blockOwnerDeletion": true,
                    }],
                },
                "spec": {
                    "replicas": replicas,
                    "selector": { "matchLabels": { "app": app, "pod-template-hash": "sim" } },
                    "template": {
                        "metadata": { "labels": { "app": app, "pod-template-hash": "sim" } },
                        "spec": { "containers": [{ "name": CONTAINER, "image": IMAGE, "resources": resources(workload.as_ref(), state) }] },
                    },
                },
                "status": {
                    "replicas": current, "readyReplicas": ready, "availableReplicas": ready,
                    "fullyLabeledReplicas": current, "observedGeneration": 1,
                },
            })
        })
        .collect()
}

fn pod(
    state: &SimState,
    workload: &WorkloadObservation,
    pod: &PodObservation,
    ordinal: usize,
) -> Value {
    let app = workload.name.clone();
    let now = unix(state.now_s());
    let created = pod.start_s.map_or(now, unix);
    let phase = match pod.phase {
        PodPhase::Pending => "Pending",
        PodPhase::Running => "Running",
        PodPhase::Succeeded => "Succeeded",
        PodPhase::Failed => "Failed",
    };
    let mut ready_condition =
        json!({ "type": "Ready", "status": if pod.ready { "True" } else { "False" } });
    if let Some(transition) = pod.ready_transition_s {
        ready_condition["lastTransitionTime"] = json!(format_sim_rfc3339(transition));
    }
    let state_json = match (pod.phase, pod.start_s) {
        (PodPhase::Running, Some(start)) => {
            json!({ "running": { "startedAt": format_sim_rfc3339(start) } })
        }
        _ => json!({ "waiting": { "reason": "ContainerCreating" } }),
    };
    let mut status = json!({
        "phase": phase,
        "conditions": [
            { "type": "PodScheduled", "status": if pod.node.is_some() { "True" } else { "False" } },
            ready_condition,
        ],
        "containerStatuses": [{
            "name": CONTAINER,
            "image": IMAGE,
            "imageID": "",
            "ready": pod.ready,
            "started": pod.phase == PodPhase::Running,
            "restartCount": pod.restarts,
            "state": state_json,
        }],
        "qosClass": "Burstable",
    });
    if let Some(start) = pod.start_s {
        status["startTime"] = json!(format_sim_rfc3339(start));
        status["podIP"] = json!(format!(
            "10.{}.{}.{}",
            1 + ordinal / 65_536 % 200,
            ordinal / 256 % 256,
            ordinal % 256
        ));
    }
    let mut spec = json!({
        "containers": [{ "name": CONTAINER, "image": IMAGE, "resources": {
            "requests": { "cpu": format_cpu_milli(workload.cpu_request_milli), "memory": format_bytes(workload.memory_request_bytes) },
            "limits": { "cpu": format_cpu_milli(workload.cpu_limit_milli), "memory": format_bytes(workload.memory_limit_bytes) },
        }}],
        "restartPolicy": "Always",
    });
    if let Some(node) = &pod.node {
        spec["nodeName"] = json!(node);
    }
    let mut metadata = json!({
        "name": pod.name,
        "namespace": workload.namespace,
        "uid": format!("pod-{}-{}", workload.namespace, pod.name),
        "resourceVersion": state.resource_version.to_string(),
        "creationTimestamp": format_rfc3339(created),
        "labels": { "app": app, "pod-template-hash": "sim" },
        "ownerReferences": [{
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{}-sim", workload.name),
            "uid": "", "controller": true, "blockOwnerDeletion": true,
        }],
    });
    if pod.deleting {
        metadata["deletionTimestamp"] = json!(format_rfc3339(now));
    }
    json!({ "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status })
}

/// Renders every simulated pod, each cluster's in workload order.
pub(crate) fn pods(state: &SimState) -> Vec<Value> {
    let mut rendered = Vec::new();
    let mut ordinal = 0;
    for index in 0..state.clusters.len() {
        for workload in state.snapshot(index).workloads {
            for one in &workload.pods {
                rendered.push(pod(state, &workload, one, ordinal));
                ordinal += 1;
            }
        }
    }
    rendered
}

/// Renders the primary cluster's nodes.
pub(crate) fn nodes(state: &SimState) -> Vec<Value> {
    let config = &state.clusters[0].cluster.config().nodes;
    state
        .snapshot(0)
        .nodes
        .iter()
        .map(|node| {
            let capacity = json!({
                "cpu": format_cpu_milli(node.cpu_allocatable_milli),
                "memory": format_bytes(node.memory_allocatable_bytes),
                "pods": "110",
            });
            json!({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": node.name,
                    "uid": format!("node-{}", node.name),
                    "resourceVersion": state.resource_version.to_string(),
                    "creationTimestamp": epoch_rfc3339(),
                    "labels": {
                        "kubernetes.io/hostname": node.name,
                        "kubernetes.io/os": "linux",
                        "arbiter.dev/simulated": "true",
                    },
                    "annotations": {
                        "arbiter.dev/background-cpu": format_cpu_milli(config.background_cpu_milli),
                    },
                },
                "spec": {},
                "status": {
                    "capacity": capacity,
                    "allocatable": capacity,
                    "conditions": [{
                        "type": "Ready",
                        "status": if node.ready { "True" } else { "False" },
                        "reason": "KubeletReady",
                        "message": "simulated kubelet is posting ready status",
                        "lastHeartbeatTime": format_sim_rfc3339(state.now_s()),
                        "lastTransitionTime": epoch_rfc3339(),
                    }],
                    "nodeInfo": {
                        "kubeletVersion": SIM_SERVER_VERSION,
                        "kubeProxyVersion": SIM_SERVER_VERSION,
                        "containerRuntimeVersion": "simulated://1",
                        "operatingSystem": "linux",
                        "architecture": "amd64",
                        "osImage": "Arbiter simulator",
                        "kernelVersion": "simulated",
                        "machineID": "", "systemUUID": "", "bootID": "",
                    },
                },
            })
        })
        .collect()
}

/// Renders a Namespace.
pub(crate) fn namespace(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": format!("namespace-{name}"),
            "resourceVersion": "1",
            "creationTimestamp": epoch_rfc3339(),
            "labels": { "kubernetes.io/metadata.name": name },
        },
        "spec": { "finalizers": ["kubernetes"] },
        "status": { "phase": "Active" },
    })
}

/// Renders the autoscaling/v2 HorizontalPodAutoscaler at `index`.
pub(crate) fn hpa(state: &SimState, index: usize) -> Value {
    let hpa = &state.hpas[index];
    let mut status = json!({
        "currentReplicas": hpa.current_replicas,
        "desiredReplicas": hpa.desired_replicas,
        "conditions": [
            { "type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
              "message": "recommended size matches current size", "lastTransitionTime": epoch_rfc3339() },
            { "type": "ScalingActive", "status": if hpa.utilization_percent.is_some() { "True" } else { "False" },
              "reason": if hpa.utilization_percent.is_some() { "ValidMetricFound" } else { "FailedGetResourceMetric" },
              "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)",
              "lastTransitionTime": epoch_rfc3339() },
        ],
    });
    if let (Some(utilization), Some(average)) = (hpa.utilization_percent, hpa.average_cpu_milli) {
        status["currentMetrics"] = json!([{
            "type": "Resource",
            "resource": { "name": "cpu", "current": { "averageUtilization": utilization, "averageValue": format_cpu_milli(average) } },
        }]);
    }
    if let Some(last) = hpa.last_scale_s {
        status["lastScaleTime"] = json!(format_sim_rfc3339(last));
    }
    json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": hpa.name,
            "namespace": hpa.namespace,
            "uid": hpa.uid,
            "resourceVersion": hpa.resource_version.to_string(),
            "creationTimestamp": format_sim_rfc3339(hpa.creation_s),
        },
        "spec": {
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": hpa.target },
            "minReplicas": hpa.min_replicas,
            "maxReplicas": hpa.max_replicas,
            "metrics": [{
                "type": "Resource",
                "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": hpa.target_cpu_percent } },
            }],
        },
        "status": status,
    })
}

/// Renders metrics.k8s.io PodMetrics for every pod that has a usage sample.
pub(crate) fn pod_metrics(state: &SimState) -> Vec<Value> {
    let mut rendered = Vec::new();
    for index in 0..state.clusters.len() {
        for workload in state.snapshot(index).workloads {
            for pod in &workload.pods {
                let Some(usage) = pod.usage else { continue };
                rendered.push(json!({
                    "apiVersion": "metrics.k8s.io/v1beta1",
                    "kind": "PodMetrics",
                    "metadata": {
                        "name": pod.name,
                        "namespace": workload.namespace,
                        "creationTimestamp": format_sim_rfc3339(state.now_s()),
                        "labels": { "app": workload.name, "pod-template-hash": "sim" },
                    },
                    "timestamp": format_sim_rfc3339(usage.timestamp_s),
                    "window": format_go_duration(usage.window_s),
                    "containers": [{
                        "name": CONTAINER,
                        "usage": { "cpu": format_cpu_milli(usage.cpu_milli), "memory": usage.memory_bytes.to_string() },
                    }],
                }));
            }
        }
    }
    rendered
}

/// Renders metrics.k8s.io NodeMetrics for the primary cluster's nodes: the sum of the latest
/// samples of the pods bound to each node. Nodes without sampled pods are left out, as
/// metrics-server leaves out nodes it has no data for.
pub(crate) fn node_metrics(state: &SimState) -> Vec<Value> {
    let snapshot = state.snapshot(0);
    let mut sums: BTreeMap<String, (i64, i64, f64, f64)> = BTreeMap::new();
    for workload in &snapshot.workloads {
        for pod in &workload.pods {
            if let (Some(node), Some(usage)) = (&pod.node, pod.usage) {
                let entry = sums
                    .entry(node.clone())
                    .or_insert((0, 0, 0.0, usage.window_s));
                entry.0 += usage.cpu_milli;
                entry.1 += usage.memory_bytes;
                entry.2 = entry.2.max(usage.timestamp_s);
            }
        }
    }
    sums.into_iter()
        .map(|(node, (cpu, memory, timestamp, window))| {
            json!({
                "apiVersion": "metrics.k8s.io/v1beta1",
                "kind": "NodeMetrics",
                "metadata": {
                    "name": node,
                    "creationTimestamp": format_sim_rfc3339(state.now_s()),
                    "labels": { "kubernetes.io/hostname": node },
                },
                "timestamp": format_sim_rfc3339(timestamp),
                "window": format_go_duration(window),
                "usage": { "cpu": format_cpu_milli(cpu), "memory": memory.to_string() },
            })
        })
        .collect()
}

/// Columns of the kubectl table for a resource: (name, type, priority, cell function).
type Cell = fn(&Value, f64) -> Value;

fn age_of(object: &Value, now_unix: f64) -> Value {
    let created = object["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|text| crate::time::parse_rfc3339(text, "creationTimestamp").ok())
        .unwrap_or(now_unix);
    json!(format_age(now_unix - created))
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn columns(resource: &str) -> Vec<(&'static str, &'static str, i32, Cell)> {
    let name: Cell = |o, _| o["metadata"]["name"].clone();
    let age: Cell = age_of;
    match resource {
        "deployments" => vec![
            ("Name", "string", 0, name),
            ("Ready", "string", 0, |o, _| {
                json!(format!(
                    "{}/{}",
                    o["status"]["readyReplicas"].as_i64().unwrap_or(0),
                    o["spec"]["replicas"].as_i64().unwrap_or(0)
                ))
            }),
            ("Up-to-date", "integer", 0, |o, _| {
                o["status"]["updatedReplicas"].clone()
            }),
            ("Available", "integer", 0, |o, _| {
                o["status"]["availableReplicas"].clone()
            }),
            ("Age", "string", 0, age),
            ("Containers", "string", 1, |o, _| {
                o["spec"]["template"]["spec"]["containers"][0]["name"].clone()
            }),
            ("Images", "string", 1, |o, _| {
                o["spec"]["template"]["spec"]["containers"][0]["image"].clone()
            }),
            ("Selector", "string", 1, |o, _| {
                let labels = o["spec"]["selector"]["matchLabels"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                json!(
                    labels
                        .iter()
                        .map(|(k, v)| format!("{k}={}", text(v)))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }),
        ],
        "pods" => vec![
            ("Name", "string", 0, name),
            ("Ready", "string", 0, |o, _| {
                json!(
                    if o["status"]["containerStatuses"][0]["ready"].as_bool() == Some(true) {
                        "1/1"
                    } else {
                        "0/1"
                    }
                )
            }),
            ("Status", "string", 0, |o, _| {
                if o["status"]["phase"] == "Pending" && o["spec"]["nodeName"].is_string() {
                    json!("ContainerCreating")
                } else {
                    o["status"]["phase"].clone()
                }
            }),
            ("Restarts", "string", 0, |o, _| {
                json!(text(&o["status"]["containerStatuses"][0]["restartCount"]))
            }),
            ("Age", "string", 0, age),
            ("IP", "string", 1, |o, _| {
                json!(o["status"]["podIP"].as_str().unwrap_or("<none>"))
            }),
            ("Node", "string", 1, |o, _| {
                json!(o["spec"]["nodeName"].as_str().unwrap_or("<none>"))
            }),
        ],
        "nodes" => vec![
            ("Name", "string", 0, name),
            ("Status", "string", 0, |o, _| {
                json!(if o["status"]["conditions"][0]["status"] == "True" {
                    "Ready"
                } else {
                    "NotReady"
                })
            }),
            ("Roles", "string", 0, |_, _| json!("<none>")),
            ("Age", "string", 0, age),
            ("Version", "string", 0, |o, _| {
                o["status"]["nodeInfo"]["kubeletVersion"].clone()
            }),
        ],
        "namespaces" => vec![
            ("Name", "string", 0, name),
            ("Status", "string", 0, |o, _| o["status"]["phase"].clone()),
            ("Age", "string", 0, age),
        ],
        "horizontalpodautoscalers" => vec![
            ("Name", "string", 0, name),
            ("Reference", "string", 0, |o, _| {
                json!(format!(
                    "{}/{}",
                    text(&o["spec"]["scaleTargetRef"]["kind"]),
                    text(&o["spec"]["scaleTargetRef"]["name"])
                ))
            }),
            ("Targets", "string", 0, |o, _| {
                let target =
                    text(&o["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"]);
                let current =
                    o["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"]
                        .as_i64()
                        .map_or_else(|| "<unknown>".to_owned(), |value| format!("{value}%"));
                json!(format!("cpu: {current}/{target}%"))
            }),
            ("MinPods", "string", 0, |o, _| {
                json!(text(&o["spec"]["minReplicas"]))
            }),
            ("MaxPods", "string", 0, |o, _| {
                json!(text(&o["spec"]["maxReplicas"]))
            }),
            ("Replicas", "string", 0, |o, _| {
                json!(text(&o["status"]["currentReplicas"]))
            }),
            ("Age", "string", 0, age),
        ],
        "replicasets" => vec![
            ("Name", "string", 0, name),
            ("Desired", "integer", 0, |o, _| {
                o["spec"]["replicas"].clone()
            }),
            ("Current", "integer", 0, |o, _| {
                o["status"]["replicas"].clone()
            }),
            ("Ready", "integer", 0, |o, _| {
                o["status"]["readyReplicas"].clone()
            }),
            ("Age", "string", 0, age),
        ],
        "events" => vec![
            ("Last Seen", "string", 0, |o, now| {
                let last = o["lastTimestamp"]
                    .as_str()
                    .and_then(|t| crate::time::parse_rfc3339(t, "lastTimestamp").ok())
                    .unwrap_or(now);
                json!(format_age(now - last))
            }),
            ("Type", "string", 0, |o, _| o["type"].clone()),
            ("Reason", "string", 0, |o, _| o["reason"].clone()),
            ("Object", "string", 0, |o, _| {
                json!(format!(
                    "{}/{}",
                    text(&o["involvedObject"]["kind"]).to_ascii_lowercase(),
                    text(&o["involvedObject"]["name"])
                ))
            }),
            ("Message", "string", 0, |o, _| o["message"].clone()),
        ],
        _ => vec![("Name", "string", 0, name), ("Age", "string", 0, age)],
    }
}

/// Renders objects as a meta.k8s.io/v1 Table, the format the API server returns for kubectl's `get`.
pub(crate) fn table(
    resource: &str,
    objects: &[Value],
    now_unix: f64,
    resource_version: u64,
) -> Value {
    let columns = columns(resource);
    let definitions: Vec<Value> = columns
        .iter()
        .map(|(name, kind, priority, _)| {
            json!({ "name": name, "type": kind, "format": if *name == "Name" { "name" } else { "" }, "description": "", "priority": priority })
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let cells: Vec<Value> = columns
                .iter()
                .map(|(_, _, _, cell)| cell(object, now_unix))
                .collect();
            json!({
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": object["metadata"],
                },
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": { "resourceVersion": resource_version.to_string() },
        "columnDefinitions": definitions,
        "rows": rows,
    })
}
