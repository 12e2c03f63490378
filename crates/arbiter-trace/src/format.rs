//! The trace formats, their names for a `--format` flag, and detection by content.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;

use crate::error::TraceError;
use crate::{cell_aggregate_2019, job_series_2011};

/// A trace format with a reader in this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceFormat {
    /// The 2011 job series (`g2011-job-series`): one job's `task_usage` summed per 300 s,
    /// 18 numeric columns without header.
    JobSeries2011,
    /// The 2019 cell aggregate (`g2019-cell-aggregate`): one cell's `instance_usage` per 300 s
    /// window, with an `avg_cpu,avg_mem,...` header and no time column.
    CellAggregate2019,
}

impl TraceFormat {
    /// Every format, in the order detection tries them and messages list them.
    pub const ALL: [TraceFormat; 2] = [Self::JobSeries2011, Self::CellAggregate2019];

    /// Returns the format's name, as accepted by `FromStr` and stored in
    /// `WorkloadSeries::format`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::JobSeries2011 => "g2011-job-series",
            Self::CellAggregate2019 => "g2019-cell-aggregate",
        }
    }

    /// Tells whether the first non-blank line of a file looks like this format.
    fn matches_first_line(self, first_line: &str) -> bool {
        match self {
            Self::JobSeries2011 => job_series_2011::matches_first_line(first_line),
            Self::CellAggregate2019 => cell_aggregate_2019::matches_first_line(first_line),
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

/// Detects the format of the file at `path` from its first non-blank line.
///
/// # Errors
/// [`TraceError::Io`] when the file cannot be read, [`TraceError::Empty`] when it has no
/// non-blank line, and [`TraceError::UndetectedFormat`] when no format matches that line.
pub fn detect_format(path: &Path) -> Result<TraceFormat, TraceError> {
    let io_error = |source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    for line in BufReader::new(file).lines() {
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
            "unknown trace format \"borg\", expected one of: g2011-job-series, g2019-cell-aggregate"
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
            "f.csv: cannot detect the trace format from the first line \"time,cpu\", so name the \
             format explicitly (one of: g2011-job-series, g2019-cell-aggregate)"
        );
        assert!(detect("600.0,3089.0,1").is_err());
    }
}
