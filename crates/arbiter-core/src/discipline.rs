//! Action discipline: how often the controller changes a workload, per workload-day.
//!
//! Few changes matter as much as good ones: every change restarts or drains pods and drops
//! connections. The project's targets are at most 6 actions per workload-day at the 99th
//! percentile and at least 70% of workload-days without any action.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::referee::{Decision, day_of};
use crate::stats::quantile;

/// Actions per workload-day over a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisciplineFigures {
    /// Workload-days with at least one decision: each workload counts once for every day
    /// (from clock 0, 86,400 s long) in which it was decided on. A partial first or last day
    /// counts as a whole one.
    pub workload_days: usize,
    /// Changing actions chosen (scale, rollout restart, load cap), whether or not they were
    /// executed, so that a shadow run counts what it would have done.
    pub actions: u64,
    /// Median of the actions per workload-day, by linear interpolation between ranks.
    pub p50_actions_per_workload_day: f64,
    /// 99th percentile of the actions per workload-day, by linear interpolation between ranks.
    pub p99_actions_per_workload_day: f64,
    /// Most actions on one workload-day.
    pub max_actions_per_workload_day: u32,
    /// Share of workload-days without any action, in [0, 1]; 0 when there are no
    /// workload-days.
    pub share_without_action: f64,
}

/// Streaming counter of actions per workload-day, for callers that see decisions one by one
/// and do not keep them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DisciplineCounter {
    counts: BTreeMap<(String, i64), u32>,
}

impl DisciplineCounter {
    /// Creates an empty counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one decision.
    pub fn add(&mut self, decision: &Decision) {
        let count = self
            .counts
            .entry((decision.workload.clone(), day_of(decision.time_s)))
            .or_insert(0);
        if decision.action.is_change() {
            *count += 1;
        }
    }

    /// Returns the actions of every workload-day, keyed by workload and day number.
    pub fn per_workload_day(&self) -> &BTreeMap<(String, i64), u32> {
        &self.counts
    }

    /// Computes the figures over the decisions counted so far.
    pub fn figures(&self) -> DisciplineFigures {
        let values: Vec<f64> = self
            .counts
            .values()
            .map(|count| f64::from(*count))
            .collect();
        let without = self.counts.values().filter(|count| **count == 0).count();
        DisciplineFigures {
            workload_days: self.counts.len(),
            actions: self.counts.values().map(|count| u64::from(*count)).sum(),
            p50_actions_per_workload_day: quantile(&values, 0.5).unwrap_or(0.0),
            p99_actions_per_workload_day: quantile(&values, 0.99).unwrap_or(0.0),
            max_actions_per_workload_day: self.counts.values().copied().max().unwrap_or(0),
            share_without_action: if self.counts.is_empty() {
                0.0
            } else {
                without as f64 / self.counts.len() as f64
            },
        }
    }
}

/// Computes the action-discipline figures of a run from its decisions.
pub fn action_discipline(decisions: &[Decision]) -> DisciplineFigures {
    let mut counter = DisciplineCounter::new();
    for decision in decisions {
        counter.add(decision);
    }
    counter.figures()
}
