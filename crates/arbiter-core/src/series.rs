//! Per-workload usage series, the common currency between trace readers, the simulator's load
//! generator and the feature code.

use serde::{Deserialize, Serialize};

/// Length of one Borg usage window in seconds. Both trace generations report usage per 300 s.
pub const BORG_WINDOW_S: i64 = 300;

/// Unit of the CPU and memory values in a [`WorkloadSeries`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageUnit {
    /// Normalized compute units (NCU): 1.0 is the capacity of the largest machine in the trace.
    /// CPU is core-seconds per second in that unit; memory is bytes in that unit.
    Normalized,
    /// A unitless demand curve whose absolute level is unknown (for example a cell aggregate
    /// where the values may be means or sums). Only its shape is meaningful.
    Relative,
}

/// What a reader did with a window that looked like double counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpikePolicy {
    /// Keep the values as read and mark the window with [`PointFlags::spike`].
    #[default]
    Flag,
    /// Halve the task count and the usage of the window and mark it.
    Repair,
}

/// Quirks found in one window of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PointFlags {
    /// The row reported zero running tasks, so its usage is not a measurement of the workload.
    pub zero_tasks: bool,
    /// The task count was about twice that of its neighbours, the sign of overlapping trace
    /// parts counted twice.
    pub spike: bool,
    /// The spike was repaired by halving (see [`SpikePolicy::Repair`]).
    pub repaired: bool,
}

/// One window of a workload's usage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Window start in seconds since the trace epoch, after alignment to the 300 s grid.
    pub start_s: i64,
    /// CPU usage in the series' [`UsageUnit`] (core-seconds per second when normalized).
    pub cpu: f64,
    /// Memory usage in the series' [`UsageUnit`].
    pub memory: f64,
    /// Running tasks in the window, where the trace reports it.
    pub tasks: Option<u32>,
    /// Quirks found in this window.
    pub flags: PointFlags,
}

/// Summary of the trace quirks a reader met and what it did about each.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QuirkReport {
    /// Windows whose row reported zero running tasks.
    pub zero_task_windows: usize,
    /// Windows detected as double-counting spikes.
    pub spike_windows: usize,
    /// What was done with the spikes.
    pub spike_policy: SpikePolicy,
    /// Offset in seconds that was subtracted from every timestamp to put the series on the
    /// 300 s grid (0 when the trace was already aligned).
    pub grid_offset_s: i64,
    /// Windows absent from the trace between its first and last row. The series has no point
    /// for them, so consecutive points can be more than one window apart.
    #[serde(default)]
    pub gap_windows: usize,
}

/// Usage of one workload over time, one point per 300 s window present in the trace, in time
/// order. Absent windows have no point (see [`QuirkReport::gap_windows`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSeries {
    /// Workload name, for example `job-6176858948` or `cell-aggregate`.
    pub workload: String,
    /// File the series was read from.
    pub source: String,
    /// Trace format the series was read as.
    pub format: String,
    /// Window length in seconds.
    pub window_s: i64,
    /// Unit of `cpu` and `memory` in every point.
    pub unit: UsageUnit,
    /// The windows, in increasing `start_s`.
    pub points: Vec<SeriesPoint>,
    /// Quirks met while reading.
    pub quirks: QuirkReport,
}

impl WorkloadSeries {
    /// Returns the time span the series covers in seconds, from the first window's start to the
    /// last window's end (absent windows inside count as covered time).
    pub fn duration_s(&self) -> i64 {
        match (self.points.first(), self.points.last()) {
            (Some(first), Some(last)) => last.start_s - first.start_s + self.window_s,
            _ => 0,
        }
    }

    /// Returns the point whose window contains `offset_s` seconds after the first window's
    /// start, or `None` when that time falls in an absent window or outside the series.
    pub fn point_at(&self, offset_s: f64) -> Option<&SeriesPoint> {
        let first = self.points.first()?;
        let time = first.start_s as f64 + offset_s;
        let index = self
            .points
            .partition_point(|point| point.start_s as f64 <= time);
        let point = self.points.get(index.checked_sub(1)?)?;
        (time < (point.start_s + self.window_s) as f64).then_some(point)
    }

    /// Returns a copy limited to the windows that start within `days` days of the first one.
    pub fn truncated_to_days(&self, days: f64) -> WorkloadSeries {
        let mut copy = self.clone();
        if let Some(first) = self.points.first() {
            let end = first.start_s as f64 + days * 86_400.0;
            copy.points.retain(|point| (point.start_s as f64) < end);
        }
        copy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series_with_gap() -> WorkloadSeries {
        let point = |start_s: i64, cpu: f64| SeriesPoint {
            start_s,
            cpu,
            memory: 0.0,
            tasks: None,
            flags: PointFlags::default(),
        };
        WorkloadSeries {
            workload: "w".to_owned(),
            source: "test".to_owned(),
            format: "test".to_owned(),
            window_s: BORG_WINDOW_S,
            unit: UsageUnit::Relative,
            points: vec![point(600, 1.0), point(900, 2.0), point(1800, 3.0)],
            quirks: QuirkReport::default(),
        }
    }

    #[test]
    fn duration_spans_absent_windows() {
        assert_eq!(series_with_gap().duration_s(), 1500);
    }

    #[test]
    fn point_at_skips_absent_windows() {
        let series = series_with_gap();
        assert_eq!(series.point_at(0.0).map(|p| p.cpu), Some(1.0));
        assert_eq!(series.point_at(299.0).map(|p| p.cpu), Some(1.0));
        assert_eq!(series.point_at(300.0).map(|p| p.cpu), Some(2.0));
        assert_eq!(series.point_at(600.0), None);
        assert_eq!(series.point_at(1200.0).map(|p| p.cpu), Some(3.0));
        assert_eq!(series.point_at(1500.0), None);
        assert_eq!(series.point_at(-1.0), None);
    }

    #[test]
    fn truncation_by_days_uses_time() {
        let series = series_with_gap();
        assert_eq!(series.truncated_to_days(600.0 / 86_400.0).points.len(), 2);
    }
}
