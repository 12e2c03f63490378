//! Counterfactual replay: feeds a run's stored observations and proposals through another
//! referee configuration and reports where the decisions differ and why.
//!
//! The replay changes only the referee. Observations, features, predictions and proposals
//! stay as recorded. After the first decision that differs, the recorded observations no
//! longer match what the other configuration would have produced, because a replayed
//! scale-up that never happened in the recorded run adds no pods to later observations. Read the
//! differences as "what this referee would have chosen, tick by tick, given what the agents
//! saw and proposed", not as a new simulation. With the run's own configuration the replay
//! reproduces every decision exactly, because the referee is a pure function of its
//! configuration, its state and the stored inputs, and the state is rebuilt from the first
//! decision on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::action::{Action, AgentId};
use crate::discipline::{DisciplineFigures, action_discipline};
use crate::error::CoreError;
use crate::referee::{
    Bound, DECISION_SCHEMA_VERSION, Decision, Referee, RefereeConfig, RefereeState, Veto,
};

/// Parses a JSON-lines decisions file, one [`Decision`] per line; blank lines are skipped.
/// `source_name` names the file in errors.
pub fn parse_decisions(text: &str, source_name: &str) -> Result<Vec<Decision>, CoreError> {
    let mut decisions = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if let Some(decision) = parse_decision_line(line, index + 1, source_name)? {
            decisions.push(decision);
        }
    }
    if decisions.is_empty() {
        return Err(CoreError::NoRecords {
            source_name: source_name.to_owned(),
        });
    }
    Ok(decisions)
}

/// Parses one line of a decisions file: `None` for a blank line, an error naming the line for
/// anything that is not a decision of this schema version. For callers that stream large
/// files line by line.
pub fn parse_decision_line(
    line: &str,
    line_number: usize,
    source_name: &str,
) -> Result<Option<Decision>, CoreError> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let invalid = |message: String| CoreError::InvalidRecord {
        source_name: source_name.to_owned(),
        line: line_number,
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|error| invalid(error.to_string()))?;
    let version = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| invalid("missing the number `schema_version`".to_owned()))?;
    if version != u64::from(DECISION_SCHEMA_VERSION) {
        return Err(CoreError::UnsupportedSchema {
            source_name: source_name.to_owned(),
            line: line_number,
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: DECISION_SCHEMA_VERSION,
        });
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|error| invalid(error.to_string()))
}

/// One decision whose chosen action or choosing agent differs in the replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionDifference {
    /// Controller tick.
    pub tick: u64,
    /// Decision time in seconds.
    pub time_s: f64,
    /// Workload key.
    pub workload: String,
    /// The recorded action.
    pub recorded_action: Action,
    /// The agent whose proposal the recorded run chose.
    pub recorded_agent: Option<AgentId>,
    /// The action the replayed referee chose.
    pub replayed_action: Action,
    /// The agent whose proposal the replay chose.
    pub replayed_agent: Option<AgentId>,
    /// Vetoes of the replay that the recorded decision did not have.
    pub new_vetoes: Vec<Veto>,
    /// Explanation of the difference, in words.
    pub explanation: String,
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayReport {
    /// Decisions replayed.
    pub decisions: usize,
    /// Digests of the configurations the recorded decisions name, with their counts.
    pub recorded_digests: BTreeMap<String, usize>,
    /// Digest of the replay's configuration.
    pub replay_digest: String,
    /// Decisions reproduced exactly, every field except the execution record equal.
    pub exact: usize,
    /// Decisions with the same action and agent but another record (reason, vetoes,
    /// adjustments, conflicts, action count or configuration digest).
    pub same_action: usize,
    /// Decisions whose action or agent differs, in replay order.
    pub differences: Vec<DecisionDifference>,
    /// Counts of recorded-to-replayed action kinds over the differences, such as
    /// `scale -> noop`.
    pub transitions: BTreeMap<String, usize>,
    /// Counts of the bounds behind the new vetoes over the differences.
    pub new_vetoes_by_bound: BTreeMap<Bound, usize>,
    /// Action discipline of the recorded decisions.
    pub recorded_discipline: DisciplineFigures,
    /// Action discipline of the replayed decisions.
    pub replayed_discipline: DisciplineFigures,
}

/// Replays `decisions` through a referee with `config`, in (time, tick, workload) order,
/// from an empty referee state. Fails only when `config` is invalid.
pub fn replay(decisions: &[Decision], config: &RefereeConfig) -> Result<ReplayReport, CoreError> {
    let referee = Referee::try_new(config.clone())?;
    let mut ordered: Vec<&Decision> = decisions.iter().collect();
    ordered.sort_by(|a, b| {
        a.time_s
            .total_cmp(&b.time_s)
            .then_with(|| a.tick.cmp(&b.tick))
            .then_with(|| a.workload.cmp(&b.workload))
    });

    let mut state = RefereeState::default();
    let mut report = ReplayReport {
        decisions: ordered.len(),
        recorded_digests: BTreeMap::new(),
        replay_digest: config.digest(),
        exact: 0,
        same_action: 0,
        differences: Vec::new(),
        transitions: BTreeMap::new(),
        new_vetoes_by_bound: BTreeMap::new(),
        recorded_discipline: action_discipline(decisions),
        replayed_discipline: action_discipline(&[]),
    };
    let mut replayed_all = Vec::with_capacity(ordered.len());
    for recorded in ordered {
        *report
            .recorded_digests
            .entry(recorded.referee_config_digest.clone())
            .or_insert(0) += 1;
        let mut replayed = referee.decide(&mut state, recorded.input(), recorded.proposals.clone());
        replayed.execution = recorded.execution.clone();
        if replayed == *recorded {
            report.exact += 1;
        } else if replayed.action == recorded.action
            && replayed.chosen_agent == recorded.chosen_agent
        {
            report.same_action += 1;
        } else {
            let difference = describe(recorded, &replayed);
            *report
                .transitions
                .entry(format!(
                    "{} -> {}",
                    recorded.action.kind(),
                    replayed.action.kind()
                ))
                .or_insert(0) += 1;
            for veto in &difference.new_vetoes {
                *report.new_vetoes_by_bound.entry(veto.bound).or_insert(0) += 1;
            }
            report.differences.push(difference);
        }
        replayed_all.push(replayed);
    }
    report.replayed_discipline = action_discipline(&replayed_all);
    Ok(report)
}

fn describe(recorded: &Decision, replayed: &Decision) -> DecisionDifference {
    let new_vetoes: Vec<Veto> = replayed
        .vetoes
        .iter()
        .filter(|veto| !recorded.vetoes.contains(veto))
        .cloned()
        .collect();
    let mut explanation = format!(
        "recorded {} ({}); replay {} ({})",
        describe_action(&recorded.action),
        recorded
            .chosen_agent
            .map_or("no agent".to_owned(), |agent| agent.label().to_owned()),
        describe_action(&replayed.action),
        replayed
            .chosen_agent
            .map_or("no agent".to_owned(), |agent| agent.label().to_owned()),
    );
    if new_vetoes.is_empty() {
        explanation.push_str(&format!("; replay reason: {}", replayed.reason));
    } else {
        let vetoes: Vec<String> = new_vetoes
            .iter()
            .map(|veto| {
                format!(
                    "{} {} vetoed by {:?}: {}",
                    veto.agent.label(),
                    veto.action.kind(),
                    veto.bound,
                    veto.reason
                )
            })
            .collect();
        explanation.push_str(&format!("; because {}", vetoes.join("; ")));
    }
    DecisionDifference {
        tick: recorded.tick,
        time_s: recorded.time_s,
        workload: recorded.workload.clone(),
        recorded_action: recorded.action.clone(),
        recorded_agent: recorded.chosen_agent,
        replayed_action: replayed.action.clone(),
        replayed_agent: replayed.chosen_agent,
        new_vetoes,
        explanation,
    }
}

/// Describes an action in a few words, for reports.
pub fn describe_action(action: &Action) -> String {
    match action {
        Action::Noop => "noop".to_owned(),
        Action::Scale { from, to, .. } => format!("scale {from} -> {to}"),
        Action::Hold { .. } => "hold".to_owned(),
        Action::RolloutRestart { .. } => "rollout restart".to_owned(),
        Action::CapLoad {
            cap_cores: Some(cap),
            ..
        } => format!("cap load at {cap:.2} cores"),
        Action::CapLoad {
            cap_cores: None, ..
        } => "lift load cap".to_owned(),
    }
}
