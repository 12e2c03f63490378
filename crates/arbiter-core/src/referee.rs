//! Layer 5, referee: a deterministic choice of one action per workload and tick.
//!
//! # Contract
//!
//! Guarantees, each checked by the property tests in `tests/referee_properties.rs`:
//! - Determinism: the decision depends only on the configuration, the referee state and the
//!   inputs. Proposals are sorted into a canonical order first, so the order in which they
//!   arrive changes nothing, and the order in which workloads are decided changes nothing
//!   because the state is kept per workload.
//! - Bounds: a chosen scale action sets `spec.replicas` within `[min_replicas, max_replicas]`
//!   and within the maximum step of the observed `spec.replicas`, and respects the cooldowns.
//!   One exception: when the observed `spec.replicas` is already outside the range, the step
//!   bound yields to the range, so a single decision may move further to get back inside.
//! - Scope: a chosen action targets only the workload under decision, inside the allowed
//!   namespaces and carrying the exercise label when required.
//! - Budget: at most `actions_per_day` changing actions (scale, rollout restart, load cap) per
//!   workload per day, days counted from clock 0. `Hold` and `Noop` are not actions.
//! - Accountability: the decision lists every proposal, every adjustment made to fit a bound,
//!   every veto with the bound that caused it, the conflicts between agents with their
//!   winner, and the reason for the choice. `Noop` is a legitimate decision with its reason.
//!
//! Order of evaluation: the hard bounds come first (scope, replica range, step, cooldown,
//! disruption budget, actions-per-day budget). Candidates that pass rank by priority class in
//! the configured order, then by the proposal's score times its agent's weight (larger wins).
//! Ties break by agent order A, B, C, then target name, then action kind (load cap, restart,
//! scale, hold) and replicas.
//!
//! Assumptions: the state is updated when a changing action is chosen, whether or not the
//! executor applies it, so a dry run sees the same cooldowns and budget a live run would.
//! A stored run replays exactly only from its first decision, because the state starts empty.
//!
//! Errors: [`RefereeConfig::validate`] rejects configurations that make no sense. `decide`
//! itself returns no error: a proposal that cannot be applied is vetoed and recorded.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::action::{Action, AgentId, PriorityClass, Proposal};
use crate::controller::ControllerMode;
use crate::error::CoreError;
use crate::execution::ExecutionRecord;
use crate::features::FeatureVector;
use crate::predict::Prediction;
use crate::snapshot::{EXERCISE_LABEL, ObservedWorkload};

/// Version of the decision record's JSON schema. Version 2 added `mode`, `observed`,
/// `actions_today`, `referee_config_digest`, the conflict winner, the rollout-restart and
/// load-cap actions and `prediction.cpu_peak_cores`.
pub const DECISION_SCHEMA_VERSION: u32 = 2;

/// Weights the referee multiplies each agent's score by before comparing scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentWeights {
    /// Weight of agent A. Default 1.
    pub slo_guard: f64,
    /// Weight of agent B. Default 1.
    pub efficiency: f64,
    /// Weight of agent C. Default 1.
    pub reliability: f64,
}

impl Default for AgentWeights {
    fn default() -> Self {
        Self {
            slo_guard: 1.0,
            efficiency: 1.0,
            reliability: 1.0,
        }
    }
}

impl AgentWeights {
    /// Returns one agent's weight.
    pub fn of(&self, agent: AgentId) -> f64 {
        match agent {
            AgentId::SloGuard => self.slo_guard,
            AgentId::Efficiency => self.efficiency,
            AgentId::Reliability => self.reliability,
        }
    }
}

/// Hard bounds and ranking of the referee. Absent fields take their defaults when
/// deserialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefereeConfig {
    /// Lowest `spec.replicas` a decision may set. Default 2.
    pub min_replicas: i32,
    /// Highest `spec.replicas` a decision may set. Default 60.
    pub max_replicas: i32,
    /// Largest increase of `spec.replicas` in one decision. Default 30, so that one decision
    /// can follow a burst.
    pub max_step_up: i32,
    /// Largest decrease of `spec.replicas` in one decision. Default 30.
    pub max_step_down: i32,
    /// Seconds after any scale action before the next scale-up. Default 60.
    pub cooldown_up_s: f64,
    /// Seconds after any scale action before the next scale-down. Default 21,600 (six hours).
    pub cooldown_down_s: f64,
    /// Seconds after a rollout restart before the next one. Default 3,600.
    pub restart_cooldown_s: f64,
    /// Disruption budget: the share of `spec.replicas` that may be unavailable, rounded up as
    /// a PodDisruptionBudget's `maxUnavailable` percentage is. A rollout restart takes one
    /// more pod down at a time, so it is vetoed unless one more fits. Scale-downs are not
    /// disruptions, as for a PodDisruptionBudget; `max_step_down` limits them. Default 0.25.
    pub max_unavailable_fraction: f64,
    /// Changing actions allowed per workload per day (days counted from clock 0), or `None`
    /// for no budget. Default 6.
    pub actions_per_day: Option<u32>,
    /// Priority classes from highest to lowest. Default risk, SLO, efficiency. A class left
    /// out ranks below every listed class.
    pub priority: Vec<PriorityClass>,
    /// Weights of the agents' scores.
    pub weights: AgentWeights,
    /// Namespaces a decision may touch; empty allows every namespace. Default empty.
    pub allowed_namespaces: Vec<String>,
    /// Whether the workload must carry the exercise label. Default true.
    pub require_exercise_label: bool,
}

impl Default for RefereeConfig {
    fn default() -> Self {
        Self {
            min_replicas: 2,
            max_replicas: 60,
            max_step_up: 30,
            max_step_down: 30,
            cooldown_up_s: 60.0,
            cooldown_down_s: 21_600.0,
            restart_cooldown_s: 3_600.0,
            max_unavailable_fraction: 0.25,
            actions_per_day: Some(6),
            priority: vec![
                PriorityClass::Risk,
                PriorityClass::Slo,
                PriorityClass::Efficiency,
            ],
            weights: AgentWeights::default(),
            allowed_namespaces: Vec::new(),
            require_exercise_label: true,
        }
    }
}

impl RefereeConfig {
    /// Checks that the bounds make sense: `0 <= min_replicas <= max_replicas`, steps of at
    /// least 1, finite non-negative cooldowns and weights, a disruption share in [0, 1] and
    /// no priority class listed twice.
    pub fn validate(&self) -> Result<(), CoreError> {
        let invalid = |field: &str, value: String, expected: &str| {
            Err(CoreError::InvalidConfig {
                field: format!("referee.{field}"),
                value,
                expected: expected.to_owned(),
            })
        };
        if self.min_replicas < 0 {
            return invalid("min_replicas", self.min_replicas.to_string(), "0 or more");
        }
        if self.max_replicas < self.min_replicas {
            return invalid(
                "max_replicas",
                self.max_replicas.to_string(),
                "at least min_replicas",
            );
        }
        for (field, step) in [
            ("max_step_up", self.max_step_up),
            ("max_step_down", self.max_step_down),
        ] {
            if step < 1 {
                return invalid(field, step.to_string(), "1 or more");
            }
        }
        for (field, value) in [
            ("cooldown_up_s", self.cooldown_up_s),
            ("cooldown_down_s", self.cooldown_down_s),
            ("restart_cooldown_s", self.restart_cooldown_s),
            ("weights.slo_guard", self.weights.slo_guard),
            ("weights.efficiency", self.weights.efficiency),
            ("weights.reliability", self.weights.reliability),
        ] {
            if !value.is_finite() || value < 0.0 {
                return invalid(field, value.to_string(), "a finite number, 0 or more");
            }
        }
        if !(0.0..=1.0).contains(&self.max_unavailable_fraction) {
            return invalid(
                "max_unavailable_fraction",
                self.max_unavailable_fraction.to_string(),
                "a share between 0 and 1",
            );
        }
        for (index, class) in self.priority.iter().enumerate() {
            if self.priority[..index].contains(class) {
                return invalid(
                    "priority",
                    format!("{:?}", self.priority),
                    "each class (risk, slo, efficiency) at most once",
                );
            }
        }
        Ok(())
    }

    /// Returns a 16-hex-digit FNV-1a digest of the configuration's JSON, stored in every
    /// decision so that a replay can tell whether it runs the recorded configuration.
    pub fn digest(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in text.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

/// The bound that vetoed or adjusted a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The target is outside the allowed namespaces, lacks the exercise label, or is not the
    /// workload under decision.
    Scope,
    /// `min_replicas`.
    MinReplicas,
    /// `max_replicas`.
    MaxReplicas,
    /// `max_step_up` or `max_step_down`.
    MaxStep,
    /// `cooldown_up_s`, `cooldown_down_s` or `restart_cooldown_s`.
    Cooldown,
    /// `max_unavailable_fraction`.
    DisruptionBudget,
    /// `actions_per_day`.
    ActionsPerDay,
    /// After adjustment the action would not change anything.
    NoChange,
    /// The action carries a value no executor can apply, such as a load cap that is negative
    /// or not finite.
    Malformed,
}

/// A proposal the referee rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Veto {
    /// The proposing agent.
    pub agent: AgentId,
    /// The rejected action.
    pub action: Action,
    /// The bound that rejected it.
    pub bound: Bound,
    /// Why, with the values involved.
    pub reason: String,
}

/// A proposal the referee changed to fit a bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    /// The proposing agent.
    pub agent: AgentId,
    /// The bound applied.
    pub bound: Bound,
    /// Replicas before the bound was applied.
    pub requested: i32,
    /// Replicas the bound allows.
    pub allowed: i32,
}

/// Kind of disagreement between two agents on the same workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// One agent wants more replicas while another wants fewer (for example A wants +3 and B
    /// wants -1).
    OpposingScale,
    /// One agent wants to hold while another wants to scale.
    HoldAgainstScale,
    /// One agent wants to restart the pods while another wants to scale.
    RestartAgainstScale,
}

/// Disagreement between two agents' proposals, before bounds are applied, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// Kind of disagreement.
    pub kind: ConflictKind,
    /// The agent that wants more replicas, or wants to hold or restart.
    pub first_agent: AgentId,
    /// Its proposed action.
    pub first_action: Action,
    /// The agent that wants fewer replicas or to scale.
    pub second_agent: AgentId,
    /// Its proposed action.
    pub second_action: Action,
    /// The side whose proposal was chosen, or `None` when neither was (both vetoed, or a
    /// third proposal won).
    pub winner: Option<AgentId>,
}

/// The record of one workload's decision at one tick. `docs/decision-record.md` documents
/// every field; `docs/decision-record.schema.json` is its JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Version of this record's schema ([`DECISION_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Whether the controller acts or only records (shadow mode).
    pub mode: ControllerMode,
    /// Cluster the decision is for.
    pub cluster: String,
    /// Controller tick number, from 0.
    pub tick: u64,
    /// Decision time in seconds on the cluster's clock.
    pub time_s: f64,
    /// Workload key `namespace/name`.
    pub workload: String,
    /// `spec.replicas` when deciding.
    pub spec_replicas: i32,
    /// Ready replicas when deciding.
    pub ready_replicas: i32,
    /// The referee's view of the workload, as replay needs it.
    pub observed: ObservedWorkload,
    /// Features the layers used.
    pub features: FeatureVector,
    /// The prediction the agents used.
    pub prediction: Prediction,
    /// Every proposal, in canonical order.
    pub proposals: Vec<Proposal>,
    /// Proposals changed to fit a bound.
    pub adjustments: Vec<Adjustment>,
    /// Proposals rejected by a bound.
    pub vetoes: Vec<Veto>,
    /// Conflicts between the agents' proposals.
    pub conflicts: Vec<Conflict>,
    /// The chosen action, possibly `Noop`.
    pub action: Action,
    /// Agent whose proposal was chosen, if any.
    pub chosen_agent: Option<AgentId>,
    /// Why this action was chosen.
    pub reason: String,
    /// Changing actions of this workload on this day, this decision included.
    pub actions_today: u32,
    /// [`RefereeConfig::digest`] of the configuration that decided.
    pub referee_config_digest: String,
    /// What the executor did, attached before the record is stored.
    pub execution: Option<ExecutionRecord>,
}

impl Decision {
    /// Returns whether the executor must only record the action (shadow mode).
    pub fn dry_run(&self) -> bool {
        self.mode == ControllerMode::Shadow
    }

    /// Returns the inputs the referee decided from, for replaying this decision.
    pub fn input(&self) -> DecisionInput<'_> {
        DecisionInput {
            cluster: &self.cluster,
            tick: self.tick,
            time_s: self.time_s,
            mode: self.mode,
            workload: &self.observed,
            features: &self.features,
            prediction: &self.prediction,
        }
    }
}

/// Per-workload memory of the referee: the last scale and restart and the daily action counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefereeState {
    last_scale_s: BTreeMap<String, f64>,
    last_restart_s: BTreeMap<String, f64>,
    actions_per_day: BTreeMap<String, (i64, u32)>,
}

impl RefereeState {
    /// Counts the changing actions chosen for `workload` on the day that contains `time_s`.
    pub fn actions_today(&self, workload: &str, time_s: f64) -> u32 {
        match self.actions_per_day.get(workload) {
            Some((counted_day, count)) if *counted_day == day_of(time_s) => *count,
            _ => 0,
        }
    }

    fn record(&mut self, action: &Action, time_s: f64) {
        let Some(workload) = action.workload() else {
            return;
        };
        if !action.is_change() {
            return;
        }
        let count = self.actions_today(workload, time_s) + 1;
        self.actions_per_day
            .insert(workload.to_owned(), (day_of(time_s), count));
        match action {
            Action::Scale { .. } => {
                self.last_scale_s.insert(workload.to_owned(), time_s);
            }
            Action::RolloutRestart { .. } => {
                self.last_restart_s.insert(workload.to_owned(), time_s);
            }
            _ => {}
        }
    }
}

/// Returns the day number of a time in seconds, counted from clock 0. Days are the intervals
/// (86,400 d, 86,400 (d + 1)], so a decision taken at the end of a tick belongs to the day the
/// tick ran in: one simulated day of 15 s ticks is exactly one day.
pub fn day_of(time_s: f64) -> i64 {
    if time_s > 0.0 {
        (time_s / 86_400.0).ceil() as i64 - 1
    } else {
        0
    }
}

/// Inputs of one decision.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    /// Cluster name.
    pub cluster: &'a str,
    /// Controller tick number.
    pub tick: u64,
    /// Decision time in seconds.
    pub time_s: f64,
    /// Whether the controller acts or only records.
    pub mode: ControllerMode,
    /// The workload under decision.
    pub workload: &'a ObservedWorkload,
    /// Its features.
    pub features: &'a FeatureVector,
    /// Its prediction.
    pub prediction: &'a Prediction,
}

/// Layer 5: chooses one action per workload under hard bounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Referee {
    /// Bounds and ranking.
    pub config: RefereeConfig,
}

/// A proposal that passed the bounds, with the action as adjusted.
struct Candidate<'p> {
    proposal: &'p Proposal,
    action: Action,
}

impl Referee {
    /// Creates a referee with the given configuration, unchecked (see [`Referee::try_new`]).
    pub fn new(config: RefereeConfig) -> Self {
        Self { config }
    }

    /// Creates a referee after [`RefereeConfig::validate`] accepts the configuration.
    pub fn try_new(config: RefereeConfig) -> Result<Self, CoreError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// Decides one workload's action and updates `state` when a changing action is chosen.
    pub fn decide(
        &self,
        state: &mut RefereeState,
        input: DecisionInput,
        mut proposals: Vec<Proposal>,
    ) -> Decision {
        proposals.sort_by(compare_proposals);
        let workload_key = input.workload.key();
        let mut adjustments = Vec::new();
        let mut vetoes = Vec::new();
        let mut candidates = Vec::new();
        for proposal in &proposals {
            match self.check(state, &input, &workload_key, proposal, &mut adjustments) {
                Ok(action) => candidates.push(Candidate { proposal, action }),
                Err((bound, reason)) => vetoes.push(Veto {
                    agent: proposal.agent,
                    action: proposal.action.clone(),
                    bound,
                    reason,
                }),
            }
        }

        candidates.sort_by(|a, b| self.rank(a, b));
        let (action, chosen_agent, chosen_proposal, reason) = match candidates.first() {
            Some(winner) => {
                let mut reason = format!(
                    "chose {}: {}",
                    winner.proposal.agent.label(),
                    winner.proposal.reason
                );
                for other in &candidates[1..] {
                    reason.push_str(&format!(
                        "; outranked {} {} ({:?} priority, weighted score {:.3})",
                        other.proposal.agent.label(),
                        other.action.kind(),
                        other.proposal.priority,
                        self.weighted_score(other.proposal),
                    ));
                }
                (
                    winner.action.clone(),
                    Some(winner.proposal.agent),
                    Some(winner.proposal),
                    reason,
                )
            }
            None if proposals.is_empty() => (
                Action::Noop,
                None,
                None,
                "no agent proposed a change".to_owned(),
            ),
            None => {
                let vetoed: Vec<String> = vetoes
                    .iter()
                    .map(|veto| {
                        format!(
                            "{} {} by {:?}",
                            veto.agent.label(),
                            veto.action.kind(),
                            veto.bound
                        )
                    })
                    .collect();
                (
                    Action::Noop,
                    None,
                    None,
                    format!(
                        "all {} proposals were vetoed: {}",
                        proposals.len(),
                        vetoed.join(", ")
                    ),
                )
            }
        };
        let conflicts = find_conflicts(&proposals, chosen_proposal);
        state.record(&action, input.time_s);

        Decision {
            schema_version: DECISION_SCHEMA_VERSION,
            mode: input.mode,
            cluster: input.cluster.to_owned(),
            tick: input.tick,
            time_s: input.time_s,
            workload: workload_key.clone(),
            spec_replicas: input.workload.spec_replicas,
            ready_replicas: input.workload.ready_replicas,
            observed: input.workload.clone(),
            features: input.features.clone(),
            prediction: input.prediction.clone(),
            proposals,
            adjustments,
            vetoes,
            conflicts,
            action,
            chosen_agent,
            reason,
            actions_today: state.actions_today(&workload_key, input.time_s),
            referee_config_digest: self.config.digest(),
            execution: None,
        }
    }

    /// Applies the hard bounds to one proposal: the adjusted action, or the vetoing bound.
    fn check(
        &self,
        state: &RefereeState,
        input: &DecisionInput,
        workload_key: &str,
        proposal: &Proposal,
        adjustments: &mut Vec<Adjustment>,
    ) -> Result<Action, (Bound, String)> {
        self.check_scope(input, workload_key, proposal)?;
        match &proposal.action {
            Action::Noop | Action::Hold { .. } => Ok(proposal.action.clone()),
            Action::Scale { to, .. } => {
                self.check_scale(state, input, workload_key, proposal.agent, *to, adjustments)
            }
            Action::RolloutRestart { .. } => {
                self.check_restart(state, input, workload_key)?;
                self.check_budget(state, input, workload_key)?;
                Ok(proposal.action.clone())
            }
            Action::CapLoad { cap_cores, .. } => {
                if let Some(cap) = cap_cores
                    && (!cap.is_finite() || *cap < 0.0)
                {
                    return Err((
                        Bound::Malformed,
                        format!("load cap {cap} cores is not a finite number, 0 or more"),
                    ));
                }
                self.check_budget(state, input, workload_key)?;
                Ok(proposal.action.clone())
            }
        }
    }

    fn check_scope(
        &self,
        input: &DecisionInput,
        workload_key: &str,
        proposal: &Proposal,
    ) -> Result<(), (Bound, String)> {
        let config = &self.config;
        let target = proposal.action.workload().unwrap_or_default();
        if target != workload_key {
            return Err((
                Bound::Scope,
                format!("targets `{target}`, not the workload under decision `{workload_key}`"),
            ));
        }
        if !config.allowed_namespaces.is_empty()
            && !config
                .allowed_namespaces
                .contains(&input.workload.namespace)
        {
            return Err((
                Bound::Scope,
                format!(
                    "namespace `{}` is not in the allowed list {:?}",
                    input.workload.namespace, config.allowed_namespaces
                ),
            ));
        }
        if config.require_exercise_label && !input.workload.is_exercise() {
            return Err((
                Bound::Scope,
                format!("`{workload_key}` lacks the label {EXERCISE_LABEL}=true"),
            ));
        }
        Ok(())
    }

    fn check_scale(
        &self,
        state: &RefereeState,
        input: &DecisionInput,
        workload_key: &str,
        agent: AgentId,
        requested: i32,
        adjustments: &mut Vec<Adjustment>,
    ) -> Result<Action, (Bound, String)> {
        let config = &self.config;
        // The observed spec.replicas is the truth; a proposal's `from` may be stale.
        let from = input.workload.spec_replicas;
        let mut allowed = requested;
        let mut adjust = |bound: Bound, limit: i32, allowed: &mut i32| {
            adjustments.push(Adjustment {
                agent,
                bound,
                requested: *allowed,
                allowed: limit,
            });
            *allowed = limit;
        };
        let step_up_limit = from.saturating_add(config.max_step_up.max(1));
        let step_down_limit = from.saturating_sub(config.max_step_down.max(1));
        if allowed > step_up_limit {
            adjust(Bound::MaxStep, step_up_limit, &mut allowed);
        }
        if allowed < step_down_limit {
            adjust(Bound::MaxStep, step_down_limit, &mut allowed);
        }
        if allowed > config.max_replicas {
            adjust(Bound::MaxReplicas, config.max_replicas, &mut allowed);
        }
        if allowed < config.min_replicas {
            adjust(Bound::MinReplicas, config.min_replicas, &mut allowed);
        }
        if allowed == from {
            return Err((
                Bound::NoChange,
                format!(
                    "{requested} replicas requested, {from} after the bounds, which is no change"
                ),
            ));
        }

        if let Some(last) = state.last_scale_s.get(workload_key) {
            let since = input.time_s - last;
            let cooldown = if allowed > from {
                config.cooldown_up_s
            } else {
                config.cooldown_down_s
            };
            if since < cooldown {
                return Err((
                    Bound::Cooldown,
                    format!(
                        "last scale {since:.0} s ago; the cooldown for this direction is {cooldown:.0} s"
                    ),
                ));
            }
        }
        self.check_budget(state, input, workload_key)?;
        Ok(Action::Scale {
            workload: workload_key.to_owned(),
            from,
            to: allowed,
        })
    }

    fn check_restart(
        &self,
        state: &RefereeState,
        input: &DecisionInput,
        workload_key: &str,
    ) -> Result<(), (Bound, String)> {
        let config = &self.config;
        if let Some(last) = state.last_restart_s.get(workload_key) {
            let since = input.time_s - last;
            if since < config.restart_cooldown_s {
                return Err((
                    Bound::Cooldown,
                    format!(
                        "last rollout restart {since:.0} s ago; the restart cooldown is {:.0} s",
                        config.restart_cooldown_s
                    ),
                ));
            }
        }
        let spec = input.workload.spec_replicas.max(0);
        let unavailable = (spec - input.workload.ready_replicas).max(0);
        let budget = (f64::from(spec) * config.max_unavailable_fraction).ceil() as i32;
        if unavailable + 1 > budget {
            return Err((
                Bound::DisruptionBudget,
                format!(
                    "{unavailable} of {spec} pods are unavailable and a restart takes one more down; the budget allows {budget} ({:.0}% of spec.replicas)",
                    config.max_unavailable_fraction * 100.0
                ),
            ));
        }
        Ok(())
    }

    fn check_budget(
        &self,
        state: &RefereeState,
        input: &DecisionInput,
        workload_key: &str,
    ) -> Result<(), (Bound, String)> {
        if let Some(budget) = self.config.actions_per_day {
            let used = state.actions_today(workload_key, input.time_s);
            if used >= budget {
                return Err((
                    Bound::ActionsPerDay,
                    format!("{used} actions today; the budget is {budget} per day"),
                ));
            }
        }
        Ok(())
    }

    fn priority_rank(&self, class: PriorityClass) -> usize {
        self.config
            .priority
            .iter()
            .position(|known| *known == class)
            .unwrap_or(usize::MAX)
    }

    /// Returns the proposal's score times its agent's weight; a score that is not a number
    /// ranks last.
    fn weighted_score(&self, proposal: &Proposal) -> f64 {
        let weighted = proposal.score * self.config.weights.of(proposal.agent);
        if weighted.is_nan() {
            f64::NEG_INFINITY
        } else {
            weighted
        }
    }

    fn rank(&self, a: &Candidate, b: &Candidate) -> Ordering {
        self.priority_rank(a.proposal.priority)
            .cmp(&self.priority_rank(b.proposal.priority))
            .then_with(|| {
                self.weighted_score(b.proposal)
                    .total_cmp(&self.weighted_score(a.proposal))
            })
            .then_with(|| a.proposal.agent.cmp(&b.proposal.agent))
            .then_with(|| a.action.workload().cmp(&b.action.workload()))
            .then_with(|| action_key(&a.action).cmp(&action_key(&b.action)))
            .then_with(|| compare_proposals(a.proposal, b.proposal))
    }
}

/// Tie-break key of an action: kind (load cap, restart, scale, hold, noop), then the
/// replicas or the cap.
fn action_key(action: &Action) -> (u8, i64) {
    match action {
        Action::CapLoad { cap_cores, .. } => (0, cap_cores.map_or(-1, |cap| (cap * 1e6) as i64)),
        Action::RolloutRestart { .. } => (1, 0),
        Action::Scale { to, .. } => (2, i64::from(*to)),
        Action::Hold { .. } => (3, 0),
        Action::Noop => (4, 0),
    }
}

/// Canonical proposal order: agent, target, action, then the remaining fields through their
/// JSON text, so that the order is total and the arrival order never matters.
fn compare_proposals(a: &Proposal, b: &Proposal) -> Ordering {
    a.agent
        .cmp(&b.agent)
        .then_with(|| a.action.workload().cmp(&b.action.workload()))
        .then_with(|| action_key(&a.action).cmp(&action_key(&b.action)))
        .then_with(|| a.score.total_cmp(&b.score))
        .then_with(|| {
            let text = |proposal: &Proposal| serde_json::to_string(proposal).unwrap_or_default();
            text(a).cmp(&text(b))
        })
}

fn find_conflicts(proposals: &[Proposal], chosen: Option<&Proposal>) -> Vec<Conflict> {
    let winner = |first: &Proposal, second: &Proposal| {
        chosen.and_then(|chosen| {
            if std::ptr::eq(chosen, first) {
                Some(first.agent)
            } else if std::ptr::eq(chosen, second) {
                Some(second.agent)
            } else {
                None
            }
        })
    };
    let conflict = |kind: ConflictKind, first: &Proposal, second: &Proposal| Conflict {
        kind,
        first_agent: first.agent,
        first_action: first.action.clone(),
        second_agent: second.agent,
        second_action: second.action.clone(),
        winner: winner(first, second),
    };
    let same_target = |a: &Proposal, b: &Proposal| {
        a.agent != b.agent && a.action.workload() == b.action.workload()
    };

    let mut conflicts = Vec::new();
    for up in proposals.iter().filter(|p| p.action.replica_delta() > 0) {
        for down in proposals.iter().filter(|p| p.action.replica_delta() < 0) {
            if same_target(up, down) {
                conflicts.push(conflict(ConflictKind::OpposingScale, up, down));
            }
        }
    }
    for (kind, first_matches) in [
        (
            ConflictKind::HoldAgainstScale,
            (|p: &Proposal| matches!(p.action, Action::Hold { .. })) as fn(&Proposal) -> bool,
        ),
        (ConflictKind::RestartAgainstScale, |p: &Proposal| {
            matches!(p.action, Action::RolloutRestart { .. })
        }),
    ] {
        for first in proposals.iter().filter(|p| first_matches(p)) {
            for scale in proposals.iter().filter(|p| p.action.replica_delta() != 0) {
                if same_target(first, scale) {
                    conflicts.push(conflict(kind, first, scale));
                }
            }
        }
    }
    conflicts
}
