//! The raw readers and the aggregation on hand-made fixtures in each official format: 2019
//! JSON lines with string integers and absent fields, 2011 CSV parts with empty fields, plain
//! and gzipped, one file or a directory of shards.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use arbiter_core::features::Feature;
use arbiter_trace::{
    CollectionSeries, EventKind, IngestOptions, Ingested, PriorityBand, Record, SeriesFilter,
    TraceError, TraceFormat, collection_feature_rows, detect_format, ingest, parse_line,
};

/// A folder under the system temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "arbiter-trace-raw-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn write_gzip(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, gzip(text)).unwrap();
        path
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

const DISTRIBUTION: &str = "[0.1,0.2,0.3,0.35,0.4,0.45,0.5,0.6,0.7,0.8,0.9]";
const TAIL: &str = "[0.81,0.82,0.83,0.84,0.85,0.86,0.87,0.88,0.89]";

/// 2019 `instance_usage`. In window 2, collection 42 has a full 300 s record of instance 3 and
/// a 150 s record of instance 0 (absent index, numbers as JSON numbers, no CPI or
/// distributions). Collection 43 has one record in window 3.
fn usage_2019() -> String {
    [
        format!(
            r#"{{"start_time":"600000000","end_time":"900000000","collection_id":"42","instance_index":"3","machine_id":"7","collection_type":"0","average_usage":{{"cpus":0.5,"memory":0.25}},"maximum_usage":{{"cpus":0.9,"memory":0.3}},"random_sample_usage":{{"cpus":0.4}},"assigned_memory":0.4,"page_cache_memory":0.01,"cycles_per_instruction":1.5,"memory_accesses_per_instruction":0.002,"sample_rate":1.0,"cpu_usage_distribution":{DISTRIBUTION},"tail_cpu_usage_distribution":{TAIL}}}"#
        ),
        r#"{"start_time":600000000,"end_time":750000000,"collection_id":42,"machine_id":"8","average_usage":{"cpus":0.2,"memory":0.1},"maximum_usage":{"cpus":0.4},"assigned_memory":0.2,"cpu_usage_distribution":[],"tail_cpu_usage_distribution":[]}"#.to_owned(),
        r#"{"start_time":"900000000","end_time":"1200000000","collection_id":"43","instance_index":"1","machine_id":"7","average_usage":{"cpus":0.1,"memory":0.05},"maximum_usage":{"cpus":0.2,"memory":0.06}}"#.to_owned(),
    ]
    .join("\n")
        + "\n"
}

/// 2019 `instance_events`: requests of both instances of collection 42, an EVICT and a FAIL in
/// window 2, a KILL in window 3 and a LOST of collection 43 after the trace.
fn instance_events_2019() -> String {
    [
        r#"{"time":"0","type":"3","collection_id":"42","instance_index":"3","machine_id":"7","scheduling_class":"2","priority":"200","resource_request":{"cpus":1.0,"memory":0.5}}"#,
        r#"{"type":"3","collection_id":"42","machine_id":"8","scheduling_class":"2","priority":"200","resource_request":{"cpus":0.5}}"#,
        r#"{"time":"700000000","type":"4","collection_id":"42","instance_index":"3","machine_id":"7","scheduling_class":"2","priority":"200"}"#,
        r#"{"time":"800000000","type":"5","collection_id":"42","machine_id":"8","scheduling_class":"2","priority":"200"}"#,
        r#"{"time":"1000000000","type":"7","collection_id":"42","instance_index":"3","scheduling_class":"2","priority":"200"}"#,
        r#"{"time":"9223372036854775807","type":"8","collection_id":"43","instance_index":"1","priority":"25"}"#,
    ]
    .join("\n")
        + "\n"
}

fn collection_events_2019() -> String {
    [
        r#"{"time":"500000000","type":"0","collection_id":"42","scheduling_class":"2","priority":"200","user":"u","collection_name":"n"}"#,
        r#"{"time":"500000000","collection_id":"43","priority":"25","user":"v","collection_logical_name":"l"}"#,
    ]
    .join("\n")
        + "\n"
}

fn machine_events_2019() -> String {
    [
        r#"{"machine_id":"7","type":"1","capacity":{"cpus":0.5,"memory":0.25},"platform_id":"p"}"#,
        r#"{"time":"600000000","machine_id":"9","type":"1","capacity":{"cpus":0.5},"switch_id":"s"}"#,
    ]
    .join("\n")
        + "\n"
}

fn options() -> IngestOptions {
    IngestOptions {
        threads: 2,
        ..IngestOptions::default()
    }
}

fn write_2019(dir: &TempDir, gzipped: bool) -> PathBuf {
    let tables = [
        ("instance_usage-000000000000.json", usage_2019()),
        ("instance_events-000000000000.json", instance_events_2019()),
        (
            "collection_events-000000000000.json",
            collection_events_2019(),
        ),
        ("machine_events-000000000000.json", machine_events_2019()),
    ];
    for (name, text) in tables {
        let name = format!("clusterdata_2019_c/{name}");
        if gzipped {
            dir.write_gzip(&format!("{name}.gz"), &text);
        } else {
            dir.write(&name, &text);
        }
    }
    dir.path().join("clusterdata_2019_c")
}

fn series_of(ingested: &Ingested, collection_id: u64) -> &CollectionSeries {
    ingested
        .series
        .iter()
        .find(|series| series.collection_id == collection_id)
        .unwrap_or_else(|| panic!("no series for collection {collection_id}"))
}

fn close(found: f64, expected: f64) -> bool {
    (found - expected).abs() < 1e-9
}

#[test]
fn formats_detected_from_content() {
    let dir = TempDir::new();
    let cases = [
        ("a.json", usage_2019(), TraceFormat::InstanceUsage2019),
        (
            "b.json",
            instance_events_2019(),
            TraceFormat::InstanceEvents2019,
        ),
        (
            "c.json",
            collection_events_2019(),
            TraceFormat::CollectionEvents2019,
        ),
        (
            "d.json",
            machine_events_2019(),
            TraceFormat::MachineEvents2019,
        ),
        ("e.csv", task_usage_2011(), TraceFormat::TaskUsage2011),
        ("f.csv", task_events_2011(), TraceFormat::TaskEvents2011),
        ("g.csv", job_events_2011(), TraceFormat::JobEvents2011),
        (
            "h.csv",
            machine_events_2011(),
            TraceFormat::MachineEvents2011,
        ),
    ];
    for (name, text, format) in cases {
        let plain = dir.write(name, &text);
        assert_eq!(detect_format(&plain).unwrap(), format, "{name}");
        let gzipped = dir.write_gzip(&format!("{name}.gz"), &text);
        assert_eq!(detect_format(&gzipped).unwrap(), format, "{name}.gz");
    }
}

#[test]
fn series_2019_from_all_tables() {
    let dir = TempDir::new();
    let ingested = ingest(&[write_2019(&dir, false)], &options()).unwrap();

    assert_eq!(ingested.series.len(), 2);
    let series = series_of(&ingested, 42);
    assert_eq!(series.cell, "c");
    assert_eq!(series.workload(), "c/collection-42");
    assert_eq!(
        (series.priority, series.scheduling_class),
        (Some(200), Some(2))
    );
    assert!(series.events_read);

    let window = series
        .points
        .iter()
        .find(|point| point.start_s == 600)
        .unwrap();
    assert_eq!(window.usage_records, 2);
    assert!(close(window.instances, 1.5), "{}", window.instances);
    // 0.5 over the full window plus 0.2 over half of it.
    assert!(close(window.cpu_average, 0.6), "{}", window.cpu_average);
    assert!(close(window.cpu_maximum, 1.1), "{}", window.cpu_maximum);
    assert!(
        close(window.memory_average, 0.3),
        "{}",
        window.memory_average
    );
    assert!(
        close(window.memory_maximum, 0.3),
        "{}",
        window.memory_maximum
    );
    assert!(
        close(window.assigned_memory, 0.5),
        "{}",
        window.assigned_memory
    );
    // Only one of two records has a distribution, so the sums would be partial.
    assert_eq!(window.cpu_p50, None);
    assert_eq!(window.cycles_per_instruction, Some(1.5));
    // Requests come from the instance events: 1.0 for instance 3, 0.5 for half of instance 0.
    assert!(close(window.cpu_request.unwrap(), 1.25));
    assert_eq!(window.memory_request, Some(0.5));
    assert_eq!(
        (
            window.evictions,
            window.failures,
            window.kills,
            window.losses
        ),
        (1, 1, 0, 0)
    );

    let later = series
        .points
        .iter()
        .find(|point| point.start_s == 900)
        .unwrap();
    assert_eq!((later.usage_records, later.kills), (0, 1));

    let other = series_of(&ingested, 43);
    let point = &other.points[0];
    assert_eq!((point.start_s, point.usage_records), (900, 1));
    assert_eq!(
        point.cpu_request, None,
        "collection 43 has no request event"
    );
    assert_eq!(other.priority, Some(25));
    assert_eq!(point.losses, 0, "a LOST after the trace has no window");
}

#[test]
fn percentiles_when_every_record_has_them() {
    let dir = TempDir::new();
    let line = usage_2019().lines().next().unwrap().to_owned();
    let path = dir.write("usage.json", &format!("{line}\n"));
    let ingested = ingest(&[path], &options()).unwrap();
    let point = &ingested.series[0].points[0];
    assert_eq!(point.cpu_p50, Some(0.45));
    assert_eq!(point.cpu_p90, Some(0.8));
    assert_eq!(point.cpu_p99, Some(0.89));
    assert!(!ingested.series[0].events_read);
}

#[test]
fn gzip_and_plain_read_alike() {
    let plain_dir = TempDir::new();
    let gzip_dir = TempDir::new();
    let plain = ingest(&[write_2019(&plain_dir, false)], &options()).unwrap();
    let gzipped = ingest(&[write_2019(&gzip_dir, true)], &options()).unwrap();

    assert_eq!(plain.series, gzipped.series);
    assert_eq!(plain.report.rows, gzipped.report.rows);
    assert_eq!(gzipped.report.gzipped_files, 4);
    assert_eq!(plain.report.gzipped_files, 0);
}

#[test]
fn inspect_counts_2019_tables() {
    let dir = TempDir::new();
    let report = ingest(&[write_2019(&dir, false)], &options())
        .unwrap()
        .report;

    assert_eq!(report.format, "mixed");
    assert_eq!(report.files, 4);
    assert_eq!(report.rows, 3 + 6 + 2 + 2);
    assert_eq!(report.collections, 2);
    assert_eq!(report.machines, 3, "machines 7, 8 and 9");
    assert_eq!(report.first_time_us, Some(500_000_000));
    assert_eq!(report.last_time_us, Some(1_000_000_000));
    assert_eq!(
        report.times_before_trace, 3,
        "two events and a machine at time 0"
    );
    assert_eq!(report.times_after_trace, 1);
    assert_eq!(report.bad_lines, 0);
    let missing = |key: &str| report.missing_values.get(key).copied().unwrap_or(0);
    assert_eq!(missing("g2019-instance-usage.instance_index"), 1);
    assert_eq!(missing("g2019-instance-usage.cycles_per_instruction"), 2);
    assert_eq!(missing("g2019-instance-usage.cpu_usage_distribution"), 2);
    assert_eq!(missing("g2019-instance-usage.maximum_usage.memory"), 1);
    assert_eq!(missing("g2019-instance-events.time"), 1);
    assert_eq!(missing("g2019-instance-events.resource_request.memory"), 5);
    assert_eq!(missing("g2019-collection-events.type"), 1);
    assert_eq!(missing("g2019-machine-events.time"), 1);
}

#[test]
fn filters_select_collections() {
    let dir = TempDir::new();
    let input = write_2019(&dir, false);
    let run = |filter: SeriesFilter| {
        let options = IngestOptions {
            filter,
            ..options()
        };
        let ingested = ingest(std::slice::from_ref(&input), &options).unwrap();
        let ids: Vec<u64> = ingested
            .series
            .iter()
            .map(|series| series.collection_id)
            .collect();
        ids
    };

    assert_eq!(run(SeriesFilter::default()), vec![42, 43]);
    let production = SeriesFilter {
        priority_bands: [PriorityBand::Production].into(),
        ..SeriesFilter::default()
    };
    assert_eq!(run(production), vec![42]);
    let free = SeriesFilter {
        priority_bands: [PriorityBand::Free].into(),
        ..SeriesFilter::default()
    };
    assert_eq!(run(free), vec![43]);
    let class = SeriesFilter {
        scheduling_classes: [0].into(),
        ..SeriesFilter::default()
    };
    assert_eq!(run(class), vec![43]);
    let collection = SeriesFilter {
        collections: [43].into(),
        ..SeriesFilter::default()
    };
    assert_eq!(run(collection), vec![43]);
    let other_cell = SeriesFilter {
        cells: ["a".to_owned()].into(),
        ..SeriesFilter::default()
    };
    assert!(run(other_cell).is_empty());
    let early = SeriesFilter {
        end_us: Some(900_000_000),
        ..SeriesFilter::default()
    };
    assert_eq!(run(early), vec![42]);
}

#[test]
fn to_workload_series_keeps_usage_windows() {
    let dir = TempDir::new();
    let ingested = ingest(&[write_2019(&dir, false)], &options()).unwrap();
    let workload = series_of(&ingested, 42).to_workload_series("src");

    assert_eq!(
        workload.points.len(),
        1,
        "the KILL-only window has no usage"
    );
    let point = workload.points[0];
    assert_eq!((point.start_s, point.tasks), (600, Some(2)));
    assert!(close(point.cpu, 0.6));
    assert_eq!(workload.unit, arbiter_core::series::UsageUnit::Normalized);
}

#[test]
fn read_series_accepts_raw_usage() {
    let dir = TempDir::new();
    let path = dir.write("usage.json", &usage_2019());
    let options = arbiter_trace::ReadOptions::default();
    let series = arbiter_trace::read_series(&path, None, &options).unwrap();
    let names: Vec<&str> = series
        .iter()
        .map(|series| series.workload.as_str())
        .collect();
    assert_eq!(names, vec!["collection-42", "collection-43"]);
}

#[test]
fn features_from_collection_series() {
    let dir = TempDir::new();
    let ingested = ingest(&[write_2019(&dir, false)], &options()).unwrap();
    let rows = collection_feature_rows(series_of(&ingested, 42), &Default::default());

    assert_eq!(rows.len(), 1);
    let features = &rows[0].features;
    assert!(close(features.get(Feature::CpuNow).unwrap(), 0.6));
    assert_eq!(features.get(Feature::ReplicasNow), Some(1.5));
    assert!(close(
        features.get(Feature::CpuOverLimit).unwrap(),
        0.6 / 1.25
    ));
    assert_eq!(features.get(Feature::CpiNow), Some(1.5));
    assert_eq!(features.get(Feature::CpuSpreadNow), None);
    assert_eq!(
        features.get(Feature::CpuMean1h),
        None,
        "one window is no hour"
    );
    assert_eq!(features.get(Feature::Evictions1h), None);
}

fn task_usage_2011() -> String {
    [
        // 20 columns, all present.
        "600000000,900000000,6176858948,0,5,0.05,0.1,0.12,0.001,0.002,0.11,0.0,0.0,0.2,0.0,1.2,0.003,1,0,0.05",
        // 19 columns, optional usage fields empty.
        "600000000,900000000,6176858948,1,6,0.03,,0.1,,,,,,0.1,,,,1,0",
        "900000000,1200000000,515042969,0,5,0.5,0.2,0.3,0.01,0.02,0.25,0.0,0.0,0.9,0.0,2.0,0.01,1,0,0.5",
    ]
    .join("\n")
        + "\n"
}

fn task_events_2011() -> String {
    [
        "0,,6176858948,0,,0,user,2,9,0.0625,0.0318,0.0001,0",
        "0,,6176858948,1,6,1,user,2,9,0.0625,,0.0001,0",
        // Code 2 is EVICT in 2011 (ENABLE in 2019).
        "700000000,,6176858948,0,5,2,user,2,9,0.0625,0.0318,0.0001,0",
        "750000000,,6176858948,1,6,5,user,2,9,,,,",
        "800000000,,515042969,0,5,3,user,0,0,0.5,0.25,0.0,0",
    ]
    .join("\n")
        + "\n"
}

fn job_events_2011() -> String {
    "0,,6176858948,0,user,2,name,logical\n600000000,,515042969,1,user,0,name2,logical2\n".to_owned()
}

fn machine_events_2011() -> String {
    "0,5,0,platform,0.5,0.2493\n0,6,0,platform,0.5,0.2493\n700000000,6,2,platform,,\n".to_owned()
}

#[test]
fn series_2011_from_csv_parts() {
    let dir = TempDir::new();
    dir.write_gzip("task_usage/part-00000-of-00500.csv.gz", &task_usage_2011());
    dir.write("task_events/part-00000-of-00500.csv", &task_events_2011());
    dir.write_gzip("job_events/part-00000-of-00500.csv.gz", &job_events_2011());
    dir.write(
        "machine_events/part-00000-of-00001.csv",
        &machine_events_2011(),
    );
    let ingested = ingest(&[dir.path().to_path_buf()], &options()).unwrap();

    let series = series_of(&ingested, 6_176_858_948);
    assert_eq!(series.cell, "2011");
    assert_eq!(series.workload(), "job-6176858948");
    assert_eq!(
        (series.priority, series.scheduling_class),
        (Some(9), Some(2))
    );
    assert_eq!(series.points.len(), 1, "only counted events make a window");
    let point = &series.points[0];
    assert_eq!((point.start_s, point.usage_records), (600, 2));
    assert!(close(point.cpu_average, 0.08));
    assert!(close(point.cpu_maximum, 0.3));
    assert!(close(point.memory_average, 0.1), "empty memory counts as 0");
    assert_eq!(point.cpu_p50, None, "2011 has no distributions");
    assert_eq!(point.cycles_per_instruction, Some(1.2));
    assert!(close(point.cpu_request.unwrap(), 0.125));
    assert_eq!((point.evictions, point.kills), (1, 1));

    let report = &ingested.report;
    assert_eq!(report.rows, 3 + 5 + 2 + 3);
    assert_eq!(report.collections, 2);
    assert_eq!(report.machines, 2);
    assert_eq!(report.gzipped_files, 2);
    assert_eq!(
        report
            .missing_values
            .get("g2011-task-usage.canonical memory usage"),
        Some(&1)
    );
    assert_eq!(
        report.missing_values.get("g2011-task-events.machine ID"),
        Some(&1)
    );

    let production = IngestOptions {
        filter: SeriesFilter {
            priority_bands: [PriorityBand::Production].into(),
            ..SeriesFilter::default()
        },
        ..options()
    };
    let filtered = ingest(&[dir.path().to_path_buf()], &production).unwrap();
    let ids: Vec<u64> = filtered
        .series
        .iter()
        .map(|series| series.collection_id)
        .collect();
    assert_eq!(
        ids,
        vec![6_176_858_948],
        "priority 0 is the free band in 2011"
    );
}

#[test]
fn event_enums_differ_by_generation() {
    let line_2011 = "700000000,,6176858948,0,5,2,user,2,9,0.0625,0.0318,0.0001,0";
    let Record::InstanceEvent(event) =
        parse_line(TraceFormat::TaskEvents2011, line_2011, "t", 1).unwrap()
    else {
        panic!("not an instance event");
    };
    assert_eq!(event.kind, Some(EventKind::Evict));
    let line_2019 = r#"{"time":"1","type":"2","collection_id":"1"}"#;
    let Record::InstanceEvent(event) =
        parse_line(TraceFormat::InstanceEvents2019, line_2019, "t", 1).unwrap()
    else {
        panic!("not an instance event");
    };
    assert_eq!(event.kind, Some(EventKind::Enable));
}

#[test]
fn bad_lines_name_file_line_and_field() {
    let cases = [
        (
            TraceFormat::InstanceUsage2019,
            r#"{"start_time":"1","end_time":"2"}"#,
            "f.json:3: the mandatory field collection_id is missing",
        ),
        (
            TraceFormat::InstanceUsage2019,
            r#"{"start_time":"1","end_time":"2","collection_id":"x1"}"#,
            "f.json:3: field collection_id is \"x1\", expected",
        ),
        (
            TraceFormat::InstanceUsage2019,
            r#"{"end_time":"2","collection_id":"1","average_usage":{"cpus":"high"}}"#,
            "f.json:3: field average_usage.cpus is \"high\", expected",
        ),
        (
            TraceFormat::InstanceUsage2019,
            r#"{"end_time":"2","collection_id":"1","cpu_usage_distribution":[0.1,0.2]}"#,
            "f.json:3: field cpu_usage_distribution is [0.1, 0.2], expected an empty array or 11",
        ),
        (
            TraceFormat::InstanceUsage2019,
            r#"{"start_time":"5","end_time":"2","collection_id":"1"}"#,
            "f.json:3: field end_time is 2, expected a time after start_time (5)",
        ),
        (
            TraceFormat::InstanceEvents2019,
            r#"{"type":"11","collection_id":"1"}"#,
            "f.json:3: field type is 11, expected a 2019 event type from 0 (SUBMIT) to 10",
        ),
        (
            TraceFormat::InstanceEvents2019,
            r#"{"type":"3","collection_id":"1""#,
            "f.json:3: invalid JSON: EOF while parsing an object",
        ),
        (
            TraceFormat::MachineEvents2019,
            r#"{"type":"4","machine_id":"1"}"#,
            "f.json:3: field type is 4, expected a machine event type from 0 to 3",
        ),
        (
            TraceFormat::TaskEvents2011,
            "700000000,,6176858948,0,5,9,user,2,9,0.0625,0.0318,0.0001,0",
            "f.json:3: field column 6 (event type) is 9, expected a 2011 event type",
        ),
        (
            TraceFormat::TaskEvents2011,
            "700000000,,,0,5,1,user,2,9,0.0625,0.0318,0.0001,0",
            "f.json:3: the mandatory field job ID is missing",
        ),
        (
            TraceFormat::TaskUsage2011,
            "600000000,900000000,1,0,5,-0.05,0.1",
            "f.json:3: found 7 comma-separated fields, expected 19 or 20",
        ),
        (
            TraceFormat::TaskUsage2011,
            "600000000,900000000,1,0,5,lots,0.1,0.12,0.001,0.002,0.11,0.0,0.0,0.2,0.0,1.2,0.003,1,0",
            "f.json:3: field column 6 (CPU rate) is lots, expected a finite number >= 0",
        ),
        (
            TraceFormat::JobEvents2011,
            "0,,1,0,user,7,name,logical",
            "f.json:3: field column 6 (scheduling class) is 7, expected a scheduling class from 0 to 3",
        ),
    ];
    for (format, line, expected) in cases {
        let message = parse_line(format, line, "f.json", 3)
            .unwrap_err()
            .to_string();
        assert!(message.starts_with(expected), "{format}: {message}");
    }
}

#[test]
fn first_bad_line_stops_the_read() {
    let dir = TempDir::new();
    let mut text = usage_2019();
    text.push_str("{\"end_time\":\"2\"}\nnot json\n");
    let path = dir.write("usage.json", &text);

    let error = ingest(std::slice::from_ref(&path), &options()).unwrap_err();
    let expected = format!(
        "{}:4: the mandatory field collection_id is missing",
        path.display()
    );
    assert!(error.to_string().starts_with(&expected), "{error}");

    let skipping = IngestOptions {
        skip_bad_lines: true,
        ..options()
    };
    let ingested = ingest(std::slice::from_ref(&path), &skipping).unwrap();
    assert_eq!(ingested.report.bad_lines, 2);
    assert_eq!(ingested.report.rows, 3);
    assert_eq!(ingested.series.len(), 2);
    let examples = &ingested.report.bad_line_examples;
    assert!(
        examples[0].starts_with(&format!(
            "{}:4: the mandatory field collection_id",
            path.display()
        )),
        "{examples:?}"
    );
    assert!(
        examples[1].starts_with(&format!("{}:5: invalid JSON", path.display())),
        "{examples:?}"
    );
}

#[test]
fn truncated_gzip_names_the_line() {
    let dir = TempDir::new();
    let lines: Vec<String> = (0_i64..2000)
        .map(|index| {
            format!(
                r#"{{"start_time":"{}","end_time":"{}","collection_id":"{}","average_usage":{{"cpus":0.{index}}}}}"#,
                600_000_000 + index * 300_000_000,
                900_000_000 + index * 300_000_000,
                index % 7 + 1
            )
        })
        .collect();
    let mut bytes = gzip(&(lines.join("\n") + "\n"));
    bytes.truncate(bytes.len() / 2);
    let path = dir.0.join("usage.json.gz");
    std::fs::write(&path, bytes).unwrap();

    let error = ingest(std::slice::from_ref(&path), &options()).unwrap_err();
    let TraceError::TruncatedGzip { at, lines_read, .. } = &error else {
        panic!("expected a truncated gzip error, got {error}");
    };
    assert_eq!(at.file, path.display().to_string());
    assert_eq!(at.line, lines_read + 1);
    assert!(*lines_read < 2000);
    assert!(
        error.to_string().contains("truncated or corrupt"),
        "{error}"
    );

    let skipping = IngestOptions {
        skip_bad_lines: true,
        ..options()
    };
    let ingested = ingest(&[path], &skipping).unwrap();
    assert_eq!(ingested.report.bad_lines, 1);
    assert_eq!(ingested.report.rows as usize, *lines_read);
}

#[test]
fn globs_and_missing_inputs() {
    let dir = TempDir::new();
    dir.write("usage-000.json", &usage_2019());
    dir.write_gzip("usage-001.json.gz", &usage_2019());
    dir.write(".hidden.json", "garbage");
    let pattern = dir.path().join("usage-*");
    let ingested = ingest(&[pattern], &options()).unwrap();
    assert_eq!(ingested.report.files, 2);
    assert_eq!(ingested.report.rows, 6);
    assert_eq!(series_of(&ingested, 43).points[0].usage_records, 2);

    let whole = ingest(&[dir.path().to_path_buf()], &options()).unwrap();
    assert_eq!(whole.report.files, 2, "hidden files are skipped");

    let missing = dir.path().join("nothing-*.json");
    let error = ingest(std::slice::from_ref(&missing), &options()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: no trace file found; check the path, or quote a glob pattern",
            missing.display()
        )
    );
}

#[test]
fn block_split_does_not_change_series() {
    let dir = TempDir::new();
    let path = dir.write("usage.json", &usage_2019().repeat(50));
    let small = IngestOptions {
        block_bytes: 700,
        threads: 3,
        ..options()
    };
    let one = ingest(std::slice::from_ref(&path), &options()).unwrap();
    let many = ingest(&[path], &small).unwrap();
    assert_eq!(one.report, many.report);
    // Fixed-point sums make the result independent of how blocks reach the threads.
    assert_eq!(one.series, many.series);
}
