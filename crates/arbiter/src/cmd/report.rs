//! `arbiter report`: write a run's static HTML report and SVG charts.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use arbiter_store::{RunId, RunStore};

/// Options of `arbiter report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Id of the run, as listed by `arbiter dashboard`.
    #[arg(value_name = "RUN", value_parser = parse_run)]
    pub run: RunId,
    /// Run store file [default: arbiter/arbiter.sqlite under the user's data directory,
    /// ~/.local/share/arbiter/arbiter.sqlite on Linux].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Directory for index.html and charts/*.svg; created if missing, earlier files
    /// overwritten [default: report-run-RUN].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn parse_run(text: &str) -> Result<RunId, String> {
    text.parse()
}

/// Runs `arbiter report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let store = match args.store {
        Some(path) => path,
        None => RunStore::default_path().context("failed to find the default run store")?,
    };
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("report-run-{}", args.run)));
    let index = arbiter_web::write_report(&store, args.run, &out)
        .with_context(|| format!("failed to write the report of run {}", args.run))?;
    println!("report of run {} written to {}", args.run, index.display());
    Ok(ExitCode::SUCCESS)
}
