//! `arbiter model`: gradient-boosted models stored as XGBoost JSON.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use arbiter_model::{XgboostModel, format_prediction_row, predict_csv};
use clap::Subcommand;

/// Subcommands of `arbiter model`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Predict each row of a CSV file and print one line per row.
    ///
    /// A model with several quantile outputs prints them comma-separated, in the order of its
    /// quantile_alpha. The CSV either starts with a header of feature names (columns are
    /// matched by name and other columns are ignored) or has no header, and then its columns
    /// are the model's features in the model's order. An empty field or NaN is a missing
    /// value.
    Predict {
        /// Model saved as XGBoost JSON, for example by Python's Booster.save_model("model.json").
        #[arg(long, value_name = "FILE")]
        model: PathBuf,
        /// CSV file of the rows to predict.
        #[arg(long, value_name = "ROWS.csv")]
        input: PathBuf,
    },
}

/// Runs an `arbiter model` subcommand.
pub fn run(command: ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Predict { model, input } => predict(&model, &input),
    }
}

fn predict(model_path: &Path, input_path: &Path) -> anyhow::Result<()> {
    let model = XgboostModel::load(model_path)?;
    let input = File::open(input_path)
        .with_context(|| format!("failed to open {}", input_path.display()))?;
    let predictions = predict_csv(&model, BufReader::new(input))
        .with_context(|| format!("failed to predict the rows of {}", input_path.display()))?;

    let mut out = BufWriter::new(std::io::stdout().lock());
    for row in &predictions {
        writeln!(out, "{}", format_prediction_row(row))?;
    }
    out.flush()?;
    Ok(())
}
