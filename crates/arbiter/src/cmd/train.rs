//! `arbiter train`: trains the demand and risk models on Borg traces and writes them as
//! XGBoost JSON with a model card.
//!
//! Risk labels come from a replay of each series through the simulator: a 300 s window is
//! disrupted when the baseline (HPA) cluster's p95 latency exceeds the SLO in any 15 s tick of
//! it, or a container is OOM-killed or a pod evicted in it. The series readers keep no
//! FAIL, EVICT or KILL events, so trace events are not used as labels yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use arbiter_core::series::{BORG_WINDOW_S, SpikePolicy, WorkloadSeries};
use arbiter_model::{
    BaselineConfig, HessboostEngine, SplitConfig, TrainConfig, TrainingParams, WindowedSeries,
    feature_row, train_models,
};
use arbiter_sim::cluster::ClusterTick;
use arbiter_sim::experiment::{ExperimentConfig, ExperimentObserver, run_experiment};
use arbiter_trace::{ReadOptions, expand_inputs, read_series};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

/// Options of `arbiter train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Trace files or directories to train on; each series is one workload.
    #[arg(long, value_name = "PATH", num_args = 1.., required = true)]
    pub trace: Vec<PathBuf>,
    /// Directory to write the models and model-card.json and model-card.md into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Forecast horizons of the demand models, in 300 s windows.
    #[arg(long, value_delimiter = ',', default_value = "1,3,12")]
    pub horizons: Vec<usize>,
    /// Windows after a row in which a disruption makes the risk label positive.
    #[arg(long, default_value = "3")]
    pub risk_horizon: usize,
    /// Boosting rounds of every model.
    #[arg(long, default_value = "200")]
    pub rounds: usize,
    /// Maximum tree depth.
    #[arg(long, default_value = "4")]
    pub max_depth: usize,
    /// Learning rate (eta).
    #[arg(long, default_value = "0.05")]
    pub learning_rate: f64,
    /// Training threads [default: the engine's default pool].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of training and of the simulator replay that labels risk.
    #[arg(long, default_value = "1")]
    pub seed: u64,
    /// Share of each workload's time span, at the end, held out for testing.
    #[arg(long, default_value = "0.25")]
    pub test_fraction: f64,
    /// Share of the time span before the test part that calibrates the risk probabilities.
    #[arg(long, default_value = "0.15")]
    pub calibration_fraction: f64,
    /// Workload held out of training entirely and only tested (repeatable).
    #[arg(long, value_name = "NAME")]
    pub holdout_workload: Vec<String>,
    /// Skip the simulator replay and train demand models only.
    #[arg(long)]
    pub no_risk: bool,
    /// Also write the training and test rows as CSV (features, labels, part) for comparison
    /// with Python XGBoost (tools/bench_model.py).
    #[arg(long)]
    pub export_rows: bool,
    /// Hide progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `arbiter train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    if args.risk_horizon == 0 {
        bail!("--risk-horizon is 0; expected 1 or more windows");
    }
    let series = read_traces(&args.trace)?;
    let (windowed, label_source) = label_series(&series, !args.no_risk, args.seed, args.quiet)?;

    let config = TrainConfig {
        horizons: args.horizons.clone(),
        risk_horizon_windows: args.risk_horizon,
        split: SplitConfig {
            test_fraction: args.test_fraction,
            calibration_fraction: args.calibration_fraction,
            holdout_workloads: args.holdout_workload.iter().cloned().collect(),
            ..SplitConfig::default()
        },
        params: TrainingParams {
            rounds: args.rounds,
            max_depth: args.max_depth,
            learning_rate: args.learning_rate,
            threads: args.threads,
            seed: args.seed,
            ..TrainConfig::default().params
        },
        baselines: BaselineConfig::default(),
        risk_label_source: label_source,
        ..TrainConfig::default()
    };

    let bar = progress_bar(args.quiet, 0, "training");
    let mut started: Option<(Instant, String)> = None;
    let mut timings: Vec<(String, f64)> = Vec::new();
    let training_start = Instant::now();
    let trained = train_models(
        &HessboostEngine,
        &windowed,
        &config,
        &mut |step, total, what| {
            if let Some((start, name)) = started.take() {
                timings.push((name, start.elapsed().as_secs_f64()));
            }
            bar.set_length(total as u64);
            bar.set_position(step as u64 - 1);
            bar.set_message(what.to_owned());
            started = Some((Instant::now(), what.to_owned()));
        },
    )
    .context("training failed")?;
    let total_s = training_start.elapsed().as_secs_f64();
    bar.finish_and_clear();

    trained
        .save(&args.out)
        .with_context(|| format!("failed to write the models into {}", args.out.display()))?;
    if args.export_rows {
        export_rows(&args.out, &windowed, &config)?;
    }
    if !args.quiet {
        // Training and evaluation of the last model end together, so its time is not split.
        for (name, seconds) in &timings {
            eprintln!("trained {name} in {seconds:.3} s");
        }
        eprintln!(
            "trained {} models in {total_s:.2} s (including the test-part evaluation)",
            trained.files.len()
        );
        eprintln!("wrote {}", args.out.display());
    }
    print!("{}", trained.card.evaluation.to_markdown());
    for warning in trained.card.evaluation.warnings() {
        tracing::warn!("{warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads every series of the trace files, repairing windows the trace counted twice.
pub fn read_traces(paths: &[PathBuf]) -> anyhow::Result<Vec<WorkloadSeries>> {
    let files = expand_inputs(paths).context("failed to list the trace inputs")?;
    let options = ReadOptions {
        spike_policy: SpikePolicy::Repair,
    };
    let mut series = Vec::new();
    for file in &files {
        let read = read_series(file, None, &options)
            .with_context(|| format!("failed to read trace {}", file.display()))?;
        series.extend(read);
    }
    if series.is_empty() {
        bail!(
            "the traces {} contain no workload series with usage; pass a usage trace",
            display_paths(paths)
        );
    }
    Ok(series)
}

fn display_paths(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    names.join(", ")
}

/// Returns a copy of the series with CPU in cores and memory in GiB, scaled by the same
/// demand mapping `arbiter compare` uses, so that models see the units of the controller's
/// live features.
pub fn in_cores(series: &WorkloadSeries) -> anyhow::Result<WorkloadSeries> {
    let config = ExperimentConfig::with_seed(0);
    let mapping = arbiter_sim::load::LoadGenerator::new(series.clone(), &config.demand, 0)
        .with_context(|| format!("failed to scale workload {} to cores", series.workload))?
        .mapping();
    let mut scaled = series.clone();
    for point in &mut scaled.points {
        point.cpu *= mapping.cores_per_unit;
        point.memory *= mapping.gib_per_unit;
    }
    Ok(scaled)
}

/// Builds the windows of each series and, with `label`, the disruption labels from a
/// simulator replay with `seed`. Returns the series and a description of the label source.
pub fn label_series(
    series: &[WorkloadSeries],
    label: bool,
    seed: u64,
    quiet: bool,
) -> anyhow::Result<(Vec<WindowedSeries>, String)> {
    let mut windowed = Vec::with_capacity(series.len());
    for one in series {
        let mut windows = WindowedSeries::from_series(&in_cores(one)?);
        if label {
            let labels = replay_disruptions(one, seed, quiet)
                .with_context(|| format!("failed to replay workload {}", one.workload))?;
            windows = windows.with_disruptions(labels)?;
        }
        windowed.push(windows);
    }
    let config = ExperimentConfig::with_seed(seed);
    let source = if label {
        format!(
            "simulator replay of each series (seed {seed}, {} s ticks): a window is disrupted \
             when the baseline HPA cluster's p95 latency exceeds the {} ms SLO in any tick, \
             or an OOM kill or pod eviction happens in it",
            config.tick_s, config.cluster.latency.slo_p95_ms
        )
    } else {
        "none (trained without --risk labels)".to_owned()
    };
    Ok((windowed, source))
}

/// Per-window disruption flags of the baseline cluster, by window offset from the series start.
struct DisruptionObserver {
    slo_p95_ms: f64,
    disrupted: BTreeMap<i64, bool>,
}

impl ExperimentObserver for DisruptionObserver {
    fn on_decision(&mut self, _decision: &arbiter_core::referee::Decision) -> std::io::Result<()> {
        Ok(())
    }

    fn on_tick(
        &mut self,
        time_s: f64,
        baseline: &ClusterTick,
        _experimental: &ClusterTick,
    ) -> std::io::Result<()> {
        let window = (time_s / BORG_WINDOW_S as f64).floor() as i64;
        let workload_disrupted = baseline
            .workloads
            .iter()
            .any(|tick| tick.p95_ms > self.slo_p95_ms || tick.oom_kills > 0);
        let disrupted = workload_disrupted || baseline.evicted_pods > 0;
        *self.disrupted.entry(window).or_insert(false) |= disrupted;
        Ok(())
    }
}

/// Replays one series through the simulator and returns one disruption flag per window of
/// the series. A window the replay never reached counts as undisrupted.
pub fn replay_disruptions(
    series: &WorkloadSeries,
    seed: u64,
    quiet: bool,
) -> anyhow::Result<Vec<bool>> {
    let config = ExperimentConfig::with_seed(seed);
    let mut observer = DisruptionObserver {
        slo_p95_ms: config.cluster.latency.slo_p95_ms,
        disrupted: BTreeMap::new(),
    };
    let bar = progress_bar(quiet, 0, &format!("replaying {}", series.workload));
    let mut progress = ReplayProgress {
        inner: &mut observer,
        bar: &bar,
    };
    run_experiment(&config, vec![series.clone()], &mut progress)?;
    bar.finish_and_clear();
    let Some(first) = series.points.first() else {
        return Ok(Vec::new());
    };
    Ok(series
        .points
        .iter()
        .map(|point| {
            let window = (point.start_s - first.start_s) / BORG_WINDOW_S;
            observer.disrupted.get(&window).copied().unwrap_or(false)
        })
        .collect())
}

/// Forwards ticks to the disruption observer and shows the replay's progress.
struct ReplayProgress<'a> {
    inner: &'a mut DisruptionObserver,
    bar: &'a ProgressBar,
}

impl ExperimentObserver for ReplayProgress<'_> {
    fn on_decision(&mut self, decision: &arbiter_core::referee::Decision) -> std::io::Result<()> {
        self.inner.on_decision(decision)
    }

    fn on_tick(
        &mut self,
        time_s: f64,
        baseline: &ClusterTick,
        experimental: &ClusterTick,
    ) -> std::io::Result<()> {
        self.inner.on_tick(time_s, baseline, experimental)
    }

    fn on_progress(&mut self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }
}

/// Creates a progress bar on standard error, hidden when `quiet`.
pub fn progress_bar(quiet: bool, length: u64, message: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template("{msg:32} [{bar:40}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    bar
}

/// Writes `rows-cpu-h1.csv` into `out`: every row of the one-window CPU demand model with
/// its part (train, calibration or test), the label (the log ratio of the next window's CPU
/// to cpu_now, as [`arbiter_model::log_ratio`] computes it) and the features, and `rows-risk.csv` likewise when risk labels exist.
fn export_rows(out: &Path, series: &[WindowedSeries], config: &TrainConfig) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let header = format!("part,label,{}\n", arbiter_model::feature_names().join(","));
    let mut cpu = header.clone();
    let mut risk = header;
    let mut has_risk = false;
    for one in series {
        for row in 0..one.len() {
            let features = feature_row(&one.features[row]);
            let values: Vec<String> = features
                .iter()
                .map(|value| {
                    if value.is_nan() {
                        String::new()
                    } else {
                        value.to_string()
                    }
                })
                .collect();
            let values = values.join(",");
            if let (Some(part), Some(target)) =
                (config.split.part(one, row, 1), one.offset_index(row, 1))
            {
                let label = arbiter_model::log_ratio(one.cpu[target], one.cpu[row]) as f32;
                let _ = writeln!(cpu, "{},{label},{values}", part_name(part));
            }
            let k = config.risk_horizon_windows;
            if let (Some(part), Some(label)) = (
                config.split.part(one, row, k),
                one.disruption_within(row, k),
            ) {
                has_risk = true;
                let _ = writeln!(risk, "{},{},{values}", part_name(part), u8::from(label));
            }
        }
    }
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("failed to write {}", path.display()))
    };
    write("rows-cpu-h1.csv", &cpu)?;
    if has_risk {
        write("rows-risk.csv", &risk)?;
    }
    Ok(())
}

fn part_name(part: arbiter_model::Part) -> &'static str {
    match part {
        arbiter_model::Part::Train => "train",
        arbiter_model::Part::Calibration => "calibration",
        arbiter_model::Part::Test => "test",
    }
}
