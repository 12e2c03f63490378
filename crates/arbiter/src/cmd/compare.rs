//! `arbiter compare`: the dual-cluster comparison on a trace.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use arbiter_core::controller::{ControllerConfig, ControllerMode};
use arbiter_core::predict::Predictor;
use arbiter_core::referee::Decision;
use arbiter_core::series::{SpikePolicy, UsageUnit};
use arbiter_model::ModelPredictor;
use arbiter_sim::cluster::ClusterTick;
use arbiter_sim::config::{ClusterConfig, ProvisionerConfig};
use arbiter_sim::experiment::{
    ClusterFigures, ExperimentConfig, ExperimentObserver, ExperimentReport, FigureKind,
    deployment_names, run_experiment_with_predictor,
};
use arbiter_store::{NewRun, RunId, RunRecorder, RunStore, TickRecord};
use arbiter_trace::{ReadOptions, TraceFormat};

/// The trace the comparison replays by default: 29 days of one long-running 2011 Borg job.
pub const DEFAULT_TRACE: &str = "data/borg/g2011_job6176858948_taskusage_sum_5min.csv";

/// Version of the `--json` document's layout.
const REPORT_SCHEMA_VERSION: u32 = 1;

/// Options of `arbiter compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Trace file to replay [default: data/borg/g2011_job6176858948_taskusage_sum_5min.csv].
    #[arg(long, value_name = "PATH")]
    pub trace: Option<PathBuf>,
    /// Trace format; detected from the file's content when omitted.
    #[arg(long, value_name = "NAME", value_parser = parse_format)]
    pub format: Option<TraceFormat>,
    /// Seed of every random draw in the simulation (a non-negative integer).
    #[arg(long, default_value = "1", value_parser = parse_seed, allow_hyphen_values = true)]
    pub seed: u64,
    /// Days of the trace to replay from its start [default: the whole trace].
    #[arg(long, value_name = "D", value_parser = parse_days, allow_hyphen_values = true)]
    pub days: Option<f64>,
    /// Handling of windows the trace counted twice: keep and flag them, or halve them.
    #[arg(long, value_enum, default_value = "repair")]
    pub spikes: SpikeArg,
    /// Write the figures, seed, trace and configuration as JSON to this file.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write every decision of Arbiter's controller as JSON lines to this file.
    #[arg(long, value_name = "PATH")]
    pub decisions: Option<PathBuf>,
    /// Write per-tick figures of both clusters as CSV to this file (one row per cluster,
    /// workload and tick: demand, capacity, replicas, latency, power, nodes).
    #[arg(long, value_name = "PATH")]
    pub ticks: Option<PathBuf>,
    /// Cores of demand per trace CPU unit (for a trace in NCU, the cores of its largest
    /// machine) [default: chosen so that the trace's median window is 4 cores].
    #[arg(long, value_name = "CORES", value_parser = parse_positive)]
    pub cores_per_unit: Option<f64>,
    /// Directory of trained demand and risk models (from `arbiter train`) for Arbiter's predict
    /// layer; without it the controller uses its statistical forecast.
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// Overrides of both simulated clusters' configuration, as TOML (`.toml`) or JSON: any
    /// subset of the `configuration.cluster` object that `--json` writes, for example
    /// `[nodes]` with `count = 8`. A `[provisioner]` table turns the node provisioner on.
    #[arg(long, value_name = "FILE")]
    pub cluster: Option<PathBuf>,
    /// Give both clusters one static node and the Karpenter-like node provisioner with its
    /// default settings, so that nodes follow pending pods and node-hours differ between the
    /// clusters. `--cluster` may change both.
    #[arg(long)]
    pub provisioner: bool,
    /// Overrides of Arbiter's controller configuration, as TOML (`.toml`) or JSON: any subset
    /// of the `configuration.controller` object that `--json` writes, for example
    /// `[peak]` with `quantile = 1.0`. Unknown keys are an error.
    #[arg(long, value_name = "FILE")]
    pub controller: Option<PathBuf>,
    /// Run Arbiter in shadow mode: the HPA scales both clusters, and Arbiter only records what
    /// it would have done (its decisions carry the execution status `dry_run`).
    #[arg(long)]
    pub shadow: bool,
    /// Run store to record the run in (SQLite) [default: arbiter/arbiter.sqlite under the
    /// user's data directory, ~/.local/share/arbiter/arbiter.sqlite on Linux].
    #[arg(long, value_name = "PATH", env = "ARBITER_STORE")]
    pub store: Option<PathBuf>,
    /// Do not record the run in a run store.
    #[arg(long, conflicts_with_all = ["store", "serve"])]
    pub no_store: bool,
    /// Serve the dashboard on 127.0.0.1 while the run is recorded, and keep serving after it
    /// ends until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
    /// TCP port of the dashboard with --serve; 0 picks a free port.
    #[arg(long, default_value_t = 8080, requires = "serve")]
    pub port: u16,
    /// Write a static HTML report of the run (charts and decision feed) to this directory.
    #[arg(long, value_name = "DIR", conflicts_with = "no_store")]
    pub report: Option<PathBuf>,
    /// Hide the progress bar and informational logs.
    #[arg(long)]
    pub quiet: bool,
}

/// `--spikes` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SpikeArg {
    /// Keep the values as read and flag the windows.
    Flag,
    /// Halve the task count and usage of the flagged windows.
    Repair,
}

fn parse_format(name: &str) -> Result<TraceFormat, String> {
    name.parse()
        .map_err(|error: arbiter_trace::TraceError| error.to_string())
}

pub fn parse_seed(text: &str) -> Result<u64, String> {
    match text.parse::<i128>() {
        Ok(value) if value < 0 => Err(format!("the seed must be 0 or more, got {value}")),
        Ok(value) => u64::try_from(value)
            .map_err(|_| format!("the seed must be at most {}, got {value}", u64::MAX)),
        Err(_) => Err(format!("the seed must be a whole number, got `{text}`")),
    }
}

fn parse_positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("expected a number greater than 0, got `{text}`")),
    }
}

fn parse_days(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(days) if days.is_finite() && days > 0.0 => Ok(days),
        Ok(_) => Err(format!(
            "the number of days must be greater than 0, got {text}"
        )),
        Err(_) => Err(format!(
            "the number of days must be a number such as 7 or 0.5, got `{text}`"
        )),
    }
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    seed: u64,
    trace: String,
    format: String,
    spikes: &'static str,
    figure_kinds: std::collections::BTreeMap<&'static str, FigureKind>,
    #[serde(flatten)]
    report: &'a ExperimentReport,
}

/// Streams decisions to a JSON-lines file and drives the progress bar.
struct RunObserver {
    recorder: Option<RunRecorder>,
    workload_keys: Vec<String>,
    slo_p95_ms: f64,
    decisions: Option<BufWriter<File>>,
    ticks: Option<BufWriter<File>>,
    progress: ProgressBar,
}

impl ExperimentObserver for RunObserver {
    fn on_decision(&mut self, decision: &Decision) -> std::io::Result<()> {
        if let Some(recorder) = &mut self.recorder {
            recorder
                .record_decision(decision)
                .map_err(std::io::Error::other)?;
        }
        if let Some(writer) = &mut self.decisions {
            serde_json::to_writer(&mut *writer, decision)?;
            writer.write_all(b"\n")?;
        }
        Ok(())
    }

    fn on_tick(
        &mut self,
        time_s: f64,
        baseline: &ClusterTick,
        experimental: &ClusterTick,
    ) -> std::io::Result<()> {
        if let Some(recorder) = &mut self.recorder {
            for (cluster, tick) in [("baseline", baseline), ("experimental", experimental)] {
                for (index, workload) in tick.workloads.iter().enumerate() {
                    let record = TickRecord {
                        time_s,
                        cluster: cluster.to_owned(),
                        workload: self.workload_keys.get(index).cloned().unwrap_or_default(),
                        demand_cores: workload.demand_cores,
                        ready_capacity_cores: workload.ready_capacity_cores,
                        spec_replicas: workload.spec_replicas,
                        ready_pods: workload.ready_pods as u32,
                        pending_pods: workload.pending_pods as u32,
                        p95_ms: workload.p95_ms,
                        slo_miss: workload.p95_ms > self.slo_p95_ms,
                        oom_kills: workload.oom_kills,
                        idle_w: tick.idle_w,
                        controlled_dynamic_w: tick.controlled_dynamic_w,
                        background_dynamic_w: tick.background_dynamic_w,
                        nodes: tick.nodes as u32,
                    };
                    recorder
                        .record_tick(&record)
                        .map_err(std::io::Error::other)?;
                }
            }
        }
        let Some(writer) = &mut self.ticks else {
            return Ok(());
        };
        for (cluster, tick) in [("baseline", baseline), ("experimental", experimental)] {
            for (index, workload) in tick.workloads.iter().enumerate() {
                let key = self.workload_keys.get(index).map_or("", String::as_str);
                writeln!(
                    writer,
                    "{time_s},{cluster},{key},{:.4},{:.4},{},{},{},{:.1},{},{:.2},{}",
                    workload.demand_cores,
                    workload.ready_capacity_cores,
                    workload.spec_replicas,
                    workload.ready_pods,
                    workload.pending_pods,
                    workload.p95_ms,
                    workload.oom_kills,
                    tick.idle_w + tick.controlled_dynamic_w + tick.background_dynamic_w,
                    tick.nodes,
                )?;
            }
        }
        Ok(())
    }

    fn on_progress(&mut self, done: u64, total: u64) {
        self.progress.set_length(total);
        self.progress.set_position(done);
    }
}

/// Runs `arbiter compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let trace = resolve_trace(args.trace.as_deref())?;
    let spike_policy = match args.spikes {
        SpikeArg::Flag => SpikePolicy::Flag,
        SpikeArg::Repair => SpikePolicy::Repair,
    };
    let series = arbiter_trace::read_series(&trace, args.format, &ReadOptions { spike_policy })
        .with_context(|| format!("failed to read trace {}", trace.display()))?;
    let format = series
        .first()
        .map(|one| one.format.clone())
        .unwrap_or_default();

    let mut cluster = ExperimentConfig::with_seed(args.seed).cluster;
    if args.provisioner {
        // One static node stays for the first pods, and the provisioner launches the rest.
        cluster.nodes.count = 1;
        cluster.provisioner = Some(ProvisionerConfig::default());
    }
    if let Some(path) = &args.cluster {
        cluster = overlay_cluster_config(&cluster, path)?;
    }
    // The controller's knobs tied to the cluster (the SLO, the replica range, the node
    // ceiling) follow the overrides.
    let mut config = ExperimentConfig::for_cluster(args.seed, cluster);
    config.days = args.days;
    config.demand.cores_per_unit = args.cores_per_unit;
    if let Some(path) = &args.controller {
        config.controller = overlay_controller_config(&config.controller, path)?;
    }
    if args.shadow {
        config.controller.mode = ControllerMode::Shadow;
    }
    tracing::info!(seed = args.seed, trace = %trace.display(), format = %format, "starting comparison");

    // Create the output files before the run, so that a bad path fails in seconds, not after
    // a long replay.
    let json_file = match &args.json {
        Some(path) => Some(
            File::create(path)
                .with_context(|| format!("failed to create JSON report {}", path.display()))?,
        ),
        None => None,
    };
    let trace_days = series.iter().map(|one| one.duration_s()).max().unwrap_or(0) as f64 / 86_400.0;
    if let Some(days) = args.days
        && days > trace_days
    {
        tracing::warn!(
            "--days {days} is longer than the trace ({trace_days:.1} days); replaying the whole trace"
        );
    }
    let decisions = match &args.decisions {
        Some(path) => Some(BufWriter::new(File::create(path).with_context(|| {
            format!("failed to create decisions file {}", path.display())
        })?)),
        None => None,
    };
    let ticks = match &args.ticks {
        Some(path) => {
            let mut writer = BufWriter::new(
                File::create(path)
                    .with_context(|| format!("failed to create ticks file {}", path.display()))?,
            );
            writeln!(
                writer,
                "time_s,cluster,workload,demand_cores,ready_capacity_cores,spec_replicas,ready_pods,pending_pods,p95_ms,oom_kills,power_w,nodes"
            )?;
            Some(writer)
        }
        None => None,
    };
    let progress = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} simulating {pos}/{len} ticks [{bar:30}] {eta} left",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    let names = deployment_names(&series);
    let workload_keys = names
        .iter()
        .map(|name| format!("{}/{name}", config.cluster.workload.namespace))
        .collect();
    let stored = if args.no_store {
        None
    } else {
        Some(open_run_store(&args, &config, &trace)?)
    };
    let server = match (&stored, args.serve) {
        (Some(stored), true) => {
            let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), args.port);
            let server = arbiter_web::spawn_server(stored.path.clone(), addr)
                .with_context(|| format!("failed to start the dashboard on {addr}"))?;
            eprintln!("dashboard of run {} at {}", stored.run, server.url());
            Some(server)
        }
        _ => None,
    };

    let mut observer = RunObserver {
        recorder: stored
            .as_ref()
            .map(|stored| stored.recorder())
            .transpose()?,
        workload_keys,
        slo_p95_ms: config.cluster.latency.slo_p95_ms,
        decisions,
        ticks,
        progress,
    };
    let predictor: Option<Box<dyn Predictor + Send + Sync>> = match &args.models {
        Some(dir) => {
            let models = ModelPredictor::load(dir)
                .with_context(|| format!("failed to load the models in {}", dir.display()))?;
            Some(Box::new(models))
        }
        None => None,
    };
    let report = match run_experiment_with_predictor(&config, series, &mut observer, predictor) {
        Ok(report) => report,
        Err(error) => {
            if let Some(recorder) = observer.recorder.take()
                && let Err(store_error) = recorder.fail(&error.to_string())
            {
                tracing::error!(%store_error, "failed to mark the run as failed in the store");
            }
            return Err(error.into());
        }
    };
    observer.progress.finish_and_clear();
    for writer in [observer.decisions.take(), observer.ticks.take()]
        .into_iter()
        .flatten()
    {
        writer
            .into_inner()
            .map_err(|error| error.into_error())
            .context("failed to write an output file")?;
    }

    let document = JsonReport {
        schema_version: REPORT_SCHEMA_VERSION,
        seed: args.seed,
        trace: trace.display().to_string(),
        format: format.clone(),
        spikes: match args.spikes {
            SpikeArg::Flag => "flag",
            SpikeArg::Repair => "repair",
        },
        figure_kinds: ClusterFigures::kinds().into_iter().collect(),
        report: &report,
    };
    if let (Some(path), Some(mut file)) = (&args.json, json_file) {
        let mut text =
            serde_json::to_string_pretty(&document).context("failed to encode the report")?;
        text.push('\n');
        file.write_all(text.as_bytes())
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    if let Some(recorder) = observer.recorder.take() {
        let value = serde_json::to_value(&document).context("failed to encode the report")?;
        recorder
            .finish(&value)
            .context("failed to record the run's result in the store")?;
    }
    print!("{}", render_table(&report, &trace));
    match &args.models {
        Some(dir) => println!(
            "Arbiter's predict layer used the trained models in {}.",
            dir.display()
        ),
        None => {
            println!("Arbiter's predict layer used its statistical forecast (no --models given).")
        }
    }

    if let Some(stored) = &stored {
        eprintln!(
            "recorded as run {} in {}",
            stored.run,
            stored.path.display()
        );
        if let Some(dir) = &args.report {
            let index = arbiter_web::write_report(&stored.path, stored.run, dir)
                .with_context(|| format!("failed to write the report to {}", dir.display()))?;
            eprintln!("report written to {}", index.display());
        }
    }
    if let Some(server) = server {
        eprintln!(
            "run finished; the dashboard stays at {} until Ctrl-C",
            server.url()
        );
        server.wait().context("the dashboard server stopped")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The run store a comparison records into, with the run's id.
struct StoredRun {
    store: RunStore,
    path: PathBuf,
    run: RunId,
}

impl StoredRun {
    fn recorder(&self) -> anyhow::Result<RunRecorder> {
        self.store.recorder(self.run).with_context(|| {
            format!(
                "failed to start recording run {} in {}",
                self.run,
                self.path.display()
            )
        })
    }
}

/// Opens the run store (creating it and its folder when absent) and registers the run.
fn open_run_store(
    args: &CompareArgs,
    config: &ExperimentConfig,
    trace: &Path,
) -> anyhow::Result<StoredRun> {
    let path = match &args.store {
        Some(path) => path.clone(),
        None => RunStore::default_path()
            .context("failed to find the default run store; pass --store PATH")?,
    };
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).with_context(|| {
            format!("failed to create the run store folder {}", parent.display())
        })?;
    }
    let store = RunStore::open(&path)
        .with_context(|| format!("failed to open run store {}", path.display()))?;
    let run = store
        .begin_run(&NewRun {
            kind: "compare".to_owned(),
            seed: config.seed,
            trace: trace.display().to_string(),
            models: args.models.as_ref().map(|dir| dir.display().to_string()),
            configuration: serde_json::to_value(config)
                .context("failed to encode the configuration")?,
        })
        .with_context(|| format!("failed to register the run in {}", path.display()))?;
    tracing::info!(run = %run, store = %path.display(), "recording the run");
    Ok(StoredRun { store, path, run })
}

/// Finds the trace: the given path, or the shipped default relative to the working directory
/// or to the source checkout the binary was built from.
pub fn resolve_trace(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        if !path.is_file() {
            bail!(
                "trace file {} not found; pass an existing file with --trace",
                path.display()
            );
        }
        return Ok(path.to_path_buf());
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(DEFAULT_TRACE);
    [PathBuf::from(DEFAULT_TRACE), checkout]
        .into_iter()
        .find(|candidate| candidate.is_file())
        .with_context(|| {
            format!("the default trace {DEFAULT_TRACE} was not found; run from the repository root or pass --trace PATH")
        })
}

/// Formats the side-by-side table.
fn render_table(report: &ExperimentReport, trace: &Path) -> String {
    let mut out = String::new();
    let days = report.simulated_s / 86_400.0;
    out.push_str(&format!(
        "Arbiter comparison on {} (seed {})\n",
        trace.display(),
        report.seed
    ));
    for workload in &report.workloads {
        let quirks = &workload.quirks;
        let unit = match workload.unit {
            UsageUnit::Normalized => "normalized units (NCU)",
            UsageUnit::Relative => "relative units",
        };
        let scale_source = match report.configuration.demand.cores_per_unit {
            Some(_) => "set by --cores-per-unit".to_owned(),
            None => format!(
                "median window of the trace = {} cores",
                report.configuration.demand.median_cores
            ),
        };
        out.push_str(&format!(
            "  workload {}: {} of 300 s in {unit}; 1 trace CPU unit = {:.3} cores ({scale_source})\n",
            workload.workload,
            plural(workload.windows, "window"),
            workload.mapping.cores_per_unit,
        ));
        let spikes = match quirks.spike_policy {
            SpikePolicy::Flag => "flagged, kept as read",
            SpikePolicy::Repair => "repaired by halving",
        };
        out.push_str(&format!(
            "  trace quirks: {} (demand held at the last valid window), {} ({spikes}), {} absent, grid offset {} s\n",
            plural(quirks.zero_task_windows, "zero-task window"),
            plural(quirks.spike_windows, "spike window"),
            plural(quirks.gap_windows, "window"),
            quirks.grid_offset_s
        ));
    }
    out.push_str(&format!(
        "  simulated {} days in {} ticks of {} s\n\n",
        short_number(days),
        report.ticks,
        report.configuration.tick_s
    ));

    let (baseline, experimental) = (&report.baseline, &report.experimental);
    let rows: [(&str, f64, f64, usize, &str); 14] = [
        (
            "SLO-miss minutes",
            baseline.slo_miss_minutes,
            experimental.slo_miss_minutes,
            1,
            "simulated",
        ),
        (
            "p95 latency (ms)",
            baseline.p95_latency_ms,
            experimental.p95_latency_ms,
            1,
            "simulated",
        ),
        (
            "requested core-hours",
            baseline.requested_core_hours,
            experimental.requested_core_hours,
            1,
            "simulated",
        ),
        (
            "mean replicas",
            baseline.mean_replicas,
            experimental.mean_replicas,
            1,
            "simulated",
        ),
        (
            "replica changes",
            baseline.replica_changes as f64,
            experimental.replica_changes as f64,
            0,
            "simulated",
        ),
        (
            "OOM kills",
            baseline.oom_kills as f64,
            experimental.oom_kills as f64,
            0,
            "simulated",
        ),
        (
            "pending pod-minutes",
            baseline.pending_pod_minutes,
            experimental.pending_pod_minutes,
            1,
            "simulated",
        ),
        (
            "dropped core-hours",
            baseline.dropped_core_hours,
            experimental.dropped_core_hours,
            2,
            "simulated",
        ),
        (
            "node-hours",
            baseline.node_hours,
            experimental.node_hours,
            1,
            "simulated",
        ),
        (
            "evicted pods",
            baseline.evicted_pods as f64,
            experimental.evicted_pods as f64,
            0,
            "simulated",
        ),
        (
            "energy (kWh)",
            baseline.energy_kwh,
            experimental.energy_kwh,
            2,
            "estimated",
        ),
        (
            "  idle",
            baseline.energy_idle_kwh,
            experimental.energy_idle_kwh,
            2,
            "estimated",
        ),
        (
            "  controlled dynamic",
            baseline.energy_controlled_dynamic_kwh,
            experimental.energy_controlled_dynamic_kwh,
            2,
            "estimated",
        ),
        (
            "  background dynamic",
            baseline.energy_background_dynamic_kwh,
            experimental.energy_background_dynamic_kwh,
            2,
            "estimated",
        ),
    ];
    out.push_str(&format!(
        "{:<24} {:>16} {:>22} {:>12}  {}\n",
        "figure", "baseline (HPA)", "experimental (Arbiter)", "difference", "kind"
    ));
    for (name, base, exp, decimals, kind) in rows {
        out.push_str(&format!(
            "{name:<24} {base:>16.decimals$} {exp:>22.decimals$} {:>+12.decimals$}  {kind}\n",
            exp - base
        ));
    }
    if !report.energy_sweep.is_empty() {
        out.push_str("\nEnergy (kWh, estimated) with idle power set to a share of peak power:\n");
        for point in &report.energy_sweep {
            let name = format!("  idle {:.0}% of peak", point.idle_fraction * 100.0);
            let (base, exp) = (point.baseline.total_kwh, point.experimental.total_kwh);
            out.push_str(&format!(
                "{name:<24} {base:>16.2} {exp:>22.2} {:>+12.2}  estimated\n",
                exp - base
            ));
        }
    }
    let discipline = &report.discipline;
    out.push_str(&format!(
        "\nArbiter's actions: {} over {}; per workload-day p50 {:.1}, p99 {:.1}, max {}; {:.0}% of workload-days without an action\n",
        discipline.actions,
        plural(discipline.workload_days, "workload-day"),
        discipline.p50_actions_per_workload_day,
        discipline.p99_actions_per_workload_day,
        discipline.max_actions_per_workload_day,
        discipline.share_without_action * 100.0,
    ));
    if report.mode == ControllerMode::Shadow {
        out.push_str(
            "Shadow mode: the HPA scaled both clusters and Arbiter only recorded its decisions, so the two columns are equal.\n",
        );
    }
    out.push_str(
        "\nSimulated figures come from the simulator's models of pods, scheduling and queueing.\n\
         Energy is a utilization-derived estimate (idle 80 W, CPU 120 W and memory 60 W at full scale per node), not a measurement.\n",
    );
    out
}

/// Formats a number with at most two decimals and no trailing zeros (29, 0.25, 1.5).
fn short_number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Formats a count with its noun, adding an `s` unless the count is one.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// Applies the overrides in the TOML or JSON file at `path` to `base` and validates the
/// result. Every key of the file must name a field of the configuration, so that a misspelt
/// knob is an error rather than silently ignored.
pub fn overlay_controller_config(
    base: &ControllerConfig,
    path: &Path,
) -> anyhow::Result<ControllerConfig> {
    let overrides = read_overrides(path, "controller")?;
    let config: ControllerConfig = overlay(base, &overrides, path, "controller")?;
    config
        .referee
        .validate()
        .with_context(|| format!("invalid referee settings in {}", path.display()))?;
    let ranges = [
        ("peak.quantile", config.peak.quantile, 0.0, 1.0),
        (
            "policy.target_utilization",
            config.policy.target_utilization,
            0.01,
            1.0,
        ),
        (
            "policy.slo_safe_utilization",
            config.policy.slo_safe_utilization,
            0.01,
            1.0,
        ),
        (
            "policy.memory_safe_utilization",
            config.policy.memory_safe_utilization,
            0.01,
            1.0,
        ),
        (
            "policy.memory_surge_factor",
            config.policy.memory_surge_factor,
            1.0,
            f64::MAX,
        ),
        ("peak.horizon_s", config.peak.horizon_s, 300.0, f64::MAX),
    ];
    for (name, value, low, high) in ranges {
        if !(low..=high).contains(&value) {
            bail!(
                "invalid controller configuration {}: setting `{name}` is {value}; expected a value from {low} to {}",
                path.display(),
                if high == f64::MAX {
                    "any larger number".to_owned()
                } else {
                    high.to_string()
                }
            );
        }
    }
    Ok(config)
}

/// Applies the overrides in the TOML or JSON file at `path` to the simulated clusters'
/// configuration. A `provisioner` table turns the node provisioner on, starting from its
/// defaults.
pub fn overlay_cluster_config(base: &ClusterConfig, path: &Path) -> anyhow::Result<ClusterConfig> {
    let overrides = read_overrides(path, "cluster")?;
    let mut base = base.clone();
    if overrides
        .get("provisioner")
        .is_some_and(|value| value.is_object())
    {
        base.provisioner
            .get_or_insert_with(ProvisionerConfig::default);
    }
    overlay(&base, &overrides, path, "cluster")
}

/// Reads a TOML (`.toml`) or JSON file of settings as a JSON value.
pub(crate) fn read_overrides(path: &Path, section: &str) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {section} configuration {}", path.display()))?;
    let is_toml = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("toml"));
    if is_toml {
        toml::from_str(&text)
            .with_context(|| format!("invalid TOML in {section} configuration {}", path.display()))
    } else if text.trim().is_empty() {
        // An empty file overrides nothing, as an empty TOML file does.
        Ok(serde_json::Value::Object(serde_json::Map::new()))
    } else {
        serde_json::from_str(&text).with_context(|| {
            format!(
                "invalid JSON in {section} configuration {}; a file is read as TOML only when its name ends in .toml",
                path.display()
            )
        })
    }
}

/// Merges `overrides` into the encoded `base` and decodes the result. `section` names the
/// `configuration` object of the `--json` report that has the same keys.
pub(crate) fn overlay<T: Serialize + serde::de::DeserializeOwned>(
    base: &T,
    overrides: &serde_json::Value,
    path: &Path,
    section: &str,
) -> anyhow::Result<T> {
    let mut merged = serde_json::to_value(base)
        .with_context(|| format!("failed to encode the {section} configuration"))?;
    merge_known(&mut merged, overrides, "").with_context(|| {
        format!(
            "invalid {section} configuration {}; keys must be fields of the \
             `configuration.{section}` object that `arbiter compare --json` writes",
            path.display()
        )
    })?;
    serde_path_to_error::deserialize(merged).map_err(|error| {
        anyhow::anyhow!(
            "invalid {section} configuration {}: setting `{}`: {}",
            path.display(),
            error.path(),
            plain_type_names(&error.inner().to_string())
        )
    })
}

/// Replaces Rust type names in a decoding error with the kind of value they accept.
fn plain_type_names(message: &str) -> String {
    let mut message = message.to_owned();
    for (rust, plain) in [
        ("expected f64", "expected a number"),
        ("expected usize", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer"),
    ] {
        message = message.replace(rust, plain);
    }
    message
}

/// Copies `overrides` into `target` key by key, refusing keys that `target` lacks.
fn merge_known(
    target: &mut serde_json::Value,
    overrides: &serde_json::Value,
    prefix: &str,
) -> anyhow::Result<()> {
    let serde_json::Value::Object(fields) = overrides else {
        bail!("expected a table of settings, found {overrides}");
    };
    for (key, value) in fields {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let Some(slot) = target.get_mut(key) else {
            bail!("unknown setting `{name}`");
        };
        if slot.is_object() && value.is_object() {
            merge_known(slot, value, &name)?;
        } else {
            *slot = value.clone();
        }
    }
    Ok(())
}
