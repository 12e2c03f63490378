//! Readers for Google Borg cluster traces that yield per-workload usage series.
//!
//! [`read_series`] reads one file into [`WorkloadSeries`], in a [`TraceFormat`] given by name
//! or detected from the file's first line ([`detect_format`]). The readers report each
//! trace quirk they meet (absent windows, times off the 300 s grid, rows with zero tasks,
//! windows counted twice) in the series' `QuirkReport` and `PointFlags` instead of hiding it.
//!
//! Formats read so far, both aggregated extracts of the public traces:
//! - [`TraceFormat::JobSeries2011`]: one 2011 job's task usage summed per 300 s, in normalized
//!   units (NCU for CPU).
//! - [`TraceFormat::CellAggregate2019`]: one 2019 cell's instance usage per 300 s window, as a
//!   relative demand curve.
//!
//! The readers hold a whole file in memory. The raw traces (2019 as gzipped JSON lines, 2011 as
//! gzipped CSV parts) have no reader yet.

#![deny(missing_docs)]

mod cell_aggregate_2019;
mod error;
mod format;
mod job_series_2011;
mod quirks;
mod text;

use std::path::Path;

use arbiter_core::series::{SpikePolicy, WorkloadSeries};

pub use error::{Location, TraceError};
pub use format::{TraceFormat, detect_format};
pub use quirks::{SPIKE_MAX_RATIO, SPIKE_MIN_RATIO, SPIKE_NEIGHBOURS};

/// Settings for reading a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// The handling of windows counted twice. Default: [`SpikePolicy::Flag`], which keeps the
    /// values as read and marks the window.
    pub spike_policy: SpikePolicy,
}

/// Reads the trace file at `path` into its workload series, one per workload in the file. Each
/// format read so far contains one workload. With `format` `None`, the format is detected from the
/// file's first non-blank line.
///
/// # Errors
/// Any [`TraceError`]: the file cannot be read, is empty, matches no format, or has a row the
/// format does not allow. Errors name the file, line, column and offending text where they
/// apply.
pub fn read_series(
    path: &Path,
    format: Option<TraceFormat>,
    options: &ReadOptions,
) -> Result<Vec<WorkloadSeries>, TraceError> {
    let text = text::read_text(path)?;
    let format = match format {
        Some(format) => format,
        None => {
            let first_line = text::data_lines(&text).next().map(|(_, line)| line);
            let first_line = first_line.ok_or_else(|| TraceError::Empty {
                file: path.display().to_string(),
                format: "trace",
            })?;
            format::detect_from_first_line(first_line, path)?
        }
    };

    let series = match format {
        TraceFormat::JobSeries2011 => job_series_2011::parse(&text, path, options.spike_policy)?,
        TraceFormat::CellAggregate2019 => cell_aggregate_2019::parse(&text, path)?,
    };
    Ok(vec![series])
}
