//! Layer 4, propose: agents A, B and C.
//!
//! Each agent is a documented policy over one workload's observation, features and prediction.
//! Agents never act: they return proposals, and the referee chooses.

use serde::{Deserialize, Serialize};

use crate::action::{Action, AgentId, ExpectedEffect, PriorityClass, Proposal};
use crate::features::{Feature, FeatureVector};
use crate::predict::{Prediction, PredictionBasis};
use crate::snapshot::WorkloadObservation;

/// Knobs shared by the agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyConfig {
    /// CPU utilization of the request that sizing aims for, in (0, 1]. Default 0.7, the same
    /// target the baseline HPA gets.
    pub target_utilization: f64,
    /// Share of the pods' CPU limit that can be used before p95 latency exceeds the SLO, in
    /// (0, 1]. Default 0.7.
    pub slo_safe_utilization: f64,
    /// Headroom agent B keeps above the mean forecast before removing replicas. Default 0.25.
    pub scale_down_margin: f64,
    /// Smallest share of `spec.replicas` agent B removes at once; smaller savings are not worth
    /// a change. Default 0.1.
    pub scale_down_min_fraction: f64,
    /// Usage over limit from which throttling hides demand, so that the forecast is only a
    /// lower bound. Default 0.9.
    pub saturation_threshold: f64,
    /// Factor agent A grows replicas by when demand is hidden by throttling or the SLO is
    /// already breached. Default 1.5.
    pub saturation_growth: f64,
    /// p95 latency bound of the SLO in milliseconds, when the workload exports latency.
    pub slo_p95_ms: Option<f64>,
    /// Estimated node power attributable to one reserved core, in watts: the idle power of a
    /// node divided by its cores (80 W over 8 cores by default). An estimate.
    pub idle_watts_per_core: f64,
    /// Steepness of the risk curve (see [`crate::predict::StatisticalForecaster`]). Default 8.
    pub risk_steepness: f64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            target_utilization: 0.7,
            slo_safe_utilization: 0.7,
            scale_down_margin: 0.25,
            scale_down_min_fraction: 0.1,
            saturation_threshold: 0.9,
            saturation_growth: 1.5,
            slo_p95_ms: None,
            idle_watts_per_core: 10.0,
            risk_steepness: 8.0,
        }
    }
}

/// Everything an agent sees of one workload at one tick.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadContext<'a> {
    /// The observed Deployment.
    pub workload: &'a WorkloadObservation,
    /// Its features.
    pub features: &'a FeatureVector,
    /// Its prediction.
    pub prediction: &'a Prediction,
    /// Shared agent knobs.
    pub policy: &'a PolicyConfig,
}

impl WorkloadContext<'_> {
    fn request_cores(&self) -> f64 {
        self.workload.cpu_request_milli.max(1) as f64 / 1000.0
    }

    fn limit_cores(&self) -> f64 {
        self.workload
            .cpu_limit_milli
            .max(self.workload.cpu_request_milli)
            .max(1) as f64
            / 1000.0
    }

    /// Replicas needed to serve `cores` at the target utilization of the request.
    fn replicas_for(&self, cores: f64) -> i32 {
        (cores / (self.request_cores() * self.policy.target_utilization))
            .ceil()
            .max(1.0) as i32
    }

    /// Heuristic risk of the upper forecast if `replicas` were ready.
    fn risk_with(&self, replicas: i32) -> f64 {
        let safe = f64::from(replicas) * self.limit_cores() * self.policy.slo_safe_utilization;
        if safe <= 0.0 {
            return 1.0;
        }
        let ratio = self.prediction.cpu_upper_cores / safe;
        1.0 / (1.0 + (-self.policy.risk_steepness * (ratio - 1.0)).exp())
    }

    fn effect(&self, replicas: i32) -> ExpectedEffect {
        let delta_cores = f64::from(replicas - self.workload.spec_replicas) * self.request_cores();
        ExpectedEffect {
            replicas,
            risk: self.risk_with(replicas),
            core_hours_per_hour: delta_cores,
            watts: delta_cores * self.policy.idle_watts_per_core,
        }
    }

    fn scale(&self, to: i32) -> Action {
        Action::Scale {
            workload: self.workload.key(),
            from: self.workload.spec_replicas,
            to,
        }
    }

    /// Whether throttling or a breached SLO shows that demand exceeds what usage reveals.
    fn saturated(&self) -> bool {
        let throttled = self
            .features
            .get(Feature::CpuOverLimit)
            .is_some_and(|ratio| ratio >= self.policy.saturation_threshold);
        let breached = match (self.workload.latency_p95_ms, self.policy.slo_p95_ms) {
            (Some(latency), Some(bound)) => latency > bound,
            _ => false,
        };
        throttled || breached
    }
}

/// Layer 4: an agent proposes zero or more actions for one workload.
pub trait Agent {
    /// The agent's identity.
    fn id(&self) -> AgentId;
    /// Returns the agent's proposals for one workload.
    fn propose(&self, context: &WorkloadContext) -> Vec<Proposal>;
}

/// Agent A, SLO guard.
///
/// Policy: size replicas so that the upper forecast runs at the target utilization of the
/// CPU request, and propose that size when it exceeds `spec.replicas`. When throttling or a
/// breached SLO shows that usage understates demand, grow by at least `saturation_growth`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SloGuard;

impl Agent for SloGuard {
    fn id(&self) -> AgentId {
        AgentId::SloGuard
    }

    fn propose(&self, context: &WorkloadContext) -> Vec<Proposal> {
        let spec = context.workload.spec_replicas;
        let by_forecast = context.replicas_for(context.prediction.cpu_upper_cores);
        let saturated = context.saturated();
        let by_saturation = if saturated {
            (f64::from(spec.max(1)) * context.policy.saturation_growth).ceil() as i32
        } else {
            0
        };
        let needed = by_forecast.max(by_saturation);
        if needed <= spec {
            return Vec::new();
        }
        let effect = context.effect(needed);
        let mut reason = format!(
            "upper forecast {:.2} cores needs {by_forecast} replicas at {:.0}% of the {:.3}-core request; {spec} specified, {} ready",
            context.prediction.cpu_upper_cores,
            context.policy.target_utilization * 100.0,
            context.request_cores(),
            context.workload.ready_replicas,
        );
        if saturated {
            reason.push_str(&format!(
                "; usage is throttled or the SLO is breached, so demand is at least what is seen: grow to {by_saturation}"
            ));
        }
        vec![Proposal {
            agent: self.id(),
            priority: PriorityClass::Slo,
            action: context.scale(needed),
            score: (context.prediction.risk - effect.risk).max(0.0),
            effect,
            reason,
        }]
    }
}

/// Agent B, efficiency and energy.
///
/// Policy: with a statistical or model forecast (never the reactive fallback), the replicas
/// needed are the larger of two counts at the target utilization of the request: the mean
/// forecast plus `scale_down_margin`, and the upper forecast (which covers the last hour's
/// peak window, so headroom must last an hour). B proposes that count when it frees at least
/// `scale_down_min_fraction` of `spec.replicas` (and at least one), so that small wobbles of
/// the forecast do not flap replicas against agent A.
#[derive(Debug, Clone, Copy, Default)]
pub struct Efficiency;

impl Agent for Efficiency {
    fn id(&self) -> AgentId {
        AgentId::Efficiency
    }

    fn propose(&self, context: &WorkloadContext) -> Vec<Proposal> {
        if matches!(context.prediction.basis, PredictionBasis::Reactive { .. }) {
            return Vec::new();
        }
        let spec = context.workload.spec_replicas;
        let policy = context.policy;
        let by_mean = context
            .replicas_for(context.prediction.cpu_mean_cores * (1.0 + policy.scale_down_margin));
        let by_upper = context.replicas_for(context.prediction.cpu_upper_cores);
        let target = by_mean.max(by_upper);
        let min_freed = ((f64::from(spec) * policy.scale_down_min_fraction).ceil() as i32).max(1);
        if spec - target < min_freed {
            return Vec::new();
        }
        let effect = context.effect(target);
        let reason = format!(
            "mean forecast {:.2} cores with {:.0}% margin needs {by_mean} replicas and the upper forecast {:.2} cores needs {by_upper}; {spec} specified",
            context.prediction.cpu_mean_cores,
            policy.scale_down_margin * 100.0,
            context.prediction.cpu_upper_cores,
        );
        vec![Proposal {
            agent: self.id(),
            priority: PriorityClass::Efficiency,
            action: context.scale(target),
            score: -effect.watts,
            effect,
            reason,
        }]
    }
}

/// Agent C, reliability.
///
/// Policy: while pods are still starting (Pending, or Running and not Ready) and the specified
/// replicas already cover the mean forecast at the target utilization, hold: adding more pods
/// before the starting ones are Ready piles up scheduling and start-up work, and removing pods
/// mid-start wastes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reliability;

impl Agent for Reliability {
    fn id(&self) -> AgentId {
        AgentId::Reliability
    }

    fn propose(&self, context: &WorkloadContext) -> Vec<Proposal> {
        let starting = context.workload.starting_pods();
        let spec = context.workload.spec_replicas;
        if starting == 0 || context.replicas_for(context.prediction.cpu_mean_cores) > spec {
            return Vec::new();
        }
        vec![Proposal {
            agent: self.id(),
            priority: PriorityClass::Risk,
            action: Action::Hold {
                workload: context.workload.key(),
            },
            score: 1.0,
            effect: context.effect(spec),
            reason: format!(
                "{starting} pods still starting; the {spec} specified replicas cover the mean forecast of {:.2} cores",
                context.prediction.cpu_mean_cores
            ),
        }]
    }
}

/// The three agents in tie-break order.
pub fn default_agents() -> Vec<Box<dyn Agent + Send + Sync>> {
    vec![
        Box::new(SloGuard),
        Box::new(Efficiency),
        Box::new(Reliability),
    ]
}
