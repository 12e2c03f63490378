//! Request routing of the served simulator: discovery, reads, patches, creates and deletes on
//! the Kubernetes API paths kubectl and Arbiter use.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::patch::{merge_patch, strip_directives};
use super::render;
use super::state::SimState;
use crate::selector::{FieldSelector, LabelSelector};
use crate::{LATENCY_P95_ANNOTATION, SIM_SERVER_VERSION};

/// An HTTP request reduced to the fields the router reads.
pub(crate) struct ApiRequest {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub accept: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A response: status code and JSON body.
pub(crate) struct ApiResponse {
    pub status: u16,
    pub body: Value,
}

impl ApiResponse {
    fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }
}

/// Builds a meta/v1 Status error response.
pub(crate) fn status_error(code: u16, reason: &str, message: &str) -> ApiResponse {
    ApiResponse {
        status: code,
        body: json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }),
    }
}

fn not_found(resource: &str, group: &str, name: &str) -> ApiResponse {
    let qualified = if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    };
    let mut response = status_error(
        404,
        "NotFound",
        &format!("{qualified} \"{name}\" not found"),
    );
    response.body["details"] = json!({ "name": name, "group": group, "kind": resource });
    response
}

/// One served resource type.
struct ResourceType {
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    kind: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    verbs: &'static [&'static str],
}

const READ: &[&str] = &["get", "list"];

const RESOURCES: &[ResourceType] = &[
    ResourceType {
        group: "",
        version: "v1",
        resource: "namespaces",
        kind: "Namespace",
        singular: "namespace",
        namespaced: false,
        short_names: &["ns"],
        verbs: READ,
    },
    ResourceType {
        group: "",
        version: "v1",
        resource: "nodes",
        kind: "Node",
        singular: "node",
        namespaced: false,
        short_names: &["no"],
        verbs: READ,
    },
    ResourceType {
        group: "",
        version: "v1",
        resource: "pods",
        kind: "Pod",
        singular: "pod",
        namespaced: true,
        short_names: &["po"],
        verbs: READ,
    },
    ResourceType {
        group: "",
        version: "v1",
        resource: "events",
        kind: "Event",
        singular: "event",
        namespaced: true,
        short_names: &["ev"],
        verbs: &["create", "get", "list"],
    },
    ResourceType {
        group: "apps",
        version: "v1",
        resource: "deployments",
        kind: "Deployment",
        singular: "deployment",
        namespaced: true,
        short_names: &["deploy"],
        verbs: &["get", "list", "patch", "update"],
    },
    ResourceType {
        group: "apps",
        version: "v1",
        resource: "replicasets",
        kind: "ReplicaSet",
        singular: "replicaset",
        namespaced: true,
        short_names: &["rs"],
        verbs: READ,
    },
    ResourceType {
        group: "autoscaling",
        version: "v2",
        resource: "horizontalpodautoscalers",
        kind: "HorizontalPodAutoscaler",
        singular: "horizontalpodautoscaler",
        namespaced: true,
        short_names: &["hpa"],
        verbs: &["create", "delete", "get", "list", "patch", "update"],
    },
    ResourceType {
        group: "metrics.k8s.io",
        version: "v1beta1",
        resource: "pods",
        kind: "PodMetrics",
        singular: "",
        namespaced: true,
        short_names: &[],
        verbs: READ,
    },
    ResourceType {
        group: "metrics.k8s.io",
        version: "v1beta1",
        resource: "nodes",
        kind: "NodeMetrics",
        singular: "",
        namespaced: false,
        short_names: &[],
        verbs: READ,
    },
];

const GROUPS: &[(&str, &str)] = &[
    ("apps", "v1"),
    ("autoscaling", "v2"),
    ("metrics.k8s.io", "v1beta1"),
];

fn resource_type(group: &str, version: &str, resource: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.resource == resource)
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

fn api_group(group: &str, version: &str) -> Value {
    let gv = json!({ "groupVersion": group_version(group, version), "version": version });
    json!({ "name": group, "versions": [gv], "preferredVersion": gv })
}

fn resource_list(group: &str, version: &str) -> Option<Value> {
    let mut resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({
                "name": r.resource, "singularName": r.singular, "namespaced": r.namespaced,
                "kind": r.kind, "verbs": r.verbs, "shortNames": r.short_names,
            })
        })
        .collect();
    if resources.is_empty() {
        return None;
    }
    if group == "apps" {
        resources.push(json!({
            "name": "deployments/scale", "singularName": "", "namespaced": true, "group": "autoscaling",
            "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"],
        }));
    }
    if group == "autoscaling" {
        resources.push(json!({
            "name": "horizontalpodautoscalers/status", "singularName": "", "namespaced": true,
            "kind": "HorizontalPodAutoscaler", "verbs": ["get"],
        }));
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group, version),
        "resources": resources,
    }))
}

/// The resource a path names.
struct Target {
    group: String,
    version: String,
    namespace: Option<String>,
    resource: String,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_target(group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let (namespace, rest) = match rest {
        ["namespaces", namespace, tail @ ..] if !tail.is_empty() => {
            (Some((*namespace).to_owned()), tail)
        }
        _ => (None, rest),
    };
    let (resource, name, subresource) = match rest {
        [resource] => (*resource, None, None),
        [resource, name] => (*resource, Some(*name), None),
        [resource, name, sub] => (*resource, Some(*name), Some(*sub)),
        _ => return None,
    };
    Some(Target {
        group: group.to_owned(),
        version: version.to_owned(),
        namespace,
        resource: resource.to_owned(),
        name: name.map(str::to_owned),
        subresource: subresource.map(str::to_owned),
    })
}

/// Routes one request. The caller holds the state lock.
pub(crate) fn route(
    state: &mut SimState,
    request: &ApiRequest,
    server_address: &str,
) -> ApiResponse {
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    let get = request.method == "GET";
    if !state.serves_metrics && segments.get(1) == Some(&"metrics.k8s.io") {
        return status_error(
            404,
            "NotFound",
            "the server could not find the requested resource: metrics.k8s.io is not served",
        );
    }
    match segments.as_slice() {
        ["version"] if get => ApiResponse::ok(json!({
            "major": "1", "minor": "33", "gitVersion": SIM_SERVER_VERSION, "gitCommit": "",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "none",
            "compiler": "rustc", "platform": "linux/amd64",
        })),
        ["api"] if get => ApiResponse::ok(json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": server_address }],
        })),
        ["apis"] if get => ApiResponse::ok(json!({
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": GROUPS
                .iter()
                .filter(|(g, _)| state.serves_metrics || *g != "metrics.k8s.io")
                .map(|(g, v)| api_group(g, v))
                .collect::<Vec<_>>(),
        })),
        ["apis", group] if get => match GROUPS.iter().find(|(g, _)| g == group) {
            Some((g, v)) => {
                let mut body = api_group(g, v);
                body["kind"] = json!("APIGroup");
                body["apiVersion"] = json!("v1");
                ApiResponse::ok(body)
            }
            None => status_error(
                404,
                "NotFound",
                &format!("the server could not find the requested resource: API group {group}"),
            ),
        },
        ["api", "v1"] if get => ApiResponse::ok(resource_list("", "v1").unwrap_or_default()),
        ["apis", group, version] if get => match resource_list(group, version) {
            Some(list) => ApiResponse::ok(list),
            None => status_error(
                404,
                "NotFound",
                &format!("the server could not find the requested resource: {group}/{version}"),
            ),
        },
        ["api", "v1", rest @ ..] => dispatch(state, request, parse_target("", "v1", rest)),
        ["apis", group, version, rest @ ..] => {
            dispatch(state, request, parse_target(group, version, rest))
        }
        _ => status_error(
            404,
            "NotFound",
            &format!(
                "the server could not find the requested resource ({} {})",
                request.method, request.path
            ),
        ),
    }
}

fn dispatch(state: &mut SimState, request: &ApiRequest, target: Option<Target>) -> ApiResponse {
    let Some(target) = target else {
        return status_error(
            404,
            "NotFound",
            &format!(
                "the server could not find the requested resource ({})",
                request.path
            ),
        );
    };
    let Some(kind) = resource_type(&target.group, &target.version, &target.resource) else {
        return status_error(
            404,
            "NotFound",
            &format!(
                "the server could not find the requested resource ({})",
                request.path
            ),
        );
    };
    if request
        .query
        .get("watch")
        .is_some_and(|w| w == "true" || w == "1")
    {
        return status_error(
            405,
            "MethodNotAllowed",
            "watch is not supported by the served simulator; poll with list requests instead",
        );
    }
    match (
        request.method.as_str(),
        &target.name,
        target.subresource.as_deref(),
    ) {
        ("GET", None, None) => list(state, request, &target, kind),
        ("GET", Some(name), None) => get_one(state, request, &target, kind, name),
        ("GET", Some(name), Some("scale")) if target.resource == "deployments" => {
            with_deployment(state, &target, name, render::scale)
        }
        ("GET", Some(name), Some("status")) if target.resource == "horizontalpodautoscalers" => {
            get_one(state, request, &target, kind, name)
        }
        ("PATCH", Some(name), None) if target.resource == "deployments" => {
            patch_deployment(state, request, &target, name)
        }
        ("PUT", Some(name), None) if target.resource == "deployments" => {
            patch_deployment(state, request, &target, name)
        }
        ("PATCH" | "PUT", Some(name), Some("scale")) if target.resource == "deployments" => {
            patch_scale(state, request, &target, name)
        }
        ("PATCH" | "PUT", Some(name), None) if target.resource == "horizontalpodautoscalers" => {
            patch_hpa(state, request, &target, name)
        }
        ("POST", None, None) if target.resource == "events" && target.group.is_empty() => {
            create_event(state, request, &target)
        }
        ("POST", None, None) if target.resource == "horizontalpodautoscalers" => {
            create_hpa(state, request, &target)
        }
        ("DELETE", Some(name), None) if target.resource == "horizontalpodautoscalers" => {
            delete_hpa(state, &target, name)
        }
        (method, _, sub) => status_error(
            405,
            "MethodNotAllowed",
            &format!(
                "{method} is not supported on {}{} by the served simulator",
                target.resource,
                sub.map(|s| format!("/{s}")).unwrap_or_default()
            ),
        ),
    }
}

/// Renders every object of the target's resource type, in the target's namespace when it has one.
fn objects(state: &SimState, target: &Target) -> Vec<Value> {
    let all = match (target.group.as_str(), target.resource.as_str()) {
        ("", "namespaces") => state
            .namespaces
            .iter()
            .map(|n| render::namespace(n))
            .collect(),
        ("", "nodes") => render::nodes(state),
        ("", "pods") => render::pods(state),
        ("", "events") => state.events.clone(),
        ("apps", "deployments") => (0..state.deployments.len())
            .map(|i| render::deployment(state, i))
            .collect(),
        ("apps", "replicasets") => render::replica_sets(state),
        ("autoscaling", "horizontalpodautoscalers") => (0..state.hpas.len())
            .map(|i| render::hpa(state, i))
            .collect(),
        ("metrics.k8s.io", "pods") => render::pod_metrics(state),
        ("metrics.k8s.io", "nodes") => render::node_metrics(state),
        _ => Vec::new(),
    };
    match &target.namespace {
        Some(namespace) => all
            .into_iter()
            .filter(|object| object["metadata"]["namespace"] == json!(namespace))
            .collect(),
        None => all,
    }
}

fn wants_table(request: &ApiRequest) -> bool {
    request.accept.contains("as=Table")
}

fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object["metadata"]["labels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn list(
    state: &SimState,
    request: &ApiRequest,
    target: &Target,
    kind: &ResourceType,
) -> ApiResponse {
    let labels = match LabelSelector::parse(
        request
            .query
            .get("labelSelector")
            .map_or("", String::as_str),
    ) {
        Ok(selector) => selector,
        Err(message) => return status_error(400, "BadRequest", &message),
    };
    let fields = match FieldSelector::parse(
        request
            .query
            .get("fieldSelector")
            .map_or("", String::as_str),
    ) {
        Ok(selector) => selector,
        Err(message) => return status_error(400, "BadRequest", &message),
    };
    let items: Vec<Value> = objects(state, target)
        .into_iter()
        .filter(|object| labels.matches(&labels_of(object)) && fields.matches(object))
        .collect();
    if wants_table(request) {
        return ApiResponse::ok(render::table(
            &target.resource,
            &items,
            state.now_unix(),
            state.resource_version,
        ));
    }
    ApiResponse::ok(json!({
        "kind": format!("{}List", kind.kind),
        "apiVersion": group_version(&target.group, &target.version),
        "metadata": { "resourceVersion": state.resource_version.to_string() },
        "items": items,
    }))
}

fn get_one(
    state: &SimState,
    request: &ApiRequest,
    target: &Target,
    kind: &ResourceType,
    name: &str,
) -> ApiResponse {
    let found = objects(state, target)
        .into_iter()
        .find(|object| object["metadata"]["name"] == json!(name));
    match found {
        Some(object) if wants_table(request) => ApiResponse::ok(render::table(
            &target.resource,
            std::slice::from_ref(&object),
            state.now_unix(),
            state.resource_version,
        )),
        Some(object) => ApiResponse::ok(object),
        None => not_found(kind.resource, kind.group, name),
    }
}

fn with_deployment(
    state: &SimState,
    target: &Target,
    name: &str,
    render: fn(&SimState, usize) -> Value,
) -> ApiResponse {
    let namespace = target.namespace.as_deref().unwrap_or_default();
    match state.deployment(namespace, name) {
        Some(index) => ApiResponse::ok(render(state, index)),
        None => not_found("deployments", "apps", name),
    }
}

/// Parses a patch body by content type. JSON patches and server-side apply are not served.
fn parse_patch(request: &ApiRequest) -> Result<Value, ApiResponse> {
    let content_type = request
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let accepted = request.method == "PUT"
        || matches!(
            content_type,
            "application/merge-patch+json" | "application/strategic-merge-patch+json"
        );
    if !accepted {
        return Err(status_error(
            415,
            "UnsupportedMediaType",
            &format!(
                "the served simulator accepts merge and strategic merge patches, not `{content_type}`; use kubectl patch --type=merge"
            ),
        ));
    }
    let mut patch: Value = serde_json::from_slice(&request.body).map_err(|error| {
        status_error(
            400,
            "BadRequest",
            &format!("the request body is not valid JSON: {error}"),
        )
    })?;
    if !patch.is_object() {
        return Err(status_error(
            400,
            "BadRequest",
            "the patch must be a JSON object",
        ));
    }
    strip_directives(&mut patch);
    Ok(patch)
}

fn check_resource_version(patch: &Value, current: &Value, what: &str) -> Result<(), ApiResponse> {
    let Some(expected) = patch["metadata"]["resourceVersion"].as_str() else {
        return Ok(());
    };
    let actual = current["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    if expected == actual {
        Ok(())
    } else {
        Err(status_error(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on {what}: the object has been modified; please apply your changes to the latest version and try again"
            ),
        ))
    }
}

fn string_map(value: &Value, field: &str) -> Result<BTreeMap<String, String>, ApiResponse> {
    match value {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| match value {
                Value::String(text) => Ok((key.clone(), text.clone())),
                other => Err(status_error(
                    422,
                    "Invalid",
                    &format!("{field}.{key}: Invalid value: {other}: must be a string"),
                )),
            })
            .collect(),
        other => Err(status_error(
            422,
            "Invalid",
            &format!("{field}: Invalid value: {other}: must be a map of strings"),
        )),
    }
}

fn replicas_of(value: &Value, field: &str) -> Result<i32, ApiResponse> {
    value
        .as_i64()
        .filter(|replicas| (0..=i64::from(i32::MAX)).contains(replicas))
        .map(|replicas| replicas as i32)
        .ok_or_else(|| {
            status_error(
                422,
                "Invalid",
                &format!("{field}: Invalid value: {value}: must be greater than or equal to 0"),
            )
        })
}

const SERVER_ANNOTATIONS: [&str; 2] = ["deployment.kubernetes.io/revision", LATENCY_P95_ANNOTATION];

fn patch_deployment(
    state: &mut SimState,
    request: &ApiRequest,
    target: &Target,
    name: &str,
) -> ApiResponse {
    let namespace = target.namespace.clone().unwrap_or_default();
    let Some(index) = state.deployment(&namespace, name) else {
        return not_found("deployments", "apps", name);
    };
    let patch = match parse_patch(request) {
        Ok(patch) => patch,
        Err(response) => return response,
    };
    let original = render::deployment(state, index);
    let what = format!("deployments.apps \"{name}\"");
    if let Err(response) = check_resource_version(&patch, &original, &what) {
        return response;
    }
    let mut merged = if request.method == "PUT" {
        patch.clone()
    } else {
        original.clone()
    };
    if request.method != "PUT" {
        merge_patch(&mut merged, &patch);
    }

    let labels = match string_map(&merged["metadata"]["labels"], "metadata.labels") {
        Ok(labels) => labels,
        Err(response) => return response,
    };
    let mut annotations =
        match string_map(&merged["metadata"]["annotations"], "metadata.annotations") {
            Ok(annotations) => annotations,
            Err(response) => return response,
        };
    for key in SERVER_ANNOTATIONS {
        annotations.remove(key);
    }
    let template_annotations = match string_map(
        &merged["spec"]["template"]["metadata"]["annotations"],
        "spec.template.metadata.annotations",
    ) {
        Ok(annotations) => annotations,
        Err(response) => return response,
    };
    let replicas = match replicas_of(&merged["spec"]["replicas"], "spec.replicas") {
        Ok(replicas) => replicas,
        Err(response) => return response,
    };

    // Everything else must be unchanged: the simulator models only these fields.
    let mut expected = original.clone();
    for (pointer, value) in [
        ("/metadata/labels", &merged["metadata"]["labels"]),
        ("/metadata/annotations", &merged["metadata"]["annotations"]),
        ("/spec/replicas", &merged["spec"]["replicas"]),
        (
            "/metadata/resourceVersion",
            &merged["metadata"]["resourceVersion"],
        ),
    ] {
        if let Some(slot) = expected.pointer_mut(pointer) {
            *slot = value.clone();
        }
    }
    expected["spec"]["template"]["metadata"]["annotations"] =
        merged["spec"]["template"]["metadata"]["annotations"].clone();
    let mut comparable = merged.clone();
    for object in [&mut expected, &mut comparable] {
        if let Some(metadata) = object["metadata"].as_object_mut() {
            metadata.remove("managedFields");
        }
        if let Some(template) = object["spec"]["template"]["metadata"].as_object_mut() {
            template.retain(|_, value| !value.is_null());
        }
        object["status"] = Value::Null;
    }
    if expected != comparable {
        return status_error(
            422,
            "Invalid",
            &format!(
                "Deployment.apps \"{name}\" is invalid: the served simulator lets clients change only metadata.labels, metadata.annotations, spec.replicas and spec.template.metadata.annotations"
            ),
        );
    }

    // A changed pod template (a rollout restart) bumps the generation and replaces the pods
    // by a rolling update. On a load generator it changes the cap of the load it offers.
    let template_changed = template_annotations != state.deployments[index].template_annotations;
    let previous_template = std::mem::replace(
        &mut state.deployments[index].template_annotations,
        template_annotations,
    );
    if template_changed && let Err(message) = state.apply_load_cap(index) {
        state.deployments[index].template_annotations = previous_template;
        return status_error(
            422,
            "Invalid",
            &format!("Deployment.apps \"{name}\" is invalid: {message}"),
        );
    }
    if template_changed && let Err(error) = state.roll_out(index) {
        return status_error(500, "InternalError", &error.to_string());
    }
    {
        let deployment = &mut state.deployments[index];
        deployment.labels = labels;
        deployment.annotations = annotations;
        if template_changed {
            deployment.generation += 1;
        }
    }
    if state.spec_replicas(index) != Some(replicas)
        && let Err(error) = state.set_replicas(index, replicas)
    {
        return status_error(422, "Invalid", &error.to_string());
    }
    let version = state.bump();
    state.deployments[index].resource_version = version;
    ApiResponse::ok(render::deployment(state, index))
}

fn patch_scale(
    state: &mut SimState,
    request: &ApiRequest,
    target: &Target,
    name: &str,
) -> ApiResponse {
    let namespace = target.namespace.clone().unwrap_or_default();
    let Some(index) = state.deployment(&namespace, name) else {
        return not_found("deployments", "apps", name);
    };
    let patch = if request.method == "PUT" {
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(body) => body,
            Err(error) => {
                return status_error(
                    400,
                    "BadRequest",
                    &format!("the request body is not valid JSON: {error}"),
                );
            }
        }
    } else {
        match parse_patch(request) {
            Ok(patch) => patch,
            Err(response) => return response,
        }
    };
    let original = render::scale(state, index);
    if let Err(response) =
        check_resource_version(&patch, &original, &format!("deployments.apps \"{name}\""))
    {
        return response;
    }
    let mut merged = original;
    merge_patch(&mut merged, &patch);
    let replicas = match replicas_of(&merged["spec"]["replicas"], "spec.replicas") {
        Ok(replicas) => replicas,
        Err(response) => return response,
    };
    if state.spec_replicas(index) != Some(replicas)
        && let Err(error) = state.set_replicas(index, replicas)
    {
        return status_error(422, "Invalid", &error.to_string());
    }
    ApiResponse::ok(render::scale(state, index))
}

fn create_event(state: &mut SimState, request: &ApiRequest, target: &Target) -> ApiResponse {
    let namespace = target
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let mut event: Value = match serde_json::from_slice(&request.body) {
        Ok(event @ Value::Object(_)) => event,
        _ => {
            return status_error(
                400,
                "BadRequest",
                "the request body is not a JSON Event object",
            );
        }
    };
    if event["involvedObject"]["name"].as_str().is_none() {
        return status_error(
            422,
            "Invalid",
            "Event is invalid: involvedObject.name: Required value",
        );
    }
    if event["reason"].as_str().is_none_or(str::is_empty) {
        return status_error(422, "Invalid", "Event is invalid: reason: Required value");
    }
    let version = state.bump();
    let uid = state.new_uid();
    let name = match (
        event["metadata"]["name"].as_str(),
        event["metadata"]["generateName"].as_str(),
    ) {
        (Some(name), _) => name.to_owned(),
        (None, Some(prefix)) => format!("{prefix}{version:x}"),
        (None, None) => {
            return status_error(
                422,
                "Invalid",
                "Event is invalid: metadata.name: Required value: name or generateName is required",
            );
        }
    };
    if state.events.iter().any(|e| {
        e["metadata"]["name"] == json!(name) && e["metadata"]["namespace"] == json!(namespace)
    }) {
        return status_error(
            409,
            "AlreadyExists",
            &format!("events \"{name}\" already exists"),
        );
    }
    event["apiVersion"] = json!("v1");
    event["kind"] = json!("Event");
    event["metadata"]["name"] = json!(name);
    event["metadata"]["namespace"] = json!(namespace);
    event["metadata"]["uid"] = json!(uid);
    event["metadata"]["resourceVersion"] = json!(version.to_string());
    event["metadata"]["creationTimestamp"] = json!(crate::time::format_rfc3339(state.now_unix()));
    state.store_event(event.clone());
    ApiResponse {
        status: 201,
        body: event,
    }
}

/// Reads the fields of an autoscaling/v2 HPA the simulator supports.
fn hpa_fields(body: &Value) -> Result<(String, i32, i32, i32), ApiResponse> {
    let invalid = |message: &str| {
        status_error(
            422,
            "Invalid",
            &format!("HorizontalPodAutoscaler is invalid: {message}"),
        )
    };
    let spec = &body["spec"];
    if spec["scaleTargetRef"]["kind"] != "Deployment" {
        return Err(invalid(
            "spec.scaleTargetRef.kind: the served simulator scales only Deployments",
        ));
    }
    let target = spec["scaleTargetRef"]["name"]
        .as_str()
        .ok_or_else(|| invalid("spec.scaleTargetRef.name: Required value"))?;
    let min = spec["minReplicas"].as_i64().unwrap_or(1);
    let max = spec["maxReplicas"]
        .as_i64()
        .ok_or_else(|| invalid("spec.maxReplicas: Required value"))?;
    if min < 1 || max < min || max > i64::from(i32::MAX) {
        return Err(invalid(&format!(
            "spec.minReplicas {min} and spec.maxReplicas {max}: need 1 <= minReplicas <= maxReplicas"
        )));
    }
    let metrics = spec["metrics"].as_array().cloned().unwrap_or_default();
    let cpu = match metrics.as_slice() {
        [] => 80,
        [metric] if metric["type"] == "Resource"
            && metric["resource"]["name"] == "cpu"
            && metric["resource"]["target"]["type"] == "Utilization" =>
        {
            metric["resource"]["target"]["averageUtilization"]
                .as_i64()
                .filter(|v| *v > 0 && *v <= 10_000)
                .ok_or_else(|| invalid("spec.metrics[0].resource.target.averageUtilization: must be a positive percentage"))?
        }
        _ => return Err(invalid("spec.metrics: the served simulator supports one cpu Resource metric with a Utilization target")),
    };
    Ok((target.to_owned(), min as i32, max as i32, cpu as i32))
}

fn create_hpa(state: &mut SimState, request: &ApiRequest, target: &Target) -> ApiResponse {
    let namespace = target.namespace.clone().unwrap_or_default();
    let body: Value = match serde_json::from_slice(&request.body) {
        Ok(body) => body,
        Err(error) => {
            return status_error(
                400,
                "BadRequest",
                &format!("the request body is not valid JSON: {error}"),
            );
        }
    };
    let Some(name) = body["metadata"]["name"].as_str().map(str::to_owned) else {
        return status_error(
            422,
            "Invalid",
            "HorizontalPodAutoscaler is invalid: metadata.name: Required value",
        );
    };
    if state
        .hpas
        .iter()
        .any(|h| h.namespace == namespace && h.name == name)
    {
        return status_error(
            409,
            "AlreadyExists",
            &format!("horizontalpodautoscalers.autoscaling \"{name}\" already exists"),
        );
    }
    let (scale_target, min, max, cpu) = match hpa_fields(&body) {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    state.add_hpa(&namespace, &name, &scale_target, min, max, cpu);
    ApiResponse {
        status: 201,
        body: render::hpa(state, state.hpas.len() - 1),
    }
}

fn patch_hpa(
    state: &mut SimState,
    request: &ApiRequest,
    target: &Target,
    name: &str,
) -> ApiResponse {
    let namespace = target.namespace.clone().unwrap_or_default();
    let Some(index) = state
        .hpas
        .iter()
        .position(|h| h.namespace == namespace && h.name == name)
    else {
        return not_found("horizontalpodautoscalers", "autoscaling", name);
    };
    let body = if request.method == "PUT" {
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(body) => body,
            Err(error) => {
                return status_error(
                    400,
                    "BadRequest",
                    &format!("the request body is not valid JSON: {error}"),
                );
            }
        }
    } else {
        let patch = match parse_patch(request) {
            Ok(patch) => patch,
            Err(response) => return response,
        };
        let mut merged = render::hpa(state, index);
        merge_patch(&mut merged, &patch);
        merged
    };
    let (scale_target, min, max, cpu) = match hpa_fields(&body) {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    // NOTE: a changed HPA restarts its algorithm state (stabilization window, scale events).
    let old = state.hpas.remove(index);
    state.add_hpa(&namespace, name, &scale_target, min, max, cpu);
    let last = state.hpas.len() - 1;
    state.hpas[last].uid = old.uid;
    state.hpas[last].creation_s = old.creation_s;
    let moved = state.hpas.remove(last);
    state.hpas.insert(index, moved);
    ApiResponse::ok(render::hpa(state, index))
}

fn delete_hpa(state: &mut SimState, target: &Target, name: &str) -> ApiResponse {
    let namespace = target.namespace.clone().unwrap_or_default();
    let Some(index) = state
        .hpas
        .iter()
        .position(|h| h.namespace == namespace && h.name == name)
    else {
        return not_found("horizontalpodautoscalers", "autoscaling", name);
    };
    state.hpas.remove(index);
    ApiResponse::ok(json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": { "name": name, "group": "autoscaling", "kind": "horizontalpodautoscalers" },
    }))
}
