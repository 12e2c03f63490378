//! HPA status conditions.

use std::fmt::{self, Write};

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
#[derive(Debug, PartialEq)]
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

impl Clone for Condition {
    fn clone(&self) -> Self {
        Condition {
            kind: self.kind,
            status: self.status,
            reason: self.reason.clone(),
            message: self.message.clone(),
            last_transition_s: self.last_transition_s,
        }
    }

    /// Copies `source` into the existing strings, so that copying the conditions into every
    /// reconcile outcome does not allocate once the strings are long enough.
    fn clone_from(&mut self, source: &Self) {
        self.kind = source.kind;
        self.status = source.status;
        self.reason.clone_from(&source.reason);
        self.message.clone_from(&source.message);
        self.last_transition_s = source.last_transition_s;
    }
}

/// Updates the condition of `kind` in place, or appends it when the list has none, so the list
/// keeps first-insertion order. The transition time changes only when the status flips
/// (`setConditionInList`, horizontal.go).
///
/// The message is formatted into the stored `String` only when it differs from the stored one,
/// so a condition that keeps its reason and message costs no allocation.
pub(crate) fn set_condition(
    conditions: &mut Vec<Condition>,
    kind: ConditionType,
    status: bool,
    reason: &str,
    message: impl fmt::Display,
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
            if existing.reason != reason {
                existing.reason.clear();
                existing.reason.push_str(reason);
            }
            if !formats_as(&message, &existing.message) {
                existing.message.clear();
                write!(existing.message, "{message}").expect("formatting into a String");
            }
        }
        None => conditions.push(Condition {
            kind,
            status,
            reason: reason.to_string(),
            message: message.to_string(),
            last_transition_s: now_s,
        }),
    }
}

/// Tests whether `value` formats as exactly `expected`, without allocating.
fn formats_as(value: &impl fmt::Display, expected: &str) -> bool {
    let mut matcher = PrefixMatcher { rest: expected };
    write!(matcher, "{value}").is_ok() && matcher.rest.is_empty()
}

/// A `fmt::Write` sink that consumes `rest` while the written text matches its start, and
/// fails at the first difference.
struct PrefixMatcher<'a> {
    rest: &'a str,
}

impl fmt::Write for PrefixMatcher<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        match self.rest.strip_prefix(text) {
            Some(rest) => {
                self.rest = rest;
                Ok(())
            }
            None => Err(fmt::Error),
        }
    }
}
