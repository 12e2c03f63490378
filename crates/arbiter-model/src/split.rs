//! The split of windows by time into a training, a calibration and a test part.
//!
//! Within each workload the earliest windows train, the next ones calibrate the risk
//! probabilities and the latest ones test. A row belongs to an earlier part only when every
//! window its target reads (up to `horizon` windows ahead) starts before the next part, so no
//! test window reaches training through a target. Features read only the row's own window and
//! earlier ones, so they never reach forward. Held-out workloads give test rows only.

use std::collections::BTreeSet;

use arbiter_core::series::BORG_WINDOW_S;
use serde::{Deserialize, Serialize};

use crate::dataset::WindowedSeries;
use crate::error::ModelError;

/// Shares of each workload's time span and the workloads held out from training entirely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    /// Share of the time span, at the end, that is tested. Default 0.25.
    pub test_fraction: f64,
    /// Share of the time span, just before the test part, that calibrates the risk
    /// probabilities. Demand models train on it too. Default 0.15.
    pub calibration_fraction: f64,
    /// Completed windows of history a row needs, so early rows with few features are not
    /// used. Default 12 (one hour).
    pub min_history_windows: usize,
    /// Workloads used only for testing, to measure how models carry over to unseen workloads.
    pub holdout_workloads: BTreeSet<String>,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            test_fraction: 0.25,
            calibration_fraction: 0.15,
            min_history_windows: 12,
            holdout_workloads: BTreeSet::new(),
        }
    }
}

/// The part a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Used to fit models.
    Train,
    /// Used to fit the probability calibration (and demand models).
    Calibration,
    /// Held out for evaluation.
    Test,
}

/// Start times of the calibration and test parts of one workload.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitTimes {
    /// First window start of the calibration part, in seconds.
    pub calibration_start_s: i64,
    /// First window start of the test part, in seconds.
    pub test_start_s: i64,
}

impl SplitConfig {
    /// Checks that the fractions leave room for training.
    ///
    /// # Errors
    ///
    /// [`ModelError::TrainingData`] naming the fraction that is out of range.
    pub fn validate(&self) -> Result<(), ModelError> {
        let fractions = [
            ("test_fraction", self.test_fraction),
            ("calibration_fraction", self.calibration_fraction),
        ];
        for (name, value) in fractions {
            if !(value > 0.0 && value < 1.0) {
                return Err(ModelError::TrainingData {
                    reason: format!("{name} is {value}, expected a number in (0, 1)"),
                });
            }
        }
        let sum = self.test_fraction + self.calibration_fraction;
        if sum >= 0.9 {
            return Err(ModelError::TrainingData {
                reason: format!(
                    "test_fraction + calibration_fraction is {sum}, expected below 0.9 so \
                     that training keeps a tenth of the windows"
                ),
            });
        }
        Ok(())
    }

    /// Computes the split times of one workload from its first and last window, aligned to
    /// the 300 s window grid.
    pub fn times(&self, series: &WindowedSeries) -> Option<SplitTimes> {
        let first = *series.start_s.first()?;
        let last = *series.start_s.last()?;
        let span = (last - first) as f64;
        let align = |fraction: f64| {
            let offset = (span * fraction / BORG_WINDOW_S as f64).round() as i64 * BORG_WINDOW_S;
            first + offset
        };
        let test_start_s = align(1.0 - self.test_fraction);
        let calibration_start_s = align(1.0 - self.test_fraction - self.calibration_fraction);
        Some(SplitTimes {
            calibration_start_s,
            test_start_s,
        })
    }

    /// Returns the part of row `row` of `series` for a target reading up to `horizon` windows
    /// ahead, or `None` when the row is used nowhere: too little history, or a target that
    /// crosses into a later part.
    pub fn part(&self, series: &WindowedSeries, row: usize, horizon: usize) -> Option<Part> {
        if series.history_windows[row] < self.min_history_windows {
            return None;
        }
        let times = self.times(series)?;
        let start = series.start_s[row];
        let target_end = start + horizon as i64 * BORG_WINDOW_S;
        if start >= times.test_start_s {
            return Some(Part::Test);
        }
        if self.holdout_workloads.contains(&series.workload) {
            return None;
        }
        if target_end >= times.test_start_s {
            return None;
        }
        if start >= times.calibration_start_s {
            return Some(Part::Calibration);
        }
        if target_end >= times.calibration_start_s {
            return None;
        }
        Some(Part::Train)
    }
}
