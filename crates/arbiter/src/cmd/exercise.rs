//! `arbiter exercise`: the exercise workload and its open-loop load generator, for real
//! clusters.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use arbiter_core::series::SpikePolicy;
use arbiter_kube::exercise::{LoadConfig, LoadPlan, WorkConfig, WorkloadServer, run_load};
use arbiter_trace::ReadOptions;

/// `arbiter exercise` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExerciseCommand {
    /// Serve HTTP requests that each burn CPU and memory; export latency on /metrics.
    Serve(ServeArgs),
    /// Send requests open-loop at a rate that follows a trace's CPU shape.
    Load(LoadArgs),
}

/// Options of `arbiter exercise serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// CPU each request burns, in milliseconds on one core.
    #[arg(long, default_value = "50")]
    pub cpu_ms: f64,
    /// Memory each request allocates and keeps until its CPU burn ends, in MiB.
    #[arg(long, default_value = "16")]
    pub memory_mb: u64,
}

/// Options of `arbiter exercise load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// URL of the workload's /work endpoint, for example http://exercise-web:8080/work.
    #[arg(long)]
    pub target: String,
    /// Trace whose CPU shape sets the request rate
    /// [default: data/borg/g2011_job6176858948_taskusage_sum_5min.csv].
    #[arg(long, value_name = "PATH")]
    pub trace: Option<PathBuf>,
    /// Requests per second at the trace's busiest window.
    #[arg(long, default_value = "20")]
    pub peak_rps: f64,
    /// Trace seconds replayed per wall-clock second (60 replays an hour per minute).
    #[arg(long, default_value = "1")]
    pub time_scale: f64,
    /// Stop after this many seconds [default: the whole trace].
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Pod annotations file (downward API) with arbiter.dev/load-cap-cores, re-read every second.
    #[arg(long, value_name = "PATH")]
    pub cap_file: Option<PathBuf>,
    /// CPU one request costs the workload, in core-seconds; converts the cap in cores to a rate.
    #[arg(long, default_value = "0.05")]
    pub core_seconds_per_request: f64,
    /// Time allowed for one request, in seconds.
    #[arg(long, default_value = "10")]
    pub request_timeout: f64,
}

/// Runs an `arbiter exercise` subcommand.
pub fn run(command: ExerciseCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    match command {
        ExerciseCommand::Serve(args) => runtime.block_on(async move {
            anyhow::ensure!(
                args.cpu_ms.is_finite() && args.cpu_ms >= 0.0,
                "--cpu-ms must be 0 or more, got {}",
                args.cpu_ms
            );
            let config = WorkConfig {
                cpu_ms: args.cpu_ms,
                memory_mb: args.memory_mb,
            };
            let server = WorkloadServer::start(args.listen, config).await?;
            println!("exercise workload listening on http://{}", server.address());
            tokio::select! {
                () = server.wait() => {}
                result = tokio::signal::ctrl_c() => result.context("failed to wait for Ctrl-C")?,
            }
            Ok(ExitCode::SUCCESS)
        }),
        ExerciseCommand::Load(args) => runtime.block_on(async move {
            let trace = super::compare::resolve_trace(args.trace.as_deref())?;
            let options = ReadOptions {
                spike_policy: SpikePolicy::Repair,
            };
            let series = arbiter_trace::read_series(&trace, None, &options)?
                .into_iter()
                .next()
                .with_context(|| format!("trace {} has no series", trace.display()))?;
            let plan = LoadPlan::from_series(&series, args.peak_rps, args.time_scale)?;
            anyhow::ensure!(
                args.request_timeout.is_finite() && args.request_timeout > 0.0,
                "--request-timeout must be a positive number of seconds"
            );
            if let Some(duration) = args.duration {
                anyhow::ensure!(
                    duration.is_finite() && duration > 0.0,
                    "--duration must be a positive number of seconds, got {duration}"
                );
            }
            let config = LoadConfig {
                target: args.target.clone(),
                duration: args.duration.map(Duration::from_secs_f64),
                cap_file: args.cap_file.clone(),
                core_seconds_per_request: args.core_seconds_per_request,
                request_timeout: Duration::from_secs_f64(args.request_timeout),
            };
            let report = run_load(&plan, &config).await?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(ExitCode::SUCCESS)
        }),
    }
}
