//! Training rows built from a workload series: features from [`RollingFeatures`] in
//! [`FEATURE_NAMES`] order, and targets from later windows of the same series.

use std::collections::BTreeMap;

use arbiter_core::features::{
    FEATURE_NAMES, FEATURE_SCHEMA_HASH, FeatureSample, FeatureVector, RollingFeatures,
};
use arbiter_core::series::{BORG_WINDOW_S, WorkloadSeries};

/// Returns the hash of the feature schema the code builds rows with, as 16 hex digits.
///
/// Models store it in their card, and loading a model with another hash is an error.
pub fn feature_schema_hash() -> String {
    format!("{FEATURE_SCHEMA_HASH:016x}")
}

/// Returns the feature names in model input order.
pub fn feature_names() -> Vec<String> {
    FEATURE_NAMES
        .iter()
        .map(|name| (*name).to_owned())
        .collect()
}

/// Converts a feature vector into a model input row, with NaN for a missing feature.
pub fn feature_row(features: &FeatureVector) -> Vec<f32> {
    features
        .values
        .iter()
        .map(|value| value.map_or(f32::NAN, |value| value as f32))
        .collect()
}

/// One workload's 300 s windows with the features after each window and, when known, whether
/// the window had a disruption (an SLO breach, an OOM kill or a FAIL, EVICT or KILL event).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowedSeries {
    /// Workload name.
    pub workload: String,
    /// Trace file or other origin of the usage.
    pub source: String,
    /// Window starts in seconds, ascending.
    pub start_s: Vec<i64>,
    /// Mean CPU of each window, in the series unit.
    pub cpu: Vec<f64>,
    /// Mean memory of each window, in the series unit.
    pub memory: Vec<f64>,
    /// Features after each window's sample, as the live loop computes them.
    pub features: Vec<FeatureVector>,
    /// Completed windows of history behind each row's features.
    pub history_windows: Vec<usize>,
    /// Disruption of each window, when labels are known.
    pub disruption: Option<Vec<bool>>,
    index: BTreeMap<i64, usize>,
}

impl WindowedSeries {
    /// Builds the windows of `series`, pushing each window through [`RollingFeatures`] as the
    /// live loop does (cores and GiB are the series units; no rescaling).
    pub fn from_series(series: &WorkloadSeries) -> Self {
        let mut rolling = RollingFeatures::new();
        let mut windows = WindowedSeries {
            workload: series.workload.clone(),
            source: series.source.clone(),
            start_s: Vec::with_capacity(series.points.len()),
            cpu: Vec::with_capacity(series.points.len()),
            memory: Vec::with_capacity(series.points.len()),
            features: Vec::with_capacity(series.points.len()),
            history_windows: Vec::with_capacity(series.points.len()),
            disruption: None,
            index: BTreeMap::new(),
        };
        for point in &series.points {
            rolling.push(FeatureSample {
                time_s: point.start_s as f64,
                cpu_cores: point.cpu,
                memory_gib: point.memory,
                replicas: point.tasks.map(f64::from),
                ..FeatureSample::default()
            });
            windows.index.insert(point.start_s, windows.start_s.len());
            windows.start_s.push(point.start_s);
            windows.cpu.push(point.cpu);
            windows.memory.push(point.memory);
            windows.features.push(rolling.features());
            windows.history_windows.push(rolling.completed_windows());
        }
        windows
    }

    /// Attaches per-window disruption labels, one per window.
    ///
    /// # Errors
    ///
    /// [`crate::ModelError::TrainingData`] when the number of labels differs from the
    /// number of windows.
    pub fn with_disruptions(mut self, labels: Vec<bool>) -> Result<Self, crate::ModelError> {
        if labels.len() != self.start_s.len() {
            return Err(crate::ModelError::TrainingData {
                reason: format!(
                    "workload {} has {} windows but {} disruption labels",
                    self.workload,
                    self.start_s.len(),
                    labels.len()
                ),
            });
        }
        self.disruption = Some(labels);
        Ok(self)
    }

    /// Returns the number of windows.
    pub fn len(&self) -> usize {
        self.start_s.len()
    }

    /// Returns whether the series has no windows.
    pub fn is_empty(&self) -> bool {
        self.start_s.is_empty()
    }

    /// Returns the index of the window that starts `offset_windows` windows of 300 s after
    /// window `row`, or `None` when the series has no such window (a gap or the end).
    pub fn offset_index(&self, row: usize, offset_windows: i64) -> Option<usize> {
        let start = self.start_s.get(row)? + offset_windows * BORG_WINDOW_S;
        self.index.get(&start).copied()
    }

    /// Returns whether any of the `k` windows after `row` had a disruption, or `None` when
    /// labels are unknown or one of those windows is missing.
    pub fn disruption_within(&self, row: usize, k: usize) -> Option<bool> {
        let labels = self.disruption.as_ref()?;
        let mut any = false;
        for step in 1..=k as i64 {
            any |= labels[self.offset_index(row, step)?];
        }
        Some(any)
    }
}
