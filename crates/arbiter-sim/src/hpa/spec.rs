//! The HPA spec: metrics, targets and `behavior`, with the API defaults and validation.

use std::sync::LazyLock;

use super::error::HpaError;

/// The autoscaling/v2 `HorizontalPodAutoscalerSpec` without the scale target reference.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSpec {
    /// Lower bound of the replica count; `None` means 1 (`reconcileAutoscaler`, horizontal.go).
    pub min_replicas: Option<i32>,
    /// Upper bound of the replica count.
    pub max_replicas: i32,
    /// Metrics to scale on. An empty list means CPU utilization 80%, the API default
    /// (`pkg/apis/autoscaling/v2/defaults.go`).
    pub metrics: Vec<MetricSpec>,
    /// Scaling rules. `None` selects the legacy normalization (stabilization window from the
    /// controller flag, scale-up limit `max(2 × current, 4)`).
    pub behavior: Option<Behavior>,
}

/// Maximum `periodSeconds` of a scaling policy (`MaxPeriodSeconds`, validation.go).
const MAX_PERIOD_S: i32 = 1800;
/// Maximum `stabilizationWindowSeconds` (`MaxStabilizationWindowSeconds`, validation.go).
const MAX_STABILIZATION_WINDOW_S: i32 = 3600;
/// CPU utilization target of the metric the API adds when `metrics` is empty.
const DEFAULT_CPU_UTILIZATION_PERCENT: i32 = 80;

impl HpaSpec {
    /// Returns the metrics the controller evaluates: `metrics`, or the API default of CPU
    /// utilization 80% when it is empty.
    pub fn effective_metrics(&self) -> Vec<MetricSpec> {
        self.metrics_in_effect().to_vec()
    }

    /// Returns the metrics the controller evaluates, as [`HpaSpec::effective_metrics`] does,
    /// without copying them.
    pub(crate) fn metrics_in_effect(&self) -> &[MetricSpec] {
        static DEFAULT_METRICS: LazyLock<[MetricSpec; 1]> =
            LazyLock::new(|| [MetricSpec::cpu_utilization(DEFAULT_CPU_UTILIZATION_PERCENT)]);
        if self.metrics.is_empty() {
            DEFAULT_METRICS.as_slice()
        } else {
            &self.metrics
        }
    }

    /// Checks the spec against the API server's validation (`validateHorizontalPodAutoscalerSpec`,
    /// `validateMetrics` and `validateScalingRules` in validation.go) and returns the first
    /// violation. `min_replicas: Some(0)` passes only with an Object or External metric, as with
    /// the `HPAScaleToZero` gate on.
    pub fn validate(&self) -> Result<(), HpaError> {
        if self.max_replicas < 1 {
            return Err(invalid("max_replicas", self.max_replicas, "must be >= 1"));
        }
        let min = self.min_replicas.unwrap_or(1);
        if min < 0 {
            return Err(invalid("min_replicas", min, "must be >= 0"));
        }
        if min > self.max_replicas {
            return Err(invalid("min_replicas", min, "must be <= max_replicas"));
        }
        if min == 0
            && !self.metrics.iter().any(|metric| {
                matches!(
                    metric.source,
                    MetricSource::Object { .. } | MetricSource::External { .. }
                )
            })
        {
            return Err(invalid(
                "min_replicas",
                min,
                "0 needs at least one Object or External metric to support scaling to zero replicas",
            ));
        }
        for (index, metric) in self.metrics.iter().enumerate() {
            if let MetricSource::Unknown { type_name } = &metric.source {
                return Err(invalid(
                    &format!("metrics[{index}].type"),
                    type_name,
                    "must be Resource, ContainerResource, Pods, Object or External",
                ));
            }
        }
        if let Some(behavior) = &self.behavior {
            for (direction, rules) in [
                ("scale_up", &behavior.scale_up),
                ("scale_down", &behavior.scale_down),
            ] {
                if let Some(rules) = rules {
                    rules.validate(&format!("behavior.{direction}"))?;
                }
            }
        }
        Ok(())
    }
}

fn invalid(field: &str, value: impl ToString, reason: &str) -> HpaError {
    HpaError::InvalidSpec {
        field: field.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// One entry of `spec.metrics`: where the value comes from and the target it is compared with.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSpec {
    /// The metric source.
    pub source: MetricSource,
    /// The target value.
    pub target: MetricTarget,
}

impl MetricSpec {
    /// Builds a Resource `cpu` metric with a Utilization target in percent of the requests.
    pub fn cpu_utilization(target_percent: i32) -> MetricSpec {
        MetricSpec {
            source: MetricSource::Resource {
                resource: "cpu".to_string(),
            },
            target: MetricTarget {
                target_type: MetricTargetType::Utilization,
                average_utilization: Some(target_percent),
                ..MetricTarget::default()
            },
        }
    }
}

/// The `type` of a metric and its source fields.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricSource {
    /// Usage of a resource summed over each pod's containers, from the resource metrics API.
    Resource {
        /// Resource name, for example `cpu` or `memory`.
        resource: String,
    },
    /// Usage of a resource by one named container of each pod.
    ContainerResource {
        /// Resource name.
        resource: String,
        /// Container name.
        container: String,
    },
    /// A per-pod custom metric, averaged over the pods.
    Pods {
        /// Metric name.
        metric: String,
    },
    /// A custom metric of one Kubernetes object, for example an Ingress.
    Object {
        /// Metric name.
        metric: String,
    },
    /// A metric from outside the cluster, summed over all its series.
    External {
        /// Metric name.
        metric: String,
    },
    /// A type the controller does not know. The API server rejects these; a reconcile reports
    /// `InvalidMetricSourceType`.
    Unknown {
        /// The type as written.
        type_name: String,
    },
}

impl MetricSource {
    /// Returns the Kubernetes `MetricSourceType` name.
    pub fn type_name(&self) -> &str {
        match self {
            MetricSource::Resource { .. } => "Resource",
            MetricSource::ContainerResource { .. } => "ContainerResource",
            MetricSource::Pods { .. } => "Pods",
            MetricSource::Object { .. } => "Object",
            MetricSource::External { .. } => "External",
            MetricSource::Unknown { type_name } => type_name,
        }
    }
}

/// The `type` field of a `MetricTarget`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MetricTargetType {
    /// Percent of the pods' requests (Resource and ContainerResource only).
    #[default]
    Utilization,
    /// Value per pod.
    AverageValue,
    /// Total value.
    Value,
}

/// A `MetricTarget`. Like the Go controller, the replica calculation reads the value fields that
/// are set. `target_type` only selects between the Value and AverageValue forms of Object metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricTarget {
    /// The declared type.
    pub target_type: MetricTargetType,
    /// Percent of requests, for Utilization targets.
    pub average_utilization: Option<i32>,
    /// Value per pod in milli-units, for AverageValue targets.
    pub average_value_milli: Option<i64>,
    /// Total value in milli-units, for Value targets.
    pub value_milli: Option<i64>,
}

/// The current value of one metric, as in `status.currentMetrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricStatus {
    /// Utilization in percent of requests (Resource and ContainerResource Utilization targets).
    pub average_utilization: Option<i32>,
    /// Average value per pod in milli-units.
    pub average_value_milli: Option<i64>,
    /// Total value in milli-units (Object and External Value targets).
    pub value_milli: Option<i64>,
}

/// `spec.behavior`: scaling rules per direction. A direction left `None` gets the API defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Behavior {
    /// Rules for scaling up.
    pub scale_up: Option<ScalingRules>,
    /// Rules for scaling down.
    pub scale_down: Option<ScalingRules>,
}

/// `HPAScalingRules` as written by the user. Each `None` field gets its default from
/// [`ScalingRules::effective_scale_up`] or [`ScalingRules::effective_scale_down`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScalingRules {
    /// Seconds of past recommendations considered by stabilization.
    pub stabilization_window_s: Option<i32>,
    /// How to combine the policies.
    pub select_policy: Option<SelectPolicy>,
    /// Rate limits. A list given here replaces the default list.
    pub policies: Option<Vec<ScalingPolicy>>,
    /// Per-HPA tolerance for this direction (`HPAConfigurableTolerance`).
    pub tolerance: Option<f64>,
}

/// `selectPolicy` of a scaling rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    /// Allow the largest change any policy allows.
    Max,
    /// Allow the smallest change any policy allows.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `HPAScalingPolicy`: at most `value` pods or percent of change within `period_s` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    /// Pods or Percent.
    pub policy_type: ScalingPolicyType,
    /// Amount of change, > 0.
    pub value: i32,
    /// Length of the look-back period in seconds, 1 to 1800.
    pub period_s: i32,
}

/// The unit of a [`ScalingPolicy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingPolicyType {
    /// An absolute number of pods.
    Pods,
    /// Percent of the replica count at the start of the period.
    Percent,
}

/// Scaling rules with every default filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct EffectiveScalingRules {
    /// Stabilization window in seconds.
    pub stabilization_window_s: f64,
    /// How to combine the policies.
    pub select_policy: SelectPolicy,
    /// Rate limits.
    pub policies: Vec<ScalingPolicy>,
    /// Per-HPA tolerance, if set.
    pub tolerance: Option<f64>,
}

impl ScalingRules {
    /// Fills the scale-up defaults: window 0 s, selectPolicy Max, policies
    /// `[4 Pods / 15 s, 100 Percent / 15 s]` (`GenerateHPAScaleUpRules`, pkg/apis/autoscaling/v2/defaults.go).
    pub fn effective_scale_up(rules: Option<&ScalingRules>) -> EffectiveScalingRules {
        let defaults = EffectiveScalingRules {
            stabilization_window_s: 0.0,
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    policy_type: ScalingPolicyType::Pods,
                    value: 4,
                    period_s: 15,
                },
                ScalingPolicy {
                    policy_type: ScalingPolicyType::Percent,
                    value: 100,
                    period_s: 15,
                },
            ],
            tolerance: None,
        };
        merge_rules(rules, defaults)
    }

    /// Fills the scale-down defaults: window from the controller flag
    /// (`maybeInitScaleDownStabilizationWindow`, horizontal.go), selectPolicy Max, policies
    /// `[100 Percent / 15 s]` (`GenerateHPAScaleDownRules`, defaults.go).
    pub fn effective_scale_down(
        rules: Option<&ScalingRules>,
        downscale_stabilization_s: f64,
    ) -> EffectiveScalingRules {
        let defaults = EffectiveScalingRules {
            stabilization_window_s: downscale_stabilization_s,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                policy_type: ScalingPolicyType::Percent,
                value: 100,
                period_s: 15,
            }],
            tolerance: None,
        };
        merge_rules(rules, defaults)
    }

    fn validate(&self, prefix: &str) -> Result<(), HpaError> {
        if let Some(window) = self.stabilization_window_s
            && !(0..=MAX_STABILIZATION_WINDOW_S).contains(&window)
        {
            return Err(invalid(
                &format!("{prefix}.stabilization_window_s"),
                window,
                "must be between 0 and 3600",
            ));
        }
        if let Some(tolerance) = self.tolerance
            && !(tolerance.is_finite() && tolerance >= 0.0)
        {
            return Err(invalid(
                &format!("{prefix}.tolerance"),
                tolerance,
                "must be a finite number >= 0",
            ));
        }
        if let Some(policies) = &self.policies {
            if policies.is_empty() {
                return Err(invalid(
                    &format!("{prefix}.policies"),
                    "[]",
                    "must hold at least one policy",
                ));
            }
            for (index, policy) in policies.iter().enumerate() {
                if policy.value <= 0 {
                    return Err(invalid(
                        &format!("{prefix}.policies[{index}].value"),
                        policy.value,
                        "must be > 0",
                    ));
                }
                if !(1..=MAX_PERIOD_S).contains(&policy.period_s) {
                    return Err(invalid(
                        &format!("{prefix}.policies[{index}].period_s"),
                        policy.period_s,
                        "must be between 1 and 1800",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Copies the fields the user set over the defaults (`copyHPAScalingRules`, defaults.go).
fn merge_rules(
    rules: Option<&ScalingRules>,
    mut defaults: EffectiveScalingRules,
) -> EffectiveScalingRules {
    let Some(rules) = rules else {
        return defaults;
    };
    if let Some(window) = rules.stabilization_window_s {
        defaults.stabilization_window_s = f64::from(window);
    }
    if let Some(select_policy) = rules.select_policy {
        defaults.select_policy = select_policy;
    }
    if let Some(policies) = &rules.policies {
        defaults.policies = policies.clone();
    }
    if rules.tolerance.is_some() {
        defaults.tolerance = rules.tolerance;
    }
    defaults
}
