//! The trace formats, their names for a `--format` flag, and detection by content.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;

use crate::error::TraceError;
use crate::{cell_aggregate_2019, csv_2011, job_series_2011, json_2019};

/// A trace format with a reader in this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TraceFormat {
    /// The 2011 job series (`g2011-job-series`): one job's `task_usage` summed per 300 s,
    /// 18 numeric columns without header.
    JobSeries2011,
    /// The 2019 cell aggregate (`g2019-cell-aggregate`): one cell's `instance_usage` per 300 s
    /// window, with an `avg_cpu,avg_mem,...` header and no time column.
    CellAggregate2019,
    /// 2019 `instance_usage` as JSON lines (`g2019-instance-usage`).
    InstanceUsage2019,
    /// 2019 `instance_events` as JSON lines (`g2019-instance-events`).
    InstanceEvents2019,
    /// 2019 `collection_events` as JSON lines (`g2019-collection-events`).
    CollectionEvents2019,
    /// 2019 `machine_events` as JSON lines (`g2019-machine-events`).
    MachineEvents2019,
    /// 2011 `task_usage` CSV parts (`g2011-task-usage`).
    TaskUsage2011,
    /// 2011 `task_events` CSV parts (`g2011-task-events`).
    TaskEvents2011,
    /// 2011 `job_events` CSV parts (`g2011-job-events`).
    JobEvents2011,
    /// 2011 `machine_events` CSV parts (`g2011-machine-events`).
    MachineEvents2011,
    /// The joined 2019 extract (`g2019-joined-extract`): instance events joined with their
    /// collection event and one usage window, with Python dict literals and numpy arrays.
    JoinedExtract2019,
}

impl TraceFormat {
    /// Every format, in the order detection tries them and messages list them.
    pub const ALL: [TraceFormat; 11] = [
        Self::JobSeries2011,
        Self::CellAggregate2019,
        Self::JoinedExtract2019,
        Self::InstanceUsage2019,
        Self::InstanceEvents2019,
        Self::CollectionEvents2019,
        Self::MachineEvents2019,
        Self::TaskUsage2011,
        Self::TaskEvents2011,
        Self::JobEvents2011,
        Self::MachineEvents2011,
    ];

    /// Returns the format's name, as accepted by `FromStr` and stored in
    /// `WorkloadSeries::format`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::JobSeries2011 => "g2011-job-series",
            Self::CellAggregate2019 => "g2019-cell-aggregate",
            Self::InstanceUsage2019 => "g2019-instance-usage",
            Self::InstanceEvents2019 => "g2019-instance-events",
            Self::CollectionEvents2019 => "g2019-collection-events",
            Self::MachineEvents2019 => "g2019-machine-events",
            Self::TaskUsage2011 => "g2011-task-usage",
            Self::TaskEvents2011 => "g2011-task-events",
            Self::JobEvents2011 => "g2011-job-events",
            Self::MachineEvents2011 => "g2011-machine-events",
            Self::JoinedExtract2019 => "g2019-joined-extract",
        }
    }

    /// Tells whether the format is an aggregated series (one workload per file) rather than a
    /// raw trace table.
    pub const fn is_aggregated(self) -> bool {
        matches!(self, Self::JobSeries2011 | Self::CellAggregate2019)
    }

    /// Tells whether the format is a raw table read line by line (JSON lines or 2011 CSV).
    pub const fn is_line_table(self) -> bool {
        !self.is_aggregated() && !matches!(self, Self::JoinedExtract2019)
    }

    /// Tells whether the format contains usage windows (rather than only events).
    pub const fn has_usage(self) -> bool {
        matches!(
            self,
            Self::InstanceUsage2019 | Self::TaskUsage2011 | Self::JoinedExtract2019
        )
    }

    /// Returns the trace generation: 2011 or 2019.
    pub const fn generation(self) -> u16 {
        match self {
            Self::JobSeries2011
            | Self::TaskUsage2011
            | Self::TaskEvents2011
            | Self::JobEvents2011
            | Self::MachineEvents2011 => 2011,
            _ => 2019,
        }
    }

    /// Returns the optional fields whose absence a raw reader counts, in bit order.
    pub(crate) fn counted_fields(self) -> &'static [&'static str] {
        match self {
            Self::InstanceUsage2019 => json_2019::USAGE_FIELDS,
            Self::InstanceEvents2019 => json_2019::INSTANCE_EVENT_FIELDS,
            Self::CollectionEvents2019 => json_2019::COLLECTION_EVENT_FIELDS,
            Self::MachineEvents2019 => json_2019::MACHINE_EVENT_FIELDS,
            Self::TaskUsage2011 => csv_2011::TASK_USAGE_COLUMNS,
            Self::TaskEvents2011 => csv_2011::TASK_EVENT_COLUMNS,
            Self::JobEvents2011 => csv_2011::JOB_EVENT_COLUMNS,
            Self::MachineEvents2011 => csv_2011::MACHINE_EVENT_COLUMNS,
            Self::JobSeries2011 | Self::CellAggregate2019 | Self::JoinedExtract2019 => &[],
        }
    }

    /// Tells whether the first non-blank line of a file looks like this format.
    fn matches_first_line(self, first_line: &str) -> bool {
        use crate::csv_2011::Table as Csv;
        use crate::json_2019::Table as Json;
        let json = || {
            first_line
                .trim_start()
                .starts_with('{')
                .then(|| json_2019::detect_table(first_line))
                .flatten()
        };
        match self {
            Self::JobSeries2011 => job_series_2011::matches_first_line(first_line),
            Self::CellAggregate2019 => cell_aggregate_2019::matches_first_line(first_line),
            Self::JoinedExtract2019 => {
                first_line.contains("instance_events_type") && first_line.contains("time")
            }
            Self::InstanceUsage2019 => json() == Some(Json::InstanceUsage),
            Self::InstanceEvents2019 => json() == Some(Json::InstanceEvents),
            Self::CollectionEvents2019 => json() == Some(Json::CollectionEvents),
            Self::MachineEvents2019 => json() == Some(Json::MachineEvents),
            Self::TaskUsage2011 => csv_2011::detect_table(first_line) == Some(Csv::TaskUsage),
            Self::TaskEvents2011 => csv_2011::detect_table(first_line) == Some(Csv::TaskEvents),
            Self::JobEvents2011 => csv_2011::detect_table(first_line) == Some(Csv::JobEvents),
            Self::MachineEvents2011 => {
                csv_2011::detect_table(first_line) == Some(Csv::MachineEvents)
            }
        }
    }
}

/// Returns the names of all formats, comma separated, for messages.
fn known_names() -> String {
    TraceFormat::ALL.map(TraceFormat::name).join(", ")
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TraceFormat {
    type Err = TraceError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let format = Self::ALL.into_iter().find(|format| format.name() == name);
        format.ok_or_else(|| TraceError::UnknownFormat {
            name: name.to_owned(),
            known: known_names(),
        })
    }
}

/// Detects the format of the file at `path` from its first non-blank line, decompressing a
/// gzipped file first.
///
/// # Errors
/// [`TraceError::Io`] when the file cannot be read, [`TraceError::Empty`] when it has no
/// non-blank line, and [`TraceError::UndetectedFormat`] when no format matches that line.
pub fn detect_format(path: &Path) -> Result<TraceFormat, TraceError> {
    let io_error = |source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let reader = crate::input::open(path, None)?;
    for line in BufReader::new(reader).lines() {
        let line = line.map_err(io_error)?;
        if !line.trim().is_empty() {
            return detect_from_first_line(&line, path);
        }
    }
    Err(TraceError::Empty {
        file: path.display().to_string(),
        format: "trace",
    })
}

/// Detects the format from a file's first non-blank line.
pub(crate) fn detect_from_first_line(
    first_line: &str,
    path: &Path,
) -> Result<TraceFormat, TraceError> {
    let format = TraceFormat::ALL
        .into_iter()
        .find(|format| format.matches_first_line(first_line));
    format.ok_or_else(|| TraceError::UndetectedFormat {
        file: path.display().to_string(),
        first_line: first_line.trim().chars().take(120).collect(),
        known: known_names(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for format in TraceFormat::ALL {
            assert_eq!(format.to_string().parse::<TraceFormat>().unwrap(), format);
        }
    }

    #[test]
    fn unknown_name_lists_accepted_names() {
        let error = "borg".parse::<TraceFormat>().unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "unknown trace format \"borg\", expected one of: {}",
                known_names()
            )
        );
    }

    #[test]
    fn first_line_decides_format() {
        let detect = |line: &str| detect_from_first_line(line, Path::new("f.csv"));
        let job_row = format!("600.0,3089.0{}", ",0.5".repeat(16));

        assert_eq!(detect(&job_row).unwrap(), TraceFormat::JobSeries2011);
        let header = "avg_cpu,avg_mem,avg_assigned_mem,avg_cycles_per_instruction";
        assert_eq!(detect(header).unwrap(), TraceFormat::CellAggregate2019);
        let error = detect("time,cpu").unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "f.csv: cannot detect the trace format from the first line \"time,cpu\", so name \
                 the format explicitly (one of: {})",
                known_names()
            )
        );
        assert!(detect("600.0,3089.0,1").is_err());
    }
}
