//! `ingest` (the logic of `arbiter trace inspect`, `series` and `features`) on every file of
//! the bundled samples in data/borg.

use std::path::PathBuf;

use arbiter_trace::{
    IngestOptions, InspectReport, TraceError, collection_feature_rows, ingest, read_joined_extract,
    workload_feature_rows, write_features_csv, write_series_csv,
};

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/borg")
        .join(file)
}

fn inspect(file: &str) -> InspectReport {
    ingest(&[data(file)], &IngestOptions::default())
        .unwrap()
        .report
}

#[test]
fn inspect_long_job_series() {
    let report = inspect("g2011_job6176858948_taskusage_sum_5min.csv");
    assert_eq!(report.format, "g2011-job-series");
    assert_eq!(report.rows, 8_352);
    assert_eq!(report.collections, 1);
    assert_eq!(report.machines, 0);
    assert_eq!(report.first_time_us, Some(600_000_000));
    assert_eq!(report.last_time_us, Some(2_505_900_000_000));
    assert_eq!(report.bad_lines, 0);
}

#[test]
fn inspect_bursty_job_series_keeps_raw_times() {
    let report = inspect("g2011_job6336594489_taskusage_sum_5min.csv");
    assert_eq!(report.rows, 1_584);
    // The times as written, 156 s off the 300 s grid.
    assert_eq!(report.first_time_us, Some(878_856_000_000));
    assert_eq!(report.last_time_us, Some(1_353_756_000_000));
}

#[test]
fn inspect_cell_aggregate() {
    let report = inspect("g2019_instance_usage_cellagg_300s_month.csv");
    assert_eq!(report.format, "g2019-cell-aggregate");
    assert_eq!(report.rows, 8_064);
    assert_eq!(report.collections, 1);
    assert_eq!(report.first_time_us, Some(0));
    assert_eq!(report.last_time_us, Some(8_063 * 300_000_000));
}

#[test]
fn inspect_joined_extract() {
    let report = inspect("g2019_kaggle_borg_traces_slice99.csv");
    assert_eq!(report.format, "g2019-joined-extract");
    assert_eq!(report.rows, 99);
    assert_eq!(report.collections, 83);
    assert_eq!(report.machines, 99);
    assert_eq!(report.first_time_us, Some(25_800_000_000));
    assert_eq!(report.last_time_us, Some(2_678_400_000_000));
    assert_eq!(report.times_before_trace, 16);
    assert_eq!(report.bad_lines, 0);

    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "format",
        "rows",
        "collections",
        "machines",
        "first_time_us",
        "last_time_us",
        "bad_lines",
    ] {
        assert!(json.get(key).is_some(), "no {key} in {json}");
    }
}

#[test]
fn joined_event_codes_beat_labels() {
    let extract = read_joined_extract(&data("g2019_kaggle_borg_traces_slice99.csv")).unwrap();
    assert_eq!(extract.records.len(), 99);
    assert_eq!(extract.quirks.label_mismatches, 99);
    assert_eq!(extract.quirks.failed_disagreements, 44);
    assert_eq!(extract.quirks.missing_distributions, 5);
}

#[test]
fn joined_extract_series_and_features() {
    let ingested = ingest(
        &[data("g2019_kaggle_borg_traces_slice99.csv")],
        &IngestOptions::default(),
    )
    .unwrap();
    let usage_windows: u32 = ingested
        .series
        .iter()
        .flat_map(|series| &series.points)
        .map(|point| point.usage_records)
        .sum();
    assert_eq!(usage_windows, 99);
    // Code 5 (FAIL) appears on 15 rows; the `failed` column claims 29 others.
    let failures: u32 = ingested
        .series
        .iter()
        .flat_map(|series| &series.points)
        .map(|point| point.failures)
        .sum();
    assert_eq!(failures, 15);

    let mut csv = Vec::new();
    write_series_csv(&mut csv, &ingested.series, &ingested.aggregated).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("workload,cell,collection_id,"));
    let rows: usize = ingested
        .series
        .iter()
        .map(|series| series.points.len())
        .sum();
    assert_eq!(csv.lines().count(), rows + 1);

    let features: Vec<_> = ingested
        .series
        .iter()
        .flat_map(|series| collection_feature_rows(series, &Default::default()))
        .collect();
    let mut out = Vec::new();
    write_features_csv(&mut out, &features).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap().lines().count(),
        features.len() + 1
    );
}

#[test]
fn job_series_features_fill_after_a_day() {
    let ingested = ingest(
        &[data("g2011_job6176858948_taskusage_sum_5min.csv")],
        &IngestOptions::default(),
    )
    .unwrap();
    let rows = workload_feature_rows(&ingested.aggregated[0], &Default::default());
    assert_eq!(rows.len(), 8_352);
    use arbiter_core::features::Feature;
    assert_eq!(rows[0].features.get(Feature::CpuMean24h), None);
    assert!(rows[300].features.get(Feature::CpuMean24h).is_some());
    assert_eq!(
        rows[300].features.get(Feature::CpiMean1h),
        None,
        "the series has no CPI input"
    );
}

#[test]
fn schema_file_is_not_a_trace() {
    let error = ingest(&[data("g2011_schema.csv")], &IngestOptions::default()).unwrap_err();
    assert!(
        matches!(error, TraceError::UndetectedFormat { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("g2011_schema.csv"), "{error}");
}
