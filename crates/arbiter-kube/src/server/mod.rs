//! The simulator served as a subset of the Kubernetes API on 127.0.0.1, over plain HTTP.
//!
//! Served: discovery (`/version`, `/api`, `/apis`), namespaces, nodes, pods, apps/v1
//! Deployments with the scale subresource and ReplicaSets, core/v1 Events,
//! autoscaling/v2 HorizontalPodAutoscalers (the simulator's HPA algorithm acts on them), and
//! metrics.k8s.io. Lists accept `labelSelector` and `fieldSelector`; kubectl's `get` receives
//! server-side tables. Errors are meta/v1 Status objects. Watches are not served.
//!
//! Paths under `/arbiter/v1/` control the simulator and are neither logged nor faulted:
//! `POST /arbiter/v1/step?ticks=N` advances the clock, `PUT /arbiter/v1/faults` sets the
//! fault rules (a JSON list of [`FaultRule`]), `DELETE /arbiter/v1/faults` clears them, and
//! `GET /arbiter/v1/requests` returns the request log.

mod patch;
mod render;
mod routes;
mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use routes::{ApiRequest, ApiResponse, status_error};
use state::SimState;
pub use state::{
    DECOY_NAMESPACE, FaultKind, FaultRule, RequestLogEntry, ServerConfig, deployment_names,
};

use crate::KubeError;
use crate::time::format_http_date;

/// The error a handler returns to make hyper close the connection without a response.
#[derive(Debug)]
struct DroppedConnection;

impl std::fmt::Display for DroppedConnection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DroppedConnection {}

struct Shared {
    state: Mutex<SimState>,
    address: SocketAddr,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock leaves consistent-enough state for a test server.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running served simulator. Dropping it stops the server.
pub struct ApiServer {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl ApiServer {
    /// Binds 127.0.0.1:`port` (0 picks a free port), builds the simulator and starts serving.
    /// With a positive `config.acceleration` a background task advances the clock.
    ///
    /// # Errors
    /// [`KubeError::Io`] when the port cannot be bound, or the simulator's configuration errors.
    pub async fn start(config: ServerConfig, port: u16) -> Result<Self, KubeError> {
        if !(config.acceleration.is_finite() && config.acceleration >= 0.0) {
            return Err(KubeError::InvalidSetting {
                field: "acceleration".to_owned(),
                value: config.acceleration.to_string(),
                expected: "0 (manual clock) or a positive number of simulated seconds per second"
                    .to_owned(),
            });
        }
        let state = SimState::new(&config)?;
        let bind = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|source| KubeError::Io {
                action: "bind".to_owned(),
                path: bind.to_string(),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| KubeError::Io {
            action: "read the address of".to_owned(),
            path: bind.to_string(),
            source,
        })?;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            address,
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            stopped.clone(),
        ))];
        if config.acceleration > 0.0 {
            let period = Duration::from_secs_f64(config.experiment.tick_s / config.acceleration);
            tasks.push(tokio::spawn(clock_loop(shared.clone(), period, stopped)));
        }
        tracing::info!(%address, cluster = %config.cluster_name, "served simulator listening");
        Ok(Self {
            shared,
            stop,
            tasks,
        })
    }

    /// Returns the listening address.
    pub fn address(&self) -> SocketAddr {
        self.shared.address
    }

    /// Returns the base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.address)
    }

    /// Returns a kubeconfig for this server: one cluster, context and user named `arbiter-sim`, with
    /// the exercise namespace as the context's namespace.
    pub fn kubeconfig(&self) -> String {
        let namespace = self.lock().clusters[0]
            .cluster
            .config()
            .workload
            .namespace
            .clone();
        kubeconfig_yaml(&self.url(), &namespace)
    }

    /// Writes [`ApiServer::kubeconfig`] to `path`.
    ///
    /// # Errors
    /// [`KubeError::Io`] when the file cannot be written.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), KubeError> {
        std::fs::write(path, self.kubeconfig()).map_err(|source| KubeError::Io {
            action: "write kubeconfig".to_owned(),
            path: path.display().to_string(),
            source,
        })
    }

    /// Advances the simulated clock by `ticks` ticks.
    pub fn step(&self, ticks: u32) {
        let mut state = self.lock();
        for _ in 0..ticks {
            state.step();
        }
    }

    /// Simulated seconds since the start.
    pub fn time_s(&self) -> f64 {
        self.lock().now_s()
    }

    /// Replaces the fault rules.
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.lock().faults = rules;
    }

    /// Returns the request log, oldest first.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.lock().requests.clone()
    }

    /// Returns `spec.replicas` of every served Deployment, keyed `namespace/name`.
    pub fn replicas(&self) -> BTreeMap<String, i32> {
        let state = self.lock();
        (0..state.deployments.len())
            .filter_map(|index| Some((state.deployments[index].key(), state.spec_replicas(index)?)))
            .collect()
    }

    /// Returns the served Events as JSON objects, oldest first.
    pub fn events(&self) -> Vec<Value> {
        self.lock().events.clone()
    }

    /// Returns the simulator's snapshot of the primary cluster.
    pub fn snapshot(&self) -> arbiter_core::snapshot::ClusterSnapshot {
        self.lock().snapshot(0)
    }

    /// Stops serving and waits for the server's tasks to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.shared.lock()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Returns a kubeconfig in YAML for a plain-HTTP server at `url`.
pub fn kubeconfig_yaml(url: &str, namespace: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: arbiter-sim\n  cluster:\n    server: {url}\ncontexts:\n- name: arbiter-sim\n  context:\n    cluster: arbiter-sim\n    user: arbiter-sim\n    namespace: {namespace}\ncurrent-context: arbiter-sim\nusers:\n- name: arbiter-sim\n  user: {{}}\n"
    )
}

async fn clock_loop(shared: Arc<Shared>, period: Duration, mut stopped: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(period);
    interval.tick().await;
    loop {
        tokio::select! {
            _ = interval.tick() => shared.lock().step(),
            _ = stopped.changed() => return,
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                tracing::warn!(%error, "accepting a connection failed");
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(shared.clone(), request));
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.auto_date_header(false);
            if let Err(error) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

fn query_map(query: Option<&str>) -> BTreeMap<String, String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        index += 3;
                    }
                    None => {
                        out.push(b'%');
                        index += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json_response(status: u16, body: &Value, date: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(date) {
        headers.insert(http::header::DATE, value);
    }
    response
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or(path.clone(), |pq| pq.as_str().to_owned());
    let header = |name: http::header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => return Err(DroppedConnection),
    };
    let request = ApiRequest {
        method: method.clone(),
        path: path.clone(),
        query: query_map(parts.uri.query()),
        accept: header(http::header::ACCEPT),
        content_type: header(http::header::CONTENT_TYPE),
        body,
    };

    if let Some(control) = path.strip_prefix("/arbiter/v1/") {
        let (status, body, date) = control_request(&shared, control, &request);
        return Ok(json_response(status, &body, &date));
    }
    // A separate task finishes and logs the request even when the client gives up first,
    // for example after its timeout during a slow-response fault.
    let task = tokio::spawn(respond(shared, request, method, path_and_query));
    task.await.unwrap_or(Err(DroppedConnection))
}

async fn respond(
    shared: Arc<Shared>,
    request: ApiRequest,
    method: String,
    path_and_query: String,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    let fault = shared.lock().take_fault(&method, &path_and_query);
    if let Some(rule) = &fault {
        if rule.kind == FaultKind::Slow {
            tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
        }
        if rule.kind == FaultKind::Drop {
            shared.lock().log_request(RequestLogEntry {
                method,
                path: path_and_query,
                status: None,
                fault: Some(FaultKind::Drop),
            });
            return Err(DroppedConnection);
        }
    }

    let mut state = shared.lock();
    let response = match fault.as_ref().map(|rule| rule.kind) {
        Some(FaultKind::InternalError) => status_error(
            500,
            "InternalError",
            "Internal error occurred: injected fault",
        ),
        Some(FaultKind::Conflict) => status_error(
            409,
            "Conflict",
            "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again (injected fault)",
        ),
        Some(FaultKind::TooManyRequests) => status_error(
            429,
            "TooManyRequests",
            "Too many requests, please try again later (injected fault)",
        ),
        _ => routes::route(&mut state, &request, &shared.address.to_string()),
    };
    let ApiResponse { status, body } = response;
    if status >= 400 {
        tracing::debug!(%method, path = %path_and_query, status, message = %body["message"], "request failed");
    }
    state.log_request(RequestLogEntry {
        method,
        path: path_and_query,
        status: Some(status),
        fault: fault.map(|rule| rule.kind),
    });
    let date = format_http_date(state.now_unix());
    drop(state);
    let mut http_response = json_response(status, &body, &date);
    if status == 429 {
        http_response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    Ok(http_response)
}

fn control_request(shared: &Shared, control: &str, request: &ApiRequest) -> (u16, Value, String) {
    let mut state = shared.lock();
    let (status, body) = match (request.method.as_str(), control) {
        ("POST", "step") => match request
            .query
            .get("ticks")
            .map_or(Ok(1), |t| t.parse::<u32>())
        {
            Ok(ticks) => {
                for _ in 0..ticks {
                    state.step();
                }
                (200, json!({ "time_s": state.now_s(), "tick": state.tick }))
            }
            Err(_) => (
                400,
                json!({ "error": "ticks must be a whole number, for example ?ticks=4" }),
            ),
        },
        ("PUT", "faults") => match serde_json::from_slice::<Vec<FaultRule>>(&request.body) {
            Ok(rules) => {
                state.faults = rules;
                (200, json!({ "faults": state.faults }))
            }
            Err(error) => (
                400,
                json!({ "error": format!("invalid fault rules: {error}; expected a JSON list of {{\"kind\", \"count\", ...}}") }),
            ),
        },
        ("DELETE", "faults") => {
            state.faults.clear();
            (200, json!({ "faults": [] }))
        }
        ("GET", "faults") => (200, json!({ "faults": state.faults })),
        ("GET", "requests") => (200, json!({ "requests": state.requests })),
        _ => (
            404,
            json!({ "error": format!("no control endpoint {} /arbiter/v1/{control}", request.method) }),
        ),
    };
    (status, body, format_http_date(state.now_unix()))
}
