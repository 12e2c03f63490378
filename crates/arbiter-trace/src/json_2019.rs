//! Line parsers for the 2019 trace (format v3) as exported from BigQuery: one JSON object per
//! line, for the tables `instance_usage`, `instance_events`, `collection_events` and
//! `machine_events`.
//!
//! The export writes 64-bit integers as JSON strings (`"collection_id": "3740"`) and omits
//! fields that are zero or empty. So every integer is read from a string or a number, and an
//! absent field is 0 or empty unless it is mandatory. The mandatory fields are never 0 in the
//! trace: `collection_id` in the three tables that have it, `end_time` in `instance_usage` and
//! `machine_id` in `machine_events`. Absent optional fields are counted per field for `arbiter trace inspect`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::line_error::{LineError, Missing};
use crate::records::{
    CollectionEventRecord, EventKind, InstanceEventRecord, MachineEventRecord, Resources,
    UsageRecord,
};

/// Percentiles in `cpu_usage_distribution`: 0, 10, ..., 100.
pub const CPU_PERCENTILES: usize = 11;

/// Percentiles in `tail_cpu_usage_distribution`: 91 to 99.
pub const TAIL_CPU_PERCENTILES: usize = 9;

/// Optional fields of `instance_usage` whose absence is counted, in bit order.
pub(crate) const USAGE_FIELDS: &[&str] = &[
    "start_time",
    "instance_index",
    "machine_id",
    "average_usage.cpus",
    "average_usage.memory",
    "maximum_usage.cpus",
    "maximum_usage.memory",
    "assigned_memory",
    "page_cache_memory",
    "cycles_per_instruction",
    "memory_accesses_per_instruction",
    "cpu_usage_distribution",
    "tail_cpu_usage_distribution",
];

/// Optional fields of `instance_events` whose absence is counted, in bit order.
pub(crate) const INSTANCE_EVENT_FIELDS: &[&str] = &[
    "time",
    "type",
    "instance_index",
    "machine_id",
    "scheduling_class",
    "priority",
    "resource_request.cpus",
    "resource_request.memory",
];

/// Optional fields of `collection_events` whose absence is counted, in bit order.
pub(crate) const COLLECTION_EVENT_FIELDS: &[&str] =
    &["time", "type", "scheduling_class", "priority"];

/// Optional fields of `machine_events` whose absence is counted, in bit order.
pub(crate) const MACHINE_EVENT_FIELDS: &[&str] =
    &["time", "type", "capacity.cpus", "capacity.memory"];

/// A 64-bit integer written as a JSON string or number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Int(i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntVisitor;

        impl Visitor<'_> for IntVisitor {
            type Value = Int;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string of digits")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Int, E> {
                Ok(Int(value))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Int, E> {
                i64::try_from(value)
                    .map(Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Int, E> {
                value
                    .parse()
                    .map(Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(value), &self))
            }
        }

        deserializer.deserialize_any(IntVisitor)
    }
}

/// A `{cpus, memory}` object; either member may be absent or null.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
struct ResourcesJson {
    #[serde(default)]
    cpus: Option<f64>,
    #[serde(default)]
    memory: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct UsageLine {
    #[serde(default)]
    start_time: Option<Int>,
    #[serde(default)]
    end_time: Option<Int>,
    #[serde(default)]
    collection_id: Option<Int>,
    #[serde(default)]
    instance_index: Option<Int>,
    #[serde(default)]
    machine_id: Option<Int>,
    #[serde(default)]
    average_usage: Option<ResourcesJson>,
    #[serde(default)]
    maximum_usage: Option<ResourcesJson>,
    #[serde(default)]
    assigned_memory: Option<f64>,
    #[serde(default)]
    page_cache_memory: Option<f64>,
    #[serde(default)]
    cycles_per_instruction: Option<f64>,
    #[serde(default)]
    memory_accesses_per_instruction: Option<f64>,
    #[serde(default)]
    cpu_usage_distribution: Option<Vec<f64>>,
    #[serde(default)]
    tail_cpu_usage_distribution: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
struct InstanceEventLine {
    #[serde(default)]
    time: Option<Int>,
    #[serde(default, rename = "type")]
    event_type: Option<Int>,
    #[serde(default)]
    collection_id: Option<Int>,
    #[serde(default)]
    instance_index: Option<Int>,
    #[serde(default)]
    machine_id: Option<Int>,
    #[serde(default)]
    scheduling_class: Option<Int>,
    #[serde(default)]
    priority: Option<Int>,
    #[serde(default)]
    resource_request: Option<ResourcesJson>,
}

#[derive(Debug, Deserialize)]
struct CollectionEventLine {
    #[serde(default)]
    time: Option<Int>,
    #[serde(default, rename = "type")]
    event_type: Option<Int>,
    #[serde(default)]
    collection_id: Option<Int>,
    #[serde(default)]
    scheduling_class: Option<Int>,
    #[serde(default)]
    priority: Option<Int>,
}

#[derive(Debug, Deserialize)]
struct MachineEventLine {
    #[serde(default)]
    time: Option<Int>,
    #[serde(default)]
    machine_id: Option<Int>,
    #[serde(default, rename = "type")]
    event_type: Option<Int>,
    #[serde(default)]
    capacity: Option<ResourcesJson>,
}

/// Parses one `instance_usage` line.
pub(crate) fn parse_usage(line: &str, missing: &mut Missing) -> Result<UsageRecord, LineError> {
    let row: UsageLine = parse_object(line)?;
    missing.mark_if(0, &row.start_time);
    missing.mark_if(1, &row.instance_index);
    missing.mark_if(2, &row.machine_id);
    let average = resources("average_usage", row.average_usage, missing, 3)?;
    let maximum = resources("maximum_usage", row.maximum_usage, missing, 5)?;
    missing.mark_if(7, &row.assigned_memory);
    missing.mark_if(8, &row.page_cache_memory);
    missing.mark_if(9, &row.cycles_per_instruction);
    missing.mark_if(10, &row.memory_accesses_per_instruction);
    let cpu_distribution = distribution(
        "cpu_usage_distribution",
        row.cpu_usage_distribution,
        CPU_PERCENTILES,
    )?;
    if cpu_distribution.is_empty() {
        missing.mark(11);
    }
    let tail_cpu_distribution = distribution(
        "tail_cpu_usage_distribution",
        row.tail_cpu_usage_distribution,
        TAIL_CPU_PERCENTILES,
    )?;
    if tail_cpu_distribution.is_empty() {
        missing.mark(12);
    }

    let start_us = time("start_time", row.start_time)?;
    let end_us = time("end_time", Some(mandatory("end_time", row.end_time)?))?;
    if end_us < start_us {
        return Err(LineError::invalid(
            "end_time",
            end_us.to_string(),
            &format!("a time after start_time ({start_us})"),
        ));
    }
    Ok(UsageRecord {
        start_us,
        end_us,
        collection_id: id(
            "collection_id",
            Some(mandatory("collection_id", row.collection_id)?),
        )?,
        instance_index: id("instance_index", row.instance_index)?,
        machine_id: id("machine_id", row.machine_id)?,
        average,
        maximum,
        assigned_memory: usage("assigned_memory", row.assigned_memory)?,
        page_cache_memory: usage("page_cache_memory", row.page_cache_memory)?,
        cycles_per_instruction: usage("cycles_per_instruction", row.cycles_per_instruction)?,
        memory_accesses_per_instruction: usage(
            "memory_accesses_per_instruction",
            row.memory_accesses_per_instruction,
        )?,
        cpu_distribution,
        tail_cpu_distribution,
    })
}

/// Parses one `instance_events` line.
pub(crate) fn parse_instance_event(
    line: &str,
    missing: &mut Missing,
) -> Result<InstanceEventRecord, LineError> {
    let row: InstanceEventLine = parse_object(line)?;
    missing.mark_if(0, &row.time);
    missing.mark_if(1, &row.event_type);
    missing.mark_if(2, &row.instance_index);
    missing.mark_if(3, &row.machine_id);
    missing.mark_if(4, &row.scheduling_class);
    missing.mark_if(5, &row.priority);
    Ok(InstanceEventRecord {
        time_us: time("time", row.time)?,
        kind: Some(event_kind(row.event_type)?),
        collection_id: id(
            "collection_id",
            Some(mandatory("collection_id", row.collection_id)?),
        )?,
        instance_index: id("instance_index", row.instance_index)?,
        machine_id: id("machine_id", row.machine_id)?,
        scheduling_class: scheduling_class(row.scheduling_class)?,
        priority: priority(row.priority)?,
        request: resources("resource_request", row.resource_request, missing, 6)?,
    })
}

/// Parses one `collection_events` line.
pub(crate) fn parse_collection_event(
    line: &str,
    missing: &mut Missing,
) -> Result<CollectionEventRecord, LineError> {
    let row: CollectionEventLine = parse_object(line)?;
    missing.mark_if(0, &row.time);
    missing.mark_if(1, &row.event_type);
    missing.mark_if(2, &row.scheduling_class);
    missing.mark_if(3, &row.priority);
    Ok(CollectionEventRecord {
        time_us: time("time", row.time)?,
        kind: Some(event_kind(row.event_type)?),
        collection_id: id(
            "collection_id",
            Some(mandatory("collection_id", row.collection_id)?),
        )?,
        scheduling_class: scheduling_class(row.scheduling_class)?,
        priority: Some(priority(row.priority)?),
    })
}

/// Parses one `machine_events` line. Types are 0 (unknown), 1 (ADD), 2 (REMOVE) and 3 (UPDATE).
pub(crate) fn parse_machine_event(
    line: &str,
    missing: &mut Missing,
) -> Result<MachineEventRecord, LineError> {
    let row: MachineEventLine = parse_object(line)?;
    missing.mark_if(0, &row.time);
    missing.mark_if(1, &row.event_type);
    let kind = row.event_type.map_or(0, |Int(kind)| kind);
    if !(0..=3).contains(&kind) {
        return Err(LineError::invalid(
            "type",
            kind.to_string(),
            "a machine event type from 0 to 3",
        ));
    }
    Ok(MachineEventRecord {
        time_us: time("time", row.time)?,
        machine_id: id("machine_id", Some(mandatory("machine_id", row.machine_id)?))?,
        capacity: resources("capacity", row.capacity, missing, 2)?,
    })
}

/// Tells which 2019 table a JSON line belongs to, from the fields it has. Returns `None` when
/// the line is not a JSON object or its fields fit no table.
pub(crate) fn detect_table(line: &str) -> Option<Table> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).ok()?;
    let has = |names: &[&str]| names.iter().any(|name| object.contains_key(*name));
    if has(&[
        "average_usage",
        "maximum_usage",
        "cpu_usage_distribution",
        "start_time",
        "end_time",
        "assigned_memory",
    ]) {
        return Some(Table::InstanceUsage);
    }
    if has(&["capacity", "platform_id", "switch_id"])
        || (has(&["machine_id"]) && !has(&["collection_id"]))
    {
        return Some(Table::MachineEvents);
    }
    if has(&[
        "user",
        "collection_name",
        "collection_logical_name",
        "parent_collection_id",
        "start_after_collection_ids",
        "vertical_scaling",
        "scheduler",
        "max_per_machine",
        "max_per_switch",
    ]) {
        return Some(Table::CollectionEvents);
    }
    if has(&[
        "instance_index",
        "resource_request",
        "constraint",
        "machine_id",
        "alloc_instance_index",
    ]) {
        return Some(Table::InstanceEvents);
    }
    None
}

/// The 2019 tables with a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    InstanceUsage,
    InstanceEvents,
    CollectionEvents,
    MachineEvents,
}

/// Parses a JSON object into `T`, and on failure finds the offending field.
fn parse_object<'a, T: Deserialize<'a>>(line: &'a str) -> Result<T, LineError> {
    match serde_json::from_str::<T>(line) {
        Ok(row) => Ok(row),
        Err(_) => Err(diagnose::<T>(line)),
    }
}

/// Explains why `line` does not parse as `T`: invalid JSON, not an object, or a field of the
/// wrong type, named by its path. This slow path runs only on bad lines.
fn diagnose<'a, T: Deserialize<'a>>(line: &'a str) -> LineError {
    let value = match serde_json::from_str::<serde_json::Value>(line) {
        Ok(value) => value,
        Err(error) => {
            // serde_json counts lines within the text it parsed, which is this one line.
            let message = error
                .to_string()
                .replace(" at line 1 column ", " at column ");
            return LineError::Malformed(format!("invalid JSON: {message}"));
        }
    };
    if !value.is_object() {
        return LineError::Malformed("expected one JSON object per line".to_owned());
    }
    let mut deserializer = serde_json::Deserializer::from_str(line);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(_) => LineError::Malformed("the line does not parse as a whole".to_owned()),
        Err(error) => {
            let path = error.path().to_string();
            let field_value = path
                .split('.')
                .try_fold(&value, |value, key| match key.parse::<usize>() {
                    Ok(index) => value.get(index),
                    Err(_) => value.get(key),
                })
                .map_or_else(|| "(absent)".to_owned(), ToString::to_string);
            let inner = error.into_inner().to_string();
            let expected = inner.split(" at line ").next().unwrap_or(&inner).to_owned();
            LineError::invalid(path, field_value, &expected)
        }
    }
}

fn mandatory(field: &'static str, value: Option<Int>) -> Result<Int, LineError> {
    value.ok_or(LineError::Missing(field))
}

/// Reads a time in microseconds: 0 when absent, never negative; `i64::MAX` means after the trace.
fn time(field: &'static str, value: Option<Int>) -> Result<i64, LineError> {
    let Int(value) = value.unwrap_or(Int(0));
    if value < 0 {
        return Err(LineError::invalid(
            field,
            value.to_string(),
            "a time in microseconds >= 0",
        ));
    }
    Ok(value)
}

fn id(field: &'static str, value: Option<Int>) -> Result<u64, LineError> {
    let Int(value) = value.unwrap_or(Int(0));
    u64::try_from(value)
        .map_err(|_| LineError::invalid(field, value.to_string(), "an integer >= 0"))
}

fn event_kind(value: Option<Int>) -> Result<EventKind, LineError> {
    let Int(code) = value.unwrap_or(Int(0));
    EventKind::from_code_2019(code).ok_or_else(|| {
        LineError::invalid(
            "type",
            code.to_string(),
            "a 2019 event type from 0 (SUBMIT) to 10 (UPDATE_RUNNING)",
        )
    })
}

fn scheduling_class(value: Option<Int>) -> Result<u8, LineError> {
    let Int(class) = value.unwrap_or(Int(0));
    match u8::try_from(class) {
        Ok(class) if class <= 3 => Ok(class),
        _ => Err(LineError::invalid(
            "scheduling_class",
            class.to_string(),
            "a scheduling class from 0 to 3",
        )),
    }
}

fn priority(value: Option<Int>) -> Result<u32, LineError> {
    let Int(priority) = value.unwrap_or(Int(0));
    u32::try_from(priority)
        .map_err(|_| LineError::invalid("priority", priority.to_string(), "a priority >= 0"))
}

fn usage(field: &str, value: Option<f64>) -> Result<Option<f64>, LineError> {
    match value {
        Some(number) if !(number.is_finite() && number >= 0.0) => Err(LineError::invalid(
            field,
            number.to_string(),
            "a finite number >= 0",
        )),
        _ => Ok(value),
    }
}

/// Reads a `{cpus, memory}` object and marks its absent members at bits `first` and `first + 1`.
fn resources(
    field: &str,
    value: Option<ResourcesJson>,
    missing: &mut Missing,
    first: usize,
) -> Result<Resources, LineError> {
    let value = value.unwrap_or_default();
    missing.mark_if(first, &value.cpus);
    missing.mark_if(first + 1, &value.memory);
    for (member, number) in [("cpus", value.cpus), ("memory", value.memory)] {
        if usage("", number).is_err() {
            return usage(&format!("{field}.{member}"), number).map(|_| Resources::default());
        }
    }
    Ok(Resources {
        cpus: value.cpus,
        memory: value.memory,
    })
}

fn distribution(field: &str, value: Option<Vec<f64>>, len: usize) -> Result<Vec<f64>, LineError> {
    let values = value.unwrap_or_default();
    let valid = values
        .iter()
        .all(|value| value.is_finite() && *value >= 0.0);
    if (values.is_empty() || values.len() == len) && valid {
        return Ok(values);
    }
    Err(LineError::invalid(
        field,
        format!("{values:?}"),
        &format!("an empty array or {len} percentiles, each >= 0"),
    ))
}
