//! The latency model: request latency from demand against ready capacity.
//!
//! Each workload is treated as a fluid queue in front of its Ready pods, every pod an M/M/1
//! server with the same utilization because load is spread evenly:
//!
//! - `capacity` is the CPU the Ready pods can use this tick (limits, node contention).
//! - Work arriving this tick (`demand * dt`) joins the backlog left from earlier ticks. The
//!   pods serve at most `capacity * dt`; what remains is the new backlog. Work that would
//!   wait longer than the client timeout is dropped and counted.
//! - Utilization `rho = served / (capacity * dt)`, capped at 0.99.
//! - p95 latency = `ln(20) * service_time / (1 - rho)` (the 95th percentile of the
//!   exponential sojourn time of an M/M/1 queue) plus the backlog's queueing delay
//!   `backlog / capacity`, capped at the timeout. With no capacity and some demand it is the
//!   timeout.
//!
//! # Not modelled
//!
//! Request-level randomness beyond the M/M/1 formula, retries, load balancer
//! imbalance between pods, and latency from other tiers.

use serde::{Deserialize, Serialize};

use crate::config::LatencyConfig;

/// Backlog of one workload between ticks.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct QueueState {
    /// Work waiting to be served, in core-seconds.
    pub backlog_core_s: f64,
}

/// What one tick of the queue produced.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QueueTick {
    /// Work served, in core-seconds.
    pub served_core_s: f64,
    /// Work dropped because it would wait past the client timeout, in core-seconds.
    pub dropped_core_s: f64,
    /// p95 request latency in milliseconds.
    pub p95_ms: f64,
}

impl QueueState {
    /// Advances the queue by `dt_s` seconds with `demand_cores` arriving and `capacity_cores`
    /// of Ready CPU.
    pub fn advance(
        &mut self,
        config: &LatencyConfig,
        demand_cores: f64,
        capacity_cores: f64,
        dt_s: f64,
    ) -> QueueTick {
        let offered = demand_cores.max(0.0) * dt_s + self.backlog_core_s;
        let capacity = capacity_cores.max(0.0);
        let served = offered.min(capacity * dt_s);
        let mut backlog = offered - served;
        let max_backlog = capacity * config.timeout_ms / 1000.0;
        let dropped = (backlog - max_backlog).max(0.0);
        backlog -= dropped;
        self.backlog_core_s = backlog;

        let p95_ms = if capacity <= 0.0 {
            if offered > 0.0 {
                config.timeout_ms
            } else {
                0.0
            }
        } else {
            let rho = (served / (capacity * dt_s)).min(0.99);
            let service = 20f64.ln() * config.service_time_ms / (1.0 - rho);
            let queueing = backlog / capacity * 1000.0;
            (service + queueing).min(config.timeout_ms)
        };
        QueueTick {
            served_core_s: served,
            dropped_core_s: dropped,
            p95_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_load_latency_near_service_time() {
        let mut queue = QueueState::default();
        let tick = queue.advance(&LatencyConfig::default(), 1.0, 10.0, 15.0);
        let expected = 20f64.ln() * 20.0 / 0.9;
        assert!((tick.p95_ms - expected).abs() < 1e-9, "{}", tick.p95_ms);
        assert_eq!(queue.backlog_core_s, 0.0);
        assert_eq!(tick.served_core_s, 15.0);
    }

    #[test]
    fn overload_builds_backlog_then_drains() {
        let config = LatencyConfig::default();
        let mut queue = QueueState::default();
        let overloaded = queue.advance(&config, 12.0, 10.0, 15.0);
        assert!((queue.backlog_core_s - 30.0).abs() < 1e-9);
        assert!(overloaded.p95_ms > config.slo_p95_ms);
        let draining = queue.advance(&config, 5.0, 10.0, 15.0);
        assert_eq!(queue.backlog_core_s, 0.0);
        assert!((draining.served_core_s - 105.0).abs() < 1e-9);
    }

    #[test]
    fn work_past_timeout_is_dropped() {
        let config = LatencyConfig::default();
        let mut queue = QueueState::default();
        let tick = queue.advance(&config, 100.0, 1.0, 15.0);
        assert!((queue.backlog_core_s - 10.0).abs() < 1e-9);
        assert!((tick.dropped_core_s - (1500.0 - 15.0 - 10.0)).abs() < 1e-9);
        assert_eq!(tick.p95_ms, config.timeout_ms);
    }

    #[test]
    fn no_capacity_means_timeout() {
        let config = LatencyConfig::default();
        let mut queue = QueueState::default();
        assert_eq!(
            queue.advance(&config, 1.0, 0.0, 15.0).p95_ms,
            config.timeout_ms
        );
        let mut idle = QueueState::default();
        assert_eq!(idle.advance(&config, 0.0, 0.0, 15.0).p95_ms, 0.0);
    }
}
