//! The metrics APIs and scale subresource as modelled inputs: samples, values and failures.

use std::collections::BTreeMap;

use super::pods::{MetricSample, PodResourceMetrics, resource_sample};
use super::reconcile::ReconcileInput;

/// Metric samples for a pod that the selector does not list. Kubernetes keeps such
/// "superfluous" samples in the replica count of the missing-pod path.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExtraPodMetrics {
    /// Pod name.
    pub name: String,
    /// CPU usage total; used when `resource_metrics` is `None`.
    pub cpu: Option<MetricSample>,
    /// The resource metrics API item, per container.
    pub resource_metrics: Option<PodResourceMetrics>,
    /// Per-pod custom metric samples by metric name.
    pub custom_metrics: BTreeMap<String, MetricSample>,
}

/// A problem with the scale target's selector (`validateAndParseSelector`, horizontal.go).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectorProblem {
    /// `status.selector` of the scale subresource is empty (reason `InvalidSelector`).
    Missing,
    /// The selector does not parse (reason `InvalidSelector`). Contains the selector text.
    Unparsable(String),
    /// Pods under the selector are also selected by other HPAs (reason `AmbiguousSelector`).
    /// Contains the names of all those HPAs.
    Ambiguous(Vec<String>),
}

/// API calls that fail in this reconcile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApiFailures {
    /// Reading the scale subresource fails (`FailedGetScale`).
    pub get_scale: bool,
    /// Writing the scale subresource fails (`FailedUpdateScale`).
    pub update_scale: bool,
    /// The resource metrics API (metrics.k8s.io) fails.
    pub resource_metrics_api: bool,
    /// The custom metrics API fails; it serves both Pods and Object metrics.
    pub custom_metrics_api: bool,
    /// The external metrics API fails.
    pub external_metrics_api: bool,
    /// A selector problem, if any.
    pub selector: Option<SelectorProblem>,
}

/// Pod metric samples by pod name (`PodMetricsInfo`, metrics/interfaces.go).
pub(crate) type PodMetricsInfo = BTreeMap<String, MetricSample>;

/// Returns the resource samples of listed and extra pods (`GetResourceMetric`, metrics/client.go).
pub(crate) fn resource_metric(
    input: &ReconcileInput<'_>,
    resource: &str,
    container: &str,
) -> Result<PodMetricsInfo, String> {
    if input.failures.resource_metrics_api {
        return Err(
            "unable to fetch metrics from resource metrics API: the API call failed".to_string(),
        );
    }
    let listed = input
        .pods
        .iter()
        .map(|pod| (pod.name.as_str(), pod.resource_sample(resource, container)));
    let extra = input.extra_pod_metrics.iter().map(|extra| {
        let sample = resource_sample(
            &extra.name,
            extra.resource_metrics.as_ref(),
            extra.cpu.as_ref(),
            resource,
            container,
        );
        (extra.name.as_str(), sample)
    });
    let mut samples = PodMetricsInfo::new();
    let mut items = 0_usize;
    for (name, item) in listed.chain(extra) {
        let Some(item) = item else {
            continue;
        };
        items += 1;
        match item {
            Ok(Some(sample)) => {
                samples.insert(name.to_string(), sample);
            }
            Ok(None) => {}
            Err(message) => return Err(format!("failed to get container metrics: {message}")),
        }
    }
    if items == 0 {
        return Err("no metrics returned from resource metrics API".to_string());
    }
    Ok(samples)
}

/// Returns the per-pod samples of a custom metric (`GetRawMetric`, metrics/client.go).
pub(crate) fn raw_metric(
    input: &ReconcileInput<'_>,
    metric: &str,
) -> Result<PodMetricsInfo, String> {
    if input.failures.custom_metrics_api {
        return Err(
            "unable to fetch metrics from custom metrics API: the API call failed".to_string(),
        );
    }
    let listed = input
        .pods
        .iter()
        .map(|pod| (pod.name.as_str(), pod.custom_metrics.get(metric)));
    let extra = input
        .extra_pod_metrics
        .iter()
        .map(|extra| (extra.name.as_str(), extra.custom_metrics.get(metric)));
    let samples: PodMetricsInfo = listed
        .chain(extra)
        .filter_map(|(name, sample)| sample.map(|sample| (name.to_string(), *sample)))
        .collect();
    if samples.is_empty() {
        return Err("no metrics returned from custom metrics API".to_string());
    }
    Ok(samples)
}

/// Returns the value of an Object metric (`GetObjectMetric`, metrics/client.go).
pub(crate) fn object_metric(input: &ReconcileInput<'_>, metric: &str) -> Result<i64, String> {
    if input.failures.custom_metrics_api {
        return Err(
            "unable to fetch metrics from custom metrics API: the API call failed".to_string(),
        );
    }
    input
        .object_metrics_milli
        .get(metric)
        .copied()
        .ok_or_else(|| format!("no value for object metric {metric}"))
}

/// Returns the series of an External metric (`GetExternalMetric`, metrics/client.go).
pub(crate) fn external_metric(
    input: &ReconcileInput<'_>,
    metric: &str,
) -> Result<Vec<i64>, String> {
    if input.failures.external_metrics_api {
        return Err(
            "unable to fetch metrics from external metrics API: the API call failed".to_string(),
        );
    }
    match input.external_metrics_milli.get(metric) {
        Some(values) if !values.is_empty() => Ok(values.clone()),
        _ => Err("no metrics returned from external metrics API".to_string()),
    }
}
