//! The joined 2019 extract: one row per instance event, joined with its collection's event and
//! one `instance_usage` window of the instance, as a CSV with a header and a leading index
//! column (the layout of `data/borg/g2019_kaggle_borg_traces_slice99.csv`).
//!
//! Its quirks, and what the reader does about them:
//! - Resources are Python dict literals with `None` (`{'cpus': 0.0086, 'memory': None}`);
//!   they become [`Resources`] with `None` kept as unknown.
//! - CPU percentile arrays are numpy text with line breaks inside quoted fields. They become
//!   vectors of 11 (0th to 100th) and 9 (91st to 99th) percentiles. Where the file has `[]`
//!   they are empty, and [`JoinedQuirks::missing_distributions`] counts the row.
//! - The `event` labels disagree with the official 2019 enum for the numeric code: they follow
//!   alphabetical order of the names. The reader takes [`EventKind`] from the code, keeps
//!   the label as written, and counts disagreements. The times support the code: rows coded 0
//!   (SUBMIT) mostly precede their usage window and rows coded 6 (FINISH) mostly follow it,
//!   whereas the label of code 6 is SCHEDULE. The `failed` column follows the labels, so it
//!   is kept as written and its disagreements with the code are counted too.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::csv_records::{Record, split_records};
use crate::error::{Location, TraceError};
use crate::json_2019::{CPU_PERCENTILES, TAIL_CPU_PERCENTILES};
use crate::line_error::LineError;
use crate::records::{EventKind, InstanceEventRecord, Resources, UsageRecord};

/// The one usage window joined to an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageWindow {
    /// Window start in microseconds since the trace epoch.
    pub start_us: i64,
    /// Window end in microseconds; usually 300 s after the start, shorter at a start, stop or
    /// update of the instance.
    pub end_us: i64,
    /// Mean usage over the window.
    pub average: Resources,
    /// Maximum usage over the window.
    pub maximum: Resources,
    /// Usage at one randomly chosen sample of the window.
    pub random_sample: Resources,
    /// Memory assigned to the instance, normalized.
    pub assigned_memory: f64,
    /// Page cache memory, normalized.
    pub page_cache_memory: f64,
    /// Cycles per instruction, where measured.
    pub cycles_per_instruction: Option<f64>,
    /// Memory accesses per instruction, where measured.
    pub memory_accesses_per_instruction: Option<f64>,
    /// Share of the window's samples that were taken (1.0 for all).
    pub sample_rate: f64,
    /// CPU usage percentiles 0, 10, ..., 100; empty where the file has none.
    pub cpu_distribution: Vec<f64>,
    /// CPU usage percentiles 91 to 99; empty where the file has none.
    pub tail_cpu_distribution: Vec<f64>,
}

/// One row of the joined extract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinedRecord {
    /// 1-based line of the row in its file.
    pub line: usize,

    /// Event time in microseconds since the trace epoch (0: before the trace started).
    pub time_us: i64,
    /// The event, read from `instance_events_type` with the official enum.
    pub event: EventKind,
    /// The file's `event` label, as written (see the module docs before trusting it).
    pub event_label: String,
    /// The file's `failed` flag, as written; it follows the label.
    pub failed: bool,

    /// The instance's collection (job or alloc set).
    pub collection_id: u64,
    /// Hashed logical name, shared by the runs of one program.
    pub collection_logical_name: String,
    /// 0 for a job, 1 for an alloc set.
    pub collection_type: u8,
    /// Index of the instance within its collection.
    pub instance_index: u32,
    /// Machine the instance ran on.
    pub machine_id: u64,
    /// Cell number as written in the `cluster` column (1 to 8 in the bundled sample).
    pub cluster: u8,

    /// Scheduling priority; higher wins.
    pub priority: u32,
    /// Latency sensitivity, 0 (least) to 3 (most).
    pub scheduling_class: u8,
    /// Requested resources, which act as limits.
    pub resource_request: Resources,
    /// The joined usage window.
    pub usage: UsageWindow,
}

/// Counts of the extract's quirks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JoinedQuirks {
    /// Rows whose `event` label is not the official name of their code.
    pub label_mismatches: usize,
    /// Rows whose `failed` flag disagrees with their code being FAIL.
    pub failed_disagreements: usize,
    /// Rows without CPU percentile arrays.
    pub missing_distributions: usize,
}

/// The rows of a joined extract and the quirks met while reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinedExtract {
    /// File the rows were read from.
    pub source: String,
    /// The rows, in file order.
    pub records: Vec<JoinedRecord>,
    /// Quirks met while reading.
    pub quirks: JoinedQuirks,
}

/// The columns the reader uses; the others are ignored.
const COLUMNS: [&str; 25] = [
    "time",
    "instance_events_type",
    "event",
    "failed",
    "collection_id",
    "collection_logical_name",
    "collection_type",
    "instance_index",
    "machine_id",
    "cluster",
    "priority",
    "scheduling_class",
    "resource_request",
    "start_time",
    "end_time",
    "average_usage",
    "maximum_usage",
    "random_sample_usage",
    "assigned_memory",
    "page_cache_memory",
    "cycles_per_instruction",
    "memory_accesses_per_instruction",
    "sample_rate",
    "cpu_usage_distribution",
    "tail_cpu_usage_distribution",
];

/// Reads a joined 2019 extract file, stopping at the first bad row.
///
/// # Errors
/// [`TraceError::Io`] when the file cannot be read, [`TraceError::Empty`] without data rows,
/// [`TraceError::MissingColumn`] when the header lacks a used column, and the error of the first
/// bad row, naming its line and field.
pub fn read_joined_extract(path: &Path) -> Result<JoinedExtract, TraceError> {
    let text = crate::text::read_text(path)?;
    parse_joined_extract(&text, &path.display().to_string())
}

/// Parses the text of a joined 2019 extract, stopping at the first bad row. `file` names the
/// source in errors and the result.
///
/// # Errors
/// As [`read_joined_extract`], except for I/O.
pub fn parse_joined_extract(text: &str, file: &str) -> Result<JoinedExtract, TraceError> {
    let records = parse_joined_rows(text, file)?
        .into_iter()
        .map(|(line, row)| {
            row.map_err(|error| {
                error.at(Location {
                    file: file.to_owned(),
                    line,
                })
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let quirks = JoinedQuirks::count(&records);
    Ok(JoinedExtract {
        source: file.to_owned(),
        records,
        quirks,
    })
}

/// A data row's 1-based first line with its record or problem.
pub(crate) type JoinedRow = (usize, Result<JoinedRecord, LineError>);

/// Parses every data row of a joined extract on its own, so a caller can skip bad rows. Returns
/// each row's 1-based first line with its record or problem.
pub(crate) fn parse_joined_rows(text: &str, file: &str) -> Result<Vec<JoinedRow>, TraceError> {
    let records = split_records(text, file)?;
    let empty = || TraceError::Empty {
        file: file.to_owned(),
        format: "g2019-joined-extract",
    };
    let (header, rows) = records.split_first().ok_or_else(empty)?;
    let columns = column_positions(header, file)?;
    if rows.is_empty() {
        return Err(empty());
    }

    let parsed = rows
        .iter()
        .map(|record| {
            let row = if record.fields.len() == header.fields.len() {
                Fields {
                    line: record.line,
                    record,
                    columns: &columns,
                }
                .parse()
            } else {
                Err(LineError::Malformed(format!(
                    "found {} comma-separated fields, expected {} as in the header; the row may \
                     be truncated or have an unclosed quote",
                    record.fields.len(),
                    header.fields.len()
                )))
            };
            (record.line, row)
        })
        .collect();
    Ok(parsed)
}

impl JoinedQuirks {
    /// Counts the quirks of `records`.
    pub fn count(records: &[JoinedRecord]) -> Self {
        Self {
            label_mismatches: records
                .iter()
                .filter(|r| r.event_label != r.event.name())
                .count(),
            failed_disagreements: records
                .iter()
                .filter(|r| r.failed != (r.event == EventKind::Fail))
                .count(),
            missing_distributions: records
                .iter()
                .filter(|r| r.usage.cpu_distribution.is_empty())
                .count(),
        }
    }
}

impl JoinedRecord {
    /// Splits the row into the usage window and the instance event it joins. The event's kind
    /// comes from the numeric code, never from the `event` label or the `failed` column.
    pub fn to_records(&self) -> (UsageRecord, InstanceEventRecord) {
        let usage = UsageRecord {
            start_us: self.usage.start_us,
            end_us: self.usage.end_us,
            collection_id: self.collection_id,
            instance_index: u64::from(self.instance_index),
            machine_id: self.machine_id,
            average: self.usage.average,
            maximum: self.usage.maximum,
            assigned_memory: Some(self.usage.assigned_memory),
            page_cache_memory: Some(self.usage.page_cache_memory),
            cycles_per_instruction: self.usage.cycles_per_instruction,
            memory_accesses_per_instruction: self.usage.memory_accesses_per_instruction,
            cpu_distribution: self.usage.cpu_distribution.clone(),
            tail_cpu_distribution: self.usage.tail_cpu_distribution.clone(),
        };
        let event = InstanceEventRecord {
            time_us: self.time_us,
            kind: Some(self.event),
            collection_id: self.collection_id,
            instance_index: u64::from(self.instance_index),
            machine_id: self.machine_id,
            scheduling_class: self.scheduling_class,
            priority: self.priority,
            request: self.resource_request,
        };
        (usage, event)
    }
}

/// Maps each used column to its position in the header.
fn column_positions(
    header: &Record,
    file: &str,
) -> Result<HashMap<&'static str, usize>, TraceError> {
    COLUMNS
        .iter()
        .map(|&column| {
            let position = header.fields.iter().position(|name| name.trim() == column);
            let missing = || TraceError::MissingColumn {
                file: file.to_owned(),
                header: header.fields.join(",").chars().take(120).collect(),
                column,
                example: ",time,instance_events_type,collection_id,...",
            };
            Ok((column, position.ok_or_else(missing)?))
        })
        .collect()
}

/// One data record with its header, for reading fields by column name.
struct Fields<'a> {
    line: usize,
    record: &'a Record,
    columns: &'a HashMap<&'static str, usize>,
}

impl Fields<'_> {
    fn parse(&self) -> Result<JoinedRecord, LineError> {
        let code: i64 = self.number("instance_events_type")?;
        let event = EventKind::from_code_2019(code).ok_or_else(|| {
            self.invalid(
                "instance_events_type",
                "a 2019 event type from 0 (SUBMIT) to 10 (UPDATE_RUNNING)",
            )
        })?;
        Ok(JoinedRecord {
            line: self.line,
            time_us: self.number("time")?,
            event,
            event_label: self.get("event").trim().to_owned(),
            failed: self.flag("failed")?,
            collection_id: self.number("collection_id")?,
            collection_logical_name: self.get("collection_logical_name").to_owned(),
            collection_type: self.number("collection_type")?,
            instance_index: self.number("instance_index")?,
            machine_id: self.number("machine_id")?,
            cluster: self.number("cluster")?,
            priority: self.number("priority")?,
            scheduling_class: self.number("scheduling_class")?,
            resource_request: self.resources("resource_request")?,
            usage: self.usage_window()?,
        })
    }

    fn usage_window(&self) -> Result<UsageWindow, LineError> {
        Ok(UsageWindow {
            start_us: self.number("start_time")?,
            end_us: self.number("end_time")?,
            average: self.resources("average_usage")?,
            maximum: self.resources("maximum_usage")?,
            random_sample: self.resources("random_sample_usage")?,
            assigned_memory: self.usage("assigned_memory")?,
            page_cache_memory: self.usage("page_cache_memory")?,
            cycles_per_instruction: self.optional_usage("cycles_per_instruction")?,
            memory_accesses_per_instruction: self
                .optional_usage("memory_accesses_per_instruction")?,
            sample_rate: self.usage("sample_rate")?,
            cpu_distribution: self.distribution("cpu_usage_distribution", CPU_PERCENTILES)?,
            tail_cpu_distribution: self
                .distribution("tail_cpu_usage_distribution", TAIL_CPU_PERCENTILES)?,
        })
    }

    /// Returns the field of a used column, which `column_positions` found in the header.
    fn get(&self, column: &'static str) -> &str {
        &self.record.fields[self.columns[column]]
    }

    fn invalid(&self, column: &'static str, expected: &'static str) -> LineError {
        LineError::invalid(column, self.get(column), expected)
    }

    fn number<T: std::str::FromStr>(&self, column: &'static str) -> Result<T, LineError> {
        let text = self.get(column).trim();
        if text.is_empty() {
            return Err(LineError::Missing(column));
        }
        text.parse()
            .map_err(|_| self.invalid(column, "an integer in range"))
    }

    fn usage(&self, column: &'static str) -> Result<f64, LineError> {
        match self.get(column).trim().parse::<f64>() {
            Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
            _ => Err(self.invalid(column, "a finite number >= 0")),
        }
    }

    fn optional_usage(&self, column: &'static str) -> Result<Option<f64>, LineError> {
        match self.get(column).trim() {
            "" => Ok(None),
            _ => self.usage(column).map(Some),
        }
    }

    fn flag(&self, column: &'static str) -> Result<bool, LineError> {
        match self.get(column).trim() {
            "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(self.invalid(column, "0 or 1")),
        }
    }

    fn resources(&self, column: &'static str) -> Result<Resources, LineError> {
        parse_resources(self.get(column)).ok_or_else(|| {
            self.invalid(column, "a dict literal like {'cpus': 0.5, 'memory': None}")
        })
    }

    fn distribution(&self, column: &'static str, len: usize) -> Result<Vec<f64>, LineError> {
        let invalid = || {
            self.invalid(
                column,
                "[] or a bracketed list of the percentiles, each >= 0",
            )
        };
        let values = parse_numpy_array(self.get(column)).ok_or_else(invalid)?;
        let valid_len = values.is_empty() || values.len() == len;
        if valid_len
            && values
                .iter()
                .all(|value| value.is_finite() && *value >= 0.0)
        {
            return Ok(values);
        }
        Err(invalid())
    }
}

/// Parses a Python dict literal with keys `cpus` and `memory` and float or `None` values.
fn parse_resources(text: &str) -> Option<Resources> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut resources = Resources::default();
    for entry in inner.split(',').filter(|entry| !entry.trim().is_empty()) {
        let (key, value) = entry.split_once(':')?;
        let value = match value.trim() {
            "None" => None,
            number => Some(
                number
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)?,
            ),
        };
        match key.trim().trim_matches(|c| c == '\'' || c == '"') {
            "cpus" => resources.cpus = value,
            "memory" => resources.memory = value,
            _ => return None,
        }
    }
    Some(resources)
}

/// Parses numpy's text form of a 1-D float array: `[0.1 0.2\n 0.3]`.
fn parse_numpy_array(text: &str) -> Option<Vec<f64>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    inner
        .split_whitespace()
        .map(|value| value.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = ",time,instance_events_type,collection_id,scheduling_class,collection_type,priority,\
instance_index,machine_id,resource_request,collection_logical_name,start_time,end_time,average_usage,\
maximum_usage,random_sample_usage,assigned_memory,page_cache_memory,cycles_per_instruction,\
memory_accesses_per_instruction,sample_rate,cpu_usage_distribution,tail_cpu_usage_distribution,cluster,event,failed";

    /// Builds a data row with the given event code, label, failed flag and CPU distribution.
    fn row(code: &str, label: &str, failed: &str, distribution: &str) -> String {
        format!(
            "0,600000000,{code},42,2,0,200,7,99,\"{{'cpus': 0.02, 'memory': 0.01}}\",name,\
             600000000,900000000,\"{{'cpus': 0.004, 'memory': 0.005}}\",\"{{'cpus': 0.01, 'memory': 0.006}}\",\
             \"{{'cpus': 0.003, 'memory': None}}\",0.01,0.0004,,,1.0,{distribution},\"[{}]\",7,{label},{failed}",
            ["0.5"; TAIL_CPU_PERCENTILES].join(" ")
        )
    }

    fn full_distribution() -> String {
        let values: Vec<String> = (0..CPU_PERCENTILES).map(|i| format!("0.00{i}")).collect();
        format!(
            "\"[{}\n {}]\"",
            values[..6].join(" "),
            values[6..].join(" ")
        )
    }

    fn parse(rows: &[String]) -> Result<JoinedExtract, TraceError> {
        parse_joined_extract(&format!("{HEADER}\n{}\n", rows.join("\n")), "j.csv")
    }

    #[test]
    fn reads_dict_literals_and_multi_line_arrays() {
        let extract = parse(&[row("3", "SCHEDULE", "0", &full_distribution())]).unwrap();

        let record = &extract.records[0];
        assert_eq!(
            (record.line, record.time_us, record.event),
            (2, 600_000_000, EventKind::Schedule)
        );
        assert_eq!(
            (
                record.collection_id,
                record.instance_index,
                record.machine_id
            ),
            (42, 7, 99)
        );
        assert_eq!(
            record.resource_request,
            Resources {
                cpus: Some(0.02),
                memory: Some(0.01)
            }
        );
        assert_eq!(
            record.usage.random_sample,
            Resources {
                cpus: Some(0.003),
                memory: None
            }
        );
        assert_eq!(record.usage.cycles_per_instruction, None);
        assert_eq!(record.usage.cpu_distribution.len(), CPU_PERCENTILES);
        assert_eq!(record.usage.cpu_distribution[10], 0.0010);
        assert_eq!(extract.quirks, JoinedQuirks::default());
    }

    #[test]
    fn event_from_code_not_label() {
        // The extract labels code 2 FAIL, but the official enum gives 2 to ENABLE.
        let extract = parse(&[row("2", "FAIL", "1", "[]"), row("5", "LOST", "0", "[]")]).unwrap();

        let events: Vec<_> = extract
            .records
            .iter()
            .map(|r| (r.event, r.event_label.as_str(), r.failed))
            .collect();
        assert_eq!(
            events,
            vec![
                (EventKind::Enable, "FAIL", true),
                (EventKind::Fail, "LOST", false)
            ]
        );
        let expected = JoinedQuirks {
            label_mismatches: 2,
            failed_disagreements: 2,
            missing_distributions: 2,
        };
        assert_eq!(extract.quirks, expected);
    }

    #[test]
    fn event_codes_follow_the_official_enum() {
        assert_eq!(EventKind::from_code_2019(0), Some(EventKind::Submit));
        assert_eq!(
            EventKind::from_code_2019(10).map(EventKind::name),
            Some("UPDATE_RUNNING")
        );
        assert_eq!(EventKind::from_code_2019(11), None);
        assert_eq!(EventKind::from_code_2011(2), Some(EventKind::Evict));
        assert_eq!(EventKind::from_code_2011(9), None);
    }

    #[test]
    fn bad_fields_name_row_and_column() {
        let message = |row: String| parse(&[row]).unwrap_err().to_string();

        assert!(message(row("11", "X", "0", "[]")).starts_with(
            "j.csv:2: field instance_events_type is 11, expected a 2019 event type from 0 (SUBMIT) \
             to 10 (UPDATE_RUNNING)"
        ));
        assert!(
            message(row("0", "SUBMIT", "yes", "[]"))
                .starts_with("j.csv:2: field failed is yes, expected 0 or 1")
        );
        let short = message(row("0", "SUBMIT", "0", "\"[0.1 0.2]\""));
        assert!(
            short.starts_with("j.csv:2: field cpu_usage_distribution is [0.1 0.2]"),
            "{short}"
        );
        let bad_dict = row("0", "SUBMIT", "0", "[]").replace("'cpus': 0.02", "'gpus': 0.02");
        let bad_dict = message(bad_dict);
        assert!(
            bad_dict.contains("field resource_request is {'gpus': 0.02, 'memory': 0.01}"),
            "{bad_dict}"
        );
    }

    #[test]
    fn parse_rejects_missing_column_and_empty_file() {
        let error = parse_joined_extract(",time\n0,1\n", "j.csv").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("j.csv: the header \",time\" has no column \"instance_events_type\""),
            "{error}"
        );
        let error = parse_joined_extract(&format!("{HEADER}\n"), "j.csv").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("j.csv: the file contains no data rows"),
            "{error}"
        );
    }

    #[test]
    fn dict_literals_accept_none_and_reject_other_keys() {
        let both_none = Resources {
            cpus: None,
            memory: None,
        };
        assert_eq!(
            parse_resources("{'cpus': None, 'memory': None}"),
            Some(both_none)
        );
        assert_eq!(parse_resources("{}"), Some(both_none));
        assert_eq!(parse_resources("{'disk': 1.0}"), None);
        assert_eq!(parse_resources("{'cpus': -1.0}"), None);
        assert_eq!(parse_resources("'cpus': 1.0"), None);
    }
}
