//! `arbiter live`: Arbiter's controller against a live cluster, optionally beside a baseline
//! cluster that keeps its HPA.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgGroup, Args};

use arbiter_core::execution::ExecutionStatus;
use arbiter_kube::api::{ApiClient, RetryPolicy};
use arbiter_kube::executor::{ExecutorConfig, KubeExecutor};
use arbiter_kube::live::{LiveLoop, LiveRecord, RunBounds};
use arbiter_kube::observer::{KubeObserver, ObserverConfig};
use arbiter_sim::experiment::ExperimentConfig;

/// Options of `arbiter live`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("clusters").required(true).args(["kubeconfig", "experimental"])))]
#[command(group(ArgGroup::new("bound").required(true).multiple(true).args(["ticks", "duration"])))]
pub struct LiveArgs {
    /// Kubeconfig of the one cluster Arbiter controls (one-cluster form).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["experimental", "baseline"])]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig of the cluster Arbiter controls (two-cluster form).
    #[arg(long, value_name = "PATH", requires = "baseline")]
    pub experimental: Option<PathBuf>,
    /// Kubeconfig of the baseline cluster, which keeps its HPA and is only observed.
    #[arg(long, value_name = "PATH", requires = "experimental")]
    pub baseline: Option<PathBuf>,
    /// Send changes. Without it Arbiter only records what it would change (dry run).
    #[arg(long)]
    pub execute: bool,
    /// Write observations, decisions and their operations as JSON lines to this file.
    #[arg(long, value_name = "PATH")]
    pub decisions: Option<PathBuf>,
    /// Stop after this many ticks.
    #[arg(long, value_name = "N")]
    pub ticks: Option<u64>,
    /// Stop after this many wall-clock seconds.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<f64>,
    /// Wall-clock seconds between ticks.
    #[arg(long, default_value = "15", value_name = "SECONDS", value_parser = parse_seconds)]
    pub interval: f64,
    /// Namespace Arbiter may observe and change. Repeatable.
    #[arg(
        long = "namespace",
        value_name = "NAME",
        default_value = "arbiter-exercise"
    )]
    pub namespaces: Vec<String>,
    /// Overrides of the controller's settings, as TOML (`.toml`) or JSON, with the keys of
    /// `arbiter compare --controller`. With a node autoscaler in the cluster, set
    /// `node_capacity_ceiling = false` under `[policy]`.
    #[arg(long, value_name = "FILE")]
    pub controller: Option<PathBuf>,
    /// Time allowed for one API request, in seconds.
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = parse_seconds)]
    pub request_timeout: f64,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(seconds),
        _ => Err(format!(
            "expected a positive number of seconds, got `{text}`"
        )),
    }
}

/// Runs the live loop until `--ticks` or `--duration` is reached.
pub fn run(args: LiveArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: LiveArgs) -> anyhow::Result<ExitCode> {
    // Read the settings first, so that a bad file fails before any cluster is contacted.
    let mut controller = ExperimentConfig::with_seed(1).controller;
    controller.referee.allowed_namespaces = args.namespaces.clone();
    if let Some(path) = &args.controller {
        controller = super::compare::overlay_controller_config(&controller, path)?;
    }
    let policy = RetryPolicy {
        timeout: Duration::from_secs_f64(args.request_timeout),
        ..RetryPolicy::default()
    };
    let experimental_path = args
        .kubeconfig
        .clone()
        .or_else(|| args.experimental.clone())
        .context("pass --kubeconfig, or --experimental with --baseline")?;
    let experimental = ApiClient::from_kubeconfig(&experimental_path, policy.clone()).await?;

    let observer = |api: ApiClient, cluster: &str| {
        KubeObserver::new(
            api,
            ObserverConfig {
                cluster: cluster.to_owned(),
                namespaces: args.namespaces.clone(),
                epoch_unix_s: None,
            },
        )
    };
    let baseline = match &args.baseline {
        Some(path) => Some(observer(
            ApiClient::from_kubeconfig(path, policy.clone()).await?,
            "baseline",
        )),
        None => None,
    };
    let executor = KubeExecutor::new(
        experimental.clone(),
        ExecutorConfig::from_referee(&controller.referee, args.execute),
    );
    let mut live = LiveLoop::new(
        observer(experimental, "experimental"),
        executor,
        controller,
        baseline,
    );

    let mut output = match &args.decisions {
        Some(path) => Some(BufWriter::new(File::create(path).with_context(|| {
            format!("failed to create decisions file {}", path.display())
        })?)),
        None => None,
    };
    let bounds = RunBounds {
        ticks: args.ticks,
        duration: args.duration.map(Duration::from_secs_f64),
        interval: Duration::from_secs_f64(args.interval),
    };
    tracing::info!(
        execute = args.execute,
        namespaces = ?args.namespaces,
        "starting the live loop{}",
        if args.execute { "" } else { " in dry-run mode" }
    );
    let mut counts = [0u64; 3];
    let ticks = live
        .run(bounds, |record: &LiveRecord| -> anyhow::Result<()> {
            if let LiveRecord::Decision(decision) = record {
                match decision.execution.as_ref().map(|e| e.status) {
                    Some(ExecutionStatus::Executed) => counts[0] += 1,
                    Some(ExecutionStatus::DryRun) => counts[1] += 1,
                    Some(ExecutionStatus::Error) => counts[2] += 1,
                    _ => {}
                }
            }
            if let Some(output) = &mut output {
                serde_json::to_writer(&mut *output, record)?;
                output.write_all(b"\n")?;
            }
            Ok(())
        })
        .await?;
    if let Some(mut output) = output {
        output
            .flush()
            .context("failed to write the decisions file")?;
    }
    println!(
        "{ticks} ticks: {} changes executed, {} recorded as dry run, {} failed",
        counts[0], counts[1], counts[2]
    );
    Ok(ExitCode::SUCCESS)
}
