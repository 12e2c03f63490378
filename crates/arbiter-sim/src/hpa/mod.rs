//! The HorizontalPodAutoscaler (autoscaling/v2) algorithm.
//!
//! A pure re-implementation of the replica calculation and normalization of the Kubernetes HPA
//! controller (`pkg/controller/podautoscaler/horizontal.go` and `replica_calculator.go`). It reads
//! no clock and does no I/O: the caller passes the time, the pods, the metric values and any API
//! failures in a [`ReconcileInput`], and [`HorizontalPodAutoscaler::reconcile`] returns the desired
//! replica count and the status conditions. The controller's in-memory state (recommendations and
//! scale events) lives in [`HorizontalPodAutoscaler`].
//!
//! Times are `f64` seconds on the caller's clock. Quantities are milli-units as returned by
//! Kubernetes `Quantity.MilliValue()`: millicores for CPU, value × 1000 for custom metrics.
//!
//! ```
//! use arbiter_sim::hpa::{
//!     HorizontalPodAutoscaler, HpaConfig, HpaSpec, MetricSample, MetricSpec, PodPhase, PodView,
//!     ReconcileInput,
//! };
//!
//! let spec = HpaSpec {
//!     min_replicas: Some(1),
//!     max_replicas: 10,
//!     metrics: vec![MetricSpec::cpu_utilization(50)],
//!     behavior: None,
//! };
//! let mut hpa = HorizontalPodAutoscaler::new(spec);
//! let pods: Vec<PodView> = (0..2)
//!     .map(|i| PodView {
//!         name: format!("web-{i}"),
//!         phase: PodPhase::Running,
//!         ready: Some(true),
//!         start_s: Some(-3600.0),
//!         ready_transition_s: Some(-3590.0),
//!         request_milli: Some(500),
//!         cpu: Some(MetricSample { value_milli: 500, timestamp_s: 0.0, window_s: 60.0 }),
//!         ..PodView::default()
//!     })
//!     .collect();
//! let outcome = hpa.reconcile(&HpaConfig::default(), &ReconcileInput::new(0.0, 2, 2, &pods));
//! // 100% against a 50% target on 2 pods gives 4 replicas.
//! assert_eq!(outcome.desired_replicas, 4);
//! assert_eq!(outcome.cpu_utilization_percent, Some(100));
//! ```
//!
//! # Version
//!
//! The rules follow upstream Kubernetes of about v1.33, an estimate from the features they
//! include. These are per-direction tolerances (`HPAConfigurableTolerance`), `calculateRequests`
//! with pod-level requests and sidecars, the `max(100, target)` fallback for missing pods on a
//! scale-down, and overflow caps at MaxInt32 and MaxInt64 for Object and External metrics.
//!
//! # Not modelled
//!
//! * Label selectors are not evaluated. The caller passes the pods that the scale target's
//!   selector matches, and a missing, unparsable or ambiguous selector as a [`SelectorProblem`].
//! * The metrics APIs are not queried. The caller passes pod samples in [`PodView`] and
//!   [`ExtraPodMetrics`], Object values by metric name, and External series by metric name.
//!   Metric selectors on Pods, Object and External metrics, and the described object of an Object
//!   metric, are not matched: the value is looked up by metric name only.
//! * The Ready condition is `true`, `false` or absent. Kubernetes' `Unknown` status is not
//!   modelled: `groupPods` treats it like `True`, and `getReadyPodsCount` like `False`.
//! * A Ready condition without a transition time counts as having changed at [`EPOCH_S`], the
//!   equivalent of Go's zero time.
//! * Events, metrics of the controller itself, and the status write (`updateStatusIfNeeded`) are
//!   not modelled. The conditions are kept in [`HorizontalPodAutoscaler::conditions`] between
//!   reconciles, as they would be kept in the HPA status.
//! * When no reconcile writes the scale, [`ReconcileOutcome::desired_replicas`] is the current
//!   replica count, while the real controller leaves `status.desiredReplicas` at its previous
//!   value on metric errors and on a failed scale update.
//! * The `HPAScaleToZero` gate and its `ScaledToZero` condition are not modelled: a spec with
//!   `min_replicas: Some(0)` behaves as in the mainstream controller, which computes metrics at
//!   zero replicas. The `HPAConfigurableTolerance` gate is treated as enabled: a `tolerance` set
//!   in a behavior rule overrides the controller tolerance.
//! * The `PodLevelResources` gate is [`HpaConfig::pod_level_resources`], off by default.
//! * Succeeded pods are counted like Running ones, as in the mainstream `groupPods`. Newer code
//!   ignores every terminal pod.
//! * Reconcile cadence and the work queue are the caller's job: call `reconcile` every
//!   [`HpaConfig::sync_period_s`].

mod behavior;
mod conditions;
mod config;
mod error;
mod metrics;
mod pods;
mod reconcile;
mod replica_calc;
mod spec;
#[cfg(test)]
mod tests;
mod vector_json;
mod vectors;

pub use behavior::{
    Recommendation, ScaleEvent, ScaleLimit, calculate_scale_down_limit, calculate_scale_up_limit,
    convert_desired_replicas_with_behavior_rate, convert_desired_replicas_with_rules,
    replicas_change_per_period, stabilize_recommendation, stabilize_recommendation_with_behaviors,
    store_scale_event,
};
pub use conditions::{Condition, ConditionType};
pub use config::{HpaConfig, Tolerances};
pub use error::HpaError;
pub use metrics::{ApiFailures, ExtraPodMetrics, SelectorProblem};
pub use pods::{
    ContainerKind, ContainerView, EPOCH_S, MetricSample, PodGroups, PodPhase, PodResourceMetrics,
    PodView, calculate_requests, group_pods,
};
pub(crate) use pods::{PodList, PodStatus};
pub(crate) use reconcile::ReconcileScratch;
pub use reconcile::{
    HorizontalPodAutoscaler, MetricProposal, ReconcileInput, ReconcileOutcome,
    compute_replicas_for_metric,
};
pub use replica_calc::MetricFailure;
pub use spec::{
    Behavior, EffectiveScalingRules, HpaSpec, MetricSource, MetricSpec, MetricStatus, MetricTarget,
    MetricTargetType, ScalingPolicy, ScalingPolicyType, ScalingRules, SelectPolicy,
};
pub use vectors::{VectorFailure, VectorReport, check_vectors, check_vectors_json};
