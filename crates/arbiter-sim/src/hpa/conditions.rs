//! HPA status conditions.

use std::fmt;

/// The type of an HPA status condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConditionType {
    /// Whether the controller can read and update the scale subresource.
    AbleToScale,
    /// Whether a replica count could be computed from the metrics.
    ScalingActive,
    /// Whether the desired count was capped by minReplicas, maxReplicas or a rate limit.
    ScalingLimited,
}

impl ConditionType {
    /// Returns the Kubernetes name of the condition type.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::AbleToScale => "AbleToScale",
            ConditionType::ScalingActive => "ScalingActive",
            ConditionType::ScalingLimited => "ScalingLimited",
        }
    }
}

impl fmt::Display for ConditionType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One entry of `status.conditions`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The condition type.
    pub kind: ConditionType,
    /// `true` for status True, `false` for False.
    pub status: bool,
    /// A CamelCase reason, for example `ScaleDownStabilized`.
    pub reason: String,
    /// A human-readable message.
    pub message: String,
    /// Time of the last change of `status`, in seconds.
    pub last_transition_s: f64,
}

/// Updates the condition of `kind` in place, or appends it when the list has none, so the list
/// keeps first-insertion order. The transition time changes only when the status flips
/// (`setConditionInList`, horizontal.go).
pub(crate) fn set_condition(
    conditions: &mut Vec<Condition>,
    kind: ConditionType,
    status: bool,
    reason: &str,
    message: String,
    now_s: f64,
) {
    match conditions
        .iter_mut()
        .find(|condition| condition.kind == kind)
    {
        Some(existing) => {
            if existing.status != status {
                existing.last_transition_s = now_s;
            }
            existing.status = status;
            existing.reason = reason.to_string();
            existing.message = message;
        }
        None => conditions.push(Condition {
            kind,
            status,
            reason: reason.to_string(),
            message,
            last_transition_s: now_s,
        }),
    }
}
