//! The public API on damaged copies of the real samples, written to temporary files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use arbiter_trace::{ReadOptions, TraceError, TraceFormat, detect_format, read_series};

fn sample(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/borg")
        .join(file);
    std::fs::read_to_string(path).unwrap()
}

/// A file under the system temporary folder, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    /// Writes `text` to a file whose name is unique within this test run.
    fn new(text: &str) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "arbiter-trace-{}-{}.csv",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Reads `text` as a file with the format detected, and returns the error message.
fn read_error(text: &str) -> (String, String) {
    let file = TempFile::new(text);
    let error = read_series(file.path(), None, &ReadOptions::default()).unwrap_err();
    (file.path().display().to_string(), error.to_string())
}

/// Returns the first `lines` lines of the long 2011 job series.
fn job_lines(lines: usize) -> Vec<String> {
    let text = sample("g2011_job6176858948_taskusage_sum_5min.csv");
    text.lines().take(lines).map(str::to_owned).collect()
}

#[test]
fn truncated_last_line_names_line() {
    let mut lines = job_lines(5);
    lines[4].truncate(20);
    let (file, message) = read_error(&lines.join("\n"));

    assert!(
        message.starts_with(&format!(
            "{file}:5: found 3 comma-separated fields, expected 18"
        )),
        "{message}"
    );
    assert!(message.contains("the line may be truncated"), "{message}");
}

#[test]
fn garbled_number_names_line_column_and_text() {
    let mut lines = job_lines(5);
    lines[2] = lines[2].replacen("0.558318018913", "0.55831O018913", 1);
    let (file, message) = read_error(&lines.join("\n"));

    assert_eq!(
        message,
        format!(
            "{file}:3: column 4 (CPU rate) is \"0.55831O018913\", expected a finite number >= 0; \
             correct or remove the row"
        )
    );
}

#[test]
fn wrong_column_count_names_line() {
    let mut lines = job_lines(5);
    lines[3].push_str(",0.0");
    let (file, message) = read_error(&lines.join("\n"));

    assert!(
        message.starts_with(&format!(
            "{file}:4: found 19 comma-separated fields, expected 18 for g2011-job-series"
        )),
        "{message}"
    );
}

#[test]
fn negative_and_nan_usage_are_rejected() {
    for bad in ["-0.25", "nan"] {
        let mut lines = job_lines(3);
        lines[1] = lines[1].replacen("0.164336651564", bad, 1);
        let (file, message) = read_error(&lines.join("\n"));

        let expected = format!("{file}:2: column 5 (canonical memory) is \"{bad}\"");
        assert!(message.starts_with(&expected), "{message}");
    }
}

#[test]
fn rows_out_of_order_name_line() {
    let mut lines = job_lines(4);
    lines.swap(2, 3);
    let (file, message) = read_error(&lines.join("\n"));

    assert_eq!(
        message,
        format!(
            "{file}:4: column 1 (time) is 1200 s but the previous row is at 1500 s, expected a \
             later time on the same 300 s grid; sort the rows or correct the time"
        )
    );
}

#[test]
fn gap_of_whole_windows_is_counted() {
    let mut lines = job_lines(6);
    lines.drain(2..4);
    let file = TempFile::new(&lines.join("\n"));
    let series = read_series(file.path(), None, &ReadOptions::default()).unwrap();

    assert_eq!(series[0].points.len(), 4);
    assert_eq!(series[0].quirks.gap_windows, 2);
    assert_eq!(
        series[0].points[2].start_s - series[0].points[1].start_s,
        900
    );
}

#[test]
fn garbled_cell_aggregate_names_column() {
    let text = sample("g2019_instance_usage_cellagg_300s_month.csv");
    let mut lines: Vec<&str> = text.lines().take(4).collect();
    lines[3] = "0.41,,0.6,146.5";
    let (file, message) = read_error(&lines.join("\n"));

    assert_eq!(
        message,
        format!(
            "{file}:4: column 2 (avg_mem) is \"\", expected a finite number >= 0; correct or remove the row"
        )
    );
}

#[test]
fn missing_file_names_path() {
    let path = std::env::temp_dir().join("arbiter-trace-no-such-file.csv");
    let error = read_series(
        &path,
        Some(TraceFormat::JobSeries2011),
        &ReadOptions::default(),
    )
    .unwrap_err();

    assert!(matches!(error, TraceError::Io { .. }));
    assert!(error.to_string().contains("arbiter-trace-no-such-file.csv"));
    assert!(detect_format(&path).is_err());
}

#[test]
fn empty_files_are_errors() {
    for text in ["", "\n \n"] {
        let file = TempFile::new(text);
        let detected = detect_format(file.path()).unwrap_err();
        assert!(matches!(detected, TraceError::Empty { .. }), "{detected}");
        for format in [
            None,
            Some(TraceFormat::JobSeries2011),
            Some(TraceFormat::CellAggregate2019),
        ] {
            let error = read_series(file.path(), format, &ReadOptions::default()).unwrap_err();
            assert!(matches!(error, TraceError::Empty { .. }), "{error}");
        }
    }
}
