//! `arbiter apiserver`: the simulator served as a Kubernetes API subset on 127.0.0.1.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use arbiter_kube::server::{ApiServer, FaultRule, ServerConfig};

/// Options of `arbiter apiserver`.
#[derive(Debug, Args)]
pub struct ApiserverArgs {
    /// Port on 127.0.0.1 to listen on; 0 picks a free port.
    #[arg(long, default_value = "0")]
    pub port: u16,
    /// Write a kubeconfig for this server to PATH once it listens (plain HTTP, no credentials).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: PathBuf,
    /// Trace whose demand drives the exercise Deployments
    /// [default: data/borg/g2011_job6176858948_taskusage_sum_5min.csv].
    #[arg(long, value_name = "PATH")]
    pub trace: Option<PathBuf>,
    /// Seed of every random draw in the simulation (a non-negative integer).
    #[arg(long, default_value = "1", value_parser = super::compare::parse_seed, allow_hyphen_values = true)]
    pub seed: u64,
    /// Days of the trace to replay from its start [default: the whole trace].
    #[arg(long, value_name = "D")]
    pub days: Option<f64>,
    /// Simulated seconds per wall-clock second. 0 stops the clock; advance it with
    /// `POST /arbiter/v1/step?ticks=N`.
    #[arg(long, default_value = "1", value_name = "FACTOR")]
    pub acceleration: f64,
    /// Cluster name written into Events.
    #[arg(long, default_value = "experimental")]
    pub cluster_name: String,
    /// Serve one autoscaling/v2 HorizontalPodAutoscaler per exercise Deployment (the baseline).
    #[arg(long)]
    pub hpa: bool,
    /// Leave out the two Deployments outside Arbiter's scope (an unlabelled one in the exercise
    /// namespace and a labelled one in arbiter-other).
    #[arg(long)]
    pub no_decoys: bool,
    /// Serve no metrics.k8s.io, as a cluster without metrics-server.
    #[arg(long)]
    pub no_metrics: bool,
    /// Inject a fault into matching requests, as KIND[:COUNT[:METHOD[:PATH_SUBSTRING]]] with
    /// KIND one of 500, 409, 429, drop or slow=MILLISECONDS. Repeatable.
    #[arg(long = "fault", value_name = "RULE")]
    pub faults: Vec<String>,
}

/// Serves until Ctrl-C.
pub fn run(args: ApiserverArgs) -> anyhow::Result<ExitCode> {
    let trace = super::compare::resolve_trace(args.trace.as_deref())?;
    let mut config = ServerConfig::from_trace(&trace, args.seed, &args.cluster_name)
        .with_context(|| format!("failed to load trace {}", trace.display()))?;
    if let Some(days) = args.days {
        anyhow::ensure!(
            days.is_finite() && days > 0.0,
            "--days must be greater than 0, got {days}"
        );
        config.experiment.days = Some(days);
    }
    config.acceleration = args.acceleration;
    config.hpa = args.hpa;
    config.decoys = !args.no_decoys;
    config.metrics = !args.no_metrics;
    let faults = args
        .faults
        .iter()
        .map(|text| FaultRule::parse(text))
        .collect::<Result<Vec<_>, _>>()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(async move {
        let server = ApiServer::start(config, args.port).await?;
        server.set_faults(faults);
        server.write_kubeconfig(&args.kubeconfig)?;
        println!(
            "serving the simulator at {} (plain HTTP on 127.0.0.1); kubeconfig written to {}",
            server.url(),
            args.kubeconfig.display()
        );
        tokio::signal::ctrl_c()
            .await
            .context("failed to wait for Ctrl-C")?;
        tracing::info!("stopping the served simulator");
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
