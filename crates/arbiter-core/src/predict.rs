//! Layer 3, predict: next-window demand and the risk of an SLO breach.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::features::{Feature, FeatureVector};
use crate::series::BORG_WINDOW_S;
use crate::stats::quantile;

/// Basis of a prediction, so that a reader can tell a forecast from a fallback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PredictionBasis {
    /// The statistical forecast of [`StatisticalForecaster`].
    Statistical,
    /// A trained model, named by its file.
    Model {
        /// Model file or directory.
        source: String,
    },
    /// Too little history for a forecast: the current usage is used as the next window's forecast.
    Reactive {
        /// Reason the forecast fell back.
        reason: String,
    },
}

/// Forecast of a workload's next 300 s window, with the risk estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Expected CPU demand in cores.
    pub cpu_mean_cores: f64,
    /// Upper (p95-like) CPU demand in cores, for headroom planning.
    pub cpu_upper_cores: f64,
    /// Expected memory in GiB.
    pub memory_mean_gib: f64,
    /// Probability-like score in [0, 1] that the SLO is breached within the next windows at the
    /// current ready capacity. A heuristic until a calibrated risk model is loaded.
    pub risk: f64,
    /// Basis of the prediction.
    pub basis: PredictionBasis,
    /// High quantile of the 300 s window means of CPU demand over the long horizon (by default
    /// the p99 of the last 24 hours), in cores, from [`DemandHistory`]; `None` until enough
    /// history has been seen. Agent A sizes up to it and agent B never consolidates below it.
    #[serde(default)]
    pub cpu_peak_cores: Option<f64>,
}

/// Capacity context a predictor needs to turn demand into risk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacityContext {
    /// CPU the ready replicas can use before throttling, in cores (ready replicas times limit).
    pub ready_cpu_cores: f64,
    /// CPU utilization of ready capacity above which latency exceeds the SLO, in (0, 1].
    pub slo_safe_utilization: f64,
}

/// Layer 3: turns features into a prediction.
pub trait Predictor {
    /// Predicts the next window from the features, the number of completed 300 s windows of
    /// history behind them, and the current capacity.
    fn predict(
        &self,
        features: &FeatureVector,
        history_windows: usize,
        capacity: &CapacityContext,
    ) -> Prediction;
}

/// Statistical forecast used until gradient-boosted models are loaded.
///
/// Mean: an exponentially weighted mean of the last hour of 300 s windows (smoothing factor
/// `alpha`, newest window weighted most) and the current usage, whichever is larger. Upper: the
/// larger of the mean and the maximum window of the last hour, the headroom rule Google's
/// Autopilot uses in spirit (plan for recent peaks). With fewer than `min_history_windows`
/// completed windows the forecast falls back to the current usage and says so.
///
/// Risk is the logistic function of how far the upper forecast exceeds the SLO-safe share of
/// ready capacity: `1 / (1 + exp(-steepness * (upper / safe_capacity - 1)))`. It is a heuristic
/// ordering of danger, not a calibrated probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatisticalForecaster {
    /// Smoothing factor of the exponentially weighted mean, in (0, 1]. Default 0.5.
    pub alpha: f64,
    /// Completed 300 s windows needed before forecasting. Default 12 (one hour).
    pub min_history_windows: usize,
    /// Steepness of the risk curve. Default 8.
    pub risk_steepness: f64,
}

impl Default for StatisticalForecaster {
    fn default() -> Self {
        Self {
            alpha: 0.5,
            min_history_windows: 12,
            risk_steepness: 8.0,
        }
    }
}

impl Predictor for StatisticalForecaster {
    fn predict(
        &self,
        features: &FeatureVector,
        history_windows: usize,
        capacity: &CapacityContext,
    ) -> Prediction {
        self.forecast(features, history_windows, capacity)
    }
}

impl StatisticalForecaster {
    /// Predicts from features and the number of completed windows of history.
    pub fn forecast(
        &self,
        features: &FeatureVector,
        history_windows: usize,
        capacity: &CapacityContext,
    ) -> Prediction {
        let now = features.get(Feature::CpuNow).unwrap_or(0.0);
        let memory = features.get(Feature::MemoryNow).unwrap_or(0.0);
        let hour_max = features.get(Feature::CpuMax1h);
        let (mean, upper, basis) = match hour_max {
            Some(hour_max) if history_windows >= self.min_history_windows => {
                let smoothed = self.smoothed(features);
                let mean = smoothed.max(now);
                (mean, mean.max(hour_max), PredictionBasis::Statistical)
            }
            _ => (
                now,
                now,
                PredictionBasis::Reactive {
                    reason: format!(
                        "{history_windows} of {} completed 300 s windows of history; using current usage",
                        self.min_history_windows
                    ),
                },
            ),
        };
        Prediction {
            cpu_mean_cores: mean,
            cpu_upper_cores: upper,
            memory_mean_gib: memory,
            risk: self.risk(upper, capacity),
            basis,
            cpu_peak_cores: None,
        }
    }

    /// Exponentially weighted mean over the lags the features carry: lag 12, lag 3, lag 1 and the
    /// one-hour mean as the oldest anchor.
    fn smoothed(&self, features: &FeatureVector) -> f64 {
        let series = [
            features.get(Feature::CpuMean1h),
            features.get(Feature::CpuLag12),
            features.get(Feature::CpuLag3),
            features.get(Feature::CpuLag1),
            features.get(Feature::CpuNow),
        ];
        let mut smoothed: Option<f64> = None;
        for value in series.into_iter().flatten() {
            smoothed = Some(match smoothed {
                None => value,
                Some(previous) => self.alpha * value + (1.0 - self.alpha) * previous,
            });
        }
        smoothed.unwrap_or(0.0)
    }

    /// Returns the heuristic risk of the upper forecast against SLO-safe capacity.
    pub fn risk(&self, upper_cores: f64, capacity: &CapacityContext) -> f64 {
        let safe = capacity.ready_cpu_cores * capacity.slo_safe_utilization;
        if safe <= 0.0 {
            return if upper_cores > 0.0 { 1.0 } else { 0.0 };
        }
        1.0 / (1.0 + (-self.risk_steepness * (upper_cores / safe - 1.0)).exp())
    }
}

/// Long-horizon demand history of one workload: the means of completed 300 s windows over a
/// horizon, and a high quantile of them as the demand peak to plan for.
///
/// The quantile rather than the maximum keeps one extreme window (the shipped Borg trace has
/// 5-minute bursts of 40 times its median) from pinning capacity for the whole horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandHistory {
    config: PeakConfig,
    windows: VecDeque<(i64, f64)>,
    current: Option<(i64, f64, u32)>,
    last_time_s: Option<f64>,
    peak: Option<f64>,
}

/// Settings of [`DemandHistory`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PeakConfig {
    /// Horizon in seconds. Default 86,400 (one day, so that a daily cycle is covered once).
    pub horizon_s: f64,
    /// Quantile of the window means taken as the peak, in [0, 1]. Default 0.99.
    ///
    /// NOTE: on the shipped 29-day Borg trace (`arbiter compare` defaults) this peak plus
    /// agent B's 25% margin needs more replicas than the 5 nodes can give CPU to, so
    /// `spec.replicas` never drops below that node ceiling (38) after the first hour. A lower
    /// quantile saves core-hours only where bursts come less often than daily.
    pub quantile: f64,
    /// Completed windows needed before a peak is reported. Default 72 (six hours).
    pub min_windows: usize,
}

impl Default for PeakConfig {
    fn default() -> Self {
        Self {
            horizon_s: 86_400.0,
            quantile: 0.99,
            min_windows: 72,
        }
    }
}

impl DemandHistory {
    /// Creates an empty history.
    pub fn new(config: PeakConfig) -> Self {
        Self {
            config,
            windows: VecDeque::new(),
            current: None,
            last_time_s: None,
            peak: None,
        }
    }

    /// Adds a CPU sample in cores. Samples older than the latest one are ignored, as are
    /// values that are not finite.
    pub fn push(&mut self, time_s: f64, cpu_cores: f64) {
        if !time_s.is_finite() || !cpu_cores.is_finite() {
            return;
        }
        if self.last_time_s.is_some_and(|last| time_s < last) {
            return;
        }
        self.last_time_s = Some(time_s);
        let index = (time_s / BORG_WINDOW_S as f64).floor() as i64;
        match &mut self.current {
            Some((current, sum, count)) if *current == index => {
                *sum += cpu_cores;
                *count += 1;
            }
            Some((current, sum, count)) => {
                let closed = (*current, *sum / f64::from((*count).max(1)));
                self.current = Some((index, cpu_cores, 1));
                self.close_window(closed, index);
            }
            None => self.current = Some((index, cpu_cores, 1)),
        }
    }

    fn close_window(&mut self, closed: (i64, f64), now_index: i64) {
        self.windows.push_back(closed);
        let kept = (self.config.horizon_s / BORG_WINDOW_S as f64)
            .ceil()
            .max(1.0) as i64;
        while self
            .windows
            .front()
            .is_some_and(|(index, _)| now_index - index > kept)
        {
            self.windows.pop_front();
        }
        self.peak = if self.windows.len() >= self.config.min_windows.max(1) {
            let values: Vec<f64> = self.windows.iter().map(|(_, mean)| *mean).collect();
            quantile(&values, self.config.quantile.clamp(0.0, 1.0))
        } else {
            None
        };
    }

    /// Returns the demand peak in cores, or `None` with fewer than `min_windows` windows.
    pub fn peak(&self) -> Option<f64> {
        self.peak
    }

    /// Counts the completed windows inside the horizon.
    pub fn completed_windows(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{FeatureSample, RollingFeatures};

    fn capacity(cores: f64) -> CapacityContext {
        CapacityContext {
            ready_cpu_cores: cores,
            slo_safe_utilization: 0.7,
        }
    }

    #[test]
    fn short_history_falls_back_to_reactive() {
        let mut rolling = RollingFeatures::new();
        rolling.push(FeatureSample {
            time_s: 0.0,
            cpu_cores: 3.0,
            ..FeatureSample::default()
        });
        let forecaster = StatisticalForecaster::default();
        let prediction = forecaster.forecast(
            &rolling.features(),
            rolling.completed_windows(),
            &capacity(10.0),
        );
        assert_eq!(prediction.cpu_mean_cores, 3.0);
        assert_eq!(prediction.cpu_upper_cores, 3.0);
        assert!(matches!(prediction.basis, PredictionBasis::Reactive { .. }));
    }

    #[test]
    fn upper_forecast_covers_last_hour_peak() {
        let mut rolling = RollingFeatures::new();
        for window in 0..=13 {
            let cpu = if window == 5 { 9.0 } else { 2.0 };
            rolling.push(FeatureSample {
                time_s: window as f64 * 300.0,
                cpu_cores: cpu,
                ..FeatureSample::default()
            });
        }
        let forecaster = StatisticalForecaster::default();
        let prediction = forecaster.forecast(
            &rolling.features(),
            rolling.completed_windows(),
            &capacity(10.0),
        );
        assert_eq!(prediction.basis, PredictionBasis::Statistical);
        assert_eq!(prediction.cpu_upper_cores, 9.0);
        assert!(prediction.cpu_mean_cores < 9.0);
        assert!(prediction.cpu_mean_cores >= 2.0);
    }

    #[test]
    fn risk_rises_with_demand_over_capacity() {
        let forecaster = StatisticalForecaster::default();
        let low = forecaster.risk(1.0, &capacity(10.0));
        let edge = forecaster.risk(7.0, &capacity(10.0));
        let high = forecaster.risk(14.0, &capacity(10.0));
        assert!(low < 0.05, "{low}");
        assert!((edge - 0.5).abs() < 1e-9, "{edge}");
        assert!(high > 0.95, "{high}");
        assert_eq!(forecaster.risk(1.0, &capacity(0.0)), 1.0);
    }

    #[test]
    fn demand_history_reports_quantile_after_min_windows() {
        let mut history = DemandHistory::new(PeakConfig {
            horizon_s: 3_600.0,
            quantile: 1.0,
            min_windows: 3,
        });
        for window in 0..3 {
            history.push(f64::from(window) * 300.0, f64::from(window + 1));
        }
        assert_eq!(history.peak(), None, "only two windows are complete");
        history.push(900.0, 10.0);
        assert_eq!(history.completed_windows(), 3);
        assert_eq!(history.peak(), Some(3.0));
    }

    #[test]
    fn demand_history_forgets_windows_past_horizon() {
        let mut history = DemandHistory::new(PeakConfig {
            horizon_s: 900.0,
            quantile: 1.0,
            min_windows: 1,
        });
        history.push(0.0, 50.0);
        for window in 1..=6 {
            history.push(f64::from(window) * 300.0, 2.0);
        }
        assert_eq!(history.peak(), Some(2.0));
        assert!(history.completed_windows() <= 4);
    }

    #[test]
    fn demand_history_ignores_older_and_non_finite_samples() {
        let mut history = DemandHistory::new(PeakConfig {
            horizon_s: 3_600.0,
            quantile: 1.0,
            min_windows: 1,
        });
        history.push(600.0, 1.0);
        history.push(0.0, 99.0);
        history.push(650.0, f64::NAN);
        history.push(900.0, 1.0);
        assert_eq!(history.peak(), Some(1.0));
    }
}
