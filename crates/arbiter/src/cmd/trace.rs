//! `arbiter trace`: inspect raw Borg trace files and turn them into per-collection series and
//! feature rows. The reading, aggregation and CSV output live in `arbiter_trace`; this module
//! parses options, draws the progress bar and writes files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use arbiter_trace::{
    FeatureScale, IngestOptions, Ingested, PriorityBand, SeriesFilter, TraceFormat,
    collection_feature_rows, expand_inputs, ingest, workload_feature_rows, write_features_csv,
    write_series_csv,
};

/// Subcommands of `arbiter trace`.
#[derive(Debug, Subcommand)]
pub enum TraceCommand {
    /// Print the format, rows, time span, collections, machines, bad lines and missing values
    /// of trace files.
    Inspect {
        /// Input files and reading options.
        #[command(flatten)]
        input: InputArgs,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write per-collection 300 s series (usage, requests, events) as CSV.
    Series {
        /// Input files and reading options.
        #[command(flatten)]
        input: InputArgs,
        /// Filter of the collections and windows to keep.
        #[command(flatten)]
        filter: FilterArgs,
        /// CSV file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write one feature row per collection and window as CSV, with the features the
    /// controller uses.
    Features {
        /// Input files and reading options.
        #[command(flatten)]
        input: InputArgs,
        /// Filter of the collections and windows to keep.
        #[command(flatten)]
        filter: FilterArgs,
        /// CSV file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Cores per normalized CPU unit of the trace (the largest machine's cores).
        #[arg(long, default_value_t = 1.0, value_name = "CORES")]
        cpu_cores_per_unit: f64,
        /// GiB per normalized memory unit of the trace (the largest machine's memory).
        #[arg(long, default_value_t = 1.0, value_name = "GIB")]
        memory_gib_per_unit: f64,
    },
}

/// Trace inputs and how to read them.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Trace files, directories (read recursively) or quoted glob patterns; gzipped or plain.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Format of every file; detected from each file's content when omitted.
    #[arg(long, value_name = "NAME", value_parser = parse_format)]
    pub format: Option<TraceFormat>,
    /// Count and skip bad lines instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// Worker threads; 0 uses the available cores.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Filters of `series` and `features`. Repeat an option to keep several values.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Keep this cell (`a` to `h` for 2019, from the file path; `2011` for 2011).
    #[arg(long = "cell", value_name = "NAME")]
    pub cells: Vec<String>,
    /// Keep this collection (2019) or job (2011) ID.
    #[arg(long = "collection", value_name = "ID")]
    pub collections: Vec<u64>,
    /// Keep this priority band: free, best-effort-batch, mid-tier, production or monitoring.
    #[arg(long = "priority-band", value_name = "BAND")]
    pub priority_bands: Vec<PriorityBand>,
    /// Keep this scheduling class (0 to 3).
    #[arg(long = "scheduling-class", value_name = "CLASS", value_parser = clap::value_parser!(u8).range(0..=3))]
    pub scheduling_classes: Vec<u8>,
    /// Keep records at or after this time, in seconds since the trace epoch.
    #[arg(long, value_name = "SECONDS")]
    pub start_s: Option<i64>,
    /// Keep records before this time, in seconds since the trace epoch.
    #[arg(long, value_name = "SECONDS")]
    pub end_s: Option<i64>,
}

impl FilterArgs {
    /// Converts the options into the library's filter.
    pub fn to_filter(&self) -> SeriesFilter {
        SeriesFilter {
            cells: self.cells.iter().cloned().collect(),
            collections: self.collections.iter().copied().collect(),
            priority_bands: self.priority_bands.iter().copied().collect(),
            scheduling_classes: self.scheduling_classes.iter().copied().collect(),
            start_us: self
                .start_s
                .map(|seconds| seconds.saturating_mul(1_000_000)),
            end_us: self.end_s.map(|seconds| seconds.saturating_mul(1_000_000)),
        }
    }
}

fn parse_format(name: &str) -> Result<TraceFormat, String> {
    name.parse()
        .map_err(|error: arbiter_trace::TraceError| error.to_string())
}

/// Runs one `arbiter trace` subcommand.
///
/// # Errors
/// A trace that cannot be read (naming the file, line and field), or an output file that
/// cannot be written.
pub fn run(command: TraceCommand) -> anyhow::Result<ExitCode> {
    match command {
        TraceCommand::Inspect { input, json } => {
            let ingested = read(&input, SeriesFilter::default())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&ingested.report)?);
            } else {
                print!("{}", ingested.report);
            }
        }
        TraceCommand::Series { input, filter, out } => {
            let ingested = read(&input, filter.to_filter())?;
            let writer = create(&out)?;
            write_series_csv(writer, &ingested.series, &ingested.aggregated)
                .with_context(|| format!("cannot write {}", out.display()))?;
            let windows: usize = ingested
                .series
                .iter()
                .map(|series| series.points.len())
                .sum();
            eprintln!(
                "wrote {} series ({windows} windows) to {}",
                ingested.series.len() + ingested.aggregated.len(),
                out.display()
            );
        }
        TraceCommand::Features {
            input,
            filter,
            out,
            cpu_cores_per_unit,
            memory_gib_per_unit,
        } => {
            anyhow::ensure!(
                cpu_cores_per_unit > 0.0 && memory_gib_per_unit > 0.0,
                "--cpu-cores-per-unit and --memory-gib-per-unit must be above 0, got {cpu_cores_per_unit} and {memory_gib_per_unit}"
            );
            let ingested = read(&input, filter.to_filter())?;
            let scale = FeatureScale {
                cpu_cores_per_unit,
                memory_gib_per_unit,
            };
            let mut rows = Vec::new();
            for series in &ingested.series {
                rows.extend(collection_feature_rows(series, &scale));
            }
            for series in &ingested.aggregated {
                rows.extend(workload_feature_rows(series, &scale));
            }
            write_features_csv(create(&out)?, &rows)
                .with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!("wrote {} feature rows to {}", rows.len(), out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn create(path: &Path) -> anyhow::Result<impl Write> {
    let file = File::create(path).with_context(|| {
        format!(
            "cannot create {}; check that its folder exists",
            path.display()
        )
    })?;
    Ok(BufWriter::new(file))
}

/// Reads the inputs with a progress bar over their bytes on stderr, and reports skipped lines.
fn read(input: &InputArgs, filter: SeriesFilter) -> anyhow::Result<Ingested> {
    let files = expand_inputs(&input.paths)?;
    let total: u64 = files
        .iter()
        .filter_map(|file| std::fs::metadata(file).ok())
        .map(|metadata| metadata.len())
        .sum();
    let bar = if input.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let counter = bar.clone();
    let options = IngestOptions {
        format: input.format,
        skip_bad_lines: input.skip_bad_lines,
        threads: input.threads,
        filter,
        progress: Some(arbiter_trace::progress(move |bytes| counter.inc(bytes))),
        ..IngestOptions::default()
    };
    let ingested = ingest(&files, &options);
    bar.finish_and_clear();
    let ingested = ingested?;
    if ingested.report.bad_lines > 0 {
        eprintln!(
            "skipped {} bad lines; the first ones:",
            ingested.report.bad_lines
        );
        for example in &ingested.report.bad_line_examples {
            eprintln!("  {example}");
        }
    }
    Ok(ingested)
}
