//! Layers 2 to 5 joined: from a cluster snapshot to one decision per workload.
//!
//! The controller is a pure function of its inputs and explicit state (rolling features and
//! the referee's memory), so a stored run can be replayed through another configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agents::{Agent, PolicyConfig, WorkloadContext, default_agents};
use crate::features::{FeatureSample, RollingFeatures};
use crate::predict::{CapacityContext, Predictor, StatisticalForecaster};
use crate::referee::{Decision, DecisionInput, Referee, RefereeConfig, RefereeState};
use crate::snapshot::{ClusterSnapshot, WorkloadObservation};

/// Configuration of the six-layer controller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ControllerConfig {
    /// Agent knobs.
    pub policy: PolicyConfig,
    /// Referee bounds and ranking.
    pub referee: RefereeConfig,
    /// The statistical forecast used when no model is loaded.
    pub forecaster: StatisticalForecaster,
}

/// Arbiter's controller: featurize, predict, propose and referee.
pub struct Controller {
    config: ControllerConfig,
    agents: Vec<Box<dyn Agent + Send + Sync>>,
    predictor: Box<dyn Predictor + Send + Sync>,
    referee: Referee,
    referee_state: RefereeState,
    features: BTreeMap<String, RollingFeatures>,
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

    /// Decides one action per workload in the snapshot, in workload key order.
    pub fn decide(&mut self, snapshot: &ClusterSnapshot) -> Vec<Decision> {
        let tick = self.tick;
        self.tick += 1;
        let mut decisions = Vec::with_capacity(snapshot.workloads.len());
        for workload in &snapshot.workloads {
            let rolling = self.features.entry(workload.key()).or_default();
            rolling.push(feature_sample(snapshot.time_s, workload));
            let features = rolling.features();
            let capacity = CapacityContext {
                ready_cpu_cores: f64::from(workload.ready_replicas)
                    * workload.cpu_limit_milli as f64
                    / 1000.0,
                slo_safe_utilization: self.config.policy.slo_safe_utilization,
            };
            let prediction =
                self.predictor
                    .predict(&features, rolling.completed_windows(), &capacity);

            let context = WorkloadContext {
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

            let input = DecisionInput {
                cluster: &snapshot.cluster,
                tick,
                time_s: snapshot.time_s,
                workload,
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
