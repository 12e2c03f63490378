//! Actions the agents propose and the executor applies, with the proposal that carries one.

use serde::{Deserialize, Serialize};

/// The three proposing agents, in the fixed tie-break order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AgentId {
    /// Agent A, SLO guard: adds replicas ahead of predicted demand.
    #[serde(rename = "A")]
    SloGuard,
    /// Agent B, efficiency and energy: removes replicas that predicted demand does not need.
    #[serde(rename = "B")]
    Efficiency,
    /// Agent C, reliability: holds, restarts and caps the load generator.
    #[serde(rename = "C")]
    Reliability,
}

impl AgentId {
    /// Returns the agent's one-letter name and role, for messages.
    pub fn label(self) -> &'static str {
        match self {
            AgentId::SloGuard => "A (SLO guard)",
            AgentId::Efficiency => "B (efficiency)",
            AgentId::Reliability => "C (reliability)",
        }
    }
}

/// Priority class of a proposal. The referee ranks classes in a configurable order, by default
/// risk, then SLO, then efficiency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorityClass {
    /// Reliability risk: failures, OOM kills, pile-ups of starting pods.
    Risk,
    /// Latency SLO.
    Slo,
    /// Capacity and energy savings.
    Efficiency,
}

/// A change to a cluster, or the decision not to make one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Action {
    /// Change nothing.
    Noop,
    /// Set the Deployment's `spec.replicas` through the scale subresource.
    Scale {
        /// Workload key `namespace/name`.
        workload: String,
        /// `spec.replicas` when the action was proposed.
        from: i32,
        /// Requested `spec.replicas`.
        to: i32,
    },
    /// Keep the workload as it is while something settles; blocks scaling by lower priorities.
    Hold {
        /// Workload key `namespace/name`.
        workload: String,
    },
    /// Replace the Deployment's pods one by one, as `kubectl rollout restart` does (a patch of
    /// the pod template's `kubectl.kubernetes.io/restartedAt` annotation).
    RolloutRestart {
        /// Workload key `namespace/name`.
        workload: String,
    },
    /// Cap the demand the comparison's load generator offers to a workload, or lift the cap.
    /// Only the simulated comparison has a load generator to cap.
    CapLoad {
        /// Workload key `namespace/name` the generator sends load to.
        workload: String,
        /// Offered load cap in cores of demand, or `None` to lift the cap.
        cap_cores: Option<f64>,
    },
}

impl Action {
    /// Returns the workload an action targets, if any.
    pub fn workload(&self) -> Option<&str> {
        match self {
            Action::Noop => None,
            Action::Scale { workload, .. }
            | Action::Hold { workload }
            | Action::RolloutRestart { workload }
            | Action::CapLoad { workload, .. } => Some(workload),
        }
    }

    /// Returns the signed replica change of a scale action, 0 for every other action.
    pub fn replica_delta(&self) -> i32 {
        match self {
            Action::Scale { from, to, .. } => to - from,
            _ => 0,
        }
    }

    /// Returns whether the action changes the cluster or the load: a scale, a rollout restart
    /// or a load cap. `Noop` and `Hold` change nothing. The referee's actions-per-day budget
    /// and the action-discipline figures count exactly these actions.
    pub fn is_change(&self) -> bool {
        matches!(
            self,
            Action::Scale { .. } | Action::RolloutRestart { .. } | Action::CapLoad { .. }
        )
    }

    /// Returns the action's kind as its JSON tag (`noop`, `scale`, `hold`, `rollout_restart`,
    /// `cap_load`).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Noop => "noop",
            Action::Scale { .. } => "scale",
            Action::Hold { .. } => "hold",
            Action::RolloutRestart { .. } => "rollout_restart",
            Action::CapLoad { .. } => "cap_load",
        }
    }
}

/// What the proposing agent expects its action to change. Every figure is an estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedEffect {
    /// `spec.replicas` after the action.
    pub replicas: i32,
    /// Predicted SLO risk after the action, in [0, 1].
    pub risk: f64,
    /// Change in requested CPU, in core-hours per hour.
    pub core_hours_per_hour: f64,
    /// Change in estimated node power attributable to the reserved capacity, in watts.
    pub watts: f64,
}

/// One agent's proposal for one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The proposing agent.
    pub agent: AgentId,
    /// Priority class the referee ranks it in.
    pub priority: PriorityClass,
    /// The proposed action.
    pub action: Action,
    /// Score within the priority class; larger wins. The referee multiplies it by the agent's
    /// weight. Agent A: risk reduction; agent B: estimated watts saved; agent C: 1.
    pub score: f64,
    /// What the agent expects the action to change.
    pub effect: ExpectedEffect,
    /// Why the agent proposes it, in words.
    pub reason: String,
}
