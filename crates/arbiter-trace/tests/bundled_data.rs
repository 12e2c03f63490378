//! The readers on the real Borg samples in `data/borg`, through the public API. The expected
//! figures were counted independently of the readers, with a short script over the same files.

use std::path::PathBuf;

use arbiter_core::series::{SpikePolicy, UsageUnit, WorkloadSeries};
use arbiter_trace::{ReadOptions, TraceFormat, detect_format, read_series};

const LONG_JOB: &str = "g2011_job6176858948_taskusage_sum_5min.csv";
const BURSTY_JOB: &str = "g2011_job6336594489_taskusage_sum_5min.csv";
const CELL: &str = "g2019_instance_usage_cellagg_300s_month.csv";

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/borg")
        .join(file)
}

/// Reads a bundled file with its format detected, and checks that it contains one workload.
fn read(file: &str, spike_policy: SpikePolicy) -> WorkloadSeries {
    let mut series = read_series(&data(file), None, &ReadOptions { spike_policy }).unwrap();
    assert_eq!(series.len(), 1);
    series.remove(0)
}

/// Checks that the points are one window apart, in order.
fn assert_contiguous(series: &WorkloadSeries) {
    for pair in series.points.windows(2) {
        assert_eq!(pair[1].start_s - pair[0].start_s, series.window_s);
    }
}

#[test]
fn formats_are_detected() {
    assert_eq!(
        detect_format(&data(LONG_JOB)).unwrap(),
        TraceFormat::JobSeries2011
    );
    assert_eq!(
        detect_format(&data(BURSTY_JOB)).unwrap(),
        TraceFormat::JobSeries2011
    );
    assert_eq!(
        detect_format(&data(CELL)).unwrap(),
        TraceFormat::CellAggregate2019
    );
    assert!(detect_format(&data("g2011_schema.csv")).is_err());
}

#[test]
fn long_job_reads_whole_month() {
    let series = read(LONG_JOB, SpikePolicy::Flag);

    assert_eq!(series.workload, "job-6176858948");
    assert_eq!(series.unit, UsageUnit::Normalized);
    assert_eq!(series.points.len(), 8352);
    assert_eq!(series.points[0].start_s, 600);
    assert_eq!(series.points[8351].start_s, 2_505_900);
    assert!(series.points[6649].flags.zero_tasks);
    assert_eq!(series.quirks.zero_task_windows, 1);
    assert_eq!(series.quirks.spike_windows, 0);
    assert_eq!(series.quirks.grid_offset_s, 0);
    assert_eq!(series.quirks.gap_windows, 0);
    assert_contiguous(&series);
}

#[test]
fn bursty_job_aligned_with_spikes_found() {
    let series = read(BURSTY_JOB, SpikePolicy::Flag);

    assert_eq!(series.points.len(), 1584);
    assert_eq!(series.quirks.grid_offset_s, 156);
    assert_eq!(series.points[0].start_s, 878_700);
    assert_eq!(series.quirks.zero_task_windows, 16);
    assert_eq!(series.quirks.spike_windows, 46);
    let spikes: Vec<usize> = (0..series.points.len())
        .filter(|&i| series.points[i].flags.spike)
        .collect();
    assert_eq!(spikes.len(), 46);
    assert_eq!(spikes[0], 46);
    assert_eq!(spikes[45], 1566);
    // 16,708 tasks after 7,640, a 2.7x surge against its neighbours, is not a doubled window.
    assert!(!spikes.contains(&1404));
    assert_eq!(series.points[46].tasks, Some(38_932));
    assert_contiguous(&series);
}

#[test]
fn cpu_burst_is_not_a_spike() {
    let series = read(LONG_JOB, SpikePolicy::Flag);

    // Window 6652 uses 3.31 NCU against about 0.8 before it, with the usual 3,200 tasks.
    let burst = series.points[6652];
    assert_eq!(burst.tasks, Some(3200));
    assert!(burst.cpu > 3.0 * series.points[6651].cpu);
    assert!(!burst.flags.spike);
}

#[test]
fn repair_halves_only_the_spikes() {
    let flagged = read(BURSTY_JOB, SpikePolicy::Flag);
    let repaired = read(BURSTY_JOB, SpikePolicy::Repair);

    assert_eq!(repaired.points[46].tasks, Some(19_466));
    assert_eq!(repaired.points[46].cpu, flagged.points[46].cpu / 2.0);
    assert_eq!(repaired.quirks.spike_policy, SpikePolicy::Repair);
    for (before, after) in flagged.points.iter().zip(&repaired.points) {
        assert_eq!(after.flags.repaired, before.flags.spike);
        if !before.flags.spike {
            assert_eq!(before, after);
        }
    }
}

#[test]
fn cell_aggregate_reads_28_days() {
    let series = read(CELL, SpikePolicy::Flag);

    assert_eq!(series.workload, "cell-aggregate");
    assert_eq!(series.format, "g2019-cell-aggregate");
    assert_eq!(series.unit, UsageUnit::Relative);
    assert_eq!(series.points.len(), 8064);
    assert_eq!(series.duration_s(), 28 * 86_400);
    assert_eq!(series.points[0].start_s, 0);
    assert_eq!(series.points[0].cpu, 0.4416155843647663);
    assert_eq!(series.points[0].memory, 0.332384265123427);
    assert_contiguous(&series);
}

#[test]
fn explicit_format_must_match_content() {
    let error = read_series(
        &data(CELL),
        Some(TraceFormat::JobSeries2011),
        &ReadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.ends_with(
            ":1: found 4 comma-separated fields, expected 18 for g2011-job-series; \
                             the line may be truncated, or the file is in another format"
        ),
        "{error}"
    );
}
