//! From one metric to a replica proposal (`ReplicaCalculator`, replica_calculator.go, and
//! `GetResourceUtilizationRatio` / `GetMetricUsageRatio`, metrics/utilization.go).

use super::config::{HpaConfig, Tolerances};
use super::metrics;
use super::pods::{
    IGNORED, KeyGroups, MISSING, MetricSample, PodKeys, PodList, PodPhase, PodSamples, UNREADY,
    group_pods_by_key, requests_by_key,
};
use super::reconcile::ReconcileInput;

/// A metric that yielded no proposal, with the ScalingActive reason the controller reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricFailure {
    /// `FailedGetResourceMetric`, `FailedGetContainerResourceMetric`, `FailedGetPodsMetric`,
    /// `FailedGetObjectMetric`, `FailedGetExternalMetric` or `InvalidMetricSourceType`.
    pub reason: String,
    /// The error chain, worded as in the Go controller.
    pub message: String,
}

/// Inputs of every replica calculation besides the metric itself.
pub(crate) struct CalcContext<'a, P: ?Sized> {
    /// Everything but the pods; `input.pods` is not read.
    pub input: &'a ReconcileInput<'a>,
    /// The pods matched by the selector.
    pub pods: &'a P,
    /// Keys of `pods` followed by those of `input.extra_pod_metrics`.
    pub keys: &'a PodKeys,
    pub config: &'a HpaConfig,
    pub tolerances: Tolerances,
}

/// Buffers of the replica calculation, reused from one metric and reconcile to the next.
#[derive(Clone, Debug, Default)]
pub(crate) struct CalcBuffers {
    samples: PodSamples,
    requests: Vec<Option<i64>>,
    groups: KeyGroups,
}

/// Result of a Utilization target.
pub(crate) struct UtilizationProposal {
    pub replicas: i32,
    pub utilization_percent: i32,
    pub raw_average_milli: i64,
}

/// Converts `ceil(x)` to a replica count, saturating at the i32 range as the MaxInt32 caps of
/// recent replica_calculator.go do. NaN gives 0.
fn ceil_replicas(x: f64) -> i32 {
    x.ceil() as i32
}

fn check_positive(kind: &str, target: i64) -> Result<(), String> {
    if target <= 0 {
        return Err(format!("invalid {kind} target {target}: must be > 0"));
    }
    Ok(())
}

/// Proposes replicas for a Utilization target on a resource (`GetResourceReplicas`).
///
/// The ratio of the ready samples decides. With missing pods, or unready pods on a scale-up, the
/// ratio is recomputed with fill-ins, and a fill-in that flips the direction or lands within
/// tolerance keeps `current`. The reported utilization is always the one before fill-ins.
pub(crate) fn resource_replicas<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    buffers: &mut CalcBuffers,
    current: i32,
    target_utilization: i32,
    resource: &str,
    container: &str,
) -> Result<UtilizationProposal, String> {
    check_positive("utilization", i64::from(target_utilization))?;
    let CalcBuffers {
        samples,
        requests,
        groups,
    } = buffers;
    metrics::resource_metric(ctx, resource, container, samples)
        .map_err(|e| format!("unable to get metrics for resource {resource}: {e}"))?;
    let pods = ctx.pods;
    group_ready_samples(ctx, samples, groups, resource)?;

    requests_by_key(
        pods,
        ctx.keys,
        container,
        resource,
        ctx.config.pod_level_resources,
        requests,
    )?;
    let (ratio, utilization, raw_average) =
        resource_utilization_ratio(samples, requests, target_utilization)?;
    let proposal = |replicas| UtilizationProposal {
        replicas,
        utilization_percent: utilization,
        raw_average_milli: raw_average,
    };

    let any_unready = groups.any(UNREADY);
    let any_missing = groups.any(MISSING);
    let scale_up_with_unready = any_unready && ratio > 1.0;
    if !scale_up_with_unready && !any_missing {
        if ctx.tolerances.is_within(ratio) {
            return Ok(proposal(current));
        }
        return Ok(proposal(ceil_replicas(ratio * groups.ready_count as f64)));
    }

    // Missing pods count at max(100%, target) of their request on a scale-down and at 0 on a
    // scale-up. At a ratio of exactly 1 nothing is filled in.
    if any_missing {
        let fallback_percent = i64::from(target_utilization.max(100));
        for key in groups.keys(MISSING) {
            let value_milli = if ratio < 1.0 {
                requests[key].unwrap_or(0).saturating_mul(fallback_percent) / 100
            } else if ratio > 1.0 {
                0
            } else {
                continue;
            };
            samples.insert(key, filled_sample(value_milli));
        }
    }
    if scale_up_with_unready {
        for key in groups.keys(UNREADY) {
            samples.insert(key, filled_sample(0));
        }
    }

    let (new_ratio, _, _) = resource_utilization_ratio(samples, requests, target_utilization)?;
    Ok(proposal(recheck_direction(
        ctx.tolerances,
        current,
        ratio,
        new_ratio,
        samples.len(),
    )))
}

/// Returns the count after fill-ins, for resource and plain metrics alike. It keeps `current`
/// when the new ratio is within tolerance or flips direction, and when the count lands on the
/// wrong side of `current`, for example with surge pods during a rolling update.
fn recheck_direction(
    tolerances: Tolerances,
    current: i32,
    ratio: f64,
    new_ratio: f64,
    sample_count: usize,
) -> i32 {
    let flipped = (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0);
    if tolerances.is_within(new_ratio) || flipped {
        return current;
    }
    let new_replicas = ceil_replicas(new_ratio * sample_count as f64);
    if (new_ratio < 1.0 && new_replicas > current) || (new_ratio > 1.0 && new_replicas < current) {
        return current;
    }
    new_replicas
}

fn filled_sample(value_milli: i64) -> MetricSample {
    MetricSample {
        value_milli,
        timestamp_s: 0.0,
        window_s: 0.0,
    }
}

/// Groups the pods by readiness and sample, as `groupPods` does, and keeps only the samples of
/// ready pods. Fails, as Kubernetes does, when the selector matched no pod or no ready pod
/// has a sample.
fn group_ready_samples<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    samples: &mut PodSamples,
    groups: &mut KeyGroups,
    resource: &str,
) -> Result<(), String> {
    if ctx.pods.len() == 0 {
        return Err("no pods returned by selector while calculating replica count".to_string());
    }
    group_pods_by_key(
        ctx.pods,
        ctx.keys,
        samples,
        resource,
        ctx.config,
        ctx.input.now_s,
        groups,
    );
    remove_samples(samples, groups, IGNORED | UNREADY);
    if samples.is_empty() {
        return Err(
            "did not receive metrics for targeted pods (pods might be unready)".to_string(),
        );
    }
    Ok(())
}

/// Removes the samples of the keys in any of the groups `flags`.
fn remove_samples(samples: &mut PodSamples, groups: &KeyGroups, flags: u8) {
    for key in groups.keys(flags) {
        samples.remove(key);
    }
}

/// Returns `(ratio, utilization %, raw average)` over the samples of pods that have a request
/// (`GetResourceUtilizationRatio`, metrics/utilization.go).
///
/// The utilization is `usage total × 100 / request total` in integer arithmetic, truncated, and
/// the ratio is computed from that truncated percentage. The raw average is `usage total / n`.
/// Samples of keys without a request are skipped.
pub(crate) fn resource_utilization_ratio(
    samples: &PodSamples,
    requests: &[Option<i64>],
    target_utilization: i32,
) -> Result<(f64, i32, i64), String> {
    let mut usage_total: i128 = 0;
    let mut request_total: i128 = 0;
    let mut entries: i128 = 0;
    for (key, sample) in samples.iter() {
        let Some(request) = requests[key] else {
            continue;
        };
        usage_total += i128::from(sample.value_milli);
        request_total += i128::from(request);
        entries += 1;
    }
    if request_total == 0 {
        return Err("no metrics returned matched known pods".to_string());
    }
    // NOTE: newer upstream texts either clamp an overflowing percentage to int32 or return an
    // error; this clamps.
    let utilization =
        (usage_total * 100 / request_total).clamp(i32::MIN.into(), i32::MAX.into()) as i32;
    let raw_average = (usage_total / entries).clamp(i64::MIN.into(), i64::MAX.into()) as i64;
    Ok((
        f64::from(utilization) / f64::from(target_utilization),
        utilization,
        raw_average,
    ))
}

/// Returns `(ratio, average)` with the average in integer division and the ratio computed from
/// it (`GetMetricUsageRatio`, metrics/utilization.go).
fn metric_usage_ratio(samples: &PodSamples, target_milli: i64) -> (f64, i64) {
    let total: i128 = samples
        .iter()
        .map(|(_, sample)| i128::from(sample.value_milli))
        .sum();
    let average =
        (total / samples.len().max(1) as i128).clamp(i64::MIN.into(), i64::MAX.into()) as i64;
    (average as f64 / target_milli as f64, average)
}

/// Proposes replicas for an AverageValue target on a resource (`GetRawResourceReplicas`).
pub(crate) fn raw_resource_replicas<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    buffers: &mut CalcBuffers,
    current: i32,
    target_milli: i64,
    resource: &str,
    container: &str,
) -> Result<(i32, i64), String> {
    check_positive("average value", target_milli)?;
    metrics::resource_metric(ctx, resource, container, &mut buffers.samples)
        .map_err(|e| format!("unable to get metrics for resource {resource}: {e}"))?;
    plain_metric_replicas(ctx, buffers, current, target_milli, resource)
}

/// Proposes replicas for a Pods metric (`GetMetricReplicas`).
pub(crate) fn pods_metric_replicas<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    buffers: &mut CalcBuffers,
    current: i32,
    target_milli: i64,
    metric: &str,
) -> Result<(i32, i64), String> {
    check_positive("average value", target_milli)?;
    metrics::raw_metric(ctx, metric, &mut buffers.samples)
        .map_err(|e| format!("unable to get metric {metric}: {e}"))?;
    plain_metric_replicas(ctx, buffers, current, target_milli, "")
}

/// Proposes replicas for AverageValue targets (`calcPlainMetricReplicas`) from the samples in
/// `buffers`. It works like [`resource_replicas`] but on the plain average of the samples,
/// superfluous samples included. Missing pods count at the target on a scale-down and at 0
/// otherwise. Readiness is checked only for `cpu`.
fn plain_metric_replicas<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    buffers: &mut CalcBuffers,
    current: i32,
    target_milli: i64,
    resource: &str,
) -> Result<(i32, i64), String> {
    let CalcBuffers {
        samples, groups, ..
    } = buffers;
    group_ready_samples(ctx, samples, groups, resource)?;

    let (ratio, usage) = metric_usage_ratio(samples, target_milli);
    let any_unready = groups.any(UNREADY);
    let any_missing = groups.any(MISSING);
    let scale_up_with_unready = any_unready && ratio > 1.0;
    if !scale_up_with_unready && !any_missing {
        if ctx.tolerances.is_within(ratio) {
            return Ok((current, usage));
        }
        return Ok((ceil_replicas(ratio * groups.ready_count as f64), usage));
    }

    for key in groups.keys(MISSING) {
        let value_milli = if ratio < 1.0 { target_milli } else { 0 };
        samples.insert(key, filled_sample(value_milli));
    }
    if scale_up_with_unready {
        for key in groups.keys(UNREADY) {
            samples.insert(key, filled_sample(0));
        }
    }

    let (new_ratio, _) = metric_usage_ratio(samples, target_milli);
    let replicas = recheck_direction(ctx.tolerances, current, ratio, new_ratio, samples.len());
    Ok((replicas, usage))
}

/// Proposes replicas for an Object metric with a Value target (`GetObjectMetricReplicas`).
pub(crate) fn object_metric_replicas<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    current: i32,
    target_milli: i64,
    metric: &str,
) -> Result<(i32, i64), String> {
    check_positive("value", target_milli)?;
    let usage = metrics::object_metric(ctx.input, metric)
        .map_err(|e| format!("unable to get metric {metric}: {e}"))?;
    let ratio = usage as f64 / target_milli as f64;
    Ok((usage_ratio_replica_count(ctx, current, ratio)?, usage))
}

/// Proposes replicas for an External metric with a Value target (`GetExternalMetricReplicas`).
/// The series are summed, saturating at MaxInt64.
pub(crate) fn external_metric_replicas<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    current: i32,
    target_milli: i64,
    metric: &str,
) -> Result<(i32, i64), String> {
    check_positive("value", target_milli)?;
    let usage = external_sum(ctx.input, metric)?;
    let ratio = usage as f64 / target_milli as f64;
    Ok((usage_ratio_replica_count(ctx, current, ratio)?, usage))
}

fn external_sum(input: &ReconcileInput<'_>, metric: &str) -> Result<i64, String> {
    let values = metrics::external_metric(input, metric)
        .map_err(|e| format!("unable to get external metric {metric}: {e}"))?;
    Ok(values
        .iter()
        .fold(0_i64, |sum, value| sum.saturating_add(*value)))
}

/// Proposes replicas for an Object metric with an AverageValue target
/// (`GetObjectPerPodMetricReplicas`). Uses status replicas and ignores readiness.
pub(crate) fn object_per_pod_metric_replicas<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    status_replicas: i32,
    target_milli: i64,
    metric: &str,
) -> Result<(i32, i64), String> {
    check_positive("average value", target_milli)?;
    let usage = metrics::object_metric(ctx.input, metric)
        .map_err(|e| format!("unable to get metric {metric}: {e}"))?;
    Ok(per_pod_replicas(
        ctx.tolerances,
        status_replicas,
        target_milli,
        usage,
    ))
}

/// Proposes replicas for an External metric with an AverageValue target
/// (`GetExternalPerPodMetricReplicas`).
pub(crate) fn external_per_pod_metric_replicas<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    status_replicas: i32,
    target_milli: i64,
    metric: &str,
) -> Result<(i32, i64), String> {
    check_positive("average value", target_milli)?;
    let usage = external_sum(ctx.input, metric)?;
    Ok(per_pod_replicas(
        ctx.tolerances,
        status_replicas,
        target_milli,
        usage,
    ))
}

/// Returns `ceil(usage / target)` replicas unless `usage / (target × status)` is within
/// tolerance, and the per-pod usage `ceil(usage / status)`. Both saturate at the integer range.
fn per_pod_replicas(
    tolerances: Tolerances,
    status_replicas: i32,
    target_milli: i64,
    usage: i64,
) -> (i32, i64) {
    let ratio = usage as f64 / (target_milli as f64 * f64::from(status_replicas));
    let replicas = if tolerances.is_within(ratio) {
        status_replicas
    } else {
        ceil_replicas(usage as f64 / target_milli as f64)
    };
    let per_pod = (usage as f64 / f64::from(status_replicas)).ceil() as i64;
    (replicas, per_pod)
}

/// Turns a ratio into replicas for Value targets (`getUsageRatioReplicaCount`). At 0 current
/// replicas it returns `ceil(ratio)` with no tolerance check, which allows scaling from zero.
/// Otherwise it returns `current` within tolerance, else `ceil(ratio × ready pods)`.
fn usage_ratio_replica_count<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    current: i32,
    ratio: f64,
) -> Result<i32, String> {
    if current == 0 {
        return Ok(ceil_replicas(ratio));
    }
    if ctx.tolerances.is_within(ratio) {
        return Ok(current);
    }
    let ready =
        ready_pods_count(ctx.pods).map_err(|e| format!("unable to calculate ready pods: {e}"))?;
    Ok(ceil_replicas(ratio * ready as f64))
}

/// Counts Running pods whose Ready condition is True, deleting ones included (`getReadyPodsCount`).
fn ready_pods_count<P: PodList + ?Sized>(pods: &P) -> Result<usize, String> {
    if pods.len() == 0 {
        return Err("no pods returned by selector while calculating replica count".to_string());
    }
    Ok((0..pods.len())
        .map(|index| pods.status(index))
        .filter(|pod| pod.phase == PodPhase::Running && pod.ready == Some(true))
        .count())
}
