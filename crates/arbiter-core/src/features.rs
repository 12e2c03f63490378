//! Layer 2, featurize: Borg-derived rolling-window features.
//!
//! One implementation serves trace replay and the live loop. Samples arrive at any cadence (one
//! per 300 s Borg window from a trace, one per 15 s tick from a cluster). They are averaged into
//! 300 s windows aligned to multiples of 300 s, except event counts, which are summed. Window
//! features (means, deviations, maxima, lags, trends, event counts) are computed over completed
//! windows; `*_now` features use the latest sample. A feature whose window lacks history, or
//! whose input the source does not report, is `None`, never an invented value.
//!
//! [`FEATURE_NAMES`] and [`FEATURE_UNITS`] give the model input order and the unit of each
//! feature; [`FEATURE_SCHEMA_HASH`] identifies that schema, so a model trained on one schema can
//! detect input built with another.

use std::collections::VecDeque;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::series::BORG_WINDOW_S;

/// Windows per hour at the 300 s Borg window.
const WINDOWS_PER_HOUR: usize = 3600 / BORG_WINDOW_S as usize;
/// Windows kept: 24 h plus the lag of the oldest comparison.
const WINDOWS_KEPT: usize = 24 * WINDOWS_PER_HOUR + 1;
/// Share of a rolling window's 300 s windows that must be present for its statistics to count.
const MIN_COVERAGE: f64 = 0.8;

/// Feature names in model input order. Units are in [`FEATURE_UNITS`]: CPU in cores, memory in
/// GiB, trends per hour, events as counts.
pub const FEATURE_NAMES: [&str; 41] = [
    "cpu_now",
    "cpu_lag_1",
    "cpu_lag_3",
    "cpu_lag_12",
    "cpu_mean_1h",
    "cpu_std_1h",
    "cpu_max_1h",
    "cpu_mean_6h",
    "cpu_std_6h",
    "cpu_max_6h",
    "cpu_mean_24h",
    "cpu_std_24h",
    "cpu_max_24h",
    "cpu_trend_1h",
    "cpu_over_limit",
    "memory_now",
    "memory_max_1h",
    "memory_trend_1h",
    "memory_over_limit",
    "replicas_now",
    "replicas_change_1h",
    "hour_of_day",
    "day_of_week",
    "memory_mean_1h",
    "memory_std_1h",
    "memory_mean_6h",
    "memory_std_6h",
    "memory_max_6h",
    "memory_mean_24h",
    "memory_std_24h",
    "memory_max_24h",
    "cpu_trend_6h",
    "cpu_spread_now",
    "cpu_spread_mean_1h",
    "cpi_now",
    "cpi_mean_1h",
    "evictions_1h",
    "failures_1h",
    "kills_1h",
    "losses_1h",
    "replicas_change_5m",
];

/// Unit of each feature, in [`FEATURE_NAMES`] order.
pub const FEATURE_UNITS: [&str; FEATURE_NAMES.len()] = [
    "cores",
    "cores",
    "cores",
    "cores",
    "cores",
    "cores",
    "cores",
    "cores",
    "cores",
    "cores",
    "cores",
    "cores",
    "cores",
    "cores/h",
    "ratio",
    "GiB",
    "GiB",
    "GiB/h",
    "ratio",
    "replicas",
    "replicas",
    "hour",
    "day",
    "GiB",
    "GiB",
    "GiB",
    "GiB",
    "GiB",
    "GiB",
    "GiB",
    "GiB",
    "cores/h",
    "cores",
    "cores",
    "cycles/instruction",
    "cycles/instruction",
    "events",
    "events",
    "events",
    "events",
    "replicas",
];

/// FNV-1a hash (64 bit) of the feature schema: every name and unit in order, as
/// `name\tunit\n` lines. A change of order, name or unit changes the hash.
pub const FEATURE_SCHEMA_HASH: u64 = schema_hash(&FEATURE_NAMES, &FEATURE_UNITS);

/// Computes the FNV-1a hash of a feature schema, as for [`FEATURE_SCHEMA_HASH`].
pub const fn schema_hash(names: &[&str], units: &[&str]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    let mut index = 0;
    while index < names.len() {
        let unit: &[u8] = if index < units.len() {
            units[index].as_bytes()
        } else {
            b""
        };
        let parts: [&[u8]; 4] = [names[index].as_bytes(), b"\t", unit, b"\n"];
        let mut part = 0;
        while part < parts.len() {
            let bytes = parts[part];
            let mut byte = 0;
            while byte < bytes.len() {
                hash ^= bytes[byte] as u64;
                hash = hash.wrapping_mul(PRIME);
                byte += 1;
            }
            part += 1;
        }
        index += 1;
    }
    hash
}

/// Index of a feature in [`FEATURE_NAMES`], for readable access by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Feature {
    CpuNow = 0,
    CpuLag1,
    CpuLag3,
    CpuLag12,
    CpuMean1h,
    CpuStd1h,
    CpuMax1h,
    CpuMean6h,
    CpuStd6h,
    CpuMax6h,
    CpuMean24h,
    CpuStd24h,
    CpuMax24h,
    CpuTrend1h,
    CpuOverLimit,
    MemoryNow,
    MemoryMax1h,
    MemoryTrend1h,
    MemoryOverLimit,
    ReplicasNow,
    ReplicasChange1h,
    HourOfDay,
    DayOfWeek,
    MemoryMean1h,
    MemoryStd1h,
    MemoryMean6h,
    MemoryStd6h,
    MemoryMax6h,
    MemoryMean24h,
    MemoryStd24h,
    MemoryMax24h,
    CpuTrend6h,
    CpuSpreadNow,
    CpuSpreadMean1h,
    CpiNow,
    CpiMean1h,
    Evictions1h,
    Failures1h,
    Kills1h,
    Losses1h,
    ReplicasChange5m,
}

impl Feature {
    /// Every feature, in [`FEATURE_NAMES`] order.
    pub const ALL: [Feature; FEATURE_NAMES.len()] = [
        Self::CpuNow,
        Self::CpuLag1,
        Self::CpuLag3,
        Self::CpuLag12,
        Self::CpuMean1h,
        Self::CpuStd1h,
        Self::CpuMax1h,
        Self::CpuMean6h,
        Self::CpuStd6h,
        Self::CpuMax6h,
        Self::CpuMean24h,
        Self::CpuStd24h,
        Self::CpuMax24h,
        Self::CpuTrend1h,
        Self::CpuOverLimit,
        Self::MemoryNow,
        Self::MemoryMax1h,
        Self::MemoryTrend1h,
        Self::MemoryOverLimit,
        Self::ReplicasNow,
        Self::ReplicasChange1h,
        Self::HourOfDay,
        Self::DayOfWeek,
        Self::MemoryMean1h,
        Self::MemoryStd1h,
        Self::MemoryMean6h,
        Self::MemoryStd6h,
        Self::MemoryMax6h,
        Self::MemoryMean24h,
        Self::MemoryStd24h,
        Self::MemoryMax24h,
        Self::CpuTrend6h,
        Self::CpuSpreadNow,
        Self::CpuSpreadMean1h,
        Self::CpiNow,
        Self::CpiMean1h,
        Self::Evictions1h,
        Self::Failures1h,
        Self::Kills1h,
        Self::Losses1h,
        Self::ReplicasChange5m,
    ];

    /// Returns the feature's name in [`FEATURE_NAMES`].
    pub const fn name(self) -> &'static str {
        FEATURE_NAMES[self as usize]
    }

    /// Returns the feature's unit in [`FEATURE_UNITS`].
    pub const fn unit(self) -> &'static str {
        FEATURE_UNITS[self as usize]
    }
}

/// Counts of the events that end a replica against its owner's will, over one sample's period.
/// The names are the Borg event types (EVICT, FAIL, KILL, LOST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventCounts {
    /// Replicas evicted (descheduled for a higher-priority workload or a machine change).
    pub evictions: u32,
    /// Replicas that failed.
    pub failures: u32,
    /// Replicas killed by their owner or a dependency.
    pub kills: u32,
    /// Replicas lost without a record of why.
    pub losses: u32,
}

impl EventCounts {
    fn add(&mut self, other: EventCounts) {
        self.evictions = self.evictions.saturating_add(other.evictions);
        self.failures = self.failures.saturating_add(other.failures);
        self.kills = self.kills.saturating_add(other.kills);
        self.losses = self.losses.saturating_add(other.losses);
    }
}

/// One observation of a workload, from a trace window or a cluster snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FeatureSample {
    /// Observation time in seconds (trace epoch or cluster clock).
    pub time_s: f64,
    /// CPU usage of the whole workload in cores.
    pub cpu_cores: f64,
    /// Memory usage of the whole workload in GiB.
    pub memory_gib: f64,
    /// Running replicas (tasks in a trace), when known.
    pub replicas: Option<f64>,
    /// CPU usage over the summed CPU limit of the running replicas, when limits are known.
    pub cpu_over_limit: Option<f64>,
    /// Highest per-pod memory usage over the pod memory limit, when known.
    pub memory_over_limit: Option<f64>,
    /// Median (p50) CPU usage within the sample's period in cores, summed over replicas, when
    /// the source reports a usage distribution.
    pub cpu_p50_cores: Option<f64>,
    /// p99 CPU usage within the sample's period in cores, summed over replicas, when the source
    /// reports a usage distribution.
    pub cpu_p99_cores: Option<f64>,
    /// Cycles per instruction, when the source measures it.
    pub cpi: Option<f64>,
    /// Disruptive events since the previous sample, when the source reports events.
    pub events: Option<EventCounts>,
}

/// A feature vector in [`FEATURE_NAMES`] order; `None` marks a feature without enough history.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureVector {
    /// Values in [`FEATURE_NAMES`] order.
    pub values: [Option<f64>; FEATURE_NAMES.len()],
}

impl Default for FeatureVector {
    fn default() -> Self {
        Self {
            values: [None; FEATURE_NAMES.len()],
        }
    }
}

impl FeatureVector {
    /// Returns one feature's value.
    pub fn get(&self, feature: Feature) -> Option<f64> {
        self.values[feature as usize]
    }

    /// Counts the features that are present.
    pub fn present(&self) -> usize {
        self.values.iter().filter(|value| value.is_some()).count()
    }

    fn set(&mut self, feature: Feature, value: Option<f64>) {
        self.values[feature as usize] = value.filter(|value| value.is_finite());
    }
}

impl Serialize for FeatureVector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(FEATURE_NAMES.len()))?;
        for (name, value) in FEATURE_NAMES.iter().zip(self.values.iter()) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for FeatureVector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, Option<f64>>::deserialize(deserializer)?;
        let mut vector = FeatureVector::default();
        for (name, value) in map {
            let index = FEATURE_NAMES
                .iter()
                .position(|known| *known == name)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown feature `{name}`")))?;
            vector.values[index] = value;
        }
        Ok(vector)
    }
}

/// Averages of one completed 300 s window, with event counts summed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    index: i64,
    cpu: f64,
    memory: f64,
    replicas: Option<f64>,
    spread: Option<f64>,
    cpi: Option<f64>,
    events: Option<EventCounts>,
}

/// Running sums of the window being filled.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Accumulator {
    index: i64,
    samples: u32,
    cpu: f64,
    memory: f64,
    replicas: f64,
    replica_samples: u32,
    spread: f64,
    spread_samples: u32,
    cpi: f64,
    cpi_samples: u32,
    events: Option<EventCounts>,
}

impl Accumulator {
    fn add(&mut self, sample: &FeatureSample) {
        self.samples += 1;
        self.cpu += sample.cpu_cores;
        self.memory += sample.memory_gib;
        if let Some(replicas) = sample.replicas {
            self.replicas += replicas;
            self.replica_samples += 1;
        }
        if let Some(spread) = spread(sample) {
            self.spread += spread;
            self.spread_samples += 1;
        }
        if let Some(cpi) = sample.cpi.filter(|cpi| cpi.is_finite()) {
            self.cpi += cpi;
            self.cpi_samples += 1;
        }
        if let Some(events) = sample.events {
            self.events.get_or_insert_default().add(events);
        }
    }

    fn close(&self) -> Window {
        let n = f64::from(self.samples);
        let mean = |sum: f64, samples: u32| (samples > 0).then(|| sum / f64::from(samples));
        Window {
            index: self.index,
            cpu: self.cpu / n,
            memory: self.memory / n,
            replicas: mean(self.replicas, self.replica_samples),
            spread: mean(self.spread, self.spread_samples),
            cpi: mean(self.cpi, self.cpi_samples),
            events: self.events,
        }
    }
}

/// Returns p99 minus p50 of a sample's CPU usage, when it reports both.
fn spread(sample: &FeatureSample) -> Option<f64> {
    let spread = sample.cpu_p99_cores? - sample.cpu_p50_cores?;
    spread.is_finite().then_some(spread)
}

/// Rolling-window feature state of one workload.
#[derive(Debug, Clone, Default)]
pub struct RollingFeatures {
    windows: VecDeque<Window>,
    current: Option<Accumulator>,
    last: Option<FeatureSample>,
}

impl RollingFeatures {
    /// Creates an empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample. Samples must come in non-decreasing time; an older one is ignored.
    pub fn push(&mut self, sample: FeatureSample) {
        if self.last.is_some_and(|last| sample.time_s < last.time_s) {
            return;
        }
        let index = (sample.time_s / BORG_WINDOW_S as f64).floor() as i64;
        let fresh = Accumulator {
            index,
            ..Accumulator::default()
        };
        let current = match self.current.as_mut() {
            Some(current) if current.index == index => current,
            Some(current) => {
                let closed = current.close();
                self.windows.push_back(closed);
                while self.windows.len() > WINDOWS_KEPT {
                    self.windows.pop_front();
                }
                *current = fresh;
                current
            }
            None => self.current.insert(fresh),
        };
        current.add(&sample);
        self.last = Some(sample);
    }

    /// Counts the completed 300 s windows in the history.
    pub fn completed_windows(&self) -> usize {
        self.windows.len()
    }

    /// Returns the latest sample.
    pub fn last_sample(&self) -> Option<&FeatureSample> {
        self.last.as_ref()
    }

    /// Computes the feature vector at the latest sample.
    pub fn features(&self) -> FeatureVector {
        let mut vector = FeatureVector::default();
        let Some(last) = self.last else {
            return vector;
        };
        let current_index = self.current.map_or(0, |current| current.index);

        self.set_latest(&mut vector, &last);
        self.set_cpu_windows(&mut vector, current_index);
        self.set_memory_windows(&mut vector, current_index);
        self.set_signal_windows(&mut vector, current_index);
        self.set_replica_changes(&mut vector, &last, current_index);
        set_calendar(&mut vector, last.time_s);
        vector
    }

    /// Sets the features read from the latest sample alone.
    fn set_latest(&self, vector: &mut FeatureVector, last: &FeatureSample) {
        vector.set(Feature::CpuNow, Some(last.cpu_cores));
        vector.set(Feature::MemoryNow, Some(last.memory_gib));
        vector.set(Feature::ReplicasNow, last.replicas);
        vector.set(Feature::CpuOverLimit, last.cpu_over_limit);
        vector.set(Feature::MemoryOverLimit, last.memory_over_limit);
        vector.set(Feature::CpuSpreadNow, spread(last));
        vector.set(Feature::CpiNow, last.cpi);
    }

    fn set_cpu_windows(&self, vector: &mut FeatureVector, current_index: i64) {
        let lag = |k: i64| self.window_at(current_index - k).map(|window| window.cpu);
        vector.set(Feature::CpuLag1, lag(1));
        vector.set(Feature::CpuLag3, lag(3));
        vector.set(Feature::CpuLag12, lag(12));

        for (hours, mean, std, max) in [
            (1, Feature::CpuMean1h, Feature::CpuStd1h, Feature::CpuMax1h),
            (6, Feature::CpuMean6h, Feature::CpuStd6h, Feature::CpuMax6h),
            (
                24,
                Feature::CpuMean24h,
                Feature::CpuStd24h,
                Feature::CpuMax24h,
            ),
        ] {
            let cpu = self.recent(current_index, hours * WINDOWS_PER_HOUR, |w| Some(w.cpu));
            set_statistics(vector, cpu.as_deref(), Some(mean), Some(std), Some(max));
        }
        let trend = |hours| self.trend_per_hour(current_index, hours, |w| w.cpu);
        vector.set(Feature::CpuTrend1h, trend(1));
        vector.set(Feature::CpuTrend6h, trend(6));
    }

    fn set_memory_windows(&self, vector: &mut FeatureVector, current_index: i64) {
        for (hours, mean, std, max) in [
            (
                1,
                Feature::MemoryMean1h,
                Feature::MemoryStd1h,
                Feature::MemoryMax1h,
            ),
            (
                6,
                Feature::MemoryMean6h,
                Feature::MemoryStd6h,
                Feature::MemoryMax6h,
            ),
            (
                24,
                Feature::MemoryMean24h,
                Feature::MemoryStd24h,
                Feature::MemoryMax24h,
            ),
        ] {
            let memory = self.recent(current_index, hours * WINDOWS_PER_HOUR, |w| Some(w.memory));
            set_statistics(vector, memory.as_deref(), Some(mean), Some(std), Some(max));
        }
        let trend = self.trend_per_hour(current_index, 1, |w| w.memory);
        vector.set(Feature::MemoryTrend1h, trend);
    }

    /// Sets the hourly percentile spread, CPI and event counts.
    fn set_signal_windows(&self, vector: &mut FeatureVector, current_index: i64) {
        let spread = self.recent(current_index, WINDOWS_PER_HOUR, |w| w.spread);
        set_statistics(
            vector,
            spread.as_deref(),
            Some(Feature::CpuSpreadMean1h),
            None,
            None,
        );
        let cpi = self.recent(current_index, WINDOWS_PER_HOUR, |w| w.cpi);
        set_statistics(vector, cpi.as_deref(), Some(Feature::CpiMean1h), None, None);

        let Some(events) = self.recent_events(current_index, WINDOWS_PER_HOUR) else {
            return;
        };
        vector.set(Feature::Evictions1h, Some(f64::from(events.evictions)));
        vector.set(Feature::Failures1h, Some(f64::from(events.failures)));
        vector.set(Feature::Kills1h, Some(f64::from(events.kills)));
        vector.set(Feature::Losses1h, Some(f64::from(events.losses)));
    }

    fn set_replica_changes(
        &self,
        vector: &mut FeatureVector,
        last: &FeatureSample,
        current_index: i64,
    ) {
        let replicas_before = |windows: i64| {
            self.window_at(current_index - windows)
                .and_then(|window| window.replicas)
        };
        let change = |before: Option<f64>| Some(last.replicas? - before?);
        let hour = WINDOWS_PER_HOUR as i64;
        vector.set(Feature::ReplicasChange1h, change(replicas_before(hour)));
        vector.set(Feature::ReplicasChange5m, change(replicas_before(1)));
    }

    fn window_at(&self, index: i64) -> Option<&Window> {
        let position = self.windows.partition_point(|window| window.index < index);
        self.windows
            .get(position)
            .filter(|window| window.index == index)
    }

    /// Values of the completed windows among the `count` windows before `current_index`, or
    /// `None` when fewer than [`MIN_COVERAGE`] of them are present with a value.
    fn recent(
        &self,
        current_index: i64,
        count: usize,
        value: impl Fn(&Window) -> Option<f64>,
    ) -> Option<Vec<f64>> {
        let first = current_index - count as i64;
        let values: Vec<f64> = self
            .windows
            .iter()
            .rev()
            .take_while(|window| window.index >= first)
            .filter_map(value)
            .filter(|value| value.is_finite())
            .collect();
        (values.len() as f64 >= MIN_COVERAGE * count as f64).then_some(values)
    }

    /// Sums the event counts of the `count` windows before `current_index`, or `None` when
    /// fewer than [`MIN_COVERAGE`] of them report events.
    fn recent_events(&self, current_index: i64, count: usize) -> Option<EventCounts> {
        let first = current_index - count as i64;
        let mut total = EventCounts::default();
        let mut reporting = 0;
        let windows = self.windows.iter().rev();
        for window in windows.take_while(|window| window.index >= first) {
            if let Some(events) = window.events {
                total.add(events);
                reporting += 1;
            }
        }
        (f64::from(reporting) >= MIN_COVERAGE * count as f64).then_some(total)
    }

    /// Least-squares slope over the last `hours` of completed windows, per hour.
    fn trend_per_hour(
        &self,
        current_index: i64,
        hours: usize,
        value: impl Fn(&Window) -> f64,
    ) -> Option<f64> {
        let count = hours * WINDOWS_PER_HOUR;
        let first = current_index - count as i64;
        let points: Vec<(f64, f64)> = self
            .windows
            .iter()
            .rev()
            .take_while(|window| window.index >= first)
            .map(|window| ((window.index - first) as f64, value(window)))
            .collect();
        if (points.len() as f64) < MIN_COVERAGE * count as f64 {
            return None;
        }
        let n = points.len() as f64;
        let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
        let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
        let covariance: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
        let variance: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
        (variance > 0.0).then(|| covariance / variance * WINDOWS_PER_HOUR as f64)
    }
}

/// Sets the mean, standard deviation and maximum of `values` where a feature is given; all stay
/// `None` when `values` is `None`.
fn set_statistics(
    vector: &mut FeatureVector,
    values: Option<&[f64]>,
    mean: Option<Feature>,
    std: Option<Feature>,
    max: Option<Feature>,
) {
    let Some(values) = values.filter(|values| !values.is_empty()) else {
        return;
    };
    if let Some(mean) = mean {
        vector.set(mean, Some(stats_mean(values)));
    }
    if let Some(std) = std {
        vector.set(std, Some(stats_std(values)));
    }
    if let Some(max) = max {
        vector.set(max, values.iter().copied().reduce(f64::max));
    }
}

/// Sets the hour of day and day of week of `time_s`, counted from the clock's epoch: day 0 is the
/// first day of a Borg trace, and a Thursday for Unix time.
fn set_calendar(vector: &mut FeatureVector, time_s: f64) {
    let seconds_of_week = time_s.rem_euclid(7.0 * 86_400.0);
    vector.set(
        Feature::HourOfDay,
        Some((seconds_of_week % 86_400.0 / 3600.0).floor()),
    );
    vector.set(
        Feature::DayOfWeek,
        Some((seconds_of_week / 86_400.0).floor()),
    );
}

fn stats_mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn stats_std(values: &[f64]) -> f64 {
    let mean = stats_mean(values);
    (values
        .iter()
        .map(|value| (value - mean).powi(2))
        .sum::<f64>()
        / values.len() as f64)
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace_sample(window: i64, cpu: f64) -> FeatureSample {
        FeatureSample {
            time_s: (window * BORG_WINDOW_S) as f64,
            cpu_cores: cpu,
            memory_gib: 1.0,
            replicas: Some(4.0),
            ..FeatureSample::default()
        }
    }

    #[test]
    fn empty_history_has_no_features() {
        let features = RollingFeatures::new().features();
        assert_eq!(features.present(), 0);
    }

    #[test]
    fn window_features_missing_until_history() {
        let mut rolling = RollingFeatures::new();
        for window in 0..5 {
            rolling.push(trace_sample(window, 1.0));
        }
        let features = rolling.features();
        assert_eq!(features.get(Feature::CpuNow), Some(1.0));
        assert_eq!(features.get(Feature::CpuLag1), Some(1.0));
        assert_eq!(features.get(Feature::CpuLag12), None);
        assert_eq!(features.get(Feature::CpuMean1h), None);
        assert_eq!(features.get(Feature::CpuMean24h), None);
    }

    #[test]
    fn hourly_statistics_over_trace_windows() {
        let mut rolling = RollingFeatures::new();
        for window in 0..=12 {
            rolling.push(trace_sample(window, window as f64));
        }
        let features = rolling.features();
        // Completed windows 0..=11 hold cpu 0..=11; window 12 is the current one.
        assert_eq!(features.get(Feature::CpuMean1h), Some(5.5));
        assert_eq!(features.get(Feature::CpuMax1h), Some(11.0));
        assert_eq!(features.get(Feature::CpuLag1), Some(11.0));
        assert_eq!(features.get(Feature::CpuLag12), Some(0.0));
        let trend = features.get(Feature::CpuTrend1h).expect("trend present");
        assert!(
            (trend - 12.0).abs() < 1e-9,
            "one core per window is 12 cores per hour, got {trend}"
        );
        assert_eq!(features.get(Feature::CpuMean6h), None);
    }

    #[test]
    fn tick_samples_average_into_windows() {
        let mut rolling = RollingFeatures::new();
        for tick in 0..40 {
            let cpu = if tick < 20 { 2.0 } else { 4.0 };
            rolling.push(FeatureSample {
                time_s: tick as f64 * 15.0,
                cpu_cores: cpu,
                ..FeatureSample::default()
            });
        }
        rolling.push(FeatureSample {
            time_s: 600.0,
            cpu_cores: 8.0,
            ..FeatureSample::default()
        });
        assert_eq!(rolling.completed_windows(), 2);
        let features = rolling.features();
        assert_eq!(features.get(Feature::CpuLag1), Some(4.0));
        assert_eq!(features.get(Feature::CpuNow), Some(8.0));
    }

    #[test]
    fn gap_in_history_marks_window_missing() {
        let mut rolling = RollingFeatures::new();
        for window in (0..=12).filter(|window| !(3..8).contains(window)) {
            rolling.push(trace_sample(window, 1.0));
        }
        assert_eq!(rolling.features().get(Feature::CpuMean1h), None);
    }

    #[test]
    fn feature_vector_round_trips_through_json() {
        let mut rolling = RollingFeatures::new();
        for window in 0..=12 {
            rolling.push(trace_sample(window, 2.0));
        }
        let features = rolling.features();
        let json = serde_json::to_string(&features).expect("serialize");
        assert!(json.contains("\"cpu_mean_24h\":null"), "{json}");
        let back: FeatureVector = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, features);
    }

    #[test]
    fn unknown_feature_name_rejected() {
        let error = serde_json::from_str::<FeatureVector>(r#"{"cpu_tomorrow": 1.0}"#).unwrap_err();
        assert!(error.to_string().contains("cpu_tomorrow"), "{error}");
    }

    fn full_sample(window: i64) -> FeatureSample {
        FeatureSample {
            time_s: (window * BORG_WINDOW_S) as f64,
            cpu_cores: 2.0,
            memory_gib: window as f64,
            replicas: Some(window as f64),
            cpu_p50_cores: Some(1.0),
            cpu_p99_cores: Some(3.5),
            cpi: Some(1.5),
            events: Some(EventCounts {
                evictions: 1,
                failures: 2,
                kills: 0,
                losses: u32::from(window == 11),
            }),
            ..FeatureSample::default()
        }
    }

    #[test]
    fn names_units_and_variants_agree() {
        assert_eq!(Feature::ALL.len(), FEATURE_NAMES.len());
        for (index, feature) in Feature::ALL.into_iter().enumerate() {
            assert_eq!(feature as usize, index);
            assert_eq!(feature.name(), FEATURE_NAMES[index]);
            assert!(!feature.unit().is_empty(), "{}", feature.name());
        }
        let mut names = FEATURE_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FEATURE_NAMES.len(), "feature names repeat");
    }

    #[test]
    fn existing_feature_order_is_kept() {
        // Models and agents index the first 23 features by position.
        assert_eq!(Feature::CpuNow as usize, 0);
        assert_eq!(Feature::CpuOverLimit as usize, 14);
        assert_eq!(Feature::MemoryNow as usize, 15);
        assert_eq!(Feature::DayOfWeek as usize, 22);
        assert_eq!(Feature::CpuOverLimit.unit(), "ratio");
        assert_eq!(Feature::MemoryNow.unit(), "GiB");
    }

    #[test]
    fn schema_hash_changes_with_schema() {
        assert_eq!(
            FEATURE_SCHEMA_HASH,
            schema_hash(&FEATURE_NAMES, &FEATURE_UNITS)
        );
        let mut units = FEATURE_UNITS;
        units[0] = "millicores";
        assert_ne!(FEATURE_SCHEMA_HASH, schema_hash(&FEATURE_NAMES, &units));
        let mut names = FEATURE_NAMES;
        names.swap(0, 1);
        assert_ne!(FEATURE_SCHEMA_HASH, schema_hash(&names, &FEATURE_UNITS));
        assert_ne!(
            FEATURE_SCHEMA_HASH,
            schema_hash(&FEATURE_NAMES[..40], &FEATURE_UNITS[..40])
        );
    }

    #[test]
    fn spread_cpi_and_events_over_the_hour() {
        let mut rolling = RollingFeatures::new();
        for window in 0..=12 {
            rolling.push(full_sample(window));
        }
        let features = rolling.features();

        assert_eq!(features.get(Feature::CpuSpreadNow), Some(2.5));
        assert_eq!(features.get(Feature::CpuSpreadMean1h), Some(2.5));
        assert_eq!(features.get(Feature::CpiNow), Some(1.5));
        assert_eq!(features.get(Feature::CpiMean1h), Some(1.5));
        // Completed windows 0..=11 each hold one eviction and two failures; window 11 one loss.
        assert_eq!(features.get(Feature::Evictions1h), Some(12.0));
        assert_eq!(features.get(Feature::Failures1h), Some(24.0));
        assert_eq!(features.get(Feature::Kills1h), Some(0.0));
        assert_eq!(features.get(Feature::Losses1h), Some(1.0));
        assert_eq!(features.get(Feature::ReplicasChange5m), Some(1.0));
        assert_eq!(features.get(Feature::ReplicasChange1h), Some(12.0));
        assert_eq!(features.get(Feature::MemoryMean1h), Some(5.5));
        assert_eq!(features.get(Feature::MemoryMax1h), Some(11.0));
        assert_eq!(features.get(Feature::MemoryMean6h), None);
        assert_eq!(features.get(Feature::CpuTrend6h), None);
    }

    #[test]
    fn unreported_inputs_stay_missing() {
        let mut rolling = RollingFeatures::new();
        for window in 0..=12 {
            rolling.push(trace_sample(window, 1.0));
        }
        let features = rolling.features();

        for feature in [
            Feature::CpuSpreadNow,
            Feature::CpuSpreadMean1h,
            Feature::CpiNow,
            Feature::CpiMean1h,
            Feature::Evictions1h,
            Feature::Losses1h,
        ] {
            assert_eq!(features.get(feature), None, "{}", feature.name());
        }
        assert_eq!(features.get(Feature::ReplicasChange5m), Some(0.0));
    }

    #[test]
    fn tick_events_sum_within_window() {
        let mut rolling = RollingFeatures::new();
        for tick in 0..=260 {
            let evictions = u32::from(tick % 20 == 0);
            rolling.push(FeatureSample {
                time_s: f64::from(tick) * 15.0,
                cpu_cores: 1.0,
                events: Some(EventCounts {
                    evictions,
                    ..EventCounts::default()
                }),
                ..FeatureSample::default()
            });
        }
        // Ticks 0..240 fill windows 0..=11 and one tick in twenty evicts: one per window.
        assert_eq!(rolling.completed_windows(), 13);
        assert_eq!(rolling.features().get(Feature::Evictions1h), Some(12.0));
    }

    #[test]
    fn six_hour_trend_needs_six_hours() {
        let mut rolling = RollingFeatures::new();
        for window in 0..=72 {
            rolling.push(trace_sample(window, window as f64 / 12.0));
        }
        let trend = rolling.features().get(Feature::CpuTrend6h).expect("trend");
        assert!((trend - 1.0).abs() < 1e-9, "one core per hour, got {trend}");
        assert!(rolling.features().get(Feature::MemoryStd6h) == Some(0.0));
    }
}
