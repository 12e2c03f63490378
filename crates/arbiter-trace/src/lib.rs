//! Readers for Google Borg cluster traces that yield per-workload usage series and features.
//!
//! Two kinds of input are read:
//! - Aggregated extracts, one workload per file, read whole by [`read_series`] into
//!   [`WorkloadSeries`]: [`TraceFormat::JobSeries2011`] (one 2011 job's task usage summed per
//!   300 s, in NCU) and [`TraceFormat::CellAggregate2019`] (one 2019 cell's usage per 300 s, a
//!   relative demand curve). Their quirks (absent windows, times off the 300 s grid, rows with
//!   zero tasks, windows counted twice) are reported in `QuirkReport` and `PointFlags`.
//! - Raw trace tables: the 2019 trace as BigQuery JSON lines (`instance_usage`,
//!   `instance_events`, `collection_events`, `machine_events`), the 2011 trace as CSV parts
//!   (`task_usage`, `task_events`, `job_events`, `machine_events`), gzipped or plain, and the
//!   joined 2019 extract. [`ingest`] reads any number of them in parallel, with memory bounded
//!   by the aggregation state, into per-collection 300 s series ([`CollectionSeries`]) and an
//!   [`InspectReport`]. [`read_series`] accepts them too and returns one [`WorkloadSeries`] per
//!   collection.
//!
//! [`collection_feature_rows`] turns a series into the feature rows of
//! `arbiter_core::features`, computed by the same `RollingFeatures` as the live loop.

#![deny(missing_docs)]

mod aggregate;
mod cell_aggregate_2019;
mod csv_2011;
mod csv_records;
mod error;
mod featurize;
mod format;
mod ingest;
mod input;
mod job_series_2011;
mod joined;
mod json_2019;
mod line_error;
mod output;
mod quirks;
mod records;
mod text;

use std::path::Path;

use arbiter_core::series::{SpikePolicy, WorkloadSeries};

pub use aggregate::{CollectionPoint, CollectionSeries, PriorityBand, SeriesFilter};
pub use error::{Location, TraceError};
pub use featurize::{
    FeatureRow, FeatureScale, collection_feature_rows, collection_samples, workload_feature_rows,
};
pub use format::{TraceFormat, detect_format};
pub use ingest::{IngestOptions, Ingested, InspectReport, ingest, progress};
pub use input::{Progress, expand_inputs};
pub use joined::{
    JoinedExtract, JoinedQuirks, JoinedRecord, UsageWindow, parse_joined_extract,
    read_joined_extract,
};
pub use json_2019::{CPU_PERCENTILES, TAIL_CPU_PERCENTILES};
pub use output::{SERIES_COLUMNS, write_features_csv, write_series_csv};
pub use quirks::{SPIKE_MAX_RATIO, SPIKE_MIN_RATIO, SPIKE_NEIGHBOURS};
pub use records::{
    CollectionEventRecord, EventKind, InstanceEventRecord, MachineEventRecord, Record, Resources,
    UsageRecord,
};

/// Settings for reading a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// The handling of windows counted twice. Default: [`SpikePolicy::Flag`], which keeps the
    /// values as read and marks the window.
    pub spike_policy: SpikePolicy,
}

/// Reads the trace file at `path` into its workload series. An aggregated file contains one
/// workload; a raw table or joined extract yields one series per collection with usage (an
/// event table alone yields none). With `format` `None`, the format is detected from the
/// file's first non-blank line.
///
/// # Errors
/// Any [`TraceError`]: the file cannot be read, is empty, matches no format, or has a row the
/// format does not allow. Errors name the file, line, column or field and the offending text
/// where they apply.
pub fn read_series(
    path: &Path,
    format: Option<TraceFormat>,
    options: &ReadOptions,
) -> Result<Vec<WorkloadSeries>, TraceError> {
    let format = match format {
        Some(format) => format,
        None => detect_format(path)?,
    };
    if !format.is_aggregated() {
        let ingest_options = IngestOptions {
            format: Some(format),
            read_options: *options,
            ..IngestOptions::default()
        };
        let ingested = ingest(&[path.to_path_buf()], &ingest_options)?;
        let source = path.display().to_string();
        let series = ingested.series.iter();
        let series =
            series.filter(|series| series.points.iter().any(|point| point.usage_records > 0));
        return Ok(series
            .map(|series| series.to_workload_series(&source))
            .collect());
    }

    let text = text::read_text(path)?;
    parse_series_text(&text, path, format, options)
}

/// Parses the text of an aggregated trace file ([`TraceFormat::is_aggregated`]); `path` names
/// the file in errors and in the series' source.
///
/// # Errors
/// As [`read_series`], and [`TraceError::Unsupported`] for a raw format, which [`ingest`]
/// reads.
pub fn parse_series_text(
    text: &str,
    path: &Path,
    format: TraceFormat,
    options: &ReadOptions,
) -> Result<Vec<WorkloadSeries>, TraceError> {
    let series = match format {
        TraceFormat::JobSeries2011 => job_series_2011::parse(text, path, options.spike_policy)?,
        TraceFormat::CellAggregate2019 => cell_aggregate_2019::parse(text, path)?,
        _ => {
            return Err(TraceError::Unsupported {
                file: path.display().to_string(),
                reason: format!(
                    "{format} is a raw trace table; read it with `ingest` (`arbiter trace`)"
                ),
            });
        }
    };
    Ok(vec![series])
}

/// Parses one line of a raw line table and returns its record, for fuzzing and tests. The
/// aggregated formats and the joined extract are not read line by line and return an error.
///
/// # Errors
/// [`TraceError`] naming `line_number` of the file `file` and the offending field.
pub fn parse_line(
    format: TraceFormat,
    line: &str,
    file: &str,
    line_number: usize,
) -> Result<Record, TraceError> {
    ingest::parse_line(format, line)
        .map(|(record, _)| record)
        .map_err(|error| {
            error.at(Location {
                file: file.to_owned(),
                line: line_number,
            })
        })
}
