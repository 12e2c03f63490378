//! Layer 5, referee: a deterministic choice of one action per workload and tick.
//!
//! # Contract
//!
//! Guarantees:
//! - Determinism: the decision depends only on the configuration, the referee state and the
//!   inputs, never on the order in which proposals arrive (they are sorted first).
//! - Bounds: a chosen scale action stays within `[min_replicas, max_replicas]` and the maximum
//!   step, respects the cooldowns and the actions-per-day budget, and targets only the workload
//!   under decision, inside the allowed namespaces and carrying the exercise label when required.
//! - Accountability: the decision lists every proposal, every adjustment made to fit a bound,
//!   every veto with the bound that caused it, the conflicts between agents, and the reason for
//!   the choice. `Noop` is a legitimate decision and carries its reason.
//!
//! Order of evaluation: hard bounds first (scope, replica range, step, cooldown, daily budget),
//! then the priority class in the configured order, then the proposal's score (larger wins),
//! then the agent order A, B, C, then the target name.
//!
//! Assumptions: the state is updated when a scale action is chosen, whether or not the executor
//! applies it, so a dry run sees the same cooldowns a live run would.
//!
//! Errors: none. A proposal that cannot be applied is vetoed and recorded, never an error.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::action::{Action, AgentId, PriorityClass, Proposal};
use crate::execution::ExecutionRecord;
use crate::features::FeatureVector;
use crate::predict::Prediction;
use crate::snapshot::WorkloadObservation;

/// Version of the decision record's JSON schema.
pub const DECISION_SCHEMA_VERSION: u32 = 1;

/// Hard bounds and ranking of the referee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefereeConfig {
    /// Lowest `spec.replicas` a decision may set. Default 2.
    pub min_replicas: i32,
    /// Highest `spec.replicas` a decision may set. Default 60.
    pub max_replicas: i32,
    /// Largest increase of `spec.replicas` in one decision. Default 10.
    pub max_step_up: i32,
    /// Largest decrease of `spec.replicas` in one decision. Default 4.
    pub max_step_down: i32,
    /// Seconds after any scale action before the next scale-up. Default 60.
    pub cooldown_up_s: f64,
    /// Seconds after any scale action before the next scale-down. Default 300.
    pub cooldown_down_s: f64,
    /// Scale actions allowed per workload per day (days counted from clock 0), or `None` for no
    /// budget. Default `None`.
    pub actions_per_day: Option<u32>,
    /// Priority classes from highest to lowest. Default risk, SLO, efficiency.
    pub priority: Vec<PriorityClass>,
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
            max_step_up: 10,
            max_step_down: 4,
            cooldown_up_s: 60.0,
            cooldown_down_s: 300.0,
            actions_per_day: None,
            priority: vec![
                PriorityClass::Risk,
                PriorityClass::Slo,
                PriorityClass::Efficiency,
            ],
            allowed_namespaces: Vec::new(),
            require_exercise_label: true,
        }
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
    /// `cooldown_up_s` or `cooldown_down_s`.
    Cooldown,
    /// `actions_per_day`.
    ActionsPerDay,
    /// After adjustment the action would not change anything.
    NoChange,
}

/// A proposal the referee rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Veto {
    /// The proposing agent.
    pub agent: AgentId,
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
    /// Replicas the agent proposed.
    pub requested: i32,
    /// Replicas the bound allows.
    pub allowed: i32,
}

/// Disagreement between agents on the same workload, before bounds are applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Conflict {
    /// One agent wants more replicas while another wants fewer.
    OpposingScale {
        /// Agent that wants more.
        up_agent: AgentId,
        /// Replicas it wants.
        up_to: i32,
        /// Agent that wants fewer.
        down_agent: AgentId,
        /// Replicas it wants.
        down_to: i32,
    },
    /// One agent wants to hold while another wants to scale.
    HoldAgainstScale {
        /// Agent that holds.
        hold_agent: AgentId,
        /// Agent that wants to scale.
        scale_agent: AgentId,
        /// Replicas it wants.
        scale_to: i32,
    },
}

/// The record of one workload's decision at one tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Version of this record's schema ([`DECISION_SCHEMA_VERSION`]).
    pub schema_version: u32,
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
    /// Features the layers used.
    pub features: FeatureVector,
    /// The prediction the agents used.
    pub prediction: Prediction,
    /// Every proposal, in canonical order (agent, then action).
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
    /// What the executor did, attached before the record is stored.
    pub execution: Option<ExecutionRecord>,
}

/// Per-workload memory of the referee: the last scale action and the daily action counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RefereeState {
    last_scale_s: BTreeMap<String, f64>,
    actions_per_day: BTreeMap<String, (i64, u32)>,
}

impl RefereeState {
    fn actions_today(&self, workload: &str, day: i64) -> u32 {
        match self.actions_per_day.get(workload) {
            Some((counted_day, count)) if *counted_day == day => *count,
            _ => 0,
        }
    }

    fn record_scale(&mut self, workload: &str, time_s: f64) {
        let day = day_of(time_s);
        let count = self.actions_today(workload, day) + 1;
        self.actions_per_day
            .insert(workload.to_owned(), (day, count));
        self.last_scale_s.insert(workload.to_owned(), time_s);
    }
}

fn day_of(time_s: f64) -> i64 {
    (time_s / 86_400.0).floor() as i64
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
    /// The workload under decision.
    pub workload: &'a WorkloadObservation,
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
    /// Creates a referee with the given configuration.
    pub fn new(config: RefereeConfig) -> Self {
        Self { config }
    }

    /// Decides one workload's action and updates `state` when a scale action is chosen.
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
                    bound,
                    reason,
                }),
            }
        }
        let conflicts = find_conflicts(&proposals);

        candidates.sort_by(|a, b| self.rank(a, b));
        let (action, chosen_agent, reason) = match candidates.first() {
            Some(winner) => {
                let mut reason = format!(
                    "chose {}: {}",
                    winner.proposal.agent.label(),
                    winner.proposal.reason
                );
                for other in &candidates[1..] {
                    reason.push_str(&format!(
                        "; outranked {} ({:?} priority)",
                        other.proposal.agent.label(),
                        other.proposal.priority
                    ));
                }
                (winner.action.clone(), Some(winner.proposal.agent), reason)
            }
            None if proposals.is_empty() => {
                (Action::Noop, None, "no agent proposed a change".to_owned())
            }
            None => (
                Action::Noop,
                None,
                format!("all {} proposals were vetoed", proposals.len()),
            ),
        };
        if let Action::Scale { workload, .. } = &action {
            state.record_scale(workload, input.time_s);
        }

        Decision {
            schema_version: DECISION_SCHEMA_VERSION,
            cluster: input.cluster.to_owned(),
            tick: input.tick,
            time_s: input.time_s,
            workload: workload_key,
            spec_replicas: input.workload.spec_replicas,
            ready_replicas: input.workload.ready_replicas,
            features: input.features.clone(),
            prediction: input.prediction.clone(),
            proposals,
            adjustments,
            vetoes,
            conflicts,
            action,
            chosen_agent,
            reason,
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
                    "namespace `{}` is not in the allowed list",
                    input.workload.namespace
                ),
            ));
        }
        if config.require_exercise_label && !input.workload.is_exercise() {
            return Err((
                Bound::Scope,
                format!(
                    "`{workload_key}` lacks the label {}=true",
                    crate::snapshot::EXERCISE_LABEL
                ),
            ));
        }
        let Action::Scale { workload, from, to } = &proposal.action else {
            return Ok(proposal.action.clone());
        };
        let (from, requested) = (*from, *to);

        let mut allowed = requested;
        let mut adjust = |bound: Bound, limit: i32, allowed: &mut i32| {
            adjustments.push(Adjustment {
                agent: proposal.agent,
                bound,
                requested: *allowed,
                allowed: limit,
            });
            *allowed = limit;
        };
        if allowed > config.max_replicas {
            adjust(Bound::MaxReplicas, config.max_replicas, &mut allowed);
        }
        if allowed < config.min_replicas {
            adjust(Bound::MinReplicas, config.min_replicas, &mut allowed);
        }
        if allowed - from > config.max_step_up {
            adjust(Bound::MaxStep, from + config.max_step_up, &mut allowed);
        }
        if from - allowed > config.max_step_down {
            adjust(Bound::MaxStep, from - config.max_step_down, &mut allowed);
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
        if let Some(budget) = config.actions_per_day {
            let used = state.actions_today(workload_key, day_of(input.time_s));
            if used >= budget {
                return Err((
                    Bound::ActionsPerDay,
                    format!("{used} scale actions today; the budget is {budget}"),
                ));
            }
        }
        Ok(Action::Scale {
            workload: workload.clone(),
            from,
            to: allowed,
        })
    }

    fn priority_rank(&self, class: PriorityClass) -> usize {
        self.config
            .priority
            .iter()
            .position(|known| *known == class)
            .unwrap_or(usize::MAX)
    }

    fn rank(&self, a: &Candidate, b: &Candidate) -> Ordering {
        self.priority_rank(a.proposal.priority)
            .cmp(&self.priority_rank(b.proposal.priority))
            .then_with(|| b.proposal.score.total_cmp(&a.proposal.score))
            .then_with(|| a.proposal.agent.cmp(&b.proposal.agent))
            .then_with(|| a.action.workload().cmp(&b.action.workload()))
    }
}

/// Canonical proposal order: agent, target, then the action's replicas.
fn compare_proposals(a: &Proposal, b: &Proposal) -> Ordering {
    let key = |proposal: &Proposal| {
        let to = match proposal.action {
            Action::Scale { to, .. } => to,
            _ => i32::MIN,
        };
        (
            proposal.agent,
            proposal.action.workload().map(str::to_owned),
            to,
        )
    };
    key(a)
        .cmp(&key(b))
        .then_with(|| a.score.total_cmp(&b.score))
        .then_with(|| a.reason.cmp(&b.reason))
}

fn find_conflicts(proposals: &[Proposal]) -> Vec<Conflict> {
    let mut conflicts = Vec::new();
    for up in proposals.iter().filter(|p| p.action.replica_delta() > 0) {
        for down in proposals.iter().filter(|p| p.action.replica_delta() < 0) {
            if up.action.workload() == down.action.workload() {
                let to = |p: &Proposal| match p.action {
                    Action::Scale { to, .. } => to,
                    _ => 0,
                };
                conflicts.push(Conflict::OpposingScale {
                    up_agent: up.agent,
                    up_to: to(up),
                    down_agent: down.agent,
                    down_to: to(down),
                });
            }
        }
    }
    for hold in proposals
        .iter()
        .filter(|p| matches!(p.action, Action::Hold { .. }))
    {
        for scale in proposals.iter().filter(|p| p.action.replica_delta() != 0) {
            if let Action::Scale { to, .. } = scale.action
                && hold.action.workload() == scale.action.workload()
            {
                conflicts.push(Conflict::HoldAgainstScale {
                    hold_agent: hold.agent,
                    scale_agent: scale.agent,
                    scale_to: to,
                });
            }
        }
    }
    conflicts
}
