//! Layers 2 to 5 joined: from a cluster snapshot to one decision per workload.
//!
//! The controller is a pure function of its inputs and explicit state (rolling features and
//! the referee's memory), so a stored run can be replayed through another configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agents::{Agent, PolicyConfig, WorkloadContext, default_agents};
use crate::features::{FeatureSample, RollingFeatures};
use crate::predict::{
    CapacityContext, DemandHistory, PeakConfig, Predictor, StatisticalForecaster,
};
use crate::referee::{Decision, DecisionInput, Referee, RefereeConfig, RefereeState};
use crate::snapshot::{ClusterSnapshot, WorkloadObservation};

/// Whether the controller's decisions are applied or only recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControllerMode {
    /// Decide and let the executor apply the chosen action.
    #[default]
    Act,
    /// Decide every tick but only record, like the VerticalPodAutoscaler's `Off` mode: every
    /// decision carries a dry-run intent ([`Decision::dry_run`]) that the executor must honor.
    /// The referee's cooldowns and budget still count the actions it would have taken.
    Shadow,
}

/// Configuration of the six-layer controller. Absent fields take their defaults when
/// deserialized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ControllerConfig {
    /// Agent knobs.
    pub policy: PolicyConfig,
    /// Referee bounds and ranking.
    pub referee: RefereeConfig,
    /// The statistical forecast used when no model is loaded.
    pub forecaster: StatisticalForecaster,
    /// Long-horizon demand peak that agents A and B plan for.
    pub peak: PeakConfig,
    /// Act or only record. Default act.
    pub mode: ControllerMode,
}

/// Arbiter's controller: featurize, predict, propose and referee.
pub struct Controller {
    config: ControllerConfig,
    agents: Vec<Box<dyn Agent + Send + Sync>>,
    predictor: Box<dyn Predictor + Send + Sync>,
    referee: Referee,
    referee_state: RefereeState,
    features: BTreeMap<String, RollingFeatures>,
    histories: BTreeMap<String, DemandHistory>,
    tick: u64,
}

impl Controller {
    /// Creates a controller with the default agents and the statistical forecast.
    pub fn new(config: ControllerConfig) -> Self {
        Self {
            agents: default_agents(),
            predictor: Box::new(config.forecaster.clone()),
            referee: Referee::new(config.referee.clone()),
            referee_state: RefereeState::default(),
            features: BTreeMap::new(),
            histories: BTreeMap::new(),
            tick: 0,
            config,
        }
    }

    /// Replaces the predictor, for example with a trained model.
    pub fn with_predictor(mut self, predictor: Box<dyn Predictor + Send + Sync>) -> Self {
        self.predictor = predictor;
        self
    }

    /// The controller's configuration.
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// Decides one action per workload in the snapshot, in workload key order. In shadow mode
    /// every decision carries the dry-run intent.
    pub fn decide(&mut self, snapshot: &ClusterSnapshot) -> Vec<Decision> {
        let tick = self.tick;
        self.tick += 1;
        let mut workloads: Vec<&WorkloadObservation> = snapshot.workloads.iter().collect();
        workloads.sort_by_key(|workload| workload.key());
        let mut decisions = Vec::with_capacity(workloads.len());
        for workload in workloads {
            let key = workload.key();
            let sample = feature_sample(snapshot.time_s, workload);
            let history = self
                .histories
                .entry(key.clone())
                .or_insert_with(|| DemandHistory::new(self.config.peak.clone()));
            history.push(sample.time_s, sample.cpu_cores);
            let peak = history.peak();
            let rolling = self.features.entry(key).or_default();
            rolling.push(sample);
            let features = rolling.features();
            let capacity = CapacityContext {
                ready_cpu_cores: f64::from(workload.ready_replicas)
                    * workload.cpu_limit_milli as f64
                    / 1000.0,
                slo_safe_utilization: self.config.policy.slo_safe_utilization,
            };
            let mut prediction =
                self.predictor
                    .predict(&features, rolling.completed_windows(), &capacity);
            prediction.cpu_peak_cores = peak;

            let context = WorkloadContext {
                snapshot,
                workload,
                features: &features,
                prediction: &prediction,
                policy: &self.config.policy,
            };
            let proposals = self
                .agents
                .iter()
                .flat_map(|agent| agent.propose(&context))
                .collect();

            let observed = workload.summary();
            let input = DecisionInput {
                cluster: &snapshot.cluster,
                tick,
                time_s: snapshot.time_s,
                mode: self.config.mode,
                workload: &observed,
                features: &features,
                prediction: &prediction,
            };
            decisions.push(
                self.referee
                    .decide(&mut self.referee_state, input, proposals),
            );
        }
        decisions
    }
}

/// Turns one observed workload into a feature sample: the same quantities the trace readers
/// provide (CPU in cores, memory in GiB, running replicas).
// The struct update keeps this constructor valid when the feature set adds optional inputs.
#[allow(clippy::needless_update)]
pub fn feature_sample(time_s: f64, workload: &WorkloadObservation) -> FeatureSample {
    let (cpu_cores, sampled_pods) = workload.cpu_usage_cores();
    let limit_cores = sampled_pods as f64 * workload.cpu_limit_milli as f64 / 1000.0;
    let running = workload
        .pods
        .iter()
        .filter(|pod| pod.phase == crate::snapshot::PodPhase::Running && !pod.deleting)
        .count();
    FeatureSample {
        time_s,
        cpu_cores,
        memory_gib: workload.memory_usage_gib(),
        replicas: Some(running as f64),
        cpu_over_limit: (limit_cores > 0.0).then(|| cpu_cores / limit_cores),
        memory_over_limit: workload.max_memory_over_limit(),
        ..FeatureSample::default()
    }
}
