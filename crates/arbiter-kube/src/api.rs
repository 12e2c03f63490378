//! API calls through kube-rs, each attempt recorded as an [`OperationRecord`].
//!
//! Transient failures are retried with exponential back-off: connection errors, timeouts,
//! 429 Too Many Requests and 5xx responses. Other 4xx responses are final. kube-rs's own retry
//! layer is switched off so that every attempt is visible in the records.

use std::path::Path;
use std::time::Duration;

use arbiter_core::execution::OperationRecord;
use http::{Method, Request};
use kube::client::Body;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;
use tokio::time::Instant;

use crate::KubeError;
use crate::time::parse_http_date;

/// Content type of a JSON merge patch.
pub const MERGE_PATCH: &str = "application/merge-patch+json";

/// Content type of a strategic merge patch.
pub const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";

/// Timeouts and retries of API calls.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included. At least 1.
    pub max_attempts: u32,
    /// Wait before the second attempt, doubled for each further attempt.
    pub initial_backoff: Duration,
    /// Maximum wait between attempts, also the cap on a server's `Retry-After`.
    pub max_backoff: Duration,
    /// Time allowed for one attempt, from sending to the end of the response body.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, 200 ms back-off doubling up to 5 s, and 10 s per attempt.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

/// One API call to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Description of the call.
    pub description: String,
    /// The equivalent kubectl command.
    pub kubectl: String,
    /// HTTP method.
    pub method: Method,
    /// Path with the query string, for example `/api/v1/nodes`.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<Value>,
    /// Content type of the body; `application/json` when unset.
    pub content_type: Option<&'static str>,
}

impl Call {
    /// Creates a GET of `path`.
    pub fn get(
        description: impl Into<String>,
        kubectl: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        Self {
            description: description.into(),
            kubectl: kubectl.into(),
            method: Method::GET,
            path: path.into(),
            body: None,
            content_type: None,
        }
    }

    /// Returns the record of this call before it is sent: no status, no response.
    pub fn record(&self) -> OperationRecord {
        OperationRecord {
            description: self.description.clone(),
            kubectl: self.kubectl.clone(),
            method: self.method.to_string(),
            path: self.path.clone(),
            request: self.body.clone(),
            status_code: None,
            response: String::new(),
            duration_ms: 0.0,
        }
    }
}

/// The final outcome of a call after its attempts.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A 2xx response.
    Success {
        /// Status code.
        status: u16,
        /// Parsed JSON body (`Null` when empty).
        body: Value,
        /// The `Date` header as Unix seconds, when present and valid.
        date_unix: Option<f64>,
    },
    /// The last attempt failed.
    Failure {
        /// Status code, when the server responded.
        status: Option<u16>,
        /// Status message or error text.
        message: String,
        /// The `Date` header as Unix seconds, when the response had one.
        date_unix: Option<f64>,
    },
}

impl Outcome {
    /// Returns the status code, if the server responded.
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Success { status, .. } => Some(*status),
            Outcome::Failure { status, .. } => *status,
        }
    }

    /// Returns the `Date` header, if any.
    pub fn date_unix(&self) -> Option<f64> {
        match self {
            Outcome::Success { date_unix, .. } | Outcome::Failure { date_unix, .. } => *date_unix,
        }
    }

    /// Converts to a result, naming the call in the error.
    ///
    /// # Errors
    /// [`KubeError::Api`] for a failure.
    pub fn into_result(self, call: &Call) -> Result<Value, KubeError> {
        match self {
            Outcome::Success { body, .. } => Ok(body),
            Outcome::Failure {
                status, message, ..
            } => Err(KubeError::Api {
                method: call.method.to_string(),
                path: call.path.clone(),
                status,
                message,
            }),
        }
    }
}

/// A kube-rs client with a retry policy.
#[derive(Clone)]
pub struct ApiClient {
    client: kube::Client,
    policy: RetryPolicy,
}

impl ApiClient {
    /// Wraps a kube-rs client.
    pub fn new(client: kube::Client, policy: RetryPolicy) -> Self {
        Self { client, policy }
    }

    /// Builds a client from a kubeconfig file, using its current context.
    ///
    /// # Errors
    /// [`KubeError::Kubeconfig`] when the file cannot be read or used.
    pub async fn from_kubeconfig(path: &Path, policy: RetryPolicy) -> Result<Self, KubeError> {
        let failed = |message: String| KubeError::Kubeconfig {
            path: path.display().to_string(),
            message,
        };
        let kubeconfig = Kubeconfig::read_from(path).map_err(|error| failed(error.to_string()))?;
        let mut config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|error| failed(error.to_string()))?;
        config.default_retry = false;
        config.connect_timeout = Some(policy.timeout);
        config.read_timeout = Some(policy.timeout);
        config.write_timeout = Some(policy.timeout);
        let client = kube::Client::try_from(config).map_err(|error| failed(error.to_string()))?;
        Ok(Self::new(client, policy))
    }

    /// Returns the retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Sends `call`, retrying transient failures, and appends one record per attempt.
    pub async fn send(&self, call: &Call, records: &mut Vec<OperationRecord>) -> Outcome {
        let attempts = self.policy.max_attempts.max(1);
        let mut backoff = self.policy.initial_backoff;
        let mut outcome = Outcome::Failure {
            status: None,
            message: "not sent".to_owned(),
            date_unix: None,
        };
        for attempt in 1..=attempts {
            let started = Instant::now();
            let (result, retry_after) = self.attempt(call).await;
            let mut record = call.record();
            record.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            let retryable = match &result {
                Outcome::Success { status, body, .. } => {
                    record.status_code = Some(*status);
                    record.response = summarize(body);
                    false
                }
                Outcome::Failure {
                    status, message, ..
                } => {
                    record.status_code = *status;
                    record.response = message.clone();
                    status.is_none_or(|code| code == 429 || code >= 500)
                }
            };
            if attempt > 1 {
                record.description =
                    format!("{} (attempt {attempt} of {attempts})", call.description);
            }
            records.push(record);
            outcome = result;
            if !retryable || attempt == attempts {
                break;
            }
            let wait = retry_after
                .map_or(backoff, |after| after.max(backoff))
                .min(self.policy.max_backoff);
            tracing::warn!(
                method = %call.method, path = %call.path, attempt, status = ?outcome.status(),
                wait_ms = wait.as_millis() as u64, "API call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(self.policy.max_backoff);
        }
        outcome
    }

    /// Sends one attempt and returns its outcome with the `Retry-After` the server requested.
    async fn attempt(&self, call: &Call) -> (Outcome, Option<Duration>) {
        let body = call
            .body
            .as_ref()
            .map_or_else(Vec::new, |body| body.to_string().into_bytes());
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(&call.path)
            .header(http::header::ACCEPT, "application/json");
        if call.body.is_some() {
            builder = builder.header(
                http::header::CONTENT_TYPE,
                call.content_type.unwrap_or("application/json"),
            );
        }
        let request = match builder.body(Body::from(body)) {
            Ok(request) => request,
            Err(error) => {
                return (
                    Outcome::Failure {
                        status: None,
                        message: format!("invalid request: {error}"),
                        date_unix: None,
                    },
                    None,
                );
            }
        };
        let exchange = async {
            let response = self
                .client
                .send(request)
                .await
                .map_err(|error| error_chain(&error))?;
            let status = response.status().as_u16();
            let header = |name: http::header::HeaderName| {
                response
                    .headers()
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned)
            };
            let date_unix = header(http::header::DATE).and_then(|date| parse_http_date(&date).ok());
            let retry_after = header(http::header::RETRY_AFTER)
                .and_then(|seconds| seconds.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let bytes = response
                .into_body()
                .collect_bytes()
                .await
                .map_err(|error| format!("reading the response body failed: {error}"))?;
            Ok::<_, String>((status, date_unix, retry_after, bytes))
        };
        match tokio::time::timeout(self.policy.timeout, exchange).await {
            Err(_) => (
                Outcome::Failure {
                    status: None,
                    message: format!("timed out after {} ms", self.policy.timeout.as_millis()),
                    date_unix: None,
                },
                None,
            ),
            Ok(Err(message)) => (
                Outcome::Failure {
                    status: None,
                    message,
                    date_unix: None,
                },
                None,
            ),
            Ok(Ok((status, date_unix, retry_after, bytes))) => {
                let body: Value = if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(&bytes).into_owned())
                    })
                };
                if (200..300).contains(&status) {
                    (
                        Outcome::Success {
                            status,
                            body,
                            date_unix,
                        },
                        None,
                    )
                } else {
                    let message = body["message"]
                        .as_str()
                        .map_or_else(|| truncate(&body.to_string(), 300), str::to_owned);
                    (
                        Outcome::Failure {
                            status: Some(status),
                            message,
                            date_unix,
                        },
                        retry_after,
                    )
                }
            }
        }
    }
}

/// Summarizes a response body: kind, name and the fields Arbiter changes.
pub fn summarize(body: &Value) -> String {
    let kind = body["kind"].as_str().unwrap_or("response");
    if let Some(items) = body["items"].as_array() {
        return format!("{kind} with {} items", items.len());
    }
    let mut summary = kind.to_owned();
    if let Some(name) = body["metadata"]["name"].as_str() {
        let namespace = body["metadata"]["namespace"].as_str();
        summary.push(' ');
        summary.push_str(&namespace.map_or_else(|| name.to_owned(), |ns| format!("{ns}/{name}")));
    }
    if let Some(replicas) = body["spec"]["replicas"].as_i64() {
        summary.push_str(&format!(" spec.replicas={replicas}"));
    }
    if let Some(version) = body["metadata"]["resourceVersion"].as_str() {
        summary.push_str(&format!(" resourceVersion={version}"));
    }
    summary
}

/// Formats an error with its sources, so that a timeout or refused connection beneath a
/// generic client error is visible.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max_chars).collect::<String>())
    }
}

/// Percent-encodes a query parameter value.
pub fn encode_query(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_objects_and_lists() {
        let deployment = serde_json::json!({"kind": "Deployment", "metadata": {"name": "web", "namespace": "lab", "resourceVersion": "7"}, "spec": {"replicas": 3}});
        assert_eq!(
            summarize(&deployment),
            "Deployment lab/web spec.replicas=3 resourceVersion=7"
        );
        let list = serde_json::json!({"kind": "PodList", "items": [{}, {}]});
        assert_eq!(summarize(&list), "PodList with 2 items");
    }

    #[test]
    fn query_encoding() {
        assert_eq!(
            encode_query("arbiter.dev/exercise=true"),
            "arbiter.dev%2Fexercise%3Dtrue"
        );
    }
}
