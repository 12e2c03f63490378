//! The lockstep experiment: the same demand on a baseline cluster scaled by the HPA and an
//! experimental cluster scaled by Arbiter's controller, tick by tick.
//!
//! Figures are labelled by [`FigureKind`]: simulated, or estimated for every energy figure.
//! Energy is split into idle, controlled dynamic (the exercise pods' share of dynamic power by
//! CPU time) and background dynamic, and the report repeats it for each idle fraction of
//! [`ClusterConfig::energy_idle_fractions`] so a reader sees how much an energy conclusion
//! depends on the power calibration.
//!
//! # Not modelled
//!
//! * Controllers acting at different times: both clusters step, then the HPA and Arbiter act,
//!   in every tick.
//! * Any cost of running Arbiter itself (its CPU, memory or energy).

use serde::{Deserialize, Serialize};

use arbiter_core::controller::{Controller, ControllerConfig, ControllerMode};
use arbiter_core::discipline::{DisciplineCounter, DisciplineFigures};
use arbiter_core::execution::Executor;
use arbiter_core::predict::Predictor;
use arbiter_core::referee::Decision;
use arbiter_core::series::{QuirkReport, UsageUnit, WorkloadSeries};
use arbiter_core::stats::quantile;

use crate::SimError;
use crate::baseline::{BaselineConfig, BaselineHpa};
use crate::cluster::{Cluster, ClusterTick};
use crate::config::{ClusterConfig, DemandMapping};
use crate::executor::SimExecutor;
use crate::load::{LoadGenerator, ResolvedMapping};

/// Idle fractions of peak node power at which [`ExperimentConfig::with_seed`] also estimates
/// energy: from 0.27 to 0.73, the range of idle power over peak that server calibrations span,
/// in five even steps.
pub const DEFAULT_IDLE_FRACTIONS: [f64; 5] = [0.27, 0.385, 0.5, 0.615, 0.73];

/// Everything that defines an experiment besides the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    /// Seed of every random draw (demand noise, pod start-up delays). Required.
    pub seed: u64,
    /// Days of the trace to replay from its start; `None` replays all of it.
    pub days: Option<f64>,
    /// Simulated seconds per tick. Default 15, the HPA sync period.
    pub tick_s: f64,
    /// Both clusters' configuration.
    pub cluster: ClusterConfig,
    /// Mapping from trace values to demand.
    pub demand: DemandMapping,
    /// The baseline HPA.
    pub baseline: BaselineConfig,
    /// Arbiter's controller on the experimental cluster.
    pub controller: ControllerConfig,
}

impl ExperimentConfig {
    /// Creates the default experiment for `seed`, with the controller's knobs tied to the
    /// cluster: the same CPU target as the HPA, the SLO bound, the replica range and namespace.
    /// Energy is also estimated at [`DEFAULT_IDLE_FRACTIONS`].
    pub fn with_seed(seed: u64) -> Self {
        Self::for_cluster(
            seed,
            ClusterConfig {
                energy_idle_fractions: DEFAULT_IDLE_FRACTIONS.to_vec(),
                ..ClusterConfig::default()
            },
        )
    }

    /// Creates the default experiment for `seed` on a given cluster, with the controller's
    /// knobs tied to that cluster as [`ExperimentConfig::with_seed`] ties them.
    pub fn for_cluster(seed: u64, cluster: ClusterConfig) -> Self {
        let baseline = BaselineConfig::default();
        let mut controller = ControllerConfig::default();
        controller.policy.target_utilization =
            f64::from(baseline.target_cpu_utilization_percent) / 100.0;
        controller.policy.slo_p95_ms = Some(cluster.latency.slo_p95_ms);
        controller.policy.idle_watts_per_core =
            cluster.power.effective_idle_w() / (cluster.nodes.cpu_milli as f64 / 1000.0);
        controller.policy.node_idle_watts = cluster.power.effective_idle_w();
        // With a provisioner, Pending pods bring new nodes, so the Ready nodes are no ceiling.
        controller.policy.node_capacity_ceiling = cluster.provisioner.is_none();
        controller.referee.min_replicas = cluster.workload.min_replicas;
        controller.referee.max_replicas = cluster.workload.max_replicas;
        controller.referee.allowed_namespaces = vec![cluster.workload.namespace.clone()];
        Self {
            seed,
            days: None,
            tick_s: 15.0,
            cluster,
            demand: DemandMapping::default(),
            baseline,
            controller,
        }
    }
}

/// Origin of a figure, so that no reader mistakes an estimate for a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureKind {
    /// Produced by the simulator's models of pods, queues and scheduling.
    Simulated,
    /// Derived from a model on top of simulated figures (energy).
    Estimated,
}

/// The figures of one cluster over a run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterFigures {
    /// Minutes in which a workload's p95 latency exceeded the SLO bound (simulated).
    pub slo_miss_minutes: f64,
    /// 95th percentile over ticks of the per-tick p95 latency, in ms (simulated).
    pub p95_latency_ms: f64,
    /// CPU requested by pods bound to nodes, in core-hours (simulated).
    pub requested_core_hours: f64,
    /// Changes of `spec.replicas` (simulated).
    pub replica_changes: u64,
    /// Containers killed for exceeding their memory limit (simulated).
    pub oom_kills: u64,
    /// Pods not bound to a node, in pod-minutes (simulated).
    pub pending_pod_minutes: f64,
    /// Mean `spec.replicas` over the run (simulated).
    pub mean_replicas: f64,
    /// Highest `spec.replicas` (simulated).
    pub max_replicas: i32,
    /// Work served, in core-hours (simulated).
    pub served_core_hours: f64,
    /// Work dropped after the client timeout, in core-hours (simulated).
    pub dropped_core_hours: f64,
    /// Node energy, idle plus dynamic, in kWh (estimated).
    pub energy_kwh: f64,
    /// Idle node energy in kWh (estimated).
    pub energy_idle_kwh: f64,
    /// Dynamic energy attributed to the exercise pods by CPU-time share, in kWh (estimated).
    pub energy_controlled_dynamic_kwh: f64,
    /// Dynamic energy of everything else on the nodes, in kWh (estimated).
    pub energy_background_dynamic_kwh: f64,
    /// Node-hours of all nodes that existed, static and provisioned (simulated).
    #[serde(default)]
    pub node_hours: f64,
    /// Pods evicted by drains, consolidation or NotReady nodes (simulated).
    #[serde(default)]
    pub evicted_pods: u64,
}

impl ClusterFigures {
    /// Returns the kind of every figure by its JSON name: the fields of [`ClusterFigures`] and
    /// the report's `energy_sweep`.
    pub fn kinds() -> Vec<(&'static str, FigureKind)> {
        use FigureKind::{Estimated, Simulated};
        vec![
            ("slo_miss_minutes", Simulated),
            ("p95_latency_ms", Simulated),
            ("requested_core_hours", Simulated),
            ("replica_changes", Simulated),
            ("oom_kills", Simulated),
            ("pending_pod_minutes", Simulated),
            ("mean_replicas", Simulated),
            ("max_replicas", Simulated),
            ("served_core_hours", Simulated),
            ("dropped_core_hours", Simulated),
            ("energy_kwh", Estimated),
            ("energy_idle_kwh", Estimated),
            ("energy_controlled_dynamic_kwh", Estimated),
            ("energy_background_dynamic_kwh", Estimated),
            ("node_hours", Simulated),
            ("evicted_pods", Simulated),
            ("energy_sweep", Estimated),
        ]
    }
}

/// Description of one replayed workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayedWorkload {
    /// Workload name (the Deployment name).
    pub workload: String,
    /// Trace file.
    pub source: String,
    /// Trace format.
    pub format: String,
    /// Unit of the trace values.
    pub unit: UsageUnit,
    /// 300 s windows replayed.
    pub windows: usize,
    /// Quirks the reader met.
    pub quirks: QuirkReport,
    /// Mapping used to turn trace values into demand.
    pub mapping: ResolvedMapping,
}

/// The result of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentReport {
    /// Seed of the run.
    pub seed: u64,
    /// Simulated duration in seconds.
    pub simulated_s: f64,
    /// Ticks simulated.
    pub ticks: u64,
    /// The replayed workloads.
    pub workloads: Vec<ReplayedWorkload>,
    /// The configuration of the run.
    pub configuration: ExperimentConfig,
    /// Figures of the HPA cluster.
    pub baseline: ClusterFigures,
    /// Figures of the Arbiter cluster. In shadow mode the HPA scales both clusters, so they
    /// equal the baseline's.
    pub experimental: ClusterFigures,
    /// Whether Arbiter acted on the experimental cluster or only recorded (shadow).
    #[serde(default)]
    pub mode: ControllerMode,
    /// Arbiter's actions per workload-day, counting what it would have done in shadow mode.
    pub discipline: DisciplineFigures,
    /// Energy of both clusters under each idle fraction of
    /// [`ClusterConfig::energy_idle_fractions`] (estimated), to show how much the energy
    /// comparison depends on the power calibration.
    #[serde(default)]
    pub energy_sweep: Vec<EnergySweepPoint>,
}

/// Energy of one cluster split three ways, in kWh (estimated).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EnergySplit {
    /// Idle plus dynamic.
    pub total_kwh: f64,
    /// Idle energy of all nodes.
    pub idle_kwh: f64,
    /// Dynamic energy attributed to the exercise pods by CPU-time share.
    pub controlled_dynamic_kwh: f64,
    /// Dynamic energy of everything else on the nodes.
    pub background_dynamic_kwh: f64,
}

/// Energy of both clusters with idle power set to one share of peak power (estimated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergySweepPoint {
    /// Idle power over peak power of every node.
    pub idle_fraction: f64,
    /// Always [`FigureKind::Estimated`].
    pub kind: FigureKind,
    /// The HPA cluster.
    pub baseline: EnergySplit,
    /// The Arbiter cluster.
    pub experimental: EnergySplit,
}

/// Receives the run's decisions and progress as they happen.
pub trait ExperimentObserver {
    /// Called with every decision of the experimental controller, after execution.
    fn on_decision(&mut self, decision: &Decision) -> std::io::Result<()>;
    /// Called every tick with each cluster's figures, baseline first.
    fn on_tick(
        &mut self,
        _time_s: f64,
        _baseline: &ClusterTick,
        _experimental: &ClusterTick,
    ) -> std::io::Result<()> {
        Ok(())
    }
    /// Called every few thousand ticks with the ticks done and the total.
    fn on_progress(&mut self, _done: u64, _total: u64) {}
}

/// An observer that ignores everything.
pub struct NoObserver;

impl ExperimentObserver for NoObserver {
    fn on_decision(&mut self, _decision: &Decision) -> std::io::Result<()> {
        Ok(())
    }
}

/// Running sums for one cluster's figures.
#[derive(Debug, Default)]
struct FigureAccumulator {
    slo_miss_s: f64,
    tick_p95_ms: Vec<f64>,
    requested_milli_s: f64,
    replica_changes: u64,
    last_spec: Vec<i32>,
    oom_kills: u64,
    pending_pod_s: f64,
    replica_s: f64,
    max_replicas: i32,
    served_core_s: f64,
    dropped_core_s: f64,
    idle_j: f64,
    controlled_j: f64,
    background_j: f64,
    elapsed_s: f64,
    node_s: f64,
    evicted_pods: u64,
    sweep_j: Vec<[f64; 3]>,
}

impl FigureAccumulator {
    fn add(&mut self, tick: &ClusterTick, dt_s: f64, slo_p95_ms: f64) {
        if self.last_spec.is_empty() {
            self.last_spec = tick
                .workloads
                .iter()
                .map(|workload| workload.spec_replicas)
                .collect();
        }
        for (index, workload) in tick.workloads.iter().enumerate() {
            if workload.p95_ms > slo_p95_ms {
                self.slo_miss_s += dt_s;
            }
            self.tick_p95_ms.push(workload.p95_ms);
            self.requested_milli_s += workload.requested_cpu_milli as f64 * dt_s;
            if workload.spec_replicas != self.last_spec[index] {
                self.replica_changes += 1;
                self.last_spec[index] = workload.spec_replicas;
            }
            self.oom_kills += u64::from(workload.oom_kills);
            self.pending_pod_s += workload.pending_pods as f64 * dt_s;
            self.replica_s += f64::from(workload.spec_replicas) * dt_s;
            self.max_replicas = self.max_replicas.max(workload.spec_replicas);
            self.served_core_s += workload.served_core_s;
            self.dropped_core_s += workload.dropped_core_s;
        }
        self.idle_j += tick.idle_w * dt_s;
        self.controlled_j += tick.controlled_dynamic_w * dt_s;
        self.background_j += tick.background_dynamic_w * dt_s;
        self.elapsed_s += dt_s;
        self.node_s += tick.nodes as f64 * dt_s;
        self.evicted_pods += tick.evicted_pods as u64;
        if self.sweep_j.len() < tick.energy_sweep.len() {
            self.sweep_j.resize(tick.energy_sweep.len(), [0.0; 3]);
        }
        for (sums, split) in self.sweep_j.iter_mut().zip(&tick.energy_sweep) {
            sums[0] += split.idle_w * dt_s;
            sums[1] += split.controlled_dynamic_w * dt_s;
            sums[2] += split.background_dynamic_w * dt_s;
        }
    }

    fn sweep_split(&self, index: usize) -> EnergySplit {
        let [idle, controlled, background] = self.sweep_j.get(index).copied().unwrap_or([0.0; 3]);
        EnergySplit {
            total_kwh: (idle + controlled + background) / J_PER_KWH,
            idle_kwh: idle / J_PER_KWH,
            controlled_dynamic_kwh: controlled / J_PER_KWH,
            background_dynamic_kwh: background / J_PER_KWH,
        }
    }

    fn figures(&self, workloads: usize) -> ClusterFigures {
        ClusterFigures {
            slo_miss_minutes: self.slo_miss_s / 60.0,
            p95_latency_ms: quantile(&self.tick_p95_ms, 0.95).unwrap_or(0.0),
            requested_core_hours: self.requested_milli_s / 1000.0 / 3600.0,
            replica_changes: self.replica_changes,
            oom_kills: self.oom_kills,
            pending_pod_minutes: self.pending_pod_s / 60.0,
            mean_replicas: if self.elapsed_s > 0.0 {
                self.replica_s / self.elapsed_s / workloads.max(1) as f64
            } else {
                0.0
            },
            max_replicas: self.max_replicas,
            served_core_hours: self.served_core_s / 3600.0,
            dropped_core_hours: self.dropped_core_s / 3600.0,
            energy_kwh: (self.idle_j + self.controlled_j + self.background_j) / J_PER_KWH,
            energy_idle_kwh: self.idle_j / J_PER_KWH,
            energy_controlled_dynamic_kwh: self.controlled_j / J_PER_KWH,
            energy_background_dynamic_kwh: self.background_j / J_PER_KWH,
            node_hours: self.node_s / 3600.0,
            evicted_pods: self.evicted_pods,
        }
    }
}

/// Joules in one kWh.
const J_PER_KWH: f64 = 3.6e6;

/// Derives an independent seed for one component from the run seed.
pub fn derive_seed(seed: u64, component: u64) -> u64 {
    crate::splitmix64_finalize(seed.wrapping_add(component.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

/// Runs the experiment over the given series, one exercise Deployment per series, with the
/// statistical forecast as Arbiter's predictor.
pub fn run_experiment(
    config: &ExperimentConfig,
    series: Vec<WorkloadSeries>,
    observer: &mut dyn ExperimentObserver,
) -> Result<ExperimentReport, SimError> {
    run_experiment_with_predictor(config, series, observer, None)
}

/// Runs the experiment with `predictor` (for example trained models) in place of the
/// statistical forecast when it is `Some`.
pub fn run_experiment_with_predictor(
    config: &ExperimentConfig,
    series: Vec<WorkloadSeries>,
    observer: &mut dyn ExperimentObserver,
    predictor: Option<Box<dyn Predictor + Send + Sync>>,
) -> Result<ExperimentReport, SimError> {
    if series.is_empty() {
        return Err(SimError::NoWorkloads);
    }
    if config.tick_s.is_nan() || config.tick_s <= 0.0 {
        return Err(SimError::InvalidConfig {
            field: "tick_s".to_owned(),
            value: config.tick_s.to_string(),
            expected: "a positive number of seconds".to_owned(),
        });
    }
    if let Some(days) = config.days
        && (days.is_nan() || days <= 0.0)
    {
        return Err(SimError::InvalidConfig {
            field: "days".to_owned(),
            value: days.to_string(),
            expected: "a positive number of days".to_owned(),
        });
    }
    let names = deployment_names(&series);
    let mut generators = Vec::with_capacity(series.len());
    for (index, one) in series.into_iter().enumerate() {
        let generator = LoadGenerator::new(
            one,
            &config.demand,
            derive_seed(config.seed, 1 + index as u64),
        )?;
        generators.push(match config.days {
            Some(days) => generator.replaying_days(days),
            None => generator,
        });
    }
    let duration_s = generators
        .iter()
        .map(|generator| generator.series().duration_s())
        .max()
        .unwrap_or(0) as f64;
    let total_ticks = (duration_s / config.tick_s).floor() as u64;

    let cluster_seed = derive_seed(config.seed, 0);
    let mut baseline = Cluster::new("baseline", config.cluster.clone(), cluster_seed, &names)?;
    let mut experimental =
        Cluster::new("experimental", config.cluster.clone(), cluster_seed, &names)?;
    let keys: Vec<String> = names
        .iter()
        .map(|name| format!("{}/{name}", config.cluster.workload.namespace))
        .collect();
    let mut hpa = BaselineHpa::new(
        &config.baseline,
        &keys,
        config.cluster.workload.min_replicas,
        config.cluster.workload.max_replicas,
    );
    let mut controller = Controller::new(config.controller.clone());
    if let Some(predictor) = predictor {
        controller = controller.with_predictor(predictor);
    }
    let shadow = config.controller.mode == ControllerMode::Shadow;
    let mut discipline = DisciplineCounter::new();

    let slo = config.cluster.latency.slo_p95_ms;
    let mut baseline_figures = FigureAccumulator::default();
    let mut experimental_figures = FigureAccumulator::default();
    for tick in 0..total_ticks {
        // Physics: the same demand reaches both clusters.
        let time_s = tick as f64 * config.tick_s;
        let demands: Vec<_> = generators
            .iter_mut()
            .map(|generator| generator.demand_at(time_s))
            .collect();
        let baseline_tick = baseline.step(config.tick_s, &demands);
        let experimental_tick = experimental.step(config.tick_s, &demands);
        baseline_figures.add(&baseline_tick, config.tick_s, slo);
        experimental_figures.add(&experimental_tick, config.tick_s, slo);
        observer
            .on_tick(baseline.time_s(), &baseline_tick, &experimental_tick)
            .map_err(SimError::Output)?;

        // Baseline: the HPA reconciles and rescales. In shadow mode it scales the experimental
        // twin as well, which therefore stays identical to the baseline.
        for rescale in hpa.reconcile_cluster(&baseline) {
            baseline.scale(&rescale.workload, rescale.replicas)?;
            if shadow {
                experimental.scale(&rescale.workload, rescale.replicas)?;
            }
        }

        // Experimental: Arbiter decides, the executor acts (or only records in shadow mode), and
        // the record is attached and emitted.
        let snapshot = experimental.snapshot();
        for mut decision in controller.decide(&snapshot) {
            let record =
                SimExecutor::new(&mut experimental, decision.dry_run()).execute(&decision.action);
            decision.execution = Some(record);
            discipline.add(&decision);
            observer.on_decision(&decision).map_err(SimError::Output)?;
        }
        if tick % 4096 == 0 {
            observer.on_progress(tick, total_ticks);
        }
    }
    observer.on_progress(total_ticks, total_ticks);

    Ok(ExperimentReport {
        seed: config.seed,
        simulated_s: total_ticks as f64 * config.tick_s,
        ticks: total_ticks,
        workloads: generators
            .iter()
            .zip(&names)
            .map(|(generator, name)| ReplayedWorkload {
                workload: name.clone(),
                source: generator.series().source.clone(),
                format: generator.series().format.clone(),
                unit: generator.series().unit,
                windows: generator.series().points.len(),
                quirks: generator.series().quirks.clone(),
                mapping: generator.mapping(),
            })
            .collect(),
        configuration: config.clone(),
        baseline: baseline_figures.figures(names.len()),
        experimental: experimental_figures.figures(names.len()),
        mode: config.controller.mode,
        discipline: discipline.figures(),
        energy_sweep: config
            .cluster
            .energy_idle_fractions
            .iter()
            .enumerate()
            .map(|(index, fraction)| EnergySweepPoint {
                idle_fraction: *fraction,
                kind: FigureKind::Estimated,
                baseline: baseline_figures.sweep_split(index),
                experimental: experimental_figures.sweep_split(index),
            })
            .collect(),
    })
}

/// Returns the Deployment names for the series' workloads: lower-case DNS-1123 labels, made
/// unique, in series order.
pub fn deployment_names(series: &[WorkloadSeries]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for one in series {
        let mut name: String = one
            .workload
            .to_ascii_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        name = name.trim_matches('-').chars().take(50).collect();
        if name.is_empty() {
            name = "workload".to_owned();
        }
        let base = name.clone();
        let mut suffix = 2;
        while names.contains(&name) {
            name = format!("{base}-{suffix}");
            suffix += 1;
        }
        names.push(name);
    }
    names
}
