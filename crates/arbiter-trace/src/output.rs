//! CSV output of series and feature rows.

use std::io::{self, Write};

use arbiter_core::features::FEATURE_NAMES;
use arbiter_core::series::WorkloadSeries;

use crate::aggregate::CollectionSeries;
use crate::featurize::FeatureRow;

/// Columns of [`write_series_csv`].
pub const SERIES_COLUMNS: [&str; 26] = [
    "workload",
    "cell",
    "collection_id",
    "scheduling_class",
    "priority",
    "start_s",
    "usage_records",
    "instances",
    "cpu_average",
    "cpu_maximum",
    "cpu_p50",
    "cpu_p90",
    "cpu_p99",
    "memory_average",
    "memory_maximum",
    "assigned_memory",
    "page_cache_memory",
    "cycles_per_instruction",
    "memory_accesses_per_instruction",
    "cpu_request",
    "memory_request",
    "evictions",
    "failures",
    "kills",
    "losses",
    "unit",
];

fn field(value: Option<String>) -> String {
    let value = value.unwrap_or_default();
    if value.contains([',', '"', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn number(value: f64) -> Option<String> {
    Some(value.to_string())
}

/// Writes one CSV row per window: the collection series with every column, then the aggregated
/// series with the columns they have (the others empty). Event counts are empty for series read
/// without event tables.
///
/// # Errors
/// The writer's I/O error.
pub fn write_series_csv(
    mut writer: impl Write,
    series: &[CollectionSeries],
    aggregated: &[WorkloadSeries],
) -> io::Result<()> {
    writeln!(writer, "{}", SERIES_COLUMNS.join(","))?;
    for one in series {
        let unit = serde_json::to_value(one.unit)
            .ok()
            .and_then(|unit| unit.as_str().map(str::to_owned));
        for point in &one.points {
            let events = |count: u32| one.events_read.then(|| count.to_string());
            let row = [
                Some(one.workload()),
                Some(one.cell.clone()),
                Some(one.collection_id.to_string()),
                one.scheduling_class.map(|class| class.to_string()),
                one.priority.map(|priority| priority.to_string()),
                Some(point.start_s.to_string()),
                Some(point.usage_records.to_string()),
                number(point.instances),
                number(point.cpu_average),
                number(point.cpu_maximum),
                point.cpu_p50.and_then(number),
                point.cpu_p90.and_then(number),
                point.cpu_p99.and_then(number),
                number(point.memory_average),
                number(point.memory_maximum),
                number(point.assigned_memory),
                number(point.page_cache_memory),
                point.cycles_per_instruction.and_then(number),
                point.memory_accesses_per_instruction.and_then(number),
                point.cpu_request.and_then(number),
                point.memory_request.and_then(number),
                events(point.evictions),
                events(point.failures),
                events(point.kills),
                events(point.losses),
                unit.clone(),
            ];
            write_row(&mut writer, row)?;
        }
    }
    for one in aggregated {
        let unit = serde_json::to_value(one.unit)
            .ok()
            .and_then(|unit| unit.as_str().map(str::to_owned));
        for point in &one.points {
            let mut row: [Option<String>; SERIES_COLUMNS.len()] = Default::default();
            row[0] = Some(one.workload.clone());
            row[5] = Some(point.start_s.to_string());
            row[7] = point.tasks.map(|tasks| tasks.to_string());
            row[8] = number(point.cpu);
            row[13] = number(point.memory);
            row[25] = unit.clone();
            write_row(&mut writer, row)?;
        }
    }
    writer.flush()
}

fn write_row<const N: usize>(writer: &mut impl Write, row: [Option<String>; N]) -> io::Result<()> {
    let fields: Vec<String> = row.into_iter().map(field).collect();
    writeln!(writer, "{}", fields.join(","))
}

/// Writes feature rows as CSV: `workload,start_s`, then the features in
/// [`FEATURE_NAMES`] order, a missing feature as an empty field.
///
/// # Errors
/// The writer's I/O error.
pub fn write_features_csv(mut writer: impl Write, rows: &[FeatureRow]) -> io::Result<()> {
    writeln!(writer, "workload,start_s,{}", FEATURE_NAMES.join(","))?;
    for row in rows {
        let mut line = format!("{},{}", field(Some(row.workload.clone())), row.start_s);
        for value in row.features.values {
            line.push(',');
            if let Some(value) = value {
                line.push_str(&value.to_string());
            }
        }
        writeln!(writer, "{line}")?;
    }
    writer.flush()
}

impl std::fmt::Display for crate::InspectReport {
    /// Formats the report for a terminal, one fact per line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let time = |time_us: Option<i64>| match time_us {
            Some(time_us) => format!("{time_us} us ({:.2} days)", time_us as f64 / 86_400e6),
            None => "none".to_owned(),
        };
        writeln!(f, "format: {}", self.format)?;
        if self.formats.len() > 1 {
            for (format, files) in &self.formats {
                writeln!(f, "  {format}: {files} files")?;
            }
        }
        writeln!(f, "files: {} ({} gzipped)", self.files, self.gzipped_files)?;
        writeln!(f, "rows: {}", self.rows)?;
        writeln!(f, "collections: {}", self.collections)?;
        writeln!(f, "machines: {}", self.machines)?;
        writeln!(f, "first time: {}", time(self.first_time_us))?;
        writeln!(f, "last time: {}", time(self.last_time_us))?;
        writeln!(
            f,
            "times before / after the trace: {} / {}",
            self.times_before_trace, self.times_after_trace
        )?;
        writeln!(f, "bad lines: {}", self.bad_lines)?;
        for example in &self.bad_line_examples {
            writeln!(f, "  {example}")?;
        }
        if self.missing_values.is_empty() {
            writeln!(f, "missing values: none")?;
        } else {
            writeln!(f, "missing values (absent optional fields):")?;
            for (field, count) in &self.missing_values {
                writeln!(f, "  {field}: {count}")?;
            }
        }
        Ok(())
    }
}
