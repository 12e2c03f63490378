//! Controller settings: the `--horizontal-pod-autoscaler-*` flags of kube-controller-manager.

use super::error::HpaError;

/// Settings of the HPA controller.
///
/// `Default` contains the production values from
/// `pkg/controller/podautoscaler/config/v1alpha1/defaults.go` and the legacy scale-up limit
/// (`scaleUpLimitFactor`, `scaleUpLimitMinimum`) from `horizontal.go`. Kubernetes' own unit tests
/// use other values (a 120 s initialization period, a 10 s readiness delay and a legacy factor of
/// 8), so results from those tests only hold under those settings.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaConfig {
    /// Usage ratio above 1 that still counts as on target (`--horizontal-pod-autoscaler-tolerance`, 0.1).
    pub tolerance_scale_up: f64,
    /// Usage ratio below 1 that still counts as on target (same flag, 0.1).
    pub tolerance_scale_down: f64,
    /// Seconds after pod start during which CPU samples need a full window after readiness
    /// (`--horizontal-pod-autoscaler-cpu-initialization-period`, 300 s).
    pub cpu_initialization_period_s: f64,
    /// Seconds after pod start within which a readiness change means "never ready"
    /// (`--horizontal-pod-autoscaler-initial-readiness-delay`, 30 s).
    pub initial_readiness_delay_s: f64,
    /// Scale-down stabilization window without `behavior`, and the default scale-down window with
    /// it (`--horizontal-pod-autoscaler-downscale-stabilization`, 300 s).
    pub downscale_stabilization_s: f64,
    /// Interval between reconciles of one HPA (`--horizontal-pod-autoscaler-sync-period`, 15 s).
    /// The module does not read it; callers schedule reconciles with it.
    pub sync_period_s: f64,
    /// Factor of the legacy scale-up limit `max(factor × current, minimum)` used when the HPA has
    /// no `behavior` (`scaleUpLimitFactor` in `horizontal.go`, 2.0).
    pub legacy_scale_up_limit_factor: f64,
    /// Minimum of the legacy scale-up limit (`scaleUpLimitMinimum` in `horizontal.go`, 4.0).
    pub legacy_scale_up_limit_minimum: f64,
    /// Whether the `PodLevelResources` feature gate is on, so pod-level requests replace the sum
    /// of container requests. Off by default here.
    pub pod_level_resources: bool,
}

impl Default for HpaConfig {
    fn default() -> Self {
        HpaConfig {
            tolerance_scale_up: 0.1,
            tolerance_scale_down: 0.1,
            cpu_initialization_period_s: 300.0,
            initial_readiness_delay_s: 30.0,
            downscale_stabilization_s: 300.0,
            sync_period_s: 15.0,
            legacy_scale_up_limit_factor: 2.0,
            legacy_scale_up_limit_minimum: 4.0,
            pod_level_resources: false,
        }
    }
}

impl HpaConfig {
    /// Checks that every setting is finite and in range: tolerances and durations non-negative,
    /// the sync period positive.
    pub fn validate(&self) -> Result<(), HpaError> {
        let non_negative = [
            ("tolerance_scale_up", self.tolerance_scale_up),
            ("tolerance_scale_down", self.tolerance_scale_down),
            (
                "cpu_initialization_period_s",
                self.cpu_initialization_period_s,
            ),
            ("initial_readiness_delay_s", self.initial_readiness_delay_s),
            ("downscale_stabilization_s", self.downscale_stabilization_s),
            (
                "legacy_scale_up_limit_factor",
                self.legacy_scale_up_limit_factor,
            ),
            (
                "legacy_scale_up_limit_minimum",
                self.legacy_scale_up_limit_minimum,
            ),
        ];
        for (field, value) in non_negative {
            if !value.is_finite() || value < 0.0 {
                return Err(HpaError::InvalidConfig {
                    field,
                    value,
                    reason: "must be a finite number >= 0",
                });
            }
        }
        if !self.sync_period_s.is_finite() || self.sync_period_s <= 0.0 {
            return Err(HpaError::InvalidConfig {
                field: "sync_period_s",
                value: self.sync_period_s,
                reason: "must be a finite number > 0",
            });
        }
        Ok(())
    }

    /// Returns the controller tolerances.
    pub fn tolerances(&self) -> Tolerances {
        Tolerances {
            scale_up: self.tolerance_scale_up,
            scale_down: self.tolerance_scale_down,
        }
    }
}

/// The band around a usage ratio of 1 inside which a metric proposes no change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// Allowed ratio above 1.
    pub scale_up: f64,
    /// Allowed ratio below 1.
    pub scale_down: f64,
}

impl Tolerances {
    /// Tests `1 - scale_down <= ratio <= 1 + scale_up`, inclusive at both ends, in f64
    /// (`Tolerances.isWithin`, replica_calculator.go). A NaN ratio is never within.
    pub fn is_within(&self, ratio: f64) -> bool {
        (1.0 - self.scale_down) <= ratio && ratio <= (1.0 + self.scale_up)
    }
}
