//! Detection of the Borg series quirks: times off the 300 s grid, absent windows and windows
//! counted twice.

use arbiter_core::series::{BORG_WINDOW_S, SeriesPoint, SpikePolicy};

use crate::error::TraceError;
use crate::text::Line;

/// A window is a spike when its task count is at least this multiple of the median of its
/// neighbours. In the bundled samples the doubled windows reach 1.64x or more, and no other
/// window passes 1.33x.
pub const SPIKE_MIN_RATIO: f64 = 1.5;

/// A window whose task count passes this multiple of its neighbours' median is a real change,
/// not a spike: counting a window twice at most doubles it. The doubled windows of the bundled
/// samples stay at 2.45x or less.
pub const SPIKE_MAX_RATIO: f64 = 2.5;

/// Windows on each side of a window that form its neighbourhood for spike detection.
pub const SPIKE_NEIGHBOURS: usize = 3;

/// A row's time in seconds and the line it was read from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowTime {
    pub(crate) line: usize,
    pub(crate) time_s: i64,
}

/// Returns the offset of the first time from the 300 s grid, in seconds.
pub(crate) fn grid_offset_s(first_time_s: i64) -> i64 {
    first_time_s.rem_euclid(BORG_WINDOW_S)
}

/// Counts the windows absent between consecutive rows. Each row must come a whole, non-zero
/// number of windows after the previous one, so every row keeps the first row's grid offset.
pub(crate) fn count_gap_windows(times: &[RowTime], file: &str) -> Result<usize, TraceError> {
    let mut gap_windows = 0;
    for pair in times.windows(2) {
        let step_s = pair[1].time_s - pair[0].time_s;
        if step_s <= 0 || step_s % BORG_WINDOW_S != 0 {
            let line = Line {
                file,
                number: pair[1].line,
            };
            return Err(TraceError::TimeStep {
                at: line.location(),
                previous_s: pair[0].time_s,
                found_s: pair[1].time_s,
                window_s: BORG_WINDOW_S,
            });
        }
        // A step of n windows leaves n - 1 of them absent. The step is positive, so the cast is exact.
        gap_windows += (step_s / BORG_WINDOW_S - 1) as usize;
    }
    Ok(gap_windows)
}

/// Returns the indices of the spike windows, judged on the task counts as read. A window
/// without a task count is never a spike.
pub(crate) fn find_spikes(points: &[SeriesPoint]) -> Vec<usize> {
    let tasks: Vec<u32> = points
        .iter()
        .map(|point| point.tasks.unwrap_or(0))
        .collect();
    (0..tasks.len())
        .filter(|&index| is_spike(&tasks, index))
        .collect()
}

/// Tells whether the window at `index` is a spike. Its task count must lie between
/// [`SPIKE_MIN_RATIO`] and [`SPIKE_MAX_RATIO`] times the median of the non-zero counts among
/// its [`SPIKE_NEIGHBOURS`] rows on either side, and at least two such rows must exist. Only
/// the task count decides, so a CPU burst with a normal task count is not a spike.
fn is_spike(tasks: &[u32], index: usize) -> bool {
    let low = index.saturating_sub(SPIKE_NEIGHBOURS);
    let high = (index + SPIKE_NEIGHBOURS + 1).min(tasks.len());
    let mut neighbours: Vec<u32> = (low..high)
        .filter(|&other| other != index && tasks[other] > 0)
        .map(|other| tasks[other])
        .collect();
    if tasks[index] == 0 || neighbours.len() < 2 {
        return false;
    }

    let ratio = f64::from(tasks[index]) / median(&mut neighbours);
    (SPIKE_MIN_RATIO..=SPIKE_MAX_RATIO).contains(&ratio)
}

fn median(values: &mut [u32]) -> f64 {
    values.sort_unstable();
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        f64::from(values[middle])
    } else {
        (f64::from(values[middle - 1]) + f64::from(values[middle])) / 2.0
    }
}

/// Flags a spike window and, under [`SpikePolicy::Repair`], halves its task count and usage.
pub(crate) fn mark_spike(point: &mut SeriesPoint, policy: SpikePolicy) {
    point.flags.spike = true;
    if policy == SpikePolicy::Repair {
        // The window was counted twice, so half of everything it reports is real.
        point.tasks = point.tasks.map(|tasks| tasks.div_ceil(2));
        point.cpu /= 2.0;
        point.memory /= 2.0;
        point.flags.repaired = true;
    }
}

#[cfg(test)]
mod tests {
    use arbiter_core::series::PointFlags;

    use super::*;

    fn points(tasks: &[u32]) -> Vec<SeriesPoint> {
        tasks
            .iter()
            .map(|&count| SeriesPoint {
                start_s: 0,
                cpu: f64::from(count),
                memory: 1.0,
                tasks: Some(count),
                flags: PointFlags::default(),
            })
            .collect()
    }

    fn times(seconds: &[i64]) -> Vec<RowTime> {
        let rows = seconds.iter().enumerate();
        rows.map(|(index, &time_s)| RowTime {
            line: index + 1,
            time_s,
        })
        .collect()
    }

    #[test]
    fn grid_offset_is_time_modulo_window() {
        assert_eq!(grid_offset_s(600), 0);
        assert_eq!(grid_offset_s(878_856), 156);
    }

    #[test]
    fn gaps_count_absent_windows() {
        assert_eq!(
            count_gap_windows(&times(&[600, 900, 1200]), "f").unwrap(),
            0
        );
        assert_eq!(
            count_gap_windows(&times(&[600, 1500, 1800, 2400]), "f").unwrap(),
            3
        );
    }

    #[test]
    fn time_steps_off_grid_or_backwards_are_errors() {
        for bad in [[600, 600], [600, 300], [600, 1000]] {
            let error = count_gap_windows(&times(&bad), "f.csv")
                .unwrap_err()
                .to_string();
            let expected = format!(
                "f.csv:2: column 1 (time) is {} s but the previous row is at 600 s",
                bad[1]
            );
            assert!(error.starts_with(&expected), "{error}");
        }
    }

    #[test]
    fn doubled_window_is_a_spike() {
        let spikes = find_spikes(&points(&[100, 101, 99, 201, 100, 0, 102]));
        assert_eq!(spikes, vec![3]);
    }

    #[test]
    fn spikes_ignore_lasting_rises_and_surges() {
        let lasting = points(&[100, 100, 100, 100, 200, 200, 200, 200]);
        assert!(find_spikes(&lasting).is_empty());
        let surge = points(&[100, 100, 100, 300, 100, 100, 100]);
        assert!(find_spikes(&surge).is_empty());
    }

    #[test]
    fn spikes_ignore_zero_task_neighbours() {
        let lonely = points(&[0, 0, 0, 50, 0, 0, 100]);
        assert!(find_spikes(&lonely).is_empty());
    }

    #[test]
    fn repair_halves_tasks_and_usage() {
        let mut point = points(&[201])[0];
        mark_spike(&mut point, SpikePolicy::Repair);

        assert_eq!(point.tasks, Some(101));
        assert_eq!(point.cpu, 100.5);
        assert_eq!(point.memory, 0.5);
        assert!(point.flags.spike);
        assert!(point.flags.repaired);
    }

    #[test]
    fn flag_keeps_values() {
        let mut point = points(&[201])[0];
        mark_spike(&mut point, SpikePolicy::Flag);

        assert_eq!(point.tasks, Some(201));
        assert_eq!(point.cpu, 201.0);
        assert!(point.flags.spike);
        assert!(!point.flags.repaired);
    }
}
