//! `arbiter`: run orchestration experiments on simulated and live Kubernetes clusters.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Arbiter: honest, repeatable autoscaling experiments on Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "arbiter", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a trace through an HPA cluster and an Arbiter cluster and compare them.
    Compare(cmd::compare::CompareArgs),
    /// Work with the simulator's HorizontalPodAutoscaler.
    #[command(subcommand)]
    Hpa(cmd::hpa::HpaCommand),
    /// Feed a run's stored decisions through another referee configuration and show the
    /// differences.
    Replay(cmd::replay::ReplayArgs),
    /// Load gradient-boosted models in XGBoost's JSON format and predict with them.
    #[command(subcommand)]
    Model(cmd::model::ModelCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(&cli.command, Command::Compare(args) if args.quiet);
    init_logging(quiet);
    let result = match cli.command {
        Command::Compare(args) => cmd::compare::run(args),
        Command::Hpa(command) => cmd::hpa::run(command),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Model(command) => cmd::model::run(command).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default level (info, or warn with `--quiet`).
fn init_logging(quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
}
