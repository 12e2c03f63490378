//! Feature rows for training: each window of a trace series becomes one [`FeatureSample`],
//! pushed through the same [`RollingFeatures`] the live loop uses, and yields one
//! [`FeatureVector`].

use arbiter_core::features::{EventCounts, FeatureSample, FeatureVector, RollingFeatures};
use arbiter_core::series::WorkloadSeries;
use serde::Serialize;

use crate::aggregate::CollectionSeries;

/// Conversion of trace units into the feature units (cores and GiB). The traces normalize CPU
/// and memory to their largest machine, whose size Google does not publish. So the default of
/// 1.0 keeps features in those normalized units. Set the scale to the machine you model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FeatureScale {
    /// Cores per normalized CPU unit.
    pub cpu_cores_per_unit: f64,
    /// GiB per normalized memory unit.
    pub memory_gib_per_unit: f64,
}

impl Default for FeatureScale {
    fn default() -> Self {
        Self {
            cpu_cores_per_unit: 1.0,
            memory_gib_per_unit: 1.0,
        }
    }
}

/// The features of one workload at the end of one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureRow {
    /// Workload name, as in [`CollectionSeries::workload`] or [`WorkloadSeries::workload`].
    pub workload: String,
    /// Window start in seconds since the trace epoch.
    pub start_s: i64,
    /// The features after the window's sample.
    pub features: FeatureVector,
}

/// Turns a collection series into feature samples, one per window with usage. Events of a
/// window without usage are carried into the next window's sample, because a sample needs a
/// usage measurement.
pub fn collection_samples(
    series: &CollectionSeries,
    scale: &FeatureScale,
) -> Vec<(i64, FeatureSample)> {
    let cpu = |value: f64| value * scale.cpu_cores_per_unit;
    let mut pending = EventCounts::default();
    let mut samples = Vec::new();
    for point in &series.points {
        pending.evictions = pending.evictions.saturating_add(point.evictions);
        pending.failures = pending.failures.saturating_add(point.failures);
        pending.kills = pending.kills.saturating_add(point.kills);
        pending.losses = pending.losses.saturating_add(point.losses);
        if point.usage_records == 0 {
            continue;
        }
        let over_limit = point
            .cpu_request
            .filter(|request| *request > 0.0)
            .map(|request| point.cpu_average / request);
        let sample = FeatureSample {
            time_s: point.start_s as f64,
            cpu_cores: cpu(point.cpu_average),
            memory_gib: point.memory_average * scale.memory_gib_per_unit,
            replicas: Some(point.instances),
            cpu_over_limit: over_limit,
            // The trace gives each instance's usage but the series keeps only sums, so the
            // highest per-instance memory over limit is unknown.
            memory_over_limit: None,
            cpu_p50_cores: point.cpu_p50.map(cpu),
            cpu_p99_cores: point.cpu_p99.map(cpu),
            cpi: point.cycles_per_instruction,
            events: series.events_read.then_some(std::mem::take(&mut pending)),
        };
        samples.push((point.start_s, sample));
    }
    samples
}

/// Computes one feature row per window with usage of a collection series.
pub fn collection_feature_rows(series: &CollectionSeries, scale: &FeatureScale) -> Vec<FeatureRow> {
    rows(series.workload(), collection_samples(series, scale))
}

/// Computes one feature row per window of an aggregated series (CPU, memory and tasks only).
pub fn workload_feature_rows(series: &WorkloadSeries, scale: &FeatureScale) -> Vec<FeatureRow> {
    let samples = series
        .points
        .iter()
        .map(|point| {
            let sample = FeatureSample {
                time_s: point.start_s as f64,
                cpu_cores: point.cpu * scale.cpu_cores_per_unit,
                memory_gib: point.memory * scale.memory_gib_per_unit,
                replicas: point.tasks.map(f64::from),
                ..FeatureSample::default()
            };
            (point.start_s, sample)
        })
        .collect();
    rows(series.workload.clone(), samples)
}

fn rows(workload: String, samples: Vec<(i64, FeatureSample)>) -> Vec<FeatureRow> {
    let mut rolling = RollingFeatures::new();
    samples
        .into_iter()
        .map(|(start_s, sample)| {
            rolling.push(sample);
            FeatureRow {
                workload: workload.clone(),
                start_s,
                features: rolling.features(),
            }
        })
        .collect()
}
