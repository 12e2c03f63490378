//! The metrics APIs and scale subresource as modelled inputs: samples, values and failures.

use std::collections::BTreeMap;

use super::pods::{MetricSample, PodList, PodResourceMetrics, PodSamples, resource_sample};
use super::reconcile::ReconcileInput;
use super::replica_calc::CalcContext;

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

/// Stores the resource samples of listed and extra pods in `samples`, by key
/// (`GetResourceMetric`, metrics/client.go). A later entry with the same key replaces an
/// earlier sample.
pub(crate) fn resource_metric<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    resource: &str,
    container: &str,
    samples: &mut PodSamples,
) -> Result<(), String> {
    let input = ctx.input;
    if input.failures.resource_metrics_api {
        return Err(
            "unable to fetch metrics from resource metrics API: the API call failed".to_string(),
        );
    }
    samples.reset(ctx.keys.count());
    let listed = ctx.pods.len();
    let mut items = 0_usize;
    for entry in 0..listed + input.extra_pod_metrics.len() {
        let item = match entry.checked_sub(listed) {
            None => ctx.pods.resource_sample(entry, resource, container),
            Some(extra) => {
                let extra = &input.extra_pod_metrics[extra];
                resource_sample(
                    &extra.name,
                    extra.resource_metrics.as_ref(),
                    extra.cpu.as_ref(),
                    resource,
                    container,
                )
            }
        };
        let Some(item) = item else {
            continue;
        };
        items += 1;
        match item {
            Ok(Some(sample)) => samples.insert(ctx.keys.of(entry), sample),
            Ok(None) => {}
            Err(message) => return Err(format!("failed to get container metrics: {message}")),
        }
    }
    if items == 0 {
        return Err("no metrics returned from resource metrics API".to_string());
    }
    Ok(())
}

/// Stores the per-pod samples of a custom metric in `samples`, by key (`GetRawMetric`,
/// metrics/client.go).
pub(crate) fn raw_metric<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    metric: &str,
    samples: &mut PodSamples,
) -> Result<(), String> {
    let input = ctx.input;
    if input.failures.custom_metrics_api {
        return Err(
            "unable to fetch metrics from custom metrics API: the API call failed".to_string(),
        );
    }
    samples.reset(ctx.keys.count());
    let listed = ctx.pods.len();
    for entry in 0..listed + input.extra_pod_metrics.len() {
        let sample = match entry.checked_sub(listed) {
            None => ctx.pods.custom_metric(entry, metric),
            Some(extra) => input.extra_pod_metrics[extra]
                .custom_metrics
                .get(metric)
                .copied(),
        };
        if let Some(sample) = sample {
            samples.insert(ctx.keys.of(entry), sample);
        }
    }
    if samples.is_empty() {
        return Err("no metrics returned from custom metrics API".to_string());
    }
    Ok(())
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
pub(crate) fn external_metric<'a>(
    input: &'a ReconcileInput<'_>,
    metric: &str,
) -> Result<&'a [i64], String> {
    if input.failures.external_metrics_api {
        return Err(
            "unable to fetch metrics from external metrics API: the API call failed".to_string(),
        );
    }
    match input.external_metrics_milli.get(metric) {
        Some(values) if !values.is_empty() => Ok(values),
        _ => Err("no metrics returned from external metrics API".to_string()),
    }
}
