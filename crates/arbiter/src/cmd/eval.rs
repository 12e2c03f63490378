//! `arbiter eval`: scores a model directory and the baselines on traces.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use arbiter_model::{ModelPredictor, RowSelection, evaluate};
use clap::Args;

use super::train::{label_series, read_traces};

/// Options of `arbiter eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Model directory written by `arbiter train`.
    #[arg(long, value_name = "DIR")]
    pub models: PathBuf,
    /// Trace files or directories to evaluate on.
    #[arg(long, value_name = "PATH", num_args = 1.., required = true)]
    pub trace: Vec<PathBuf>,
    /// Score every window with enough history, for traces the models never saw. By default
    /// only the test part of the split in the model card is scored.
    #[arg(long)]
    pub all_windows: bool,
    /// Seed of the simulator replay that labels risk; use the training seed to reproduce the
    /// card's risk metrics.
    #[arg(long, default_value = "1")]
    pub seed: u64,
    /// Skip the simulator replay and score the demand models only.
    #[arg(long)]
    pub no_risk: bool,
    /// Print the metrics as JSON instead of Markdown tables.
    #[arg(long)]
    pub json: bool,
    /// Hide progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `arbiter eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let predictor = ModelPredictor::load(&args.models)
        .with_context(|| format!("failed to load the models in {}", args.models.display()))?;
    let card = predictor.card();
    let series = read_traces(&args.trace)?;
    let label = !args.no_risk && card.risk.is_some();
    let (windowed, _) = label_series(&series, label, args.seed, args.quiet)?;
    let rows = if args.all_windows {
        RowSelection::AllWindows {
            min_history_windows: card.split.min_history_windows,
        }
    } else {
        RowSelection::TestPart(card.split.clone())
    };
    let evaluation = evaluate(predictor.models(), &windowed, &rows, &card.baselines)
        .context("evaluation failed")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
    } else {
        print!("{}", evaluation.to_markdown());
        for warning in evaluation.warnings() {
            tracing::warn!("{warning}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
