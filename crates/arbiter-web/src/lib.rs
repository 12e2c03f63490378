//! Read-only dashboard over the run store, static run reports and Prometheus metrics.
//!
//! Routes (GET only; other methods get 405 Method Not Allowed):
//! - `/`: the runs, with status, trace, seed and headline figures;
//! - `/runs/{id}`: one run's charts, updated live through `/runs/{id}/events` while it runs;
//! - `/runs/{id}/charts`: the charts alone, as the live page refreshes them;
//! - `/runs/{id}/events`: server-sent events, `tick` with the progress and latest figures,
//!   then `status` once the run is no longer running;
//! - `/runs/{id}/decisions`: the decision feed, with filters and pages;
//! - `/runs/{id}/comparison`: the side-by-side table, confidence intervals over seeds and
//!   paired differences;
//! - `/runs/{id}/predictions`: forecasts against demand and risk against SLO misses;
//! - `/metrics`: OpenMetrics text;
//! - `/healthz`: `ok`.
//!
//! Every request opens the store read-only, so the dashboard can serve a store while
//! `arbiter compare` writes it.

#![deny(missing_docs)]

mod metrics;
mod pages;
mod report;
pub mod svg;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::Stream;

use arbiter_store::{RunId, RunStatus, RunStore, StoreError};

pub use metrics::render_metrics;
pub use pages::FeedQuery;
pub use report::{REPORT_DECISIONS, write_report, write_report_from};

/// Everything that can go wrong in the dashboard, a report or the metrics.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A run id in a URL or argument is not a positive whole number.
    #[error("invalid run id `{text}`: expected a positive whole number such as 1")]
    InvalidRunId {
        /// The text given.
        text: String,
    },
    /// A query parameter has an invalid value.
    #[error("invalid value `{value}` for query parameter `{parameter}`: expected {expected}")]
    InvalidQuery {
        /// Parameter name.
        parameter: &'static str,
        /// The value given.
        value: String,
        /// Accepted values.
        expected: &'static str,
    },
    /// The listening socket could not be bound.
    #[error("failed to listen on {addr}: {source}; pick another --port or --bind address")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The async runtime or its thread could not start, or the server stopped on an error.
    #[error("dashboard server failed: {reason}")]
    Server {
        /// What failed.
        reason: String,
    },
    /// A report file could not be written.
    #[error("failed to write report file {path}: {source}")]
    WriteReport {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Metrics could not be encoded.
    #[error("failed to encode metrics: {reason}")]
    Metrics {
        /// The encoder's message.
        reason: String,
    },
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            WebError::Store(StoreError::RunNotFound { .. }) | WebError::InvalidRunId { .. } => {
                StatusCode::NOT_FOUND
            }
            WebError::InvalidQuery { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "dashboard request failed");
        }
        let body = pages::layout(
            &format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ),
            None,
            &format!(r#"<p class="error">{}</p>"#, svg::escape(&self.to_string())),
            pages::Links::Server,
        );
        (status, Html(body)).into_response()
    }
}

#[derive(Debug)]
struct AppState {
    store_path: PathBuf,
    poll: Duration,
}

/// Builds the dashboard's routes over the store file at `store_path`.
pub fn router(store_path: PathBuf) -> Router {
    router_with_poll(store_path, Duration::from_millis(500))
}

/// Builds the routes with the interval at which the event stream polls the store.
pub fn router_with_poll(store_path: PathBuf, poll: Duration) -> Router {
    let state = Arc::new(AppState { store_path, poll });
    Router::new()
        .route("/", get(runs))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics_handler))
        .route("/runs/{id}", get(run))
        .route("/runs/{id}/charts", get(run_charts))
        .route("/runs/{id}/events", get(events))
        .route("/runs/{id}/decisions", get(decisions))
        .route("/runs/{id}/comparison", get(comparison))
        .route("/runs/{id}/predictions", get(predictions))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> Response {
    let body = pages::layout(
        "404 Not Found",
        None,
        &format!(
            r#"<p class="error">No page at {}. The runs are listed at <a href="/">/</a>.</p>"#,
            svg::escape(uri.path())
        ),
        pages::Links::Server,
    );
    (StatusCode::NOT_FOUND, Html(body)).into_response()
}

fn parse_run(text: &str) -> Result<RunId, WebError> {
    text.parse::<RunId>().map_err(|_| WebError::InvalidRunId {
        text: text.to_owned(),
    })
}

/// Runs a store query on the blocking pool with a fresh read-only connection.
async fn with_store<T, F>(state: &AppState, work: F) -> Result<T, WebError>
where
    T: Send + 'static,
    F: FnOnce(&RunStore) -> Result<T, WebError> + Send + 'static,
{
    let path = state.store_path.clone();
    tokio::task::spawn_blocking(move || {
        let store = RunStore::open_read_only(&path)?;
        work(&store)
    })
    .await
    .map_err(|error| WebError::Server {
        reason: format!("a request task failed: {error}"),
    })?
}

async fn runs(State(state): State<Arc<AppState>>) -> Result<Html<String>, WebError> {
    with_store(&state, pages::runs_page).await.map(Html)
}

async fn run(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Html<String>, WebError> {
    let run = parse_run(&id)?;
    with_store(&state, move |store| pages::run_page(store, run))
        .await
        .map(Html)
}

async fn run_charts(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Html<String>, WebError> {
    let run = parse_run(&id)?;
    with_store(&state, move |store| pages::run_charts_fragment(store, run))
        .await
        .map(Html)
}

async fn decisions(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    Query(query): Query<FeedQuery>,
) -> Result<Html<String>, WebError> {
    let run = parse_run(&id)?;
    with_store(&state, move |store| {
        pages::decisions_page(store, run, &query)
    })
    .await
    .map(Html)
}

async fn comparison(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Html<String>, WebError> {
    let run = parse_run(&id)?;
    with_store(&state, move |store| pages::comparison_page(store, run))
        .await
        .map(Html)
}

async fn predictions(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Html<String>, WebError> {
    let run = parse_run(&id)?;
    with_store(&state, move |store| pages::predictions_page(store, run))
        .await
        .map(Html)
}

async fn metrics_handler(State(state): State<Arc<AppState>>) -> Result<Response, WebError> {
    let text = with_store(&state, render_metrics).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// The payload of a `tick` event.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TickEvent {
    /// Run status.
    pub status: RunStatus,
    /// Ticks committed so far.
    pub ticks_recorded: i64,
    /// Simulated time of the latest committed tick, in seconds.
    pub last_time_s: f64,
    /// The latest committed tick of every series.
    pub latest: Vec<arbiter_store::TickRecord>,
}

fn tick_event(store: &RunStore, run: RunId) -> Result<TickEvent, WebError> {
    let summary = store.run(run)?;
    let latest = store.latest_ticks(run, 1)?;
    Ok(TickEvent {
        status: summary.status,
        ticks_recorded: summary.ticks_recorded,
        last_time_s: latest.iter().map(|tick| tick.time_s).fold(0.0, f64::max),
        latest,
    })
}

async fn events(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    let run = parse_run(&id)?;
    // Resolve the run first so that an unknown id is a 404, not an empty stream.
    let first = with_store(&state, move |store| tick_event(store, run)).await?;

    enum Phase {
        First(TickEvent),
        Polling(i64),
        Done,
    }
    let stream = futures_util::stream::unfold(Phase::First(first), move |phase| {
        let state = state.clone();
        async move {
            match phase {
                Phase::Done => None,
                Phase::First(event) => {
                    let seen = event.ticks_recorded;
                    let next = if event.status == RunStatus::Running {
                        Phase::Polling(seen)
                    } else {
                        Phase::Done
                    };
                    let mut sse = tick_sse(&event);
                    if event.status != RunStatus::Running {
                        sse = status_sse(event.status);
                    }
                    Some((Ok(sse), next))
                }
                Phase::Polling(seen) => loop {
                    tokio::time::sleep(state.poll).await;
                    match with_store(&state, move |store| tick_event(store, run)).await {
                        Ok(event) if event.status != RunStatus::Running => {
                            return Some((Ok(status_sse(event.status)), Phase::Done));
                        }
                        Ok(event) if event.ticks_recorded != seen => {
                            let seen = event.ticks_recorded;
                            return Some((Ok(tick_sse(&event)), Phase::Polling(seen)));
                        }
                        Ok(_) => continue,
                        Err(error) => {
                            tracing::warn!(run = %run, %error, "event stream stopped");
                            let event = Event::default().event("error").data(error.to_string());
                            return Some((Ok(event), Phase::Done));
                        }
                    }
                },
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn tick_sse(event: &TickEvent) -> Event {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned());
    Event::default().event("tick").data(data)
}

fn status_sse(status: RunStatus) -> Event {
    Event::default()
        .event("status")
        .data(format!(r#"{{"status":"{status}"}}"#))
}

/// A dashboard server running on its own thread and runtime.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), WebError>>>,
}

impl ServerHandle {
    /// Returns the address the server listens on (with the port chosen when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the dashboard's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) -> Result<(), WebError> {
        self.stop()
    }

    /// Blocks until the server stops on its own (an error), which it otherwise never does.
    pub fn wait(mut self) -> Result<(), WebError> {
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| WebError::Server {
                reason: "the server thread panicked".to_owned(),
            })?,
            None => Ok(()),
        }
    }

    fn stop(&mut self) -> Result<(), WebError> {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| WebError::Server {
                reason: "the server thread panicked".to_owned(),
            })?,
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::warn!(%error, "dashboard server stopped with an error");
        }
    }
}

/// Starts the dashboard for the store at `store_path` on `addr` (port 0 picks a free port)
/// on a thread of its own with a two-worker runtime, and returns once it listens. The store
/// file must exist; open it for writing first (for example with [`RunStore::open`]).
pub fn spawn_server(store_path: PathBuf, addr: SocketAddr) -> Result<ServerHandle, WebError> {
    RunStore::open_read_only(&store_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("arbiter-web")
        .enable_all()
        .build()
        .map_err(|error| WebError::Server {
            reason: format!("failed to start the async runtime: {error}"),
        })?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|source| WebError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| WebError::Bind { addr, source })?;
    let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
    let app = router(store_path.clone());
    let thread = std::thread::Builder::new()
        .name("arbiter-web".to_owned())
        .spawn(move || {
            tracing::info!(addr = %bound, store = %store_path.display(), "dashboard listening");
            let result = runtime.block_on(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = receiver.await;
                    })
                    .await
            });
            // Open event streams would keep a graceful shutdown waiting, so the runtime
            // is dropped without waiting for them.
            runtime.shutdown_timeout(Duration::from_secs(1));
            tracing::info!(addr = %bound, "dashboard stopped");
            result.map_err(|error| WebError::Server {
                reason: format!("serving on {bound} failed: {error}"),
            })
        })
        .map_err(|error| WebError::Server {
            reason: format!("failed to start the server thread: {error}"),
        })?;
    Ok(ServerHandle {
        addr: bound,
        shutdown: Some(sender),
        thread: Some(thread),
    })
}

/// Opens the store for writing once (migrating it and marking abandoned runs), so that the
/// read-only connections of the dashboard can read it.
pub fn prepare_store(store_path: &Path) -> Result<(), WebError> {
    RunStore::open(store_path)?;
    Ok(())
}
