//! One reconcile of one HPA (`reconcileAutoscaler` and `computeReplicasForMetrics`, horizontal.go).

use std::collections::BTreeMap;

use super::behavior::{
    Recommendation, ScaleEvent, convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules, stabilize_recommendation,
    stabilize_recommendation_with_behaviors, store_scale_event,
};
use super::conditions::{Condition, ConditionType, set_condition};
use super::config::{HpaConfig, Tolerances};
use super::metrics::{ApiFailures, ExtraPodMetrics, SelectorProblem};
use super::pods::{CPU, PodView};
use super::replica_calc::{self, CalcContext, MetricFailure};
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

/// The result of one reconcile.
#[derive(Clone, Debug, PartialEq)]
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
        let now_s = input.now_s;
        let current = input.spec_replicas;
        let metric_count = self.spec.effective_metrics().len();
        let mut outcome = ReconcileOutcome {
            desired_replicas: current,
            rescale: false,
            attempted_replicas: None,
            conditions: Vec::new(),
            cpu_utilization_percent: None,
            current_metrics: vec![None; metric_count],
            metric_desired_replicas: None,
            rescale_reason: String::new(),
            error: None,
        };

        if input.failures.get_scale {
            self.set(
                ConditionType::AbleToScale,
                false,
                "FailedGetScale",
                "the HPA controller was unable to get the target's current scale: the API call failed"
                    .to_string(),
                now_s,
            );
            outcome.error = Some("failed to query scale subresource".to_string());
            return self.finish(outcome);
        }
        self.set(
            ConditionType::AbleToScale,
            true,
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale".to_string(),
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
                "scaling is disabled since the replica count of the target is zero".to_string(),
                now_s,
            );
            return self.finish(outcome);
        } else if current > max_replicas {
            outcome.rescale_reason =
                "Current number of replicas above Spec.MaxReplicas".to_string();
            desired = max_replicas;
        } else if current < min_replicas {
            outcome.rescale_reason =
                "Current number of replicas below Spec.MinReplicas".to_string();
            desired = min_replicas;
        } else {
            match self.compute_replicas_for_metrics(config, input, &mut outcome) {
                Err(message) => {
                    outcome.error = Some(message);
                    return self.finish(outcome);
                }
                Ok((proposal, metric_name, partial_error)) => {
                    outcome.error = partial_error;
                    let proposal = proposal.max(0);
                    outcome.metric_desired_replicas = Some(proposal);
                    if proposal > current {
                        outcome.rescale_reason = format!("{metric_name} above target");
                    } else if proposal < current {
                        outcome.rescale_reason = "All metrics below target".to_string();
                    }
                    desired = match &self.spec.behavior {
                        None => self.normalize(config, current, proposal, min_replicas, now_s),
                        Some(behavior) => {
                            let behavior = behavior.clone();
                            self.normalize_with_behavior(
                                config,
                                &behavior,
                                current,
                                proposal,
                                min_replicas,
                                now_s,
                            )
                        }
                    };
                }
            }
            if desired == current {
                return self.finish(outcome);
            }
        }

        if input.failures.update_scale {
            self.set(
                ConditionType::AbleToScale,
                false,
                "FailedUpdateScale",
                "the HPA controller was unable to update the target scale: the API call failed"
                    .to_string(),
                now_s,
            );
            outcome.attempted_replicas = Some(desired);
            outcome.error = Some("failed to rescale the target".to_string());
            return self.finish(outcome);
        }
        self.set(
            ConditionType::AbleToScale,
            true,
            "SucceededRescale",
            format!("the HPA controller was able to update the target scale to {desired}"),
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
        self.finish(outcome)
    }

    fn set(
        &mut self,
        kind: ConditionType,
        status: bool,
        reason: &str,
        message: String,
        now_s: f64,
    ) {
        set_condition(&mut self.conditions, kind, status, reason, message, now_s);
    }

    fn finish(&self, mut outcome: ReconcileOutcome) -> ReconcileOutcome {
        outcome.conditions = self.conditions.clone();
        outcome
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
    /// third value is the error of the invalid metrics, which the controller still returns.
    fn compute_replicas_for_metrics(
        &mut self,
        config: &HpaConfig,
        input: &ReconcileInput<'_>,
        outcome: &mut ReconcileOutcome,
    ) -> Result<(i32, String, Option<String>), String> {
        let now_s = input.now_s;
        if let Some(problem) = &input.failures.selector {
            let (reason, message) = selector_condition(problem);
            self.set(
                ConditionType::ScalingActive,
                false,
                reason,
                message.clone(),
                now_s,
            );
            return Err(message);
        }

        let metrics = self.spec.effective_metrics();
        let tolerances = self.tolerances(config);
        let mut replicas = 0;
        let mut metric_name = String::new();
        let mut first_failure: Option<MetricFailure> = None;
        let mut invalid_count = 0;
        for (index, metric) in metrics.iter().enumerate() {
            match compute_replicas_for_metric(config, tolerances, input, metric) {
                Ok(proposal) => {
                    if outcome.cpu_utilization_percent.is_none()
                        && matches!(&metric.source, MetricSource::Resource { resource } if resource == CPU)
                    {
                        outcome.cpu_utilization_percent = proposal.status.average_utilization;
                    }
                    outcome.current_metrics[index] = Some(proposal.status);
                    if replicas == 0 || proposal.replicas > replicas {
                        replicas = proposal.replicas;
                        metric_name = proposal.metric_name;
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
            self.set(
                ConditionType::ScalingActive,
                false,
                &failure.reason,
                format!(
                    "the HPA was unable to compute the replica count: {}",
                    failure.message
                ),
                now_s,
            );
            return Err(partial_error.unwrap_or_default());
        }
        self.set(
            ConditionType::ScalingActive,
            true,
            "ValidMetricFound",
            format!(
                "the HPA was able to successfully calculate a replica count from {metric_name}"
            ),
            now_s,
        );
        Ok((replicas, metric_name, partial_error))
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
                "recommended size matches current size".to_string(),
                now_s,
            );
            return;
        }
        let message = if reason == "ScaleUpStabilized" {
            "recent recommendations were lower than current one, applying the lowest recent recommendation"
        } else {
            "recent recommendations were higher than current one, applying the highest recent recommendation"
        };
        self.set(
            ConditionType::AbleToScale,
            true,
            reason,
            message.to_string(),
            now_s,
        );
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
            limited.message.to_string(),
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
    let ctx = CalcContext {
        input,
        config,
        tolerances,
    };
    let spec_replicas = input.spec_replicas;
    let target = &metric.target;
    let fail = |reason: &str, message: String| MetricFailure {
        reason: reason.to_string(),
        message,
    };
    let ok = |replicas, metric_name: String, status| MetricProposal {
        replicas,
        metric_name,
        status,
    };

    match &metric.source {
        MetricSource::Resource { resource } | MetricSource::ContainerResource { resource, .. } => {
            let (container, reason, wrap) = match &metric.source {
                MetricSource::ContainerResource { container, .. } => (
                    container.as_str(),
                    "FailedGetContainerResourceMetric",
                    format!("failed to get {container} container metric value"),
                ),
                _ => (
                    "",
                    "FailedGetResourceMetric",
                    format!("failed to get {resource} resource metric value"),
                ),
            };
            if let Some(target_milli) = target.average_value_milli {
                return replica_calc::raw_resource_replicas(
                    &ctx,
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
                    ok(replicas, format!("{resource} resource"), status)
                })
                .map_err(|e| {
                    fail(
                        reason,
                        format!("{wrap}: failed to get {resource} usage: {e}"),
                    )
                });
            }
            let Some(target_utilization) = target.average_utilization else {
                return Err(fail(
                    reason,
                    format!(
                        "{wrap}: invalid resource metric source: neither an average utilization target nor an average value (usage) target was set"
                    ),
                ));
            };
            let kind = if container.is_empty() {
                "resource"
            } else {
                "container resource"
            };
            replica_calc::resource_replicas(
                &ctx,
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
                ok(
                    proposal.replicas,
                    format!("{resource} {kind} utilization (percentage of request)"),
                    status,
                )
            })
            .map_err(|e| {
                fail(
                    reason,
                    format!("{wrap}: failed to get {resource} utilization: {e}"),
                )
            })
        }
        MetricSource::Pods { metric: name } => {
            let reason = "FailedGetPodsMetric";
            let Some(target_milli) = target.average_value_milli else {
                return Err(fail(
                    reason,
                    "failed to get pods metric value: invalid pods metric source: no average value target was set".to_string(),
                ));
            };
            replica_calc::pods_metric_replicas(&ctx, spec_replicas, target_milli, name)
                .map(|(replicas, usage)| {
                    let status = MetricStatus {
                        average_value_milli: Some(usage),
                        ..MetricStatus::default()
                    };
                    ok(replicas, format!("pods metric {name}"), status)
                })
                .map_err(|e| fail(reason, format!("failed to get pods metric value: {e}")))
        }
        MetricSource::Object { metric: name } => {
            let reason = "FailedGetObjectMetric";
            let wrap = |e: String| fail(reason, format!("failed to get object metric value: {e}"));
            match (target.target_type, target.value_milli, target.average_value_milli) {
                (MetricTargetType::Value, Some(target_milli), _) => {
                    replica_calc::object_metric_replicas(&ctx, spec_replicas, target_milli, name)
                        .map(|(replicas, usage)| {
                            let status = MetricStatus {
                                value_milli: Some(usage),
                                ..MetricStatus::default()
                            };
                            ok(replicas, format!("object metric {name}"), status)
                        })
                        .map_err(wrap)
                }
                (MetricTargetType::AverageValue, _, Some(target_milli)) => {
                    replica_calc::object_per_pod_metric_replicas(&ctx, input.status_replicas, target_milli, name)
                        .map(|(replicas, usage)| {
                            let status = MetricStatus {
                                average_value_milli: Some(usage),
                                ..MetricStatus::default()
                            };
                            ok(replicas, format!("object metric {name}"), status)
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
                    &ctx,
                    input.status_replicas,
                    target_milli,
                    name,
                )
                .map(|(replicas, usage)| {
                    let status = MetricStatus {
                        average_value_milli: Some(usage),
                        ..MetricStatus::default()
                    };
                    ok(replicas, format!("external metric {name}"), status)
                })
                .map_err(wrap);
            }
            let Some(target_milli) = target.value_milli else {
                return Err(wrap(
                    "invalid external metric source: neither a value target nor an average value target was set".to_string(),
                ));
            };
            replica_calc::external_metric_replicas(&ctx, spec_replicas, target_milli, name)
                .map(|(replicas, usage)| {
                    let status = MetricStatus {
                        value_milli: Some(usage),
                        ..MetricStatus::default()
                    };
                    ok(replicas, format!("external metric {name}"), status)
                })
                .map_err(wrap)
        }
        MetricSource::Unknown { type_name } => Err(fail(
            "InvalidMetricSourceType",
            format!("unknown metric source type {type_name:?}"),
        )),
    }
}
