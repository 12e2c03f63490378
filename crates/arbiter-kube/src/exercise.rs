//! The exercise kit for real clusters: a workload that burns a set amount of CPU and memory
//! per request and exports its latency histogram in the Prometheus text format, and an
//! open-loop load generator that follows a trace's demand shape.
//!
//! Endpoints of the workload: `GET /work` (optional query `cpu_ms` and `memory_mb`
//! override the defaults), `GET /metrics` and `GET /healthz`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arbiter_core::series::WorkloadSeries;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::{KubeError, LOAD_CAP_ANNOTATION};

/// Upper bounds of the latency histogram's buckets, in seconds (the Prometheus client
/// libraries' defaults).
pub const LATENCY_BUCKETS_S: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Largest memory one request may allocate, in MiB, so a bad query cannot exhaust the pod.
pub const MAX_MEMORY_MB: u64 = 4096;

/// Longest CPU burn one request may ask for, in milliseconds.
pub const MAX_CPU_MS: f64 = 60_000.0;

/// A Prometheus histogram of request latency.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl LatencyHistogram {
    /// Records one request that took `seconds`.
    pub fn observe(&self, seconds: f64) {
        for (bound, bucket) in LATENCY_BUCKETS_S.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6).round() as u64, Ordering::Relaxed);
    }

    /// Number of requests recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Renders the histogram as `name_bucket`, `name_sum` and `name_count` lines.
    pub fn render(&self, name: &str, help: &str) -> String {
        let mut text = format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
        for (bound, bucket) in LATENCY_BUCKETS_S.iter().zip(&self.buckets) {
            text.push_str(&format!(
                "{name}_bucket{{le=\"{bound}\"}} {}\n",
                bucket.load(Ordering::Relaxed)
            ));
        }
        let count = self.count();
        text.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {count}\n"));
        text.push_str(&format!(
            "{name}_sum {}\n",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
        text.push_str(&format!("{name}_count {count}\n"));
        text
    }
}

/// Work each request does unless its query overrides it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WorkConfig {
    /// CPU to burn per request, in milliseconds of busy computation on one core.
    pub cpu_ms: f64,
    /// Memory to allocate and touch per request, in MiB, held until the burn ends.
    pub memory_mb: u64,
}

/// The running exercise workload.
pub struct WorkloadServer {
    address: SocketAddr,
    histogram: Arc<LatencyHistogram>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl WorkloadServer {
    /// Binds `address` and serves the workload.
    ///
    /// # Errors
    /// [`KubeError::Io`] when the address cannot be bound.
    pub async fn start(address: SocketAddr, config: WorkConfig) -> Result<Self, KubeError> {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| KubeError::Io {
                action: "bind".to_owned(),
                path: address.to_string(),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| KubeError::Io {
            action: "read the address of".to_owned(),
            path: address.to_string(),
            source,
        })?;
        let histogram = Arc::new(LatencyHistogram::default());
        let (stop, mut stopped) = watch::channel(false);
        let shared = histogram.clone();
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = stopped.changed() => return,
                };
                let Ok((stream, _)) = accepted else { continue };
                let histogram = shared.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request| handle_work(request, config, histogram.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        tracing::info!(%address, cpu_ms = config.cpu_ms, memory_mb = config.memory_mb, "exercise workload listening");
        Ok(Self {
            address,
            histogram,
            stop,
            task: Some(task),
        })
    }

    /// Returns the listening address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Returns the latency histogram.
    pub fn histogram(&self) -> &LatencyHistogram {
        &self.histogram
    }

    /// Waits until the server stops (it stops only when dropped or on error).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for WorkloadServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn text_response(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

async fn handle_work(
    request: Request<Incoming>,
    defaults: WorkConfig,
    histogram: Arc<LatencyHistogram>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let query: BTreeMap<&str, &str> = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let response = match request.uri().path() {
        "/healthz" => text_response(StatusCode::OK, "text/plain", "ok\n".to_owned()),
        "/metrics" => text_response(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            histogram.render(
                "arbiter_exercise_request_duration_seconds",
                "Time to serve one /work request.",
            ),
        ),
        "/work" => {
            let cpu_ms = match query.get("cpu_ms").map(|v| v.parse::<f64>()) {
                None => Ok(defaults.cpu_ms),
                Some(Ok(value)) if (0.0..=MAX_CPU_MS).contains(&value) => Ok(value),
                Some(_) => Err(format!("cpu_ms must be a number from 0 to {MAX_CPU_MS}\n")),
            };
            let memory_mb = match query.get("memory_mb").map(|v| v.parse::<u64>()) {
                None => Ok(defaults.memory_mb),
                Some(Ok(value)) if value <= MAX_MEMORY_MB => Ok(value),
                Some(_) => Err(format!(
                    "memory_mb must be a whole number from 0 to {MAX_MEMORY_MB}\n"
                )),
            };
            match (cpu_ms, memory_mb) {
                (Ok(cpu_ms), Ok(memory_mb)) => {
                    let started = Instant::now();
                    let burned = tokio::task::spawn_blocking(move || burn(cpu_ms, memory_mb))
                        .await
                        .unwrap_or(0);
                    let elapsed = started.elapsed().as_secs_f64();
                    histogram.observe(elapsed);
                    text_response(
                        StatusCode::OK,
                        "application/json",
                        serde_json::json!({ "cpu_ms": cpu_ms, "memory_mb": memory_mb, "elapsed_ms": elapsed * 1000.0, "checksum": burned }).to_string(),
                    )
                }
                (Err(message), _) | (_, Err(message)) => {
                    text_response(StatusCode::BAD_REQUEST, "text/plain", message)
                }
            }
        }
        other => text_response(
            StatusCode::NOT_FOUND,
            "text/plain",
            format!("no endpoint {other}; try /work, /metrics or /healthz\n"),
        ),
    };
    Ok(response)
}

/// Busy-computes for `cpu_ms` milliseconds of wall time on this thread while holding
/// `memory_mb` MiB with every page written. Returns a checksum so the work is not optimized away.
fn burn(cpu_ms: f64, memory_mb: u64) -> u64 {
    let mut memory = vec![0u8; (memory_mb as usize) * 1024 * 1024];
    for page in memory.chunks_mut(4096) {
        page[0] = 1;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(cpu_ms / 1000.0);
    let mut state: u64 = memory.len() as u64 + 1;
    while std::time::Instant::now() < deadline {
        for _ in 0..1000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
        }
    }
    state
        ^ memory
            .iter()
            .step_by(4096)
            .map(|b| u64::from(*b))
            .sum::<u64>()
}

/// Request rates over time that follow a trace's CPU shape.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    /// (start in seconds from the plan's start, requests per second), in time order.
    pub steps: Vec<(f64, f64)>,
    /// Seconds of the plan, after the time scale.
    pub duration_s: f64,
}

impl LoadPlan {
    /// Maps each trace window's CPU to a rate: the highest CPU window gets `peak_rps`.
    /// `time_scale` compresses trace time (60 replays one trace hour per real minute).
    ///
    /// # Errors
    /// [`KubeError::InvalidSetting`] when the series is empty, has no positive CPU, or a
    /// setting is not positive.
    pub fn from_series(
        series: &WorkloadSeries,
        peak_rps: f64,
        time_scale: f64,
    ) -> Result<Self, KubeError> {
        let invalid = |field: &str, value: String, expected: &str| KubeError::InvalidSetting {
            field: field.to_owned(),
            value,
            expected: expected.to_owned(),
        };
        if !(peak_rps.is_finite() && peak_rps > 0.0) {
            return Err(invalid(
                "--peak-rps",
                peak_rps.to_string(),
                "a positive number of requests per second",
            ));
        }
        if !(time_scale.is_finite() && time_scale > 0.0) {
            return Err(invalid(
                "--time-scale",
                time_scale.to_string(),
                "a positive factor",
            ));
        }
        let first = series.points.first().ok_or_else(|| {
            invalid(
                "trace",
                series.source.clone(),
                "a trace with at least one window",
            )
        })?;
        let max_cpu = series.points.iter().map(|p| p.cpu).fold(0.0, f64::max);
        if max_cpu <= 0.0 {
            return Err(invalid(
                "trace",
                series.source.clone(),
                "a trace with positive CPU usage",
            ));
        }
        let steps = series
            .points
            .iter()
            .map(|point| {
                (
                    (point.start_s - first.start_s) as f64 / time_scale,
                    peak_rps * point.cpu.max(0.0) / max_cpu,
                )
            })
            .collect();
        Ok(Self {
            steps,
            duration_s: series.duration_s() as f64 / time_scale,
        })
    }

    /// Returns the time of the next request after `from_s`: the time at which the integral of
    /// the rate (capped at `cap_rate`) reaches `requests`, or `end_s` if it never does before.
    /// With `requests` 0 it returns the first time from `from_s` with a positive rate.
    pub fn next_arrival(
        &self,
        from_s: f64,
        requests: f64,
        end_s: f64,
        cap_rate: Option<f64>,
    ) -> f64 {
        let end_s = end_s.min(self.duration_s);
        let mut time_s = from_s;
        let mut remaining = requests;
        while time_s < end_s {
            let rate = cap_rate.map_or(self.rate_at(time_s), |cap| self.rate_at(time_s).min(cap));
            let boundary = self
                .steps
                .iter()
                .map(|(start, _)| *start)
                .find(|start| *start > time_s)
                .unwrap_or(end_s)
                .min(end_s);
            if rate > 0.0 && rate * (boundary - time_s) >= remaining {
                return time_s + remaining / rate;
            }
            remaining -= rate * (boundary - time_s);
            time_s = boundary;
        }
        end_s
    }

    /// Returns the rate at `time_s` seconds from the start, 0 after the end.
    pub fn rate_at(&self, time_s: f64) -> f64 {
        if time_s >= self.duration_s {
            return 0.0;
        }
        let index = self.steps.partition_point(|(start, _)| *start <= time_s);
        index.checked_sub(1).map_or(0.0, |i| self.steps[i].1)
    }
}

/// Parses the load cap from a downward API annotations file (`key="value"` lines). Returns
/// `None` when the annotation is absent or not a non-negative number.
pub fn parse_cap_annotation(text: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == LOAD_CAP_ANNOTATION)
            .then(|| value.trim().trim_matches('"').parse::<f64>().ok())
            .flatten()
            .filter(|cap| cap.is_finite() && *cap >= 0.0)
    })
}

/// Settings of the open-loop load generator.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// URL of the workload's `/work` endpoint.
    pub target: String,
    /// Stop after this long even if the plan continues.
    pub duration: Option<Duration>,
    /// File with the pod's annotations (downward API) to read the cap from, re-read each second.
    pub cap_file: Option<PathBuf>,
    /// CPU one request costs the workload, in cores times seconds; converts a cap in cores
    /// into a rate cap (`cap_cores / cores_per_request`).
    pub core_seconds_per_request: f64,
    /// Time allowed for one request.
    pub request_timeout: Duration,
}

/// Counts of the requests the load generator sent.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LoadReport {
    /// Requests sent.
    pub sent: u64,
    /// Requests that received a 2xx response.
    pub succeeded: u64,
    /// Requests that failed, timed out or got another status.
    pub failed: u64,
}

/// Sends requests open-loop: each at its scheduled time, whether or not earlier ones have
/// received a response, at the plan's rate, limited by the cap when one is set.
pub async fn run_load(plan: &LoadPlan, config: &LoadConfig) -> Result<LoadReport, KubeError> {
    let uri: http::Uri = config
        .target
        .parse()
        .map_err(|_| KubeError::InvalidSetting {
            field: "--target".to_owned(),
            value: config.target.clone(),
            expected: "an http:// URL such as http://exercise-web:8080/work".to_owned(),
        })?;
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let succeeded = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let end_s = config
        .duration
        .map_or(plan.duration_s, |d| d.as_secs_f64().min(plan.duration_s));
    let mut cap_cores = None;
    let mut cap_read_at = f64::NEG_INFINITY;
    let mut sent = 0;
    let mut in_flight = Vec::new();
    let mut next_s = plan.next_arrival(0.0, 0.0, end_s, None);
    // The tolerance keeps float error in the arrival times from adding a request at the end.
    while next_s < end_s - 1e-9 {
        tokio::time::sleep_until(started + Duration::from_secs_f64(next_s)).await;
        let request = Request::get(uri.clone())
            .body(Empty::new())
            .expect("GET with an empty body is valid");
        let (client, succeeded, failed) = (client.clone(), succeeded.clone(), failed.clone());
        let timeout = config.request_timeout;
        in_flight.push(tokio::spawn(async move {
            let result = tokio::time::timeout(timeout, async {
                let response = client.request(request).await.map_err(|_| ())?;
                let ok = response.status().is_success();
                let _ = response.into_body().collect().await;
                Ok::<bool, ()>(ok)
            })
            .await;
            match result {
                Ok(Ok(true)) => succeeded.fetch_add(1, Ordering::Relaxed),
                _ => failed.fetch_add(1, Ordering::Relaxed),
            };
        }));
        in_flight.retain(|task: &JoinHandle<()>| !task.is_finished());
        sent += 1;

        if let Some(path) = &config.cap_file
            && next_s - cap_read_at >= 1.0
        {
            cap_cores = std::fs::read_to_string(path)
                .ok()
                .as_deref()
                .and_then(parse_cap_annotation);
            cap_read_at = next_s;
        }
        let cap_rate = cap_cores
            .filter(|_| config.core_seconds_per_request > 0.0)
            .map(|cap| cap / config.core_seconds_per_request);
        next_s = plan.next_arrival(next_s, 1.0, end_s, cap_rate);
    }
    for task in in_flight {
        let _ = task.await;
    }
    Ok(LoadReport {
        sent,
        succeeded: succeeded.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_renders_cumulative_buckets() {
        let histogram = LatencyHistogram::default();
        histogram.observe(0.003);
        histogram.observe(0.2);
        let text = histogram.render("lat", "Latency.");
        assert!(text.contains("lat_bucket{le=\"0.005\"} 1\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"0.25\"} 2\n"), "{text}");
        assert!(text.contains("lat_bucket{le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("lat_count 2\n"), "{text}");
        assert!(text.contains("lat_sum 0.203\n"), "{text}");
    }

    #[test]
    fn cap_annotation_parsing() {
        let text = "kubectl.kubernetes.io/restartedAt=\"2026-01-01T00:00:00Z\"\narbiter.dev/load-cap-cores=\"2.5\"\n";
        assert_eq!(parse_cap_annotation(text), Some(2.5));
        assert_eq!(
            parse_cap_annotation("arbiter.dev/load-cap-cores=\"-1\""),
            None
        );
        assert_eq!(parse_cap_annotation("other=\"1\""), None);
    }
}
