//! Pods of the exercise Deployments: start-up, readiness, serving, OOM kills and the metrics
//! pipeline, one Deployment at a time.
//!
//! A pod is bound to a node, then its container starts after an image pull and start-up delay
//! drawn per pod, and it turns Ready at the first readiness probe after the application's
//! warm-up. Right after each container start it may burn a fixed CPU burst. Ready pods serve
//! the Deployment's queue. Memory above the limit kills the container, which restarts after a
//! CrashLoopBackOff delay that doubles per restart and resets after a period of running.
//!
//! # Not modelled
//!
//! * Liveness and startup probes, and readiness probe failures caused by load; readiness only
//!   fails at start-up, after a restart, on a NotReady node, or when a fault is injected with
//!   [`crate::cluster::Cluster::fail_readiness`].
//! * Termination grace periods: a deleted pod stops serving at once.
//! * Image caching: every pod draws a fresh start-up delay.
//! * Eviction under node memory pressure, and CPU throttling by CFS periods (a pod uses up to
//!   its limit, averaged over the tick).

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use arbiter_core::snapshot::{PodPhase, UsageSample};

use crate::config::{ClusterConfig, DelayDistribution, GIB, StartupConfig};
use crate::latency::QueueState;
use crate::load::Demand;

use super::WorkloadTick;
use super::nodes::Node;

/// Values the ring keeps in place before it moves them to the heap.
const INLINE_WINDOW: usize = 4;

/// The last values of a metrics window, oldest first: a ring of up to [`INLINE_WINDOW`]
/// values inside the pod, which moves to a heap queue once a window needs more.
#[derive(Debug, Clone, Default)]
pub(crate) struct UsageWindow {
    inline: [f64; INLINE_WINDOW],
    /// Position of the oldest inline value.
    head: u8,
    /// Number of inline values.
    len: u8,
    /// All values, once a window longer than the inline ring was asked for.
    #[expect(
        clippy::box_collection,
        reason = "a box is one word in every pod, where an empty queue would take four"
    )]
    spilled: Option<Box<VecDeque<f64>>>,
}

impl UsageWindow {
    /// Appends `value`, first dropping the oldest value when `window` or more are kept.
    #[inline]
    pub fn push(&mut self, value: f64, window: usize) {
        if self.spilled.is_none() && window <= INLINE_WINDOW {
            let (mut head, mut len) = (usize::from(self.head), usize::from(self.len));
            if len >= window {
                head = (head + 1) % INLINE_WINDOW;
                len -= 1;
            }
            self.inline[(head + len) % INLINE_WINDOW] = value;
            self.head = head as u8;
            self.len = (len + 1) as u8;
            return;
        }
        self.push_spilled(value, window);
    }

    /// Appends to the heap queue, moving the inline values there first.
    #[cold]
    fn push_spilled(&mut self, value: f64, window: usize) {
        if self.spilled.is_none() {
            let values: VecDeque<f64> = self.iter().collect();
            self.spilled = Some(Box::new(values));
            self.len = 0;
            self.head = 0;
        }
        if let Some(values) = &mut self.spilled {
            if values.len() >= window {
                values.pop_front();
            }
            values.push_back(value);
        }
    }

    /// Number of values kept.
    fn len(&self) -> usize {
        match &self.spilled {
            Some(values) => values.len(),
            None => usize::from(self.len),
        }
    }

    /// Returns the mean of the values, summed oldest first as `Iterator::sum` does, or `None`
    /// when there are none.
    #[inline]
    pub fn mean(&self) -> Option<f64> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        let sum = match &self.spilled {
            Some(values) => values.iter().sum::<f64>(),
            None => {
                let head = usize::from(self.head);
                let mut sum = -0.0;
                for offset in 0..len {
                    sum += self.inline[(head + offset) % INLINE_WINDOW];
                }
                sum
            }
        };
        Some(sum / len as f64)
    }

    /// Iterates over the values, oldest first.
    fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let (head, len) = (usize::from(self.head), usize::from(self.len));
        let inline = (0..len).map(move |offset| self.inline[(head + offset) % INLINE_WINDOW]);
        let spilled = self
            .spilled
            .iter()
            .flat_map(|values| values.iter().copied());
        inline.chain(spilled)
    }
}

/// One simulated pod of an exercise Deployment.
#[derive(Debug, Clone)]
pub(crate) struct Pod {
    pub name: String,
    pub ordinal: u64,
    /// Template revision the pod was created from.
    pub revision: u32,
    pub node: Option<usize>,
    pub phase: PodPhase,
    pub created_s: f64,
    /// `status.startTime`: when the pod was bound and the kubelet took it.
    pub start_s: Option<f64>,
    /// When the current container starts or started.
    pub container_start_s: f64,
    pub ready: bool,
    pub ready_at_s: Option<f64>,
    pub ready_transition_s: Option<f64>,
    pub restarts: u32,
    /// Restarts counted for the next back-off delay; reset after a long enough run.
    pub backoff_restarts: u32,
    pub backoff_until_s: Option<f64>,
    /// Whether the node the pod runs on is NotReady, so the pod cannot serve.
    pub node_lost: bool,
    /// Whether the metrics pipeline drops this pod's samples (an injected fault).
    pub metrics_withheld: bool,
    /// CPU usage of the last ticks of the metrics window, oldest first.
    pub cpu_history_milli: UsageWindow,
    /// CPU the pod may use for serving this tick, in millicores (scratch).
    pub capacity_milli: f64,
    pub cpu_milli: f64,
    pub memory_bytes: i64,
    pub sample: Option<UsageSample>,
}

impl Pod {
    pub fn new(name: String, ordinal: u64, revision: u32, now: f64) -> Self {
        Self {
            name,
            ordinal,
            revision,
            node: None,
            phase: PodPhase::Pending,
            created_s: now,
            start_s: None,
            container_start_s: f64::INFINITY,
            ready: false,
            ready_at_s: None,
            ready_transition_s: None,
            restarts: 0,
            backoff_restarts: 0,
            backoff_until_s: None,
            node_lost: false,
            metrics_withheld: false,
            cpu_history_milli: UsageWindow::default(),
            capacity_milli: 0.0,
            cpu_milli: 0.0,
            memory_bytes: 0,
            sample: None,
        }
    }

    pub fn container_running(&self) -> bool {
        self.phase == PodPhase::Running && self.backoff_until_s.is_none() && !self.node_lost
    }

    pub fn set_unready(&mut self, now: f64) {
        if self.ready {
            self.ready = false;
            self.ready_transition_s = Some(now);
        }
    }

    /// Order in which the ReplicaSet controller deletes pods, first to go first: unscheduled
    /// before scheduled, Pending before Running, not Ready before Ready, Ready for a shorter
    /// time first, more restarts first, newer first (`ActivePods` in Kubernetes'
    /// controller_utils.go).
    pub fn deletion_key(&self) -> (bool, u8, bool, i64, i64, i64) {
        let phase_rank = match self.phase {
            PodPhase::Pending => 0,
            _ => 1,
        };
        let ready_since = self
            .ready_transition_s
            .filter(|_| self.ready)
            .unwrap_or(f64::MAX);
        (
            self.node.is_some(),
            phase_rank,
            self.ready,
            -(ready_since * 1000.0) as i64,
            -i64::from(self.restarts),
            -(self.created_s * 1000.0) as i64,
        )
    }
}

/// One exercise Deployment with its pods and queue.
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    pub namespace: String,
    pub name: String,
    /// `namespace/name`.
    pub key: String,
    pub spec_replicas: i32,
    /// Current template revision; pods of older revisions are replaced by a rolling update.
    pub revision: u32,
    pub pods: Vec<Pod>,
    pub next_ordinal: u64,
    pub queue: QueueState,
    pub latency_history_ms: VecDeque<f64>,
    pub published_latency_ms: Option<f64>,
    pub load_cap_cores: Option<f64>,
    /// Readiness probes of every pod fail until this time (an injected fault).
    pub readiness_failing_until_s: f64,
    /// Demand of the current tick (scratch).
    pub demand: Demand,
    /// Figures of the current tick (scratch).
    pub tick: WorkloadTick,
    /// Node of each Ready, serving pod after the lifecycle step, in pod order (scratch), so
    /// that counting them per node does not walk the pod records again.
    pub ready_nodes: Vec<usize>,
    /// Node, CPU in millicores and memory in bytes of each bound pod after serving, in pod
    /// order (scratch), for the power estimate.
    pub usage: Vec<(usize, f64, f64)>,
}

/// Returns `value.round() as i64`, rounding half away from zero, without the library call
/// that `f64::round` is on x86-64 without SSE4.1.
#[inline]
fn round_to_i64(value: f64) -> i64 {
    // From 2^52 up every float is a whole number. The cast saturates the infinities and turns
    // NaN into 0, after `round` as well.
    if value.is_nan() || value.abs() >= 4_503_599_627_370_496.0 {
        return value as i64;
    }
    let whole = value as i64;
    // Exact: both have the same sign and differ by less than 1.
    let fraction = value - whole as f64;
    if fraction >= 0.5 {
        whole + 1
    } else if fraction <= -0.5 {
        whole - 1
    } else {
        whole
    }
}

/// Draws a pod's image pull and container start delay from its own seeded generator.
pub(crate) fn start_delay(startup: &StartupConfig, seed: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    match startup.delay_distribution {
        DelayDistribution::Uniform => {
            startup.min_start_s + rng.random::<f64>() * (startup.max_start_s - startup.min_start_s)
        }
        DelayDistribution::LogNormal { median_s, sigma } => {
            // Box-Muller: one standard normal draw from two uniforms.
            let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            let u2: f64 = rng.random::<f64>();
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            (median_s * (sigma * z).exp()).clamp(startup.min_start_s, startup.max_start_s)
        }
    }
}

/// Returns when a container started at `start_s` turns Ready: the first readiness probe at or
/// after the application's warm-up.
fn ready_time(startup: &StartupConfig, start_s: f64) -> f64 {
    let warm_up = startup.readiness_delay_s;
    if startup.readiness_period_s > 0.0 {
        start_s + (warm_up / startup.readiness_period_s).ceil() * startup.readiness_period_s
    } else {
        start_s + warm_up
    }
}

/// Moves one Deployment's pods through container start, readiness, back-off and injected
/// readiness failures.
pub(crate) fn advance_lifecycle(deployment: &mut Deployment, startup: &StartupConfig, now: f64) {
    let failing_until = deployment.readiness_failing_until_s;
    for pod in &mut deployment.pods {
        if pod.phase == PodPhase::Pending && pod.node.is_some() && now >= pod.container_start_s {
            pod.phase = PodPhase::Running;
            pod.ready_at_s = Some(ready_time(startup, pod.container_start_s));
        }
        if let Some(until) = pod.backoff_until_s
            && now >= until
        {
            pod.backoff_until_s = None;
            pod.container_start_s = until;
            pod.ready_at_s = Some(ready_time(startup, until));
        }
        if pod.backoff_restarts > 0
            && pod.container_running()
            && now - pod.container_start_s >= startup.backoff_reset_s
        {
            pod.backoff_restarts = 0;
        }
        if now < failing_until {
            pod.set_unready(now);
            if pod.phase == PodPhase::Running {
                let at = pod.ready_at_s.unwrap_or(failing_until).max(failing_until);
                pod.ready_at_s = Some(at);
            }
            continue;
        }
        if pod.container_running()
            && !pod.ready
            && let Some(at) = pod.ready_at_s
            && now >= at
        {
            pod.ready = true;
            pod.ready_transition_s = Some(at);
        }
    }
    deployment.ready_nodes.clear();
    for pod in &deployment.pods {
        if pod.ready
            && !pod.node_lost
            && let Some(node) = pod.node
        {
            deployment.ready_nodes.push(node);
        }
    }
}

/// Sets each Ready pod's serving capacity: its limit, less the start-up burst, capped by its
/// share of the node's room among all Ready exercise pods there. Returns the capacities summed
/// in pod order and the number of serving pods.
fn set_capacities(
    deployment: &mut Deployment,
    nodes: &[Node],
    config: &ClusterConfig,
    now: f64,
) -> (f64, usize) {
    let limit = config.workload.cpu_limit_milli as f64;
    // Starts where `Iterator::sum` of floats starts, so that no pods give the same -0.0.
    let mut total = -0.0;
    let mut serving = 0;
    for pod in &mut deployment.pods {
        pod.capacity_milli = match (pod.ready && !pod.node_lost, pod.node) {
            (true, Some(node)) => {
                let node = &nodes[node];
                let room = (node.cpu_milli - node.background_cpu_milli) as f64;
                let share = room / f64::from(node.ready_pods.max(1));
                (limit.min(share) - burst_milli(pod, config, now)).max(0.0)
            }
            _ => 0.0,
        };
        total += pod.capacity_milli;
        serving += usize::from(pod.ready && !pod.node_lost);
    }
    (total, serving)
}

/// CPU the start-up burst burns in this tick, in millicores.
fn burst_milli(pod: &Pod, config: &ClusterConfig, now: f64) -> f64 {
    let startup = &config.startup;
    if startup.burst_cpu_milli <= 0 || !pod.container_running() {
        return 0.0;
    }
    if now - pod.container_start_s < startup.burst_s {
        startup.burst_cpu_milli.min(config.workload.cpu_limit_milli) as f64
    } else {
        0.0
    }
}

/// Serves one Deployment's demand for one tick and updates its pods' usage and metrics.
pub(crate) fn serve(
    deployment: &mut Deployment,
    nodes: &[Node],
    config: &ClusterConfig,
    now: f64,
    dt_s: f64,
    publish: bool,
) -> WorkloadTick {
    let demand = deployment.demand;
    let capped = deployment
        .load_cap_cores
        .map_or(demand.cpu_cores, |cap| demand.cpu_cores.min(cap));
    let (capacity_milli, serving_pods) = set_capacities(deployment, nodes, config, now);
    let queue_tick =
        deployment
            .queue
            .advance(&config.latency, capped, capacity_milli / 1000.0, dt_s);
    let served_milli = queue_tick.served_core_s / dt_s * 1000.0;

    // Memory of in-flight work is spread over the serving pods; above the limit is an OOM kill.
    let work_memory = if serving_pods > 0 {
        demand.memory_gib * GIB as f64 / serving_pods as f64
    } else {
        0.0
    };
    let window_ticks = (config.metrics.window_s / dt_s).round().max(1.0) as usize;
    let workload = &config.workload;
    let mut tick = WorkloadTick {
        demand_cores: capped,
        capped_cores: demand.cpu_cores - capped,
        served_core_s: queue_tick.served_core_s,
        dropped_core_s: queue_tick.dropped_core_s,
        ready_capacity_cores: capacity_milli / 1000.0,
        p95_ms: queue_tick.p95_ms,
        spec_replicas: deployment.spec_replicas,
        ..WorkloadTick::default()
    };
    let mut usage = std::mem::take(&mut deployment.usage);
    usage.clear();
    for pod in &mut deployment.pods {
        let serving = pod.ready && !pod.node_lost;
        let burst = burst_milli(pod, config, now);
        pod.cpu_milli = if serving && capacity_milli > 0.0 {
            served_milli * pod.capacity_milli / capacity_milli + burst
        } else if pod.container_running() {
            (workload.idle_cpu_milli as f64).max(burst)
        } else {
            0.0
        };
        pod.memory_bytes = if serving {
            workload.base_memory_bytes + work_memory as i64
        } else if pod.container_running() {
            workload.base_memory_bytes
        } else {
            0
        };
        if pod.memory_bytes > workload.memory_limit_bytes {
            tick.oom_kills += 1;
            pod.restarts += 1;
            pod.backoff_restarts += 1;
            pod.set_unready(now);
            let backoff = (config.startup.initial_backoff_s
                * 2f64.powi(pod.backoff_restarts as i32 - 1))
            .min(config.startup.max_backoff_s);
            pod.backoff_until_s = Some(now + backoff);
            pod.memory_bytes = 0;
            pod.cpu_milli = 0.0;
        }

        // The metrics pipeline: a sample averages the last window of usage.
        if pod.phase == PodPhase::Running && !pod.node_lost {
            pod.cpu_history_milli.push(pod.cpu_milli, window_ticks);
        }
        if publish {
            if pod.metrics_withheld || pod.node_lost {
                // metrics-server cannot scrape a NotReady node's kubelet.
                pod.sample = None;
            } else if let Some(mean) = pod.cpu_history_milli.mean() {
                pod.sample = Some(UsageSample {
                    cpu_milli: round_to_i64(mean),
                    memory_bytes: pod.memory_bytes,
                    timestamp_s: now,
                    window_s: config.metrics.window_s,
                });
            }
        }

        if pod.ready {
            tick.ready_pods += 1;
        }
        match pod.node {
            None => tick.pending_pods += 1,
            Some(node) => {
                tick.requested_cpu_milli += workload.cpu_request_milli;
                usage.push((node, pod.cpu_milli, pod.memory_bytes as f64));
            }
        }
    }
    deployment.usage = usage;
    while deployment.latency_history_ms.len() >= window_ticks {
        deployment.latency_history_ms.pop_front();
    }
    deployment.latency_history_ms.push_back(queue_tick.p95_ms);
    if publish {
        deployment.published_latency_ms = deployment
            .latency_history_ms
            .iter()
            .copied()
            .reduce(f64::max);
    }
    tick
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_delay_is_clamped_and_seeded() {
        let startup = StartupConfig {
            delay_distribution: DelayDistribution::LogNormal {
                median_s: 12.0,
                sigma: 1.5,
            },
            ..StartupConfig::default()
        };
        let delays: Vec<f64> = (0..2000).map(|seed| start_delay(&startup, seed)).collect();
        assert!(delays.iter().all(|delay| (5.0..=40.0).contains(delay)));
        assert_eq!(start_delay(&startup, 7), start_delay(&startup, 7));
        let mut sorted = delays.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        assert!((10.0..14.5).contains(&median), "median {median}");
        let at_max = delays.iter().filter(|delay| **delay == 40.0).count();
        assert!(at_max > 50, "the long tail reaches the cap: {at_max}");
    }

    #[test]
    fn usage_window_keeps_the_queue_order_and_sums() {
        // Windows that shrink and grow past the inline ring, against a plain queue.
        let windows = [4, 4, 2, 3, 4, 1, 4, 4, 3, 6, 6, 2, 7, 7, 1, 4, 4];
        let mut ring = UsageWindow::default();
        let mut queue: VecDeque<f64> = VecDeque::new();
        assert_eq!(ring.mean(), None);
        for (step, &window) in windows.iter().cycle().take(60).enumerate() {
            let value = 0.1 * step as f64 + 1.0 / (step as f64 + 3.0);
            ring.push(value, window);
            if queue.len() >= window {
                queue.pop_front();
            }
            queue.push_back(value);
            assert_eq!(ring.iter().collect::<Vec<_>>(), Vec::from(queue.clone()));
            let mean = queue.iter().sum::<f64>() / queue.len() as f64;
            assert_eq!(ring.mean().map(f64::to_bits), Some(mean.to_bits()));
        }
    }

    #[test]
    fn rounding_matches_the_library() {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            4_503_599_627_370_495.5,
            -4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.3e18,
            -9.3e18,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..100_000 {
            state = crate::splitmix64_finalize(state);
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            values.push((unit - 0.5) * 4000.0);
            values.push(((unit * 8000.0).floor() + 0.5) * if state & 1 == 0 { 1.0 } else { -1.0 });
        }
        for value in values {
            assert_eq!(round_to_i64(value), value.round() as i64, "{value}");
        }
    }

    #[test]
    fn readiness_waits_for_probe() {
        let startup = StartupConfig {
            readiness_delay_s: 12.0,
            readiness_period_s: 10.0,
            ..StartupConfig::default()
        };
        assert_eq!(ready_time(&startup, 100.0), 120.0);
        let no_probe = StartupConfig {
            readiness_delay_s: 12.0,
            ..StartupConfig::default()
        };
        assert_eq!(ready_time(&no_probe, 100.0), 112.0);
    }
}
