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
    /// Inspect Borg traces and write per-collection series and feature rows.
    #[command(subcommand)]
    Trace(cmd::trace::TraceCommand),
    /// Work with the simulator's HorizontalPodAutoscaler.
    #[command(subcommand)]
    Hpa(cmd::hpa::HpaCommand),
    /// Serve the run store's dashboard (runs, live run, decision feed, comparison, predictions)
    /// and Prometheus metrics on 127.0.0.1.
    Dashboard(cmd::dashboard::DashboardArgs),
    /// Write a stored run's dashboard as a self-contained static HTML report.
    Report(cmd::report::ReportArgs),
    /// Serve the simulator as a Kubernetes API on 127.0.0.1, for kubectl and the live code path.
    Apiserver(cmd::apiserver::ApiserverArgs),
    /// Run the six-layer controller against live clusters (dry run unless --execute).
    Live(cmd::live::LiveArgs),
    /// The exercise kit for real clusters: a CPU-burning workload and a trace-shaped load generator.
    #[command(subcommand)]
    Exercise(cmd::exercise::ExerciseCommand),
    /// Feed a run's stored decisions through another referee configuration and show the
    /// differences.
    Replay(cmd::replay::ReplayArgs),
    /// Train the demand and risk models on traces and write them with a model card.
    Train(cmd::train::TrainArgs),
    /// Evaluate trained models on traces against the baselines.
    Eval(cmd::eval::EvalArgs),
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
        Command::Trace(command) => cmd::trace::run(command),
        Command::Hpa(command) => cmd::hpa::run(command),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Dashboard(args) => cmd::dashboard::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Apiserver(args) => cmd::apiserver::run(args),
        Command::Live(args) => cmd::live::run(args),
        Command::Exercise(command) => cmd::exercise::run(command),
        Command::Train(args) => cmd::train::run(args),
        Command::Eval(args) => cmd::eval::run(args),
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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
