//! Baseline forecasts that the demand models are measured against, computed from the window
//! values of a series up to and including the forecast row (never later ones).

use serde::{Deserialize, Serialize};

use crate::dataset::WindowedSeries;

/// Windows of 300 s in one day, the season of the seasonal naive forecast.
pub const WINDOWS_PER_DAY: i64 = 288;

/// Settings of the baselines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineConfig {
    /// Smoothing factor of the exponentially weighted mean, in (0, 1]. Default 0.3.
    pub ewma_alpha: f64,
    /// Windows of the moving-window p95, in the manner of Google Autopilot's moving-window
    /// recommender. Default 72 (six hours).
    pub p95_windows: usize,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            ewma_alpha: 0.3,
            p95_windows: 72,
        }
    }
}

/// Names of the baselines, in report order.
pub const BASELINE_NAMES: [&str; 4] = ["persistence", "seasonal_naive", "ewma", "moving_p95"];

/// Forecasts of every baseline for every row of one value column of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineForecasts {
    /// The window's own value.
    pub persistence: Vec<f64>,
    /// The value of the window one day before the target window, `None` when that window is
    /// missing or lies after the row.
    pub seasonal_naive: Vec<Option<f64>>,
    /// Exponentially weighted mean of the windows up to the row.
    pub ewma: Vec<f64>,
    /// p95 of the last `p95_windows` windows up to the row (nearest-rank).
    pub moving_p95: Vec<f64>,
}

impl BaselineForecasts {
    /// Computes the baselines of `values` (one per window of `series`) for `horizon` windows
    /// ahead.
    pub fn compute(
        series: &WindowedSeries,
        values: &[f64],
        horizon: usize,
        config: &BaselineConfig,
    ) -> Self {
        let mut ewma = Vec::with_capacity(values.len());
        let mut smoothed: Option<f64> = None;
        for value in values {
            let next = match smoothed {
                None => *value,
                Some(previous) => config.ewma_alpha * value + (1.0 - config.ewma_alpha) * previous,
            };
            smoothed = Some(next);
            ewma.push(next);
        }

        let window = config.p95_windows.max(1);
        let moving_p95 = (0..values.len())
            .map(|row| {
                let from = (row + 1).saturating_sub(window);
                nearest_rank_p95(&values[from..=row])
            })
            .collect();

        let season_offset = horizon as i64 - WINDOWS_PER_DAY;
        let seasonal_naive = (0..values.len())
            .map(|row| {
                if season_offset > 0 {
                    return None;
                }
                series
                    .offset_index(row, season_offset)
                    .map(|index| values[index])
            })
            .collect();

        BaselineForecasts {
            persistence: values.to_vec(),
            seasonal_naive,
            ewma,
            moving_p95,
        }
    }

    /// Returns the forecast of baseline `name` (one of [`BASELINE_NAMES`]) for `row`.
    pub fn forecast(&self, name: &str, row: usize) -> Option<f64> {
        match name {
            "persistence" => self.persistence.get(row).copied(),
            "seasonal_naive" => self.seasonal_naive.get(row).copied().flatten(),
            "ewma" => self.ewma.get(row).copied(),
            "moving_p95" => self.moving_p95.get(row).copied(),
            _ => None,
        }
    }
}

/// Returns the nearest-rank p95 of a non-empty slice.
fn nearest_rank_p95(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (0.95 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
