//! One reconcile of one HPA (`reconcileAutoscaler` and `computeReplicasForMetrics`, horizontal.go).

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use super::behavior::{
    Recommendation, ScaleEvent, convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules, stabilize_recommendation,
    stabilize_recommendation_with_behaviors, store_scale_event,
};
use super::conditions::{Condition, ConditionType, set_condition};
use super::config::{HpaConfig, Tolerances};
use super::metrics::{ApiFailures, ExtraPodMetrics, SelectorProblem};
use super::pods::{CPU, PodKeys, PodList, PodView};
use super::replica_calc::{self, CalcBuffers, CalcContext, MetricFailure};
use super::spec::{
    Behavior, HpaSpec, MetricSource, MetricSpec, MetricStatus, MetricTargetType, ScalingRules,
};

/// Everything one reconcile reads from the cluster: the scale subresource, the pods under the
/// selector, the metric values, and the API calls that fail.
#[derive(Clone, Debug, Default)]
pub struct ReconcileInput<'a> {
    /// The evaluation time in seconds.
    pub now_s: f64,
    /// `scale.spec.replicas`, the controller's current replica count.
    pub spec_replicas: i32,
    /// `scale.status.replicas`, used by the per-pod forms of Object and External metrics.
    pub status_replicas: i32,
    /// Pods matched by the scale target's selector.
    pub pods: &'a [PodView],
    /// Samples for pods the selector does not list.
    pub extra_pod_metrics: &'a [ExtraPodMetrics],
    /// Object metric values in milli-units by metric name.
    pub object_metrics_milli: BTreeMap<String, i64>,
    /// External metric series in milli-units by metric name; they are summed.
    pub external_metrics_milli: BTreeMap<String, Vec<i64>>,
    /// Failing API calls and selector problems.
    pub failures: ApiFailures,
}

impl<'a> ReconcileInput<'a> {
    /// Builds an input with no extra samples, no Object or External values and no failures.
    pub fn new(now_s: f64, spec_replicas: i32, status_replicas: i32, pods: &'a [PodView]) -> Self {
        ReconcileInput {
            now_s,
            spec_replicas,
            status_replicas,
            pods,
            ..ReconcileInput::default()
        }
    }
}

/// Buffers of one reconcile, kept by the caller between reconciles so that the steady state
/// allocates nothing.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReconcileScratch {
    keys: PodKeys,
    buffers: CalcBuffers,
}

impl ReconcileScratch {
    /// Assigns the keys that join `pods` and `input.extra_pod_metrics` with their samples.
    fn assign_keys<P: PodList + ?Sized>(&mut self, input: &ReconcileInput<'_>, pods: &P) {
        let listed = pods.len();
        let extras = input.extra_pod_metrics;
        let distinct = extras.is_empty() && pods.names_distinct();
        self.keys.assign(listed + extras.len(), distinct, |entry| {
            match entry.checked_sub(listed) {
                None => pods.name(entry),
                Some(extra) => extras[extra].name.as_str(),
            }
        });
    }
}

/// The result of one reconcile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReconcileOutcome {
    /// The replica count the target has after this reconcile: the new count after a successful
    /// rescale, otherwise the current count.
    pub desired_replicas: i32,
    /// Whether the scale subresource was written successfully.
    pub rescale: bool,
    /// The count the controller tried to write when the write failed.
    pub attempted_replicas: Option<i32>,
    /// All status conditions in insertion order: AbleToScale, ScalingActive, ScalingLimited.
    pub conditions: Vec<Condition>,
    /// Utilization of the first Resource `cpu` metric with a Utilization target, when computed.
    pub cpu_utilization_percent: Option<i32>,
    /// Current values per entry of `spec.metrics`, `None` where the metric failed or was not read.
    pub current_metrics: Vec<Option<MetricStatus>>,
    /// The proposal from the metrics before normalization, when the metric path ran and succeeded.
    pub metric_desired_replicas: Option<i32>,
    /// The reason for the rescale, worded as in the controller's SuccessfulRescale event.
    pub rescale_reason: String,
    /// The error the controller returns from this reconcile, if any.
    pub error: Option<String>,
}

impl ReconcileOutcome {
    /// Empties the outcome for a reconcile at `current` replicas with `metric_count` metrics,
    /// keeping its allocations. The conditions are left for the reconcile to overwrite.
    fn reset(&mut self, current: i32, metric_count: usize) {
        self.desired_replicas = current;
        self.rescale = false;
        self.attempted_replicas = None;
        self.cpu_utilization_percent = None;
        self.current_metrics.clear();
        self.current_metrics.resize(metric_count, None);
        self.metric_desired_replicas = None;
        self.rescale_reason.clear();
        self.error = None;
    }
}

/// One metric's proposal (`computeReplicasForMetric`, horizontal.go).
#[derive(Clone, Debug, PartialEq)]
pub struct MetricProposal {
    /// Proposed replica count.
    pub replicas: i32,
    /// Metric description used in messages, for example `cpu resource utilization (percentage of request)`.
    pub metric_name: String,
    /// The current value for `status.currentMetrics`.
    pub status: MetricStatus,
}

/// An HPA object with the controller's in-memory state for it.
///
/// The state is what horizontal.go keeps per HPA key: recommendations, scale-up and scale-down
/// events. The conditions stand for the HPA status, which the controller reads back on the next
/// reconcile. Create a new value when the HPA or the controller restarts.
#[derive(Clone, Debug)]
pub struct HorizontalPodAutoscaler {
    /// The HPA spec.
    pub spec: HpaSpec,
    /// Pre-normalization recommendations; `None` until the first reconcile seeds it with the
    /// current replica count (`recordInitialRecommendation`).
    pub recommendations: Option<Vec<Recommendation>>,
    /// Successful scale-ups, kept only when `behavior` is set.
    pub scale_up_events: Vec<ScaleEvent>,
    /// Successful scale-downs, kept only when `behavior` is set.
    pub scale_down_events: Vec<ScaleEvent>,
    /// `status.conditions`.
    pub conditions: Vec<Condition>,
    /// `status.lastScaleTime`, in seconds.
    pub last_scale_time_s: Option<f64>,
}

impl HorizontalPodAutoscaler {
    /// Creates an HPA that the controller has not seen yet.
    pub fn new(spec: HpaSpec) -> Self {
        HorizontalPodAutoscaler {
            spec,
            recommendations: None,
            scale_up_events: Vec::new(),
            scale_down_events: Vec::new(),
            conditions: Vec::new(),
            last_scale_time_s: None,
        }
    }

    /// Runs one reconcile (`reconcileAutoscaler`, horizontal.go).
    ///
    /// The steps run in this order:
    /// 1. read the scale and seed the recommendations;
    /// 2. take the special branches for 0 replicas and for counts outside `[min, max]`, which
    ///    skip metrics and normalization;
    /// 3. otherwise compute the metric proposal, then stabilize, rate-limit and clamp it;
    /// 4. write the scale and store the scale event.
    ///
    /// Like the controller, it does not validate the spec. Call [`HpaSpec::validate`] for the
    /// API server's checks.
    pub fn reconcile(
        &mut self,
        config: &HpaConfig,
        input: &ReconcileInput<'_>,
    ) -> ReconcileOutcome {
        let mut scratch = ReconcileScratch::default();
        let mut outcome = ReconcileOutcome::default();
        self.reconcile_into(config, input, input.pods, &mut scratch, &mut outcome);
        outcome
    }

    /// Runs one reconcile like [`HorizontalPodAutoscaler::reconcile`] on `pods` in place of
    /// `input.pods`, and writes the result into `outcome`. Reusing `scratch` and `outcome`
    /// from one reconcile to the next avoids allocating in the steady state.
    pub(crate) fn reconcile_into<P: PodList + ?Sized>(
        &mut self,
        config: &HpaConfig,
        input: &ReconcileInput<'_>,
        pods: &P,
        scratch: &mut ReconcileScratch,
        outcome: &mut ReconcileOutcome,
    ) {
        self.decide_into(config, input, pods, scratch, outcome);
        outcome.conditions.clone_from(&self.conditions);
    }

    /// Runs one reconcile as [`HorizontalPodAutoscaler::reconcile_into`] does, but leaves
    /// `outcome.conditions` as they were, for callers that read the conditions from the HPA
    /// itself, if at all.
    pub(crate) fn decide_into<P: PodList + ?Sized>(
        &mut self,
        config: &HpaConfig,
        input: &ReconcileInput<'_>,
        pods: &P,
        scratch: &mut ReconcileScratch,
        outcome: &mut ReconcileOutcome,
    ) {
        outcome.reset(input.spec_replicas, self.spec.metrics_in_effect().len());
        self.run(config, input, pods, scratch, outcome);
    }

    /// Runs the steps of [`HorizontalPodAutoscaler::reconcile`], except copying the
    /// conditions into the outcome.
    fn run<P: PodList + ?Sized>(
        &mut self,
        config: &HpaConfig,
        input: &ReconcileInput<'_>,
        pods: &P,
        scratch: &mut ReconcileScratch,
        outcome: &mut ReconcileOutcome,
    ) {
        let now_s = input.now_s;
        let current = input.spec_replicas;

        if input.failures.get_scale {
            self.set(
                ConditionType::AbleToScale,
                false,
                "FailedGetScale",
                "the HPA controller was unable to get the target's current scale: the API call failed",
                now_s,
            );
            outcome.error = Some("failed to query scale subresource".to_string());
            return;
        }
        self.set(
            ConditionType::AbleToScale,
            true,
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
            now_s,
        );
        if self.recommendations.is_none() {
            self.recommendations = Some(vec![Recommendation {
                replicas: current,
                timestamp_s: now_s,
            }]);
        }

        let min_replicas = self.spec.min_replicas.unwrap_or(1);
        let max_replicas = self.spec.max_replicas;
        let desired;
        if current == 0 && min_replicas != 0 {
            // The target was scaled to zero by hand: autoscaling is off until it is scaled up.
            self.set(
                ConditionType::ScalingActive,
                false,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
                now_s,
            );
            return;
        } else if current > max_replicas {
            outcome
                .rescale_reason
                .push_str("Current number of replicas above Spec.MaxReplicas");
            desired = max_replicas;
        } else if current < min_replicas {
            outcome
                .rescale_reason
                .push_str("Current number of replicas below Spec.MinReplicas");
            desired = min_replicas;
        } else {
            match self.compute_replicas_for_metrics(config, input, pods, scratch, outcome) {
                Err(message) => {
                    outcome.error = Some(message);
                    return;
                }
                Ok((proposal, best_metric, partial_error)) => {
                    outcome.error = partial_error;
                    let proposal = proposal.max(0);
                    outcome.metric_desired_replicas = Some(proposal);
                    if proposal > current {
                        let metric = best_metric.map(|index| &self.spec.metrics_in_effect()[index]);
                        write!(
                            outcome.rescale_reason,
                            "{} above target",
                            MetricName(metric)
                        )
                        .expect("formatting into a String");
                    } else if proposal < current {
                        outcome.rescale_reason.push_str("All metrics below target");
                    }
                    // The behavior is taken out of the spec for the call and put back, so
                    // normalizing can borrow `self` mutably without cloning it.
                    desired = match self.spec.behavior.take() {
                        None => self.normalize(config, current, proposal, min_replicas, now_s),
                        Some(behavior) => {
                            let desired = self.normalize_with_behavior(
                                config,
                                &behavior,
                                current,
                                proposal,
                                min_replicas,
                                now_s,
                            );
                            self.spec.behavior = Some(behavior);
                            desired
                        }
                    };
                }
            }
            if desired == current {
                return;
            }
        }

        if input.failures.update_scale {
            self.set(
                ConditionType::AbleToScale,
                false,
                "FailedUpdateScale",
                "the HPA controller was unable to update the target scale: the API call failed",
                now_s,
            );
            outcome.attempted_replicas = Some(desired);
            outcome.error = Some("failed to rescale the target".to_string());
            return;
        }
        self.set(
            ConditionType::AbleToScale,
            true,
            "SucceededRescale",
            format_args!("the HPA controller was able to update the target scale to {desired}"),
            now_s,
        );
        if let Some(behavior) = &self.spec.behavior {
            let change = desired.abs_diff(current).min(i32::MAX as u32) as i32;
            if desired > current {
                let rules = ScalingRules::effective_scale_up(behavior.scale_up.as_ref());
                store_scale_event(&mut self.scale_up_events, &rules, change, now_s);
            } else {
                let rules = ScalingRules::effective_scale_down(
                    behavior.scale_down.as_ref(),
                    config.downscale_stabilization_s,
                );
                store_scale_event(&mut self.scale_down_events, &rules, change, now_s);
            }
        }
        self.last_scale_time_s = Some(now_s);
        outcome.desired_replicas = desired;
        outcome.rescale = true;
    }

    fn set(
        &mut self,
        kind: ConditionType,
        status: bool,
        reason: &str,
        message: impl fmt::Display,
        now_s: f64,
    ) {
        set_condition(&mut self.conditions, kind, status, reason, message, now_s);
    }

    /// Returns the controller tolerances, overridden per direction by a `tolerance` set in
    /// `behavior` (`tolerancesForHpa`, horizontal.go).
    fn tolerances(&self, config: &HpaConfig) -> Tolerances {
        let mut tolerances = config.tolerances();
        if let Some(behavior) = &self.spec.behavior {
            let rule_tolerance =
                |rules: &Option<ScalingRules>| rules.as_ref().and_then(|r| r.tolerance);
            if let Some(tolerance) = rule_tolerance(&behavior.scale_up) {
                tolerances.scale_up = tolerance;
            }
            if let Some(tolerance) = rule_tolerance(&behavior.scale_down) {
                tolerances.scale_down = tolerance;
            }
        }
        tolerances
    }

    /// Evaluates every metric and returns the largest proposal (`computeReplicasForMetrics`).
    ///
    /// Fails with the first invalid metric's ScalingActive condition when every metric is invalid,
    /// or when some are and the valid ones propose fewer than `spec_replicas`: an error blocks
    /// scale-downs but not scale-ups. No recommendation is recorded on failure. On success the
    /// second value is the index of the metric whose proposal was taken, and the third the error
    /// of the invalid metrics, which the controller still returns.
    fn compute_replicas_for_metrics<P: PodList + ?Sized>(
        &mut self,
        config: &HpaConfig,
        input: &ReconcileInput<'_>,
        pods: &P,
        scratch: &mut ReconcileScratch,
        outcome: &mut ReconcileOutcome,
    ) -> Result<(i32, Option<usize>, Option<String>), String> {
        let now_s = input.now_s;
        if let Some(problem) = &input.failures.selector {
            let (reason, message) = selector_condition(problem);
            self.set(ConditionType::ScalingActive, false, reason, &message, now_s);
            return Err(message);
        }

        let tolerances = self.tolerances(config);
        let metrics = self.spec.metrics_in_effect();
        scratch.assign_keys(input, pods);
        let ctx = CalcContext {
            input,
            pods,
            keys: &scratch.keys,
            config,
            tolerances,
        };
        let mut replicas = 0;
        let mut best_metric = None;
        let mut first_failure: Option<MetricFailure> = None;
        let mut invalid_count = 0;
        for (index, metric) in metrics.iter().enumerate() {
            match metric_replicas(&ctx, &mut scratch.buffers, metric) {
                Ok((proposal, status)) => {
                    if outcome.cpu_utilization_percent.is_none()
                        && matches!(&metric.source, MetricSource::Resource { resource } if resource == CPU)
                    {
                        outcome.cpu_utilization_percent = status.average_utilization;
                    }
                    outcome.current_metrics[index] = Some(status);
                    if replicas == 0 || proposal > replicas {
                        replicas = proposal;
                        best_metric = Some(index);
                    }
                }
                Err(failure) => {
                    invalid_count += 1;
                    if first_failure.is_none() {
                        first_failure = Some(failure);
                    }
                }
            }
        }

        let partial_error = first_failure.as_ref().map(|failure| {
            format!(
                "invalid metrics ({invalid_count} invalid out of {}), first error is: {}",
                metrics.len(),
                failure.message
            )
        });
        if let Some(failure) = &first_failure
            && (invalid_count >= metrics.len() || replicas < input.spec_replicas)
        {
            set_condition(
                &mut self.conditions,
                ConditionType::ScalingActive,
                false,
                &failure.reason,
                format_args!(
                    "the HPA was unable to compute the replica count: {}",
                    failure.message
                ),
                now_s,
            );
            return Err(partial_error.unwrap_or_default());
        }
        let metric = best_metric.map(|index| &metrics[index]);
        set_condition(
            &mut self.conditions,
            ConditionType::ScalingActive,
            true,
            "ValidMetricFound",
            format_args!(
                "the HPA was able to successfully calculate a replica count from {}",
                MetricName(metric)
            ),
            now_s,
        );
        Ok((replicas, best_metric, partial_error))
    }

    /// Normalizes without `behavior` (`normalizeDesiredReplicas`): legacy stabilization over the
    /// controller window, then the clamp with the legacy scale-up limit.
    fn normalize(
        &mut self,
        config: &HpaConfig,
        current: i32,
        proposal: i32,
        min_replicas: i32,
        now_s: f64,
    ) -> i32 {
        let history = self.recommendations.get_or_insert_with(Vec::new);
        let stabilized =
            stabilize_recommendation(history, proposal, now_s, config.downscale_stabilization_s);
        self.set_stabilization_condition(stabilized, proposal, "ScaleDownStabilized", now_s);
        let limited = convert_desired_replicas_with_rules(
            current,
            stabilized,
            min_replicas,
            self.spec.max_replicas,
            config,
        );
        self.set_limit_condition(&limited, stabilized, now_s);
        limited.replicas
    }

    /// Normalizes with `behavior` (`normalizeDesiredReplicasWithBehaviors`): stabilization over
    /// both windows, then rate limits and bounds.
    fn normalize_with_behavior(
        &mut self,
        config: &HpaConfig,
        behavior: &Behavior,
        current: i32,
        proposal: i32,
        min_replicas: i32,
        now_s: f64,
    ) -> i32 {
        let scale_up = ScalingRules::effective_scale_up(behavior.scale_up.as_ref());
        let scale_down = ScalingRules::effective_scale_down(
            behavior.scale_down.as_ref(),
            config.downscale_stabilization_s,
        );
        let history = self.recommendations.get_or_insert_with(Vec::new);
        let (stabilized, reason) = stabilize_recommendation_with_behaviors(
            history,
            current,
            proposal,
            now_s,
            scale_up.stabilization_window_s,
            scale_down.stabilization_window_s,
        );
        self.set_stabilization_condition(stabilized, proposal, reason, now_s);
        let limited = convert_desired_replicas_with_behavior_rate(
            current,
            stabilized,
            min_replicas,
            self.spec.max_replicas,
            &scale_up,
            &scale_down,
            &self.scale_up_events,
            &self.scale_down_events,
            now_s,
        );
        self.set_limit_condition(&limited, stabilized, now_s);
        limited.replicas
    }

    fn set_stabilization_condition(
        &mut self,
        stabilized: i32,
        proposal: i32,
        reason: &str,
        now_s: f64,
    ) {
        if stabilized == proposal {
            self.set(
                ConditionType::AbleToScale,
                true,
                "ReadyForNewScale",
                "recommended size matches current size",
                now_s,
            );
            return;
        }
        let message = if reason == "ScaleUpStabilized" {
            "recent recommendations were lower than current one, applying the lowest recent recommendation"
        } else {
            "recent recommendations were higher than current one, applying the highest recent recommendation"
        };
        self.set(ConditionType::AbleToScale, true, reason, message, now_s);
    }

    fn set_limit_condition(
        &mut self,
        limited: &super::behavior::ScaleLimit,
        stabilized: i32,
        now_s: f64,
    ) {
        self.set(
            ConditionType::ScalingLimited,
            limited.replicas != stabilized,
            limited.reason,
            limited.message,
            now_s,
        );
    }
}

fn selector_condition(problem: &SelectorProblem) -> (&'static str, String) {
    match problem {
        SelectorProblem::Missing => (
            "InvalidSelector",
            "the HPA target's scale is missing a selector".to_string(),
        ),
        SelectorProblem::Unparsable(selector) => (
            "InvalidSelector",
            format!(
                "couldn't convert selector into a corresponding internal selector object: {selector:?}"
            ),
        ),
        SelectorProblem::Ambiguous(hpas) => (
            "AmbiguousSelector",
            format!("pods by selector are controlled by multiple HPAs: {hpas:?}"),
        ),
    }
}

/// Computes one metric's proposal (`computeReplicasForMetric` and the `computeStatusFor*Metric`
/// functions, horizontal.go).
///
/// Resource, ContainerResource and Pods metrics and the Value forms of Object and External
/// metrics use `spec_replicas` as the current count. The AverageValue forms of Object and
/// External use `status_replicas`. A Resource target with `average_value_milli` set is an
/// AverageValue target whatever its type.
pub fn compute_replicas_for_metric(
    config: &HpaConfig,
    tolerances: Tolerances,
    input: &ReconcileInput<'_>,
    metric: &MetricSpec,
) -> Result<MetricProposal, MetricFailure> {
    let mut scratch = ReconcileScratch::default();
    scratch.assign_keys(input, input.pods);
    let ctx = CalcContext {
        input,
        pods: input.pods,
        keys: &scratch.keys,
        config,
        tolerances,
    };
    let (replicas, status) = metric_replicas(&ctx, &mut scratch.buffers, metric)?;
    Ok(MetricProposal {
        replicas,
        metric_name: MetricName(Some(metric)).to_string(),
        status,
    })
}

/// Computes one metric's proposal as [`compute_replicas_for_metric`] does, without its
/// description, on the pods and keys of `ctx`.
fn metric_replicas<P: PodList + ?Sized>(
    ctx: &CalcContext<'_, P>,
    buffers: &mut CalcBuffers,
    metric: &MetricSpec,
) -> Result<(i32, MetricStatus), MetricFailure> {
    let input = ctx.input;
    let spec_replicas = input.spec_replicas;
    let target = &metric.target;
    let fail = |reason: &str, message: String| MetricFailure {
        reason: reason.to_string(),
        message,
    };

    match &metric.source {
        MetricSource::Resource { resource } | MetricSource::ContainerResource { resource, .. } => {
            let container = match &metric.source {
                MetricSource::ContainerResource { container, .. } => Some(container.as_str()),
                _ => None,
            };
            let wrap = |message: String| match container {
                Some(container) => fail(
                    "FailedGetContainerResourceMetric",
                    format!("failed to get {container} container metric value: {message}"),
                ),
                None => fail(
                    "FailedGetResourceMetric",
                    format!("failed to get {resource} resource metric value: {message}"),
                ),
            };
            let container = container.unwrap_or("");
            if let Some(target_milli) = target.average_value_milli {
                return replica_calc::raw_resource_replicas(
                    ctx,
                    buffers,
                    spec_replicas,
                    target_milli,
                    resource,
                    container,
                )
                .map(|(replicas, usage)| {
                    let status = MetricStatus {
                        average_value_milli: Some(usage),
                        ..MetricStatus::default()
                    };
                    (replicas, status)
                })
                .map_err(|e| wrap(format!("failed to get {resource} usage: {e}")));
            }
            let Some(target_utilization) = target.average_utilization else {
                return Err(wrap(
                    "invalid resource metric source: neither an average utilization target nor an average value (usage) target was set".to_string(),
                ));
            };
            replica_calc::resource_replicas(
                ctx,
                buffers,
                spec_replicas,
                target_utilization,
                resource,
                container,
            )
            .map(|proposal| {
                let status = MetricStatus {
                    average_utilization: Some(proposal.utilization_percent),
                    average_value_milli: Some(proposal.raw_average_milli),
                    value_milli: None,
                };
                (proposal.replicas, status)
            })
            .map_err(|e| wrap(format!("failed to get {resource} utilization: {e}")))
        }
        MetricSource::Pods { metric: name } => {
            let reason = "FailedGetPodsMetric";
            let Some(target_milli) = target.average_value_milli else {
                return Err(fail(
                    reason,
                    "failed to get pods metric value: invalid pods metric source: no average value target was set".to_string(),
                ));
            };
            replica_calc::pods_metric_replicas(ctx, buffers, spec_replicas, target_milli, name)
                .map(|(replicas, usage)| {
                    let status = MetricStatus {
                        average_value_milli: Some(usage),
                        ..MetricStatus::default()
                    };
                    (replicas, status)
                })
                .map_err(|e| fail(reason, format!("failed to get pods metric value: {e}")))
        }
        MetricSource::Object { metric: name } => {
            let reason = "FailedGetObjectMetric";
            let wrap = |e: String| fail(reason, format!("failed to get object metric value: {e}"));
            match (target.target_type, target.value_milli, target.average_value_milli) {
                (MetricTargetType::Value, Some(target_milli), _) => {
                    replica_calc::object_metric_replicas(ctx, spec_replicas, target_milli, name)
                        .map(|(replicas, usage)| {
                            let status = MetricStatus {
                                value_milli: Some(usage),
                                ..MetricStatus::default()
                            };
                            (replicas, status)
                        })
                        .map_err(wrap)
                }
                (MetricTargetType::AverageValue, _, Some(target_milli)) => {
                    replica_calc::object_per_pod_metric_replicas(ctx, input.status_replicas, target_milli, name)
                        .map(|(replicas, usage)| {
                            let status = MetricStatus {
                                average_value_milli: Some(usage),
                                ..MetricStatus::default()
                            };
                            (replicas, status)
                        })
                        .map_err(wrap)
                }
                _ => Err(wrap(
                    "invalid object metric source: neither a value target nor an average value target was set".to_string(),
                )),
            }
        }
        MetricSource::External { metric: name } => {
            let reason = "FailedGetExternalMetric";
            let wrap = |e: String| {
                fail(
                    reason,
                    format!("failed to get {name} external metric value: {e}"),
                )
            };
            if let Some(target_milli) = target.average_value_milli {
                return replica_calc::external_per_pod_metric_replicas(
                    ctx,
                    input.status_replicas,
                    target_milli,
                    name,
                )
                .map(|(replicas, usage)| {
                    let status = MetricStatus {
                        average_value_milli: Some(usage),
                        ..MetricStatus::default()
                    };
                    (replicas, status)
                })
                .map_err(wrap);
            }
            let Some(target_milli) = target.value_milli else {
                return Err(wrap(
                    "invalid external metric source: neither a value target nor an average value target was set".to_string(),
                ));
            };
            replica_calc::external_metric_replicas(ctx, spec_replicas, target_milli, name)
                .map(|(replicas, usage)| {
                    let status = MetricStatus {
                        value_milli: Some(usage),
                        ..MetricStatus::default()
                    };
                    (replicas, status)
                })
                .map_err(wrap)
        }
        MetricSource::Unknown { type_name } => Err(fail(
            "InvalidMetricSourceType",
            format!("unknown metric source type {type_name:?}"),
        )),
    }
}

/// The description of a metric in the controller's messages and in
/// [`MetricProposal::metric_name`], for example `cpu resource utilization (percentage of
/// request)`. It is written only when a message needs it. `None` writes nothing.
struct MetricName<'a>(Option<&'a MetricSpec>);

impl fmt::Display for MetricName<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(metric) = self.0 else {
            return Ok(());
        };
        match &metric.source {
            MetricSource::Resource { resource }
            | MetricSource::ContainerResource { resource, .. } => {
                if metric.target.average_value_milli.is_some() {
                    return write!(formatter, "{resource} resource");
                }
                let kind = match &metric.source {
                    MetricSource::ContainerResource { container, .. } if !container.is_empty() => {
                        "container resource"
                    }
                    _ => "resource",
                };
                write!(
                    formatter,
                    "{resource} {kind} utilization (percentage of request)"
                )
            }
            MetricSource::Pods { metric: name } => write!(formatter, "pods metric {name}"),
            MetricSource::Object { metric: name } => write!(formatter, "object metric {name}"),
            MetricSource::External { metric: name } => {
                write!(formatter, "external metric {name}")
            }
            MetricSource::Unknown { .. } => Ok(()),
        }
    }
}
