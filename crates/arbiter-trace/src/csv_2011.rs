//! Line parsers for the 2011 trace (format v2.1): CSV parts without a header for the tables
//! `task_usage`, `task_events`, `job_events` and `machine_events`, with the columns of
//! `data/borg/g2011_schema.csv`.
//!
//! An empty optional field is 0 or unknown and is counted per column for
//! `arbiter trace inspect`; an empty mandatory field is an error. Times are microseconds since
//! the trace epoch, with 0 before the trace and 2^63-1 after it, as in 2019. The event enum has
//! no QUEUE or ENABLE, so its codes differ from 2019's (see [`EventKind::CODES_2011`]).

use crate::line_error::{LineError, Missing};
use crate::records::{
    CollectionEventRecord, EventKind, InstanceEventRecord, MachineEventRecord, Resources,
    UsageRecord,
};

/// Column names of `task_usage`; the last column (sampled CPU usage) is absent from older parts.
pub(crate) const TASK_USAGE_COLUMNS: &[&str] = &[
    "start time",
    "end time",
    "job ID",
    "task index",
    "machine ID",
    "CPU rate",
    "canonical memory usage",
    "assigned memory usage",
    "unmapped page cache",
    "total page cache",
    "maximum memory usage",
    "disk I/O time",
    "local disk space usage",
    "maximum CPU rate",
    "maximum disk IO time",
    "cycles per instruction",
    "memory accesses per instruction",
    "sample portion",
    "aggregation type",
    "sampled CPU usage",
];

/// Column names of `task_events`.
pub(crate) const TASK_EVENT_COLUMNS: &[&str] = &[
    "time",
    "missing info",
    "job ID",
    "task index",
    "machine ID",
    "event type",
    "user",
    "scheduling class",
    "priority",
    "CPU request",
    "memory request",
    "disk space request",
    "different machines restriction",
];

/// Column names of `job_events`.
pub(crate) const JOB_EVENT_COLUMNS: &[&str] = &[
    "time",
    "missing info",
    "job ID",
    "event type",
    "user",
    "scheduling class",
    "job name",
    "logical job name",
];

/// Column names of `machine_events`.
pub(crate) const MACHINE_EVENT_COLUMNS: &[&str] = &[
    "time",
    "machine ID",
    "event type",
    "platform ID",
    "CPUs",
    "Memory",
];

/// The fields of one CSV line, for reading columns by position with errors that name them.
struct Columns<'a> {
    fields: Vec<&'a str>,
    names: &'static [&'static str],
}

impl<'a> Columns<'a> {
    fn split(
        line: &'a str,
        names: &'static [&'static str],
        accepted: &[usize],
    ) -> Result<Self, LineError> {
        let fields: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
        if !accepted.contains(&fields.len()) {
            let counts: Vec<String> = accepted.iter().map(ToString::to_string).collect();
            return Err(LineError::Malformed(format!(
                "found {} comma-separated fields, expected {}; the line may be truncated, or the \
                 file is another table",
                fields.len(),
                counts.join(" or ")
            )));
        }
        Ok(Self { fields, names })
    }

    fn name(&self, column: usize) -> String {
        format!("column {} ({})", column + 1, self.names[column])
    }

    fn raw(&self, column: usize) -> Option<&'a str> {
        self.fields
            .get(column)
            .map(|field| field.trim())
            .filter(|field| !field.is_empty())
    }

    fn integer(&self, column: usize) -> Result<Option<i64>, LineError> {
        let Some(raw) = self.raw(column) else {
            return Ok(None);
        };
        match raw.parse::<i64>() {
            Ok(value) if value >= 0 => Ok(Some(value)),
            _ => Err(LineError::invalid(
                self.name(column),
                raw,
                "an integer >= 0",
            )),
        }
    }

    fn mandatory_integer(&self, column: usize, field: &'static str) -> Result<i64, LineError> {
        self.integer(column)?.ok_or(LineError::Missing(field))
    }

    fn id(&self, column: usize, field: &'static str) -> Result<u64, LineError> {
        // Non-negative by `integer`, so the conversion is exact.
        Ok(self.mandatory_integer(column, field)? as u64)
    }

    fn optional_id(&self, column: usize, missing: &mut Missing) -> Result<u64, LineError> {
        let value = self.integer(column)?;
        missing.mark_if(column, &value);
        Ok(value.unwrap_or(0) as u64)
    }

    fn float(&self, column: usize, missing: &mut Missing) -> Result<Option<f64>, LineError> {
        let Some(raw) = self.raw(column) else {
            missing.mark(column);
            return Ok(None);
        };
        match raw.parse::<f64>() {
            Ok(value) if value.is_finite() && value >= 0.0 => Ok(Some(value)),
            _ => Err(LineError::invalid(
                self.name(column),
                raw,
                "a finite number >= 0",
            )),
        }
    }

    fn ranged(
        &self,
        column: usize,
        max: i64,
        expected: &str,
        missing: &mut Missing,
    ) -> Result<i64, LineError> {
        let value = self.integer(column)?;
        missing.mark_if(column, &value);
        let value = value.unwrap_or(0);
        if value > max {
            return Err(LineError::invalid(
                self.name(column),
                value.to_string(),
                expected,
            ));
        }
        Ok(value)
    }

    fn event(&self, column: usize) -> Result<EventKind, LineError> {
        let code = self.mandatory_integer(column, self.names[column])?;
        EventKind::from_code_2011(code).ok_or_else(|| {
            LineError::invalid(
                self.name(column),
                code.to_string(),
                "a 2011 event type from 0 (SUBMIT) to 8 (UPDATE_RUNNING)",
            )
        })
    }
}

/// Parses one `task_usage` line (19 or 20 columns).
pub(crate) fn parse_task_usage(
    line: &str,
    missing: &mut Missing,
) -> Result<UsageRecord, LineError> {
    let columns = Columns::split(line, TASK_USAGE_COLUMNS, &[19, 20])?;
    let start_us = columns.mandatory_integer(0, "start time")?;
    let end_us = columns.mandatory_integer(1, "end time")?;
    if end_us < start_us {
        return Err(LineError::invalid(
            columns.name(1),
            end_us.to_string(),
            &format!("a time after the start time ({start_us})"),
        ));
    }
    Ok(UsageRecord {
        start_us,
        end_us,
        collection_id: columns.id(2, "job ID")?,
        instance_index: columns.id(3, "task index")?,
        machine_id: columns.id(4, "machine ID")?,
        average: Resources {
            cpus: columns.float(5, missing)?,
            memory: columns.float(6, missing)?,
        },
        maximum: Resources {
            cpus: columns.float(13, missing)?,
            memory: columns.float(10, missing)?,
        },
        assigned_memory: columns.float(7, missing)?,
        page_cache_memory: columns.float(9, missing)?,
        cycles_per_instruction: columns.float(15, missing)?,
        memory_accesses_per_instruction: columns.float(16, missing)?,
        cpu_distribution: Vec::new(),
        tail_cpu_distribution: Vec::new(),
    })
}

/// Parses one `task_events` line (13 columns).
pub(crate) fn parse_task_event(
    line: &str,
    missing: &mut Missing,
) -> Result<InstanceEventRecord, LineError> {
    let columns = Columns::split(line, TASK_EVENT_COLUMNS, &[13])?;
    Ok(InstanceEventRecord {
        time_us: columns.mandatory_integer(0, "time")?,
        kind: Some(columns.event(5)?),
        collection_id: columns.id(2, "job ID")?,
        instance_index: columns.id(3, "task index")?,
        machine_id: columns.optional_id(4, missing)?,
        scheduling_class: columns.ranged(7, 3, "a scheduling class from 0 to 3", missing)? as u8,
        priority: columns.ranged(8, 11, "a 2011 priority from 0 to 11", missing)? as u32,
        request: Resources {
            cpus: columns.float(9, missing)?,
            memory: columns.float(10, missing)?,
        },
    })
}

/// Parses one `job_events` line (8 columns). 2011 job events carry no priority.
pub(crate) fn parse_job_event(
    line: &str,
    missing: &mut Missing,
) -> Result<CollectionEventRecord, LineError> {
    let columns = Columns::split(line, JOB_EVENT_COLUMNS, &[8])?;
    Ok(CollectionEventRecord {
        time_us: columns.mandatory_integer(0, "time")?,
        kind: Some(columns.event(3)?),
        collection_id: columns.id(2, "job ID")?,
        scheduling_class: columns.ranged(5, 3, "a scheduling class from 0 to 3", missing)? as u8,
        priority: None,
    })
}

/// Parses one `machine_events` line (6 columns). Types are 0 (ADD), 1 (REMOVE) and 2 (UPDATE).
pub(crate) fn parse_machine_event(
    line: &str,
    missing: &mut Missing,
) -> Result<MachineEventRecord, LineError> {
    let columns = Columns::split(line, MACHINE_EVENT_COLUMNS, &[6])?;
    let kind = columns.mandatory_integer(2, "event type")?;
    if kind > 2 {
        return Err(LineError::invalid(
            columns.name(2),
            kind.to_string(),
            "a 2011 machine event type from 0 (ADD) to 2 (UPDATE)",
        ));
    }
    Ok(MachineEventRecord {
        time_us: columns.mandatory_integer(0, "time")?,
        machine_id: columns.id(1, "machine ID")?,
        capacity: Resources {
            cpus: columns.float(4, missing)?,
            memory: columns.float(5, missing)?,
        },
    })
}

/// The 2011 tables with a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    TaskUsage,
    TaskEvents,
    JobEvents,
    MachineEvents,
}

/// Tells which 2011 table a CSV line belongs to, from its column count, when its first field
/// is an integer time (the aggregated job series writes `600.0`).
pub(crate) fn detect_table(line: &str) -> Option<Table> {
    let fields: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
    fields.first()?.trim().parse::<u64>().ok()?;
    match fields.len() {
        19 | 20 => Some(Table::TaskUsage),
        13 => Some(Table::TaskEvents),
        8 => Some(Table::JobEvents),
        6 => Some(Table::MachineEvents),
        _ => None,
    }
}
