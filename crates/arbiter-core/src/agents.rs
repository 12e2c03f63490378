//! Layer 4, propose: agents A, B and C.
//!
//! Each agent is a documented policy over one workload's observation, features and prediction.
//! Agents never act: they return proposals, and the referee chooses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::action::{Action, AgentId, ExpectedEffect, PriorityClass, Proposal};
use crate::features::{Feature, FeatureVector};
use crate::predict::{Prediction, PredictionBasis};
use crate::snapshot::{ClusterSnapshot, NodeObservation, WorkloadObservation};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Knobs shared by the agents. Absent fields take their defaults when deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyConfig {
    /// CPU utilization of the request that sizing aims for, in (0, 1]. Default 0.7, the same
    /// target the baseline HPA gets.
    pub target_utilization: f64,
    /// Share of the pods' CPU limit that can be used before p95 latency exceeds the SLO, in
    /// (0, 1]. Default 0.7.
    pub slo_safe_utilization: f64,
    /// Extra capacity agent A adds above the upper forecast when it scales up, as a share of
    /// the forecast. Sizing with headroom makes one scale-up last longer. Default 0.25.
    pub scale_up_headroom: f64,
    /// CPU utilization of the request that agent A sizes a scale-up for, in (0, inf); values
    /// above 1 are allowed as for an HPA target. `None` uses `target_utilization`. Default
    /// `None`.
    pub scale_up_utilization: Option<f64>,
    /// Share by which the upper forecast may exceed the Ready capacity at the target
    /// utilization before agent A scales up, in [0, inf). 0 acts on any shortfall; 1 waits
    /// until the forecast needs twice the Ready replicas. Default 0.
    pub scale_up_tolerance: f64,
    /// Risk from which agent A scales up even when the upper forecast still fits the ready
    /// capacity at the target utilization, in [0, 1]. Default 0.5.
    pub risk_threshold: f64,
    /// Share of the memory limit that the pods' summed working set may fill before agent A
    /// adds replicas to spread it, in (0, 1]. Memory of in-flight work is spread over the
    /// serving pods, so more replicas lower each pod's working set. Unlike CPU, this works
    /// even when the nodes' CPU is saturated. Default 0.7.
    pub memory_safe_utilization: f64,
    /// Multiple of its hourly mean that the working set must reach before agent A sizes for
    /// memory, in [1, inf). Default 1.5. More pods spread a surge that arrives with load. A
    /// slow climb is more likely a leak, which more pods do not cure, so agent C restarts it.
    pub memory_surge_factor: f64,
    /// Headroom agent B keeps above the larger of the upper forecast and the long-horizon
    /// peak before removing replicas. Default 0.25.
    pub scale_down_margin: f64,
    /// CPU utilization of the request that agent B consolidates to, in (0, inf). Values above
    /// 1 are allowed as for an HPA target, because usage may exceed the request up to the
    /// limit. `None` uses `target_utilization`. Default `None`.
    pub consolidation_utilization: Option<f64>,
    /// Smallest share of `spec.replicas` agent B removes at once; smaller savings are not worth
    /// a change. Default 0.2.
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
    /// Estimated idle power of one node in watts, saved when a node is freed and powered down.
    /// Default 80. An estimate.
    pub node_idle_watts: f64,
    /// Steepness of the risk curve (see [`crate::predict::StatisticalForecaster`]). Default 8.
    pub risk_steepness: f64,
    /// Whether agents A and B treat the CPU the Ready nodes can give this workload as a
    /// ceiling on useful replicas: beyond the replicas whose CPU limits that CPU covers, a
    /// new pod only shares cores the others already use. Default true. Turn it off when a
    /// node autoscaler (Karpenter, the Cluster Autoscaler) launches nodes for Pending pods.
    pub node_capacity_ceiling: bool,
    /// Working set over the memory limit from which agent C considers a restart, in (0, 1].
    /// Default 0.9.
    pub restart_memory_threshold: f64,
    /// Smallest memory growth, in GiB per hour, that marks the working set as still growing
    /// towards the limit (a leak that a restart cures). Default 0.01.
    pub restart_min_memory_trend: f64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            target_utilization: 0.7,
            slo_safe_utilization: 0.7,
            scale_up_headroom: 0.25,
            scale_up_tolerance: 0.0,
            scale_up_utilization: None,
            risk_threshold: 0.5,
            memory_safe_utilization: 0.7,
            memory_surge_factor: 1.5,
            scale_down_margin: 0.25,
            consolidation_utilization: None,
            scale_down_min_fraction: 0.2,
            saturation_threshold: 0.9,
            saturation_growth: 1.5,
            slo_p95_ms: None,
            idle_watts_per_core: 10.0,
            node_idle_watts: 80.0,
            risk_steepness: 8.0,
            node_capacity_ceiling: true,
            restart_memory_threshold: 0.9,
            restart_min_memory_trend: 0.01,
        }
    }
}

/// Everything an agent sees of one workload at one tick.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadContext<'a> {
    /// The whole snapshot, for nodes, pod placement and load generators.
    pub snapshot: &'a ClusterSnapshot,
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
        self.replicas_at(cores, self.policy.target_utilization)
    }

    /// Replicas needed to serve `cores` at `utilization` of the request.
    fn replicas_at(&self, cores: f64, utilization: f64) -> i32 {
        let per_replica = self.request_cores() * utilization.max(0.01);
        // The small epsilon keeps float noise (10.5 / 0.35 = 30.000000000000004) from adding
        // a replica.
        let replicas = (cores.max(0.0) / per_replica - 1e-9).ceil();
        replicas.clamp(1.0, f64::from(i32::MAX / 2)) as i32
    }

    /// Replicas whose CPU limits the Ready nodes can cover: the nodes' allocatable CPU minus
    /// the requests of everything else bound to them, over the pod's CPU limit, rounded up.
    /// `None` when the ceiling is turned off or no Ready node has CPU to give.
    fn node_ceiling(&self) -> Option<i32> {
        if !self.policy.node_capacity_ceiling {
            return None;
        }
        let placement = self.workload.summary().placement;
        let request = self.workload.cpu_request_milli;
        let available: i64 = self
            .snapshot
            .nodes
            .iter()
            .filter(|node| node.ready)
            .map(|node| {
                (node.cpu_allocatable_milli - other_requests(node, &placement, request)).max(0)
            })
            .sum();
        if available <= 0 {
            return None;
        }
        let limit = self.limit_cores() * 1000.0;
        let replicas = (available as f64 / limit - 1e-9).ceil().max(1.0);
        Some(replicas.min(f64::from(i32::MAX / 2)) as i32)
    }

    /// Replicas whose memory limits hold `gib` of working set at `memory_safe_utilization`,
    /// or `None` when the workload has no memory limit.
    fn replicas_for_memory(&self, gib: f64) -> Option<i32> {
        if self.workload.memory_limit_bytes <= 0 {
            return None;
        }
        let per_replica = self.workload.memory_limit_bytes as f64 / GIB
            * self.policy.memory_safe_utilization.clamp(0.01, 1.0);
        let replicas = (gib.max(0.0) / per_replica - 1e-9).ceil();
        Some(replicas.clamp(1.0, f64::from(i32::MAX / 2)) as i32)
    }

    /// Returns the working set to plan for now, in GiB: the larger of the mean forecast and
    /// the current summed working set.
    fn memory_now_gib(&self) -> f64 {
        self.prediction
            .memory_mean_gib
            .max(self.features.get(Feature::MemoryNow).unwrap_or(0.0))
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
        throttled || self.slo_breached()
    }

    fn slo_breached(&self) -> bool {
        match (self.workload.latency_p95_ms, self.policy.slo_p95_ms) {
            (Some(latency), Some(bound)) => latency > bound,
            _ => false,
        }
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
/// Policy: A acts when the ready capacity is short: the upper forecast needs more replicas
/// than are Ready at the target utilization of the CPU request (beyond
/// `scale_up_tolerance`), the risk reaches
/// `risk_threshold`, or throttling or a breached SLO shows that usage understates demand. It
/// then sizes replicas from the forecast: the larger of the upper forecast plus
/// `scale_up_headroom` and the long-horizon peak, at `scale_up_utilization` of the request
/// (the target utilization unless set). When demand is
/// hidden by throttling or a breached SLO, the size is at least `saturation_growth` times
/// `spec.replicas`. With `node_capacity_ceiling`, these CPU-driven sizes stop at the
/// replicas whose CPU limits the Ready nodes can cover, since further pods would only share
/// the same cores.
///
/// Memory: the summed working set may surge to `memory_surge_factor` times its hourly mean
/// and beyond `memory_safe_utilization` of the Ready pods' memory limits. A then also sizes
/// for the working set plus `scale_up_headroom`. The node ceiling does not bound this size,
/// because spreading in-flight work over more pods lowers each pod's working set.
///
/// A proposes only sizes above `spec.replicas`, so pods that are still starting count as
/// capacity on the way.
#[derive(Debug, Clone, Copy, Default)]
pub struct SloGuard;

impl Agent for SloGuard {
    fn id(&self) -> AgentId {
        AgentId::SloGuard
    }

    fn propose(&self, context: &WorkloadContext) -> Vec<Proposal> {
        let policy = context.policy;
        let prediction = context.prediction;
        let spec = context.workload.spec_replicas;
        let ready = context.workload.ready_replicas;
        let by_upper = context.replicas_for(prediction.cpu_upper_cores);
        let saturated = context.saturated();
        let tolerated = f64::from(ready) * (1.0 + policy.scale_up_tolerance.max(0.0));
        let short = f64::from(by_upper) > tolerated;
        let risky = prediction.risk >= policy.risk_threshold;
        let memory_gib = context.memory_now_gib();
        let surge = context
            .features
            .get(Feature::MemoryMean1h)
            .is_some_and(|mean| memory_gib >= mean * policy.memory_surge_factor.max(1.0));
        let by_memory_now = if surge {
            context.replicas_for_memory(memory_gib).unwrap_or(0)
        } else {
            0
        };
        let memory_short = by_memory_now > ready;
        if !(short || risky || saturated || memory_short) {
            return Vec::new();
        }

        let utilization = policy
            .scale_up_utilization
            .unwrap_or(policy.target_utilization);
        let upper_with_headroom = prediction.cpu_upper_cores * (1.0 + policy.scale_up_headroom);
        let by_forecast = context.replicas_at(upper_with_headroom, utilization);
        let by_peak = prediction
            .cpu_peak_cores
            .map_or(0, |peak| context.replicas_at(peak, utilization));
        let by_saturation = if saturated {
            (f64::from(spec.max(1)) * policy.saturation_growth).ceil() as i32
        } else {
            0
        };
        let by_memory = if memory_short {
            context
                .replicas_for_memory(memory_gib * (1.0 + policy.scale_up_headroom))
                .unwrap_or(0)
        } else {
            0
        };
        let wanted = by_forecast.max(by_peak).max(by_saturation);
        // The node ceiling bounds CPU-driven sizes only: spreading memory needs pods, not
        // cores.
        let ceiling = context.node_ceiling();
        let by_cpu = ceiling.map_or(wanted, |ceiling| wanted.min(ceiling));
        let needed = by_cpu.max(by_memory);
        if needed <= spec {
            return Vec::new();
        }

        let effect = context.effect(needed);
        let mut triggers = Vec::new();
        if short {
            triggers.push(format!(
                "the upper forecast {:.2} cores needs {by_upper} replicas at {:.0}% of the {:.3}-core request and {ready} are Ready",
                prediction.cpu_upper_cores,
                policy.target_utilization * 100.0,
                context.request_cores(),
            ));
        }
        if risky {
            triggers.push(format!(
                "the risk {:.2} reaches the threshold {:.2}",
                prediction.risk, policy.risk_threshold
            ));
        }
        if saturated {
            triggers.push(format!(
                "usage is throttled or the SLO is breached, so demand is at least {by_saturation} replicas' worth"
            ));
        }
        if memory_short {
            triggers.push(format!(
                "the working set surged to {memory_gib:.2} GiB, at least {:.1} times its hourly mean, and needs {by_memory_now} replicas at {:.0}% of the memory limit and {ready} are Ready",
                policy.memory_surge_factor,
                policy.memory_safe_utilization * 100.0
            ));
        }
        let mut reason = format!(
            "{}; sized {needed} replicas for the upper forecast plus {:.0}% headroom ({by_forecast})",
            triggers.join(", and "),
            policy.scale_up_headroom * 100.0,
        );
        if let Some(peak) = prediction.cpu_peak_cores {
            reason.push_str(&format!(
                " and the long-horizon peak {peak:.2} cores ({by_peak})"
            ));
        }
        if by_cpu < wanted {
            reason.push_str(&format!(
                "; CPU sizing capped at {by_cpu}, the replicas whose CPU limits the Ready nodes can cover"
            ));
        }
        if by_memory > by_cpu {
            reason.push_str(&format!(
                "; sized {by_memory} for the working set plus {:.0}% headroom",
                policy.scale_up_headroom * 100.0
            ));
        }
        reason.push_str(&format!("; {spec} specified"));
        vec![Proposal {
            agent: self.id(),
            priority: PriorityClass::Slo,
            action: context.scale(needed),
            score: (prediction.risk - effect.risk).max(0.0),
            effect,
            reason,
        }]
    }
}

/// Agent B, efficiency and energy.
///
/// Policy: B needs a statistical or model forecast (never the reactive fallback) and a known
/// long-horizon peak. The replicas needed are those that serve the larger of the upper
/// forecast and the peak, plus `scale_down_margin`, at `consolidation_utilization` of the
/// request (the target utilization unless set). Because the
/// peak is a high quantile of the whole horizon (a day by default), B consolidates only
/// when demand has left that headroom for the whole horizon. B proposes the count when it
/// frees at least `scale_down_min_fraction` of `spec.replicas` (and at least one), so that
/// forecast wobbles do not flap replicas against agent A. B never goes below the replicas
/// that hold the day's highest working set (the `memory_max_24h` feature) plus the margin at
/// `memory_safe_utilization` of the memory limit. With `node_capacity_ceiling`, B also
/// removes replicas above the node ceiling (see agent A), which add no CPU.
///
/// Node preference: when removing all of this workload's pods from one or more nodes lands
/// between the planned count and the count without the margin, B proposes that count, so
/// that whole nodes can be emptied and their idle power counted as saved. Whether they are
/// emptied depends on which pods the ReplicaSet controller deletes.
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
        let Some(peak) = context.prediction.cpu_peak_cores else {
            return Vec::new();
        };
        let spec = context.workload.spec_replicas;
        let policy = context.policy;
        let planned = context.prediction.cpu_upper_cores.max(peak);
        let utilization = policy
            .consolidation_utilization
            .unwrap_or(policy.target_utilization);
        let planned_target =
            context.replicas_at(planned * (1.0 + policy.scale_down_margin), utilization);
        let ceiling = context
            .node_ceiling()
            .filter(|ceiling| *ceiling < planned_target);
        // Memory: keep room for the day's highest working set, as the CPU plan keeps room
        // for the long-horizon peak.
        let memory_plan = context
            .memory_now_gib()
            .max(context.features.get(Feature::MemoryMax24h).unwrap_or(0.0));
        let by_memory = context
            .replicas_for_memory(memory_plan * (1.0 + policy.scale_down_margin))
            .unwrap_or(0);
        let memory_floor = context.replicas_for_memory(memory_plan).unwrap_or(0);
        let by_cpu = ceiling.unwrap_or(planned_target);
        let target = by_cpu.max(by_memory);
        let floor = context
            .replicas_at(planned, utilization)
            .min(by_cpu)
            .max(memory_floor);
        let min_freed = ((f64::from(spec) * policy.scale_down_min_fraction).ceil() as i32).max(1);
        if spec - target < min_freed {
            return Vec::new();
        }

        let (target, freed_nodes) = prefer_node_freeing(context, target, floor);
        let mut effect = context.effect(target);
        let mut reason = format!(
            "the larger of the upper forecast {:.2} cores and the long-horizon peak {peak:.2} cores, with {:.0}% margin, needs {planned_target} replicas at {:.0}% of the request; {spec} specified",
            context.prediction.cpu_upper_cores,
            policy.scale_down_margin * 100.0,
            utilization * 100.0,
        );
        if by_memory > by_cpu {
            reason.push_str(&format!(
                "; the day's highest working set, {memory_plan:.2} GiB with {:.0}% margin, needs {by_memory} replicas at {:.0}% of the memory limit",
                policy.scale_down_margin * 100.0,
                policy.memory_safe_utilization * 100.0
            ));
        }
        if let Some(ceiling) = ceiling {
            reason.push_str(&format!(
                "; only {ceiling} replicas' CPU limits fit in the Ready nodes' CPU, so replicas above that share cores and add no capacity"
            ));
        }
        if !freed_nodes.is_empty() {
            effect.watts -= policy.node_idle_watts * freed_nodes.len() as f64;
            reason.push_str(&format!(
                "; removing {} replicas can empty {}, if the pods there are the ones deleted (the ReplicaSet controller spreads deletions unless pod-deletion-cost annotations steer them)",
                spec - target,
                freed_nodes.join(", ")
            ));
        }
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

/// CPU requests on `node` of everything but this workload's pods (background included), in
/// millicores.
fn other_requests(node: &NodeObservation, placement: &BTreeMap<String, u32>, request: i64) -> i64 {
    node.cpu_requested_milli - i64::from(placement.get(&node.name).copied().unwrap_or(0)) * request
}

/// Picks a removal that can empty whole nodes, when one fits between the planned target and
/// the floor without margin. Nodes are emptied in ascending order of this workload's pods on
/// them. A node counts only when its other requests are no more than the smallest any node
/// carries (the background every node has), because a node that also serves other workloads
/// stays powered. Returns the target and the nodes it may free.
fn prefer_node_freeing(context: &WorkloadContext, target: i32, floor: i32) -> (i32, Vec<String>) {
    let spec = context.workload.spec_replicas;
    let request = context.workload.cpu_request_milli;
    let placement = context.workload.summary().placement;
    let others = |node: &NodeObservation| other_requests(node, &placement, request);
    let background = context.snapshot.nodes.iter().map(others).min().unwrap_or(0);
    let mut nodes: Vec<(u32, &str)> = context
        .snapshot
        .nodes
        .iter()
        .filter(|node| others(node) <= background)
        .filter_map(|node| {
            placement
                .get(&node.name)
                .map(|pods| (*pods, node.name.as_str()))
        })
        .collect();
    nodes.sort_unstable();

    let mut removed = 0i32;
    let mut freed = Vec::new();
    for (pods, name) in nodes {
        removed = removed.saturating_add(i32::try_from(pods).unwrap_or(i32::MAX));
        freed.push(name.to_owned());
        let candidate = spec - removed;
        if candidate < floor {
            break;
        }
        if candidate <= target {
            return (candidate, freed);
        }
    }
    (target, Vec::new())
}

/// Agent C, reliability.
///
/// Policy, per workload and tick:
/// - Restart: when the highest working set reaches `restart_memory_threshold` of the memory
///   limit and still grows by at least `restart_min_memory_trend` GiB per hour, the risk is
///   an OOM kill that a rollout restart cures (a leak), so C proposes `RolloutRestart`.
/// - Hold: C holds while pods are still starting (Pending, or Running and not Ready) and the
///   specified replicas already cover the mean forecast at the target utilization. Adding
///   pods before the starting ones are Ready piles up scheduling and start-up work, and
///   removing pods mid-start wastes it.
/// - Cap the load: when Pending pods fit on no node (the cluster itself is saturated) and the
///   comparison's load generator for the workload is uncapped, C caps it at the SLO-safe
///   share of the ready pods' limits; once every pod fits again, C lifts the cap.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reliability;

impl Agent for Reliability {
    fn id(&self) -> AgentId {
        AgentId::Reliability
    }

    fn propose(&self, context: &WorkloadContext) -> Vec<Proposal> {
        let mut proposals = Vec::new();
        if let Some(restart) = self.restart(context) {
            proposals.push(restart);
        }
        if let Some(hold) = self.hold(context) {
            proposals.push(hold);
        }
        if let Some(cap) = self.cap_load(context) {
            proposals.push(cap);
        }
        proposals
    }
}

impl Reliability {
    fn restart(&self, context: &WorkloadContext) -> Option<Proposal> {
        let policy = context.policy;
        let over_limit = context.features.get(Feature::MemoryOverLimit)?;
        let trend = context.features.get(Feature::MemoryTrend1h)?;
        if over_limit < policy.restart_memory_threshold || trend < policy.restart_min_memory_trend {
            return None;
        }
        let spec = context.workload.spec_replicas;
        Some(Proposal {
            agent: self.id(),
            priority: PriorityClass::Risk,
            action: Action::RolloutRestart {
                workload: context.workload.key(),
            },
            score: 1.0,
            effect: context.effect(spec),
            reason: format!(
                "the highest working set is {:.0}% of the memory limit and grows by {trend:.3} GiB per hour, a leak that ends in an OOM kill unless the pods restart",
                over_limit * 100.0
            ),
        })
    }

    fn hold(&self, context: &WorkloadContext) -> Option<Proposal> {
        let starting = context.workload.starting_pods();
        let spec = context.workload.spec_replicas;
        if starting == 0 || context.replicas_for(context.prediction.cpu_mean_cores) > spec {
            return None;
        }
        Some(Proposal {
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
        })
    }

    fn cap_load(&self, context: &WorkloadContext) -> Option<Proposal> {
        let key = context.workload.key();
        let generator = context.snapshot.load_generator(&key)?;
        let unschedulable = context.snapshot.unschedulable_pods();
        let spec = context.workload.spec_replicas;
        let (cap_cores, reason) = match (unschedulable, generator.cap_cores) {
            (0, Some(cap)) => (
                None,
                format!("every pod fits on a node again; lift the load cap of {cap:.2} cores"),
            ),
            (0, None) | (_, Some(_)) => return None,
            (pending, None) => {
                let cap = f64::from(context.workload.ready_replicas.max(1))
                    * context.limit_cores()
                    * context.policy.slo_safe_utilization;
                (
                    Some(cap),
                    format!(
                        "{pending} Pending pods fit on no node, so the cluster is saturated; cap the offered load at {cap:.2} cores, the SLO-safe share of the Ready pods' limits"
                    ),
                )
            }
        };
        Some(Proposal {
            agent: self.id(),
            priority: PriorityClass::Risk,
            action: Action::CapLoad {
                workload: key,
                cap_cores,
            },
            score: 1.0,
            effect: context.effect(spec),
            reason,
        })
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
