//! The 2011 job series: one job's `task_usage` summed over its running tasks at each 300 s
//! instant, 18 comma-separated numeric columns without header.
//!
//! The series keeps column 1 (time in seconds since the trace epoch), 2 (running tasks),
//! 4 (CPU rate, NCU) and 5 (canonical memory, normalized). Every column must be a finite number
//! of zero or more. The quirks are handled in the open:
//! - Times off the 300 s grid (job 6336594489 sits 156 s off) are shifted onto it, and the
//!   shift is reported in [`QuirkReport::grid_offset_s`].
//! - Absent windows leave a gap between points, counted in [`QuirkReport::gap_windows`].
//! - Rows with zero tasks are kept as read and flagged, because their usage does not measure
//!   the job.
//! - Windows counted twice where trace parts overlap are flagged or halved per [`SpikePolicy`].

use std::path::Path;

use arbiter_core::series::{
    BORG_WINDOW_S, PointFlags, QuirkReport, SeriesPoint, SpikePolicy, UsageUnit, WorkloadSeries,
};

use crate::error::TraceError;
use crate::format::TraceFormat;
use crate::quirks::{RowTime, count_gap_windows, find_spikes, grid_offset_s, mark_spike};
use crate::text::{Line, data_lines};

const FORMAT: &str = TraceFormat::JobSeries2011.name();

/// Column names, 1-based column `i` at index `i - 1`. Each is a sum over the job's tasks.
const COLUMNS: [&str; 18] = [
    "time",
    "tasks",
    "tasks (again)",
    "CPU rate",
    "canonical memory",
    "assigned memory",
    "unmapped page cache",
    "total page cache",
    "maximum memory",
    "disk I/O time",
    "local disk space",
    "maximum CPU rate",
    "maximum disk I/O time",
    "CPI",
    "MAI",
    "sample portion",
    "aggregation type",
    "sampled CPU usage",
];
const TIME: usize = 0;
const TASKS: usize = 1;
const CPU: usize = 3;
const MEMORY: usize = 4;

/// The kept columns of one row.
#[derive(Debug, Clone, Copy)]
struct JobRow {
    time: RowTime,
    tasks: u32,
    cpu: f64,
    memory: f64,
}

/// Tells whether `first_line` is a job series row: 18 fields, each a number.
pub(crate) fn matches_first_line(first_line: &str) -> bool {
    let fields: Vec<&str> = first_line.split(',').collect();
    fields.len() == COLUMNS.len()
        && fields
            .iter()
            .all(|field| field.trim().parse::<f64>().is_ok())
}

/// Parses the text of a 2011 job series read from `path`.
pub(crate) fn parse(
    text: &str,
    path: &Path,
    policy: SpikePolicy,
) -> Result<WorkloadSeries, TraceError> {
    let file = path.display().to_string();
    let rows = data_lines(text)
        .map(|(number, content)| {
            parse_row(
                Line {
                    file: &file,
                    number,
                },
                content,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let first = rows.first().ok_or_else(|| TraceError::Empty {
        file: file.clone(),
        format: FORMAT,
    })?;

    let times: Vec<RowTime> = rows.iter().map(|row| row.time).collect();
    let gap_windows = count_gap_windows(&times, &file)?;
    let grid_offset_s = grid_offset_s(first.time.time_s);
    let mut points: Vec<SeriesPoint> = rows.iter().map(|row| point(row, grid_offset_s)).collect();

    let spikes = find_spikes(&points);
    for &index in &spikes {
        mark_spike(&mut points[index], policy);
    }

    let quirks = QuirkReport {
        zero_task_windows: points.iter().filter(|point| point.flags.zero_tasks).count(),
        spike_windows: spikes.len(),
        spike_policy: policy,
        grid_offset_s,
        gap_windows,
    };
    Ok(WorkloadSeries {
        workload: workload_name(path),
        source: file,
        format: FORMAT.to_owned(),
        window_s: BORG_WINDOW_S,
        unit: UsageUnit::Normalized,
        points,
        quirks,
    })
}

fn parse_row(line: Line<'_>, content: &str) -> Result<JobRow, TraceError> {
    let fields: Vec<&str> = content.split(',').collect();
    line.expect_fields(fields.len(), COLUMNS.len(), FORMAT)?;
    let values = (fields.iter().enumerate())
        .map(|(column, value)| line.number(column, COLUMNS[column], value))
        .collect::<Result<Vec<f64>, _>>()?;

    let time_s = line.whole(TIME, COLUMNS[TIME], fields[TIME], i64::MAX as u64)?;
    let tasks = line.whole(TASKS, COLUMNS[TASKS], fields[TASKS], u64::from(u32::MAX))?;
    Ok(JobRow {
        // Both casts are exact because `whole` checked the bounds.
        time: RowTime {
            line: line.number,
            time_s: time_s as i64,
        },
        tasks: tasks as u32,
        cpu: values[CPU],
        memory: values[MEMORY],
    })
}

fn point(row: &JobRow, grid_offset_s: i64) -> SeriesPoint {
    SeriesPoint {
        start_s: row.time.time_s - grid_offset_s,
        cpu: row.cpu,
        memory: row.memory,
        tasks: Some(row.tasks),
        flags: PointFlags {
            zero_tasks: row.tasks == 0,
            ..PointFlags::default()
        },
    }
}

/// Names the workload `job-<id>` after the first `job<digits>` in the file stem, else after the
/// stem itself.
fn workload_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let job_id = stem.match_indices("job").find_map(|(at, _)| {
        let rest = &stem[at + 3..];
        let digits = &rest[..rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len())];
        (!digits.is_empty()).then(|| format!("job-{digits}"))
    });
    job_id.unwrap_or(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a row of the 18-column format with the given time, tasks and CPU, and memory CPU / 2.
    fn row(time_s: i64, tasks: u32, cpu: f64) -> String {
        let memory = cpu / 2.0;
        format!(
            "{time_s}.0,{tasks}.0,{tasks}.0,{cpu},{memory}{}",
            ",0.0".repeat(13)
        )
    }

    fn parse_rows(rows: &[(i64, u32, f64)], policy: SpikePolicy) -> WorkloadSeries {
        let text: String = rows
            .iter()
            .map(|&(time, tasks, cpu)| row(time, tasks, cpu) + "\n")
            .collect();
        parse(&text, Path::new("job1.csv"), policy).unwrap()
    }

    fn error(text: &str) -> String {
        parse(text, Path::new("t.csv"), SpikePolicy::Flag)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_time_tasks_cpu_and_memory() {
        let series = parse_rows(&[(600, 10, 1.0), (900, 11, 1.5)], SpikePolicy::Flag);

        assert_eq!(series.workload, "job-1");
        assert_eq!(series.format, "g2011-job-series");
        assert_eq!(series.unit, UsageUnit::Normalized);
        let second = series.points[1];
        assert_eq!(second.start_s, 900);
        assert_eq!(second.tasks, Some(11));
        assert_eq!(second.cpu, 1.5);
        assert_eq!(second.memory, 0.75);
        assert_eq!(series.quirks, QuirkReport::default());
    }

    #[test]
    fn off_grid_times_shift_onto_grid() {
        let series = parse_rows(&[(878_856, 5, 1.0), (879_156, 5, 1.0)], SpikePolicy::Flag);

        assert_eq!(series.quirks.grid_offset_s, 156);
        assert_eq!(series.points[0].start_s, 878_700);
        assert_eq!(series.points[1].start_s, 879_000);
    }

    #[test]
    fn gap_of_whole_windows_is_counted() {
        let series = parse_rows(&[(600, 1, 1.0), (1500, 1, 1.0)], SpikePolicy::Flag);

        assert_eq!(series.quirks.gap_windows, 2);
        assert_eq!(series.points[1].start_s, 1500);
    }

    #[test]
    fn zero_task_rows_are_flagged_and_kept() {
        let series = parse_rows(
            &[(600, 10, 1.0), (900, 0, 0.0), (1200, 10, 1.0)],
            SpikePolicy::Flag,
        );

        assert_eq!(series.points.len(), 3);
        assert!(series.points[1].flags.zero_tasks);
        assert_eq!(series.quirks.zero_task_windows, 1);
    }

    #[test]
    fn repair_policy_halves_spike() {
        let tasks = [100, 101, 99, 201, 100, 0, 102];
        let rows: Vec<_> = (0..tasks.len())
            .map(|i| (600 + 300 * i as i64, tasks[i], f64::from(tasks[i]) / 100.0))
            .collect();
        let series = parse_rows(&rows, SpikePolicy::Repair);

        let spike = series.points[3];
        assert!(spike.flags.repaired);
        assert_eq!(spike.tasks, Some(101));
        assert_eq!(spike.cpu, 1.005);
        assert_eq!(spike.memory, 0.5025);
        assert_eq!(series.quirks.spike_windows, 1);
        assert_eq!(series.quirks.spike_policy, SpikePolicy::Repair);
    }

    #[test]
    fn bad_rows_name_line_column_and_text() {
        let truncated = format!("{}\n600.0,3089.0,30", row(300, 1, 1.0));
        assert_eq!(
            error(&truncated),
            "t.csv:2: found 3 comma-separated fields, expected 18 for g2011-job-series; \
             the line may be truncated, or the file is in another format"
        );
        let garbled = row(600, 1, 1.0).replace("1,0.5", "1,0.5e");
        assert_eq!(
            error(&garbled),
            "t.csv:1: column 5 (canonical memory) is \"0.5e\", expected a finite number >= 0; \
             correct or remove the row"
        );
        let fractional_tasks = row(600, 1, 1.0).replacen("1.0", "1.5", 1);
        assert!(error(&fractional_tasks).contains("column 2 (tasks) is \"1.5\""));
    }

    #[test]
    fn empty_text_is_an_error() {
        assert_eq!(
            error("\n\n"),
            "t.csv: the file contains no data rows, expected a g2011-job-series file"
        );
    }

    #[test]
    fn workload_name_uses_job_id() {
        let name = |path: &str| workload_name(Path::new(path));
        assert_eq!(
            name("data/g2011_job6176858948_taskusage_sum_5min.csv"),
            "job-6176858948"
        );
        assert_eq!(name("jobs/jobless_job42.csv"), "job-42");
        assert_eq!(name("usage.csv"), "usage");
    }
}
