//! Layer 6, act: the executor contract and the record of what it did.

use serde::{Deserialize, Serialize};

use crate::action::Action;

/// Outcome of executing one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Recommend only: the operations were described but not sent.
    DryRun,
    /// Every operation succeeded.
    Executed,
    /// The decision needed no operation (a `Noop` or a `Hold`).
    Noop,
    /// The action named a workload the executor may not or cannot touch.
    NoTargets,
    /// An operation failed; the record says which.
    Error,
}

/// One API operation, as sent or as it would have been sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationRecord {
    /// Description of the operation, in words.
    pub description: String,
    /// The equivalent kubectl command.
    pub kubectl: String,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Request body, if any.
    pub request: Option<serde_json::Value>,
    /// HTTP status code, or `None` when nothing was sent (dry run, connection failure).
    pub status_code: Option<u16>,
    /// Short summary of the response, or the error text.
    pub response: String,
    /// Time the operation took in milliseconds (0 in the simulator, which has no network).
    pub duration_ms: f64,
}

/// Record of what the executor did with one decision, attached to the decision before it
/// is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// Overall outcome.
    pub status: ExecutionStatus,
    /// Every API operation in order.
    pub operations: Vec<OperationRecord>,
}

/// Layer 6: applies an action, or only records it in dry-run mode.
pub trait Executor {
    /// Applies `action` within the executor's bounds and returns the record of every operation.
    fn execute(&mut self, action: &Action) -> ExecutionRecord;
}
