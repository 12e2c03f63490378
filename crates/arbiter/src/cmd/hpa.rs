//! `arbiter hpa`: the simulator's HorizontalPodAutoscaler.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

/// Subcommands of `arbiter hpa`.
#[derive(Debug, Subcommand)]
pub enum HpaCommand {
    /// Run the simulator's HPA on test vectors and report each failing one.
    ///
    /// The file holds vectors in Arbiter's schema (data/hpa/vectors.json is the set
    /// transcribed from Kubernetes' own tests). The last line reads `N passed, M failed`; the
    /// exit status is 1 when any vector failed.
    CheckVectors {
        /// Vectors file (JSON).
        file: PathBuf,
    },
}

/// Runs an `arbiter hpa` subcommand.
pub fn run(command: HpaCommand) -> anyhow::Result<ExitCode> {
    match command {
        HpaCommand::CheckVectors { file } => {
            let report = arbiter_sim::hpa::check_vectors(&file)
                .with_context(|| format!("failed to check HPA vectors in {}", file.display()))?;
            println!("{}", report.to_string().trim_end());
            Ok(if report.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
