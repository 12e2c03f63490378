//! The test-vector runner behind `arbiter hpa check-vectors FILE`.
//!
//! A vectors file (schema `hpa-test-vectors/v1`) contains cases transcribed from Kubernetes'
//! `replica_calculator_test.go` and `horizontal_test.go`. Each vector names a `kind`, the
//! controller settings the Go test ran with, an `input` and the `expected` values. Times in a
//! vector are seconds relative to the evaluation time, which the runner sets to 0; the string
//! `"epoch"` maps to [`EPOCH_S`].
//!
//! A file that cannot be read or parsed, or a vector with a missing or mistyped field, is an
//! [`HpaError`]. A vector of an unknown `kind` is not an error: it is reported as failed, with
//! the reason, so the other vectors still run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde_json::Value;

use super::behavior::{
    Recommendation, ScaleEvent, calculate_scale_down_limit, calculate_scale_up_limit,
    convert_desired_replicas_with_behavior_rate, convert_desired_replicas_with_rules,
    replicas_change_per_period, stabilize_recommendation, stabilize_recommendation_with_behaviors,
    store_scale_event,
};
use super::config::HpaConfig;
use super::error::HpaError;
use super::metrics::{ApiFailures, ExtraPodMetrics, SelectorProblem};
use super::pods::{
    ContainerKind, ContainerView, EPOCH_S, MetricSample, PodPhase, PodResourceMetrics, PodView,
    calculate_requests, group_pods,
};
use super::reconcile::{HorizontalPodAutoscaler, ReconcileInput, compute_replicas_for_metric};
use super::spec::{
    Behavior, EffectiveScalingRules, HpaSpec, MetricSource, MetricSpec, MetricTarget,
    MetricTargetType, ScalingPolicy, ScalingPolicyType, ScalingRules, SelectPolicy,
};
use super::vector_json::Node;

/// The evaluation time of every vector; vector times are relative to it.
const NOW_S: f64 = 0.0;

/// The vector kinds this runner supports.
const KNOWN_KINDS: [&str; 10] = [
    "replica_calc",
    "controller_reconcile",
    "legacy_clamp",
    "legacy_stabilization",
    "behavior_stabilization",
    "behavior_rate_limit",
    "behavior_limit_only",
    "scale_event_store",
    "group_pods",
    "pod_requests",
];

/// The result of running a vectors file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VectorReport {
    /// Number of vectors whose every expected value matched.
    pub passed: usize,
    /// The vectors that did not match, in file order.
    pub failed: Vec<VectorFailure>,
    /// `(passed, failed)` per vector kind.
    pub by_kind: BTreeMap<String, (usize, usize)>,
}

/// A vector whose result differs from its expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorFailure {
    /// The vector name (the Go test name).
    pub name: String,
    /// The vector kind.
    pub kind: String,
    /// The expected values that did not match, as `field=value` pairs, or the reason the vector
    /// could not run.
    pub expected: String,
    /// The computed values for the same fields.
    pub actual: String,
}

impl fmt::Display for VectorReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in &self.failed {
            writeln!(formatter, "FAIL [{}] {}", failure.kind, failure.name)?;
            writeln!(formatter, "  expected: {}", failure.expected)?;
            writeln!(formatter, "  actual:   {}", failure.actual)?;
        }
        for (kind, (passed, failed)) in &self.by_kind {
            writeln!(formatter, "{kind}: {passed} passed, {failed} failed")?;
        }
        write!(
            formatter,
            "{} passed, {} failed",
            self.passed,
            self.failed.len()
        )
    }
}

/// Runs every vector of the file at `path`.
pub fn check_vectors(path: &Path) -> Result<VectorReport, HpaError> {
    let text = std::fs::read_to_string(path).map_err(|source| HpaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    check_vectors_json(&text, path)
}

/// Runs every vector of `text`, a vectors file read from `path` (used in error messages).
pub fn check_vectors_json(text: &str, path: &Path) -> Result<VectorReport, HpaError> {
    let document: Value = serde_json::from_str(text).map_err(|error| HpaError::Json {
        path: path.to_path_buf(),
        line: error.line(),
        column: error.column(),
        message: error.to_string(),
    })?;
    let root = Node::root(&document, path, "<file>");
    let vectors = root.field("vectors")?.items()?;
    if let Some(count) = root.opt_field("count") {
        let declared = count.i64()?;
        if usize::try_from(declared).ok() != Some(vectors.len()) {
            return Err(count.error(format!(
                "declares {declared} vectors but the file holds {}",
                vectors.len()
            )));
        }
    }

    let mut report = VectorReport::default();
    for (index, vector) in vectors.iter().enumerate() {
        let vector_value = vector.raw();
        let fallback_name = format!("vectors[{index}]");
        let name = vector_value
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&fallback_name);
        let node = Node::root(vector_value, path, name);
        node.field("name")?.str()?;
        let kind = node.field("kind")?.str()?.to_string();
        let checks = run_vector(&node, &kind)?;
        let entry = report.by_kind.entry(kind.clone()).or_insert((0, 0));
        match checks.failure() {
            None => {
                entry.0 += 1;
                report.passed += 1;
            }
            Some((expected, actual)) => {
                entry.1 += 1;
                report.failed.push(VectorFailure {
                    name: name.to_string(),
                    kind,
                    expected,
                    actual,
                });
            }
        }
    }
    Ok(report)
}

/// Expected and actual values of one vector.
#[derive(Default)]
struct Checks {
    entries: Vec<(String, String, String, bool)>,
}

impl Checks {
    fn equal(&mut self, field: &str, expected: impl fmt::Debug, actual: impl fmt::Debug) {
        let expected = format!("{expected:?}");
        let actual = format!("{actual:?}");
        let ok = expected == actual;
        self.entries.push((field.to_string(), expected, actual, ok));
    }

    fn custom(&mut self, field: &str, expected: String, actual: String, ok: bool) {
        self.entries.push((field.to_string(), expected, actual, ok));
    }

    /// Returns the mismatched fields as `(expected, actual)` texts, or `None` when all match.
    fn failure(&self) -> Option<(String, String)> {
        let mismatched: Vec<_> = self.entries.iter().filter(|entry| !entry.3).collect();
        if mismatched.is_empty() {
            return None;
        }
        let join = |pick: fn(&(String, String, String, bool)) -> &String| {
            mismatched
                .iter()
                .map(|entry| format!("{}={}", entry.0, pick(entry)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Some((join(|entry| &entry.1), join(|entry| &entry.2)))
    }
}

fn run_vector(vector: &Node<'_>, kind: &str) -> Result<Checks, HpaError> {
    let runner: fn(&Node<'_>, &HpaConfig) -> Result<Checks, HpaError> = match kind {
        "replica_calc" => run_replica_calc,
        "controller_reconcile" => run_controller_reconcile,
        "legacy_clamp" => run_legacy_clamp,
        "legacy_stabilization" => run_legacy_stabilization,
        "behavior_stabilization" => run_behavior_stabilization,
        "behavior_rate_limit" => run_behavior_rate_limit,
        "behavior_limit_only" => run_behavior_limit_only,
        "scale_event_store" => run_scale_event_store,
        "group_pods" => run_group_pods,
        "pod_requests" => run_pod_requests,
        other => {
            let mut checks = Checks::default();
            let known = KNOWN_KINDS.join(", ");
            checks.custom(
                "kind",
                format!("one of {known}"),
                format!("unknown kind {other:?}; the vector was not run"),
                false,
            );
            return Ok(checks);
        }
    };
    let config = parse_controller(&vector.field("controller")?)?;
    runner(vector, &config)
}

fn parse_controller(node: &Node<'_>) -> Result<HpaConfig, HpaError> {
    Ok(HpaConfig {
        tolerance_scale_up: node.field("tolerance_scale_up")?.f64()?,
        tolerance_scale_down: node.field("tolerance_scale_down")?.f64()?,
        cpu_initialization_period_s: node.field("cpu_initialization_period_s")?.f64()?,
        initial_readiness_delay_s: node.field("initial_readiness_delay_s")?.f64()?,
        downscale_stabilization_s: node.field("downscale_stabilization_s")?.f64()?,
        legacy_scale_up_limit_factor: node.field("legacy_scale_up_limit_factor")?.f64()?,
        legacy_scale_up_limit_minimum: node.field("legacy_scale_up_limit_minimum")?.f64()?,
        ..HpaConfig::default()
    })
}

// ----- metrics and pods ---------------------------------------------------------------------

fn parse_metric(node: &Node<'_>) -> Result<MetricSpec, HpaError> {
    let source_type = node.field("source")?.str()?;
    let name = || -> Result<String, HpaError> { Ok(node.field("name")?.str()?.to_string()) };
    let resource =
        || -> Result<String, HpaError> { Ok(node.field("resource")?.str()?.to_string()) };
    let source = match source_type {
        "Resource" => MetricSource::Resource {
            resource: resource()?,
        },
        "ContainerResource" => MetricSource::ContainerResource {
            resource: resource()?,
            container: node.field("container")?.str()?.to_string(),
        },
        "Pods" => MetricSource::Pods { metric: name()? },
        "Object" => MetricSource::Object { metric: name()? },
        "External" => MetricSource::External { metric: name()? },
        other => MetricSource::Unknown {
            type_name: other.to_string(),
        },
    };
    let target = match node.opt_field("target") {
        None => MetricTarget::default(),
        Some(target) => parse_target(&target)?,
    };
    Ok(MetricSpec { source, target })
}

fn parse_target(node: &Node<'_>) -> Result<MetricTarget, HpaError> {
    let type_node = node.field("type")?;
    let target_type = match type_node.str()? {
        "Utilization" => MetricTargetType::Utilization,
        "AverageValue" => MetricTargetType::AverageValue,
        "Value" => MetricTargetType::Value,
        other => {
            return Err(type_node.error(format!(
                "must be Utilization, AverageValue or Value, found {other:?}"
            )));
        }
    };
    Ok(MetricTarget {
        target_type,
        average_utilization: node
            .opt_field("average_utilization")
            .map(|n| n.i32())
            .transpose()?,
        average_value_milli: node
            .opt_field("average_value_milli")
            .map(|n| n.i64())
            .transpose()?,
        value_milli: node.opt_field("value_milli").map(|n| n.i64()).transpose()?,
    })
}

/// The mapping of vector pods onto [`PodView`] for the metrics under test.
struct PodLayout {
    /// The named container of a ContainerResource metric.
    container: Option<String>,
    /// The resource of Resource or ContainerResource metrics.
    resource: String,
    /// Names of Pods metrics; `value_milli` is the sample for each.
    pods_metrics: Vec<String>,
    window_s: f64,
}

impl PodLayout {
    fn new(metrics: &[MetricSpec], window_s: f64) -> Self {
        let mut layout = PodLayout {
            container: None,
            resource: "cpu".to_string(),
            pods_metrics: Vec::new(),
            window_s,
        };
        for metric in metrics {
            match &metric.source {
                MetricSource::Resource { resource } => layout.resource = resource.clone(),
                MetricSource::ContainerResource {
                    resource,
                    container,
                } => {
                    layout.resource = resource.clone();
                    layout.container = Some(container.clone());
                }
                MetricSource::Pods { metric } => layout.pods_metrics.push(metric.clone()),
                _ => {}
            }
        }
        layout
    }
}

fn parse_phase(node: &Node<'_>) -> Result<PodPhase, HpaError> {
    match node.str()? {
        "Running" => Ok(PodPhase::Running),
        "Pending" => Ok(PodPhase::Pending),
        "Succeeded" => Ok(PodPhase::Succeeded),
        "Failed" => Ok(PodPhase::Failed),
        other => Err(node.error(format!(
            "must be Running, Pending, Succeeded or Failed, found {other:?}"
        ))),
    }
}

fn parse_ready(node: &Node<'_>) -> Result<Option<bool>, HpaError> {
    match node.opt_field("ready") {
        None => Ok(None),
        Some(ready) => match ready.str()? {
            "True" => Ok(Some(true)),
            "False" => Ok(Some(false)),
            other => Err(ready.error(format!(
                "must be \"True\", \"False\" or null, found {other:?}"
            ))),
        },
    }
}

fn opt_time(node: &Node<'_>, key: &str) -> Result<Option<f64>, HpaError> {
    node.opt_field(key).map(|n| n.time(NOW_S)).transpose()
}

/// Reads the pod fields shared by every kind: name, phase, readiness, start and deletion.
fn parse_pod_status(node: &Node<'_>) -> Result<PodView, HpaError> {
    Ok(PodView {
        name: node.field("name")?.str()?.to_string(),
        phase: parse_phase(&node.field("phase")?)?,
        ready: parse_ready(node)?,
        start_s: opt_time(node, "start_s")?,
        ready_transition_s: opt_time(node, "ready_transition_s")?,
        deleting: node.field("deleting")?.bool()?,
        ..PodView::default()
    })
}

fn parse_pod(node: &Node<'_>, layout: &PodLayout) -> Result<PodView, HpaError> {
    let mut pod = parse_pod_status(node)?;
    let item_present = match node.opt_field("metric_item_present") {
        Some(flag) => flag.bool()?,
        None => false,
    };
    let timestamp = |node: &Node<'_>| node.field("metric_timestamp_s")?.time(NOW_S);
    let request = node
        .opt_field("request_milli")
        .map(|n| n.i64())
        .transpose()?;
    let usage = node.opt_field("usage_milli").map(|n| n.i64()).transpose()?;
    let resource = layout.resource.clone();

    let has_request_field = node.raw().get("request_milli").is_some();
    match &layout.container {
        Some(container) => {
            if has_request_field {
                pod.containers.push(ContainerView {
                    name: container.clone(),
                    kind: ContainerKind::Regular,
                    requests_milli: request.map(|r| (resource.clone(), r)).into_iter().collect(),
                });
            }
            if item_present {
                let usage_map = usage.map(|u| (resource.clone(), u)).into_iter().collect();
                pod.resource_metrics = Some(PodResourceMetrics {
                    timestamp_s: timestamp(node)?,
                    window_s: layout.window_s,
                    containers: BTreeMap::from([(container.clone(), usage_map)]),
                });
            }
        }
        None if resource == "cpu" => {
            pod.request_milli = request;
            if item_present {
                let timestamp_s = timestamp(node)?;
                match usage {
                    Some(value_milli) => {
                        pod.cpu = Some(MetricSample {
                            value_milli,
                            timestamp_s,
                            window_s: layout.window_s,
                        });
                    }
                    // The API returned an item without a CPU value: the pod has no sample.
                    None => {
                        pod.resource_metrics = Some(PodResourceMetrics {
                            timestamp_s,
                            window_s: layout.window_s,
                            containers: BTreeMap::from([(
                                "container".to_string(),
                                BTreeMap::new(),
                            )]),
                        });
                    }
                }
            }
        }
        None => {
            if has_request_field {
                pod.containers.push(ContainerView {
                    name: "container".to_string(),
                    kind: ContainerKind::Regular,
                    requests_milli: request.map(|r| (resource.clone(), r)).into_iter().collect(),
                });
            }
            if item_present {
                let usage_map = usage.map(|u| (resource.clone(), u)).into_iter().collect();
                pod.resource_metrics = Some(PodResourceMetrics {
                    timestamp_s: timestamp(node)?,
                    window_s: layout.window_s,
                    containers: BTreeMap::from([("container".to_string(), usage_map)]),
                });
            }
        }
    }

    if let Some(value) = node.opt_field("value_milli") {
        let sample = MetricSample {
            value_milli: value.i64()?,
            timestamp_s: timestamp(node)?,
            window_s: layout.window_s,
        };
        for metric in &layout.pods_metrics {
            pod.custom_metrics.insert(metric.clone(), sample);
        }
    }
    Ok(pod)
}

/// The parts of a `replica_calc` or `controller_reconcile` input that become a [`ReconcileInput`].
struct ClusterInput {
    spec_replicas: i32,
    status_replicas: i32,
    pods: Vec<PodView>,
    extra: Vec<ExtraPodMetrics>,
    object: BTreeMap<String, i64>,
    external: BTreeMap<String, Vec<i64>>,
    failures: ApiFailures,
}

impl ClusterInput {
    fn reconcile_input(&self) -> ReconcileInput<'_> {
        ReconcileInput {
            now_s: NOW_S,
            spec_replicas: self.spec_replicas,
            status_replicas: self.status_replicas,
            pods: &self.pods,
            extra_pod_metrics: &self.extra,
            object_metrics_milli: self.object.clone(),
            external_metrics_milli: self.external.clone(),
            failures: self.failures.clone(),
        }
    }
}

fn parse_cluster(input: &Node<'_>, metrics: &[MetricSpec]) -> Result<ClusterInput, HpaError> {
    let window_s = input.field("metric_window_s")?.f64()?;
    let layout = PodLayout::new(metrics, window_s);
    let pods = match input.opt_field("pods") {
        None => Vec::new(),
        Some(pods) => pods
            .items()?
            .iter()
            .map(|pod| parse_pod(pod, &layout))
            .collect::<Result<_, _>>()?,
    };

    let mut extra = Vec::new();
    if let Some(extra_node) = input.opt_field("extra_pod_metrics") {
        for item in extra_node.items()? {
            let sample = MetricSample {
                value_milli: item.field("usage_milli")?.i64()?,
                timestamp_s: NOW_S,
                window_s,
            };
            extra.push(ExtraPodMetrics {
                name: item.field("name")?.str()?.to_string(),
                cpu: Some(sample),
                ..ExtraPodMetrics::default()
            });
        }
    }

    let mut object = BTreeMap::new();
    let mut external = BTreeMap::new();
    let object_value = input
        .opt_field("object_value_milli")
        .map(|n| n.i64())
        .transpose()?;
    let external_values = match input.opt_field("external_values_milli") {
        None => None,
        Some(values) => Some(
            values
                .items()?
                .iter()
                .map(Node::i64)
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    for metric in metrics {
        match &metric.source {
            MetricSource::Object { metric } => {
                if let Some(value) = object_value {
                    object.insert(metric.clone(), value);
                }
            }
            MetricSource::External { metric } => {
                if let Some(values) = &external_values {
                    external.insert(metric.clone(), values.clone());
                }
            }
            _ => {}
        }
    }

    Ok(ClusterInput {
        spec_replicas: input.field("spec_replicas")?.i32()?,
        status_replicas: input.field("status_replicas")?.i32()?,
        pods,
        extra,
        object,
        external,
        failures: parse_failures(input)?,
    })
}

fn parse_failures(input: &Node<'_>) -> Result<ApiFailures, HpaError> {
    let mut failures = ApiFailures::default();
    let Some(node) = input.opt_field("failures") else {
        return Ok(failures);
    };
    let Some(object) = node.raw().as_object() else {
        return Err(node.error("must be a JSON object"));
    };
    for key in object.keys() {
        let field = node.field(key)?;
        match key.as_str() {
            "get_scale_error" => failures.get_scale = field.bool()?,
            "update_scale_error" => failures.update_scale = field.bool()?,
            "resource_metrics_api_error" => failures.resource_metrics_api = field.bool()?,
            "custom_metrics_api_error" => failures.custom_metrics_api = field.bool()?,
            "external_metrics_api_error" => failures.external_metrics_api = field.bool()?,
            "scale_selector" => {
                let selector = field.str()?;
                failures.selector = Some(if selector.is_empty() {
                    SelectorProblem::Missing
                } else {
                    SelectorProblem::Unparsable(selector.to_string())
                });
            }
            "another_hpa_selects_same_pods" => {
                if field.bool()? {
                    failures.selector = Some(SelectorProblem::Ambiguous(vec![
                        "this HPA".to_string(),
                        "another HPA".to_string(),
                    ]));
                }
            }
            other => {
                return Err(field.error(format!(
                    "is not a known failure key ({other:?}); use get_scale_error, update_scale_error, resource_metrics_api_error, custom_metrics_api_error, external_metrics_api_error, scale_selector or another_hpa_selects_same_pods"
                )));
            }
        }
    }
    Ok(failures)
}

// ----- behavior -----------------------------------------------------------------------------

fn parse_rules(node: &Node<'_>) -> Result<ScalingRules, HpaError> {
    let select_policy = match node.opt_field("select_policy") {
        None => None,
        Some(policy) => Some(match policy.str()? {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            "Disabled" => SelectPolicy::Disabled,
            other => {
                return Err(policy.error(format!("must be Max, Min or Disabled, found {other:?}")));
            }
        }),
    };
    let policies = match node.opt_field("policies") {
        None => None,
        Some(list) => Some(
            list.items()?
                .iter()
                .map(parse_policy)
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(ScalingRules {
        stabilization_window_s: node
            .opt_field("stabilization_window_s")
            .map(|n| n.i32())
            .transpose()?,
        select_policy,
        policies,
        tolerance: node.opt_field("tolerance").map(|n| n.f64()).transpose()?,
    })
}

fn parse_policy(node: &Node<'_>) -> Result<ScalingPolicy, HpaError> {
    let type_node = node.field("type")?;
    let policy_type = match type_node.str()? {
        "Pods" => ScalingPolicyType::Pods,
        "Percent" => ScalingPolicyType::Percent,
        other => return Err(type_node.error(format!("must be Pods or Percent, found {other:?}"))),
    };
    Ok(ScalingPolicy {
        policy_type,
        value: node.field("value")?.i32()?,
        period_s: node.field("period_s")?.i32()?,
    })
}

fn parse_recommendations(node: &Node<'_>) -> Result<Vec<Recommendation>, HpaError> {
    node.items()?
        .iter()
        .map(|item| {
            Ok(Recommendation {
                replicas: item.field("replicas")?.i32()?,
                timestamp_s: NOW_S - item.field("age_s")?.f64()?,
            })
        })
        .collect()
}

fn parse_events(node: &Node<'_>, key: &str) -> Result<Vec<ScaleEvent>, HpaError> {
    let Some(list) = node.opt_field(key) else {
        return Ok(Vec::new());
    };
    list.items()?
        .iter()
        .map(|item| {
            Ok(ScaleEvent {
                change: item.field("change")?.i32()?,
                timestamp_s: NOW_S - item.field("age_s")?.f64()?,
                outdated: false,
            })
        })
        .collect()
}

fn effective_up(node: &Node<'_>) -> Result<EffectiveScalingRules, HpaError> {
    let rules = node
        .opt_field("scale_up")
        .map(|n| parse_rules(&n))
        .transpose()?;
    Ok(ScalingRules::effective_scale_up(rules.as_ref()))
}

fn effective_down(node: &Node<'_>, config: &HpaConfig) -> Result<EffectiveScalingRules, HpaError> {
    let rules = node
        .opt_field("scale_down")
        .map(|n| parse_rules(&n))
        .transpose()?;
    Ok(ScalingRules::effective_scale_down(
        rules.as_ref(),
        config.downscale_stabilization_s,
    ))
}

// ----- runners ------------------------------------------------------------------------------

fn expect_i64(expected: &Node<'_>, key: &str) -> Result<Option<i64>, HpaError> {
    expected.opt_field(key).map(|n| n.i64()).transpose()
}

fn run_replica_calc(vector: &Node<'_>, config: &HpaConfig) -> Result<Checks, HpaError> {
    let input = vector.field("input")?;
    let expected = vector.field("expected")?;
    let metric = parse_metric(&input.field("metric")?)?;
    let cluster = parse_cluster(&input, std::slice::from_ref(&metric))?;
    let reconcile_input = cluster.reconcile_input();
    let result =
        compute_replicas_for_metric(config, config.tolerances(), &reconcile_input, &metric);

    let mut checks = Checks::default();
    if let Some(needle) = expected.opt_field("error_contains") {
        let needle = needle.str()?;
        match &result {
            Err(failure) => checks.custom(
                "error",
                format!("containing {needle:?}"),
                format!("{:?}", failure.message),
                failure.message.contains(needle),
            ),
            Ok(proposal) => checks.custom(
                "error",
                format!("containing {needle:?}"),
                format!("no error, replicas={}", proposal.replicas),
                false,
            ),
        }
        return Ok(checks);
    }
    let proposal = match result {
        Ok(proposal) => proposal,
        Err(failure) => {
            checks.custom(
                "result",
                "a replica count".to_string(),
                format!("error {:?}", failure.message),
                false,
            );
            return Ok(checks);
        }
    };
    checks.equal(
        "replicas",
        expected.field("replicas")?.i64()?,
        i64::from(proposal.replicas),
    );
    if let Some(utilization) = expect_i64(&expected, "utilization_percent")? {
        checks.equal(
            "utilization_percent",
            Some(utilization),
            proposal.status.average_utilization.map(i64::from),
        );
    }
    if let Some(raw) = expect_i64(&expected, "raw_average_milli")? {
        checks.equal(
            "raw_average_milli",
            Some(raw),
            proposal.status.average_value_milli,
        );
    }
    if let Some(usage) = expect_i64(&expected, "usage_milli")? {
        let actual = proposal
            .status
            .value_milli
            .or(proposal.status.average_value_milli);
        checks.equal("usage_milli", Some(usage), actual);
    }
    Ok(checks)
}

fn run_controller_reconcile(vector: &Node<'_>, config: &HpaConfig) -> Result<Checks, HpaError> {
    let input = vector.field("input")?;
    let expected = vector.field("expected")?;
    let hpa_node = input.field("hpa")?;
    let metrics = hpa_node
        .field("metrics")?
        .items()?
        .iter()
        .map(parse_metric)
        .collect::<Result<Vec<_>, _>>()?;
    let behavior = match hpa_node.opt_field("behavior") {
        None => None,
        Some(behavior) => Some(Behavior {
            scale_up: behavior
                .opt_field("scale_up")
                .map(|n| parse_rules(&n))
                .transpose()?,
            scale_down: behavior
                .opt_field("scale_down")
                .map(|n| parse_rules(&n))
                .transpose()?,
        }),
    };
    let spec = HpaSpec {
        min_replicas: hpa_node
            .opt_field("min_replicas")
            .map(|n| n.i32())
            .transpose()?,
        max_replicas: hpa_node.field("max_replicas")?.i32()?,
        metrics: metrics.clone(),
        behavior,
    };
    let cluster = parse_cluster(&input, &metrics)?;

    let mut hpa = HorizontalPodAutoscaler::new(spec);
    hpa.recommendations = match input.field("recommendation_history") {
        Ok(history) if history.is_null() => None,
        Ok(history) => Some(parse_recommendations(&history)?),
        Err(error) => return Err(error),
    };
    hpa.scale_up_events = parse_events(&input, "scale_up_events")?;
    hpa.scale_down_events = parse_events(&input, "scale_down_events")?;
    let outcome = hpa.reconcile(config, &cluster.reconcile_input());

    let mut checks = Checks::default();
    checks.equal(
        "desired_replicas",
        expected.field("desired_replicas")?.i64()?,
        i64::from(outcome.desired_replicas),
    );
    checks.equal(
        "rescaled",
        expected.field("rescaled")?.bool()?,
        outcome.rescale,
    );
    let mut expected_conditions = Vec::new();
    for condition in expected.field("conditions")?.items()? {
        expected_conditions.push(format!(
            "{}/{}/{}",
            condition.field("type")?.str()?,
            condition.field("status")?.str()?,
            condition.field("reason")?.str()?
        ));
    }
    let actual_conditions: Vec<String> = outcome
        .conditions
        .iter()
        .map(|c| {
            let status = if c.status { "True" } else { "False" };
            format!("{}/{status}/{}", c.kind, c.reason)
        })
        .collect();
    checks.equal("conditions", expected_conditions, actual_conditions);
    if let Some(utilization) = expect_i64(&expected, "cpu_utilization_percent")? {
        checks.equal(
            "cpu_utilization_percent",
            Some(utilization),
            outcome.cpu_utilization_percent.map(i64::from),
        );
    }
    if let Some(attempted) = expect_i64(&expected, "attempted_replicas")? {
        checks.equal(
            "attempted_replicas",
            Some(attempted),
            outcome.attempted_replicas.map(i64::from),
        );
    }
    Ok(checks)
}

fn run_legacy_clamp(vector: &Node<'_>, config: &HpaConfig) -> Result<Checks, HpaError> {
    let input = vector.field("input")?;
    let expected = vector.field("expected")?;
    let limited = convert_desired_replicas_with_rules(
        input.field("current_replicas")?.i32()?,
        input.field("desired_replicas")?.i32()?,
        input.field("min_replicas")?.i32()?,
        input.field("max_replicas")?.i32()?,
        config,
    );
    let mut checks = Checks::default();
    checks.equal(
        "replicas",
        expected.field("replicas")?.i32()?,
        limited.replicas,
    );
    checks.equal("reason", expected.field("reason")?.str()?, limited.reason);
    Ok(checks)
}

fn run_legacy_stabilization(vector: &Node<'_>, _config: &HpaConfig) -> Result<Checks, HpaError> {
    let input = vector.field("input")?;
    let expected = vector.field("expected")?;
    let mut history = parse_recommendations(&input.field("recommendations")?)?;
    let stabilized = stabilize_recommendation(
        &mut history,
        input.field("desired_replicas")?.i32()?,
        NOW_S,
        input.field("window_s")?.f64()?,
    );
    let mut checks = Checks::default();
    checks.equal(
        "stabilized_replicas",
        expected.field("stabilized_replicas")?.i32()?,
        stabilized,
    );
    if let Some(length) = expect_i64(&expected, "history_length_after")? {
        checks.equal("history_length_after", length, history.len() as i64);
    }
    Ok(checks)
}

fn run_behavior_stabilization(vector: &Node<'_>, _config: &HpaConfig) -> Result<Checks, HpaError> {
    let input = vector.field("input")?;
    let expected = vector.field("expected")?;
    let mut history = parse_recommendations(&input.field("recommendations")?)?;
    let (stabilized, _) = stabilize_recommendation_with_behaviors(
        &mut history,
        input.field("current_replicas")?.i32()?,
        input.field("desired_replicas")?.i32()?,
        NOW_S,
        input.field("scale_up_window_s")?.f64()?,
        input.field("scale_down_window_s")?.f64()?,
    );
    let mut checks = Checks::default();
    checks.equal(
        "stabilized_replicas",
        expected.field("stabilized_replicas")?.i32()?,
        stabilized,
    );
    if let Some(after) = expected.opt_field("history_replicas_after") {
        let expected_after = after
            .items()?
            .iter()
            .map(Node::i32)
            .collect::<Result<Vec<_>, _>>()?;
        let actual_after: Vec<i32> = history.iter().map(|r| r.replicas).collect();
        checks.equal("history_replicas_after", expected_after, actual_after);
    }
    Ok(checks)
}

fn run_behavior_rate_limit(vector: &Node<'_>, config: &HpaConfig) -> Result<Checks, HpaError> {
    let input = vector.field("input")?;
    let expected = vector.field("expected")?;
    let limited = convert_desired_replicas_with_behavior_rate(
        input.field("current_replicas")?.i32()?,
        input.field("desired_replicas")?.i32()?,
        input.field("min_replicas")?.i32()?,
        input.field("max_replicas")?.i32()?,
        &effective_up(&input)?,
        &effective_down(&input, config)?,
        &parse_events(&input, "scale_up_events")?,
        &parse_events(&input, "scale_down_events")?,
        NOW_S,
    );
    let mut checks = Checks::default();
    checks.equal(
        "replicas",
        expected.field("replicas")?.i32()?,
        limited.replicas,
    );
    checks.equal("reason", expected.field("reason")?.str()?, limited.reason);
    Ok(checks)
}

fn run_behavior_limit_only(vector: &Node<'_>, config: &HpaConfig) -> Result<Checks, HpaError> {
    let input = vector.field("input")?;
    let expected = vector.field("expected")?;
    let current = input.field("current_replicas")?.i32()?;
    let rules = parse_rules(&input.field("rules")?)?;
    let up_events = parse_events(&input, "scale_up_events")?;
    let down_events = parse_events(&input, "scale_down_events")?;
    let direction = input.field("direction")?;
    let limit = match direction.str()? {
        "up" => {
            let rules = ScalingRules::effective_scale_up(Some(&rules));
            calculate_scale_up_limit(current, &up_events, &down_events, &rules, NOW_S)
        }
        "down" => {
            let rules =
                ScalingRules::effective_scale_down(Some(&rules), config.downscale_stabilization_s);
            calculate_scale_down_limit(current, &up_events, &down_events, &rules, NOW_S)
        }
        other => {
            return Err(direction.error(format!("must be \"up\" or \"down\", found {other:?}")));
        }
    };
    let mut checks = Checks::default();
    checks.equal("limit", expected.field("limit")?.i32()?, limit);
    Ok(checks)
}

fn run_scale_event_store(vector: &Node<'_>, _config: &HpaConfig) -> Result<Checks, HpaError> {
    let input = vector.field("input")?;
    let expected = vector.field("expected")?;
    let mut events = parse_events(&input, "previous_events")?;
    let window = input.field("window_for_sum_s")?.i32()?;
    let before = replicas_change_per_period(window, &events, NOW_S);
    if input.field("behavior_set")?.bool()? {
        let rules_node = input.field("rules")?;
        if rules_node.is_null() {
            return Err(rules_node.error("must be set when behavior_set is true"));
        }
        let rules = ScalingRules::effective_scale_up(Some(&parse_rules(&rules_node)?));
        store_scale_event(
            &mut events,
            &rules,
            input.field("new_change")?.i32()?,
            NOW_S,
        );
    }

    let mut checks = Checks::default();
    checks.equal(
        "change_in_window_before_store",
        expected.field("change_in_window_before_store")?.i32()?,
        before,
    );
    let mut expected_events = Vec::new();
    for event in expected.field("events_after_store")?.items()? {
        expected_events.push((
            event.field("change")?.i32()?,
            event.field("outdated")?.bool()?,
        ));
    }
    let actual_events: Vec<(i32, bool)> = events.iter().map(|e| (e.change, e.outdated)).collect();
    checks.equal("events_after_store", expected_events, actual_events);
    Ok(checks)
}

fn run_group_pods(vector: &Node<'_>, config: &HpaConfig) -> Result<Checks, HpaError> {
    let input = vector.field("input")?;
    let expected = vector.field("expected")?;
    let pods = input
        .field("pods")?
        .items()?
        .iter()
        .map(parse_pod_status)
        .collect::<Result<Vec<_>, _>>()?;
    let mut samples = BTreeMap::new();
    for metric in input.field("metrics")?.items()? {
        samples.insert(
            metric.field("name")?.str()?.to_string(),
            MetricSample {
                value_milli: metric.field("value")?.i64()?,
                timestamp_s: metric.field("timestamp_s")?.time(NOW_S)?,
                window_s: metric.field("window_s")?.f64()?,
            },
        );
    }
    let resource = input.field("resource")?;
    let groups = group_pods(&pods, &samples, resource.str()?, config, NOW_S);

    let names = |key: &str| -> Result<BTreeSet<String>, HpaError> {
        expected
            .field(key)?
            .items()?
            .iter()
            .map(|n| Ok(n.str()?.to_string()))
            .collect()
    };
    let mut checks = Checks::default();
    checks.equal(
        "ready_count",
        expected.field("ready_count")?.i64()?,
        groups.ready_count as i64,
    );
    checks.equal("unready", names("unready")?, &groups.unready);
    checks.equal("missing", names("missing")?, &groups.missing);
    checks.equal("ignored", names("ignored")?, &groups.ignored);
    Ok(checks)
}

fn run_pod_requests(vector: &Node<'_>, _config: &HpaConfig) -> Result<Checks, HpaError> {
    let input = vector.field("input")?;
    let expected = vector.field("expected")?;
    let resource = input.field("resource")?.str()?.to_string();
    let parse_container =
        |node: &Node<'_>, kind: ContainerKind| -> Result<ContainerView, HpaError> {
            let request = node
                .opt_field("request_milli")
                .map(|n| n.i64())
                .transpose()?;
            Ok(ContainerView {
                name: node.field("name")?.str()?.to_string(),
                kind,
                requests_milli: request.map(|r| (resource.clone(), r)).into_iter().collect(),
            })
        };
    let mut containers = Vec::new();
    for node in input.field("containers")?.items()? {
        containers.push(parse_container(&node, ContainerKind::Regular)?);
    }
    for node in input.field("init_containers")?.items()? {
        let kind = if node.field("restart_policy_always")?.bool()? {
            ContainerKind::RestartableInit
        } else {
            ContainerKind::Init
        };
        containers.push(parse_container(&node, kind)?);
    }
    let pod_level = input
        .opt_field("pod_level_request_milli")
        .map(|n| n.i64())
        .transpose()?;
    let pod = PodView {
        name: "pod".to_string(),
        start_s: Some(EPOCH_S),
        containers,
        pod_level_requests_milli: pod_level
            .map(|r| (resource.clone(), r))
            .into_iter()
            .collect(),
        ..PodView::default()
    };
    let result = calculate_requests(
        std::slice::from_ref(&pod),
        input.field("container")?.str()?,
        &resource,
        input.field("pod_level_resources_feature")?.bool()?,
    );

    let mut checks = Checks::default();
    let actual = result.map(|requests| requests.get("pod").copied());
    match expected.opt_field("error_contains") {
        Some(needle) => {
            let needle = needle.str()?;
            let ok = matches!(&actual, Err(message) if message.contains(needle));
            checks.custom(
                "error",
                format!("containing {needle:?}"),
                format!("{actual:?}"),
                ok,
            );
        }
        None => checks.equal(
            "request_milli",
            Ok::<_, String>(Some(expected.field("request_milli")?.i64()?)),
            actual,
        ),
    }
    Ok(checks)
}
