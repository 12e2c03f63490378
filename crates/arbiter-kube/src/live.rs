//! The live loop: observe, decide and act against a live (or served) cluster, with an
//! optional baseline cluster that keeps its own HPA and is only observed.
//!
//! Each tick observes the experimental cluster, runs Arbiter's controller on the snapshot
//! and executes the decisions through the bounded executor; then it observes the baseline.
//! A tick whose experimental observation is incomplete (a Deployment or pod list failed) makes
//! no decision, because workloads may be missing from the snapshot. Every tick emits
//! [`LiveRecord`]s: observations with their API calls, decisions with their execution
//! records, and skipped ticks.

use std::time::Duration;

use arbiter_core::controller::{Controller, ControllerConfig};
use arbiter_core::execution::OperationRecord;
use arbiter_core::referee::Decision;
use arbiter_core::snapshot::ClusterSnapshot;
use serde::{Deserialize, Serialize};

use crate::executor::KubeExecutor;
use crate::observer::{KubeObserver, Observation};

/// One workload's state in an observation record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSummary {
    /// Workload key `namespace/name`.
    pub workload: String,
    /// `spec.replicas`.
    pub spec_replicas: i32,
    /// Ready pods.
    pub ready_replicas: i32,
    /// Summed CPU usage of the sampled pods, in cores.
    pub cpu_cores: f64,
    /// p95 latency in milliseconds, when the workload reports it.
    pub latency_p95_ms: Option<f64>,
}

/// One line of a live run's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveRecord {
    /// One observation of one cluster.
    Observation {
        /// Cluster name.
        cluster: String,
        /// Tick number, from 0.
        tick: u64,
        /// Observation time on the cluster's clock, in seconds.
        time_s: f64,
        /// Whether every Deployment and pod list succeeded.
        complete: bool,
        /// Workloads in scope.
        workloads: Vec<WorkloadSummary>,
        /// Metrics and objects the observer could not read.
        missing: Vec<String>,
        /// Every API call of the observation.
        operations: Vec<OperationRecord>,
    },
    /// One decision of Arbiter's controller with its execution record.
    Decision(Box<Decision>),
    /// A tick that made no decision.
    Skipped {
        /// Cluster name.
        cluster: String,
        /// Tick number.
        tick: u64,
        /// Reason the tick made no decision.
        reason: String,
    },
}

impl LiveRecord {
    /// Returns every operation record in this line: an observation's calls or a decision's execution.
    pub fn operations(&self) -> Vec<&OperationRecord> {
        match self {
            LiveRecord::Observation { operations, .. } => operations.iter().collect(),
            LiveRecord::Decision(decision) => decision
                .execution
                .as_ref()
                .map(|record| record.operations.iter().collect())
                .unwrap_or_default(),
            LiveRecord::Skipped { .. } => Vec::new(),
        }
    }
}

/// When a live run stops.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RunBounds {
    /// Stop after this many ticks.
    pub ticks: Option<u64>,
    /// Stop once this much wall-clock time has passed.
    pub duration: Option<Duration>,
    /// Wall-clock wait between the starts of two ticks.
    pub interval: Duration,
}

/// The experimental cluster: observer, controller and executor.
pub struct LiveLoop {
    observer: KubeObserver,
    executor: KubeExecutor,
    controller: Controller,
    baseline: Option<KubeObserver>,
    tick: u64,
}

fn summarize(observation: &Observation, tick: u64) -> LiveRecord {
    let snapshot: &ClusterSnapshot = &observation.snapshot;
    LiveRecord::Observation {
        cluster: snapshot.cluster.clone(),
        tick,
        time_s: snapshot.time_s,
        complete: observation.complete,
        workloads: snapshot
            .workloads
            .iter()
            .map(|workload| WorkloadSummary {
                workload: workload.key(),
                spec_replicas: workload.spec_replicas,
                ready_replicas: workload.ready_replicas,
                cpu_cores: workload.cpu_usage_cores().0,
                latency_p95_ms: workload.latency_p95_ms,
            })
            .collect(),
        missing: snapshot.missing.clone(),
        operations: observation.operations.clone(),
    }
}

impl LiveLoop {
    /// Creates the loop. `baseline`, when given, is only observed.
    pub fn new(
        observer: KubeObserver,
        executor: KubeExecutor,
        controller: ControllerConfig,
        baseline: Option<KubeObserver>,
    ) -> Self {
        Self {
            observer,
            executor,
            controller: Controller::new(controller),
            baseline,
            tick: 0,
        }
    }

    /// Runs one tick and returns its records, in order.
    pub async fn tick(&mut self) -> Vec<LiveRecord> {
        let tick = self.tick;
        self.tick += 1;
        let mut records = Vec::new();

        let observation = self.observer.observe().await;
        records.push(summarize(&observation, tick));
        if observation.complete {
            if let Some(epoch) = self.observer.config().epoch_unix_s {
                self.executor.set_time(epoch + observation.snapshot.time_s);
            }
            for mut decision in self.controller.decide(&observation.snapshot) {
                let record = self.executor.execute(&decision.action).await;
                decision.execution = Some(record);
                records.push(LiveRecord::Decision(Box::new(decision)));
            }
        } else {
            tracing::warn!(cluster = %observation.snapshot.cluster, tick, "observation incomplete; no decision this tick");
            records.push(LiveRecord::Skipped {
                cluster: observation.snapshot.cluster.clone(),
                tick,
                reason: format!(
                    "observation incomplete: {}",
                    observation.snapshot.missing.join("; ")
                ),
            });
        }

        if let Some(baseline) = &mut self.baseline {
            let observation = baseline.observe().await;
            records.push(summarize(&observation, tick));
        }
        records
    }

    /// Runs ticks until a bound is reached, handing each record to `sink`. Without any bound
    /// it runs until the task is cancelled.
    ///
    /// # Errors
    /// The first error `sink` returns, which ends the run.
    pub async fn run<E>(
        &mut self,
        bounds: RunBounds,
        mut sink: impl FnMut(&LiveRecord) -> Result<(), E>,
    ) -> Result<u64, E> {
        let started = tokio::time::Instant::now();
        let mut ran = 0;
        loop {
            if bounds.ticks.is_some_and(|ticks| ran >= ticks)
                || bounds
                    .duration
                    .is_some_and(|duration| started.elapsed() >= duration)
            {
                return Ok(ran);
            }
            let tick_started = tokio::time::Instant::now();
            for record in self.tick().await {
                sink(&record)?;
            }
            ran += 1;
            if bounds.ticks.is_some_and(|ticks| ran >= ticks) {
                return Ok(ran);
            }
            let next = tick_started + bounds.interval;
            let deadline = bounds.duration.map(|duration| started + duration);
            let wake = deadline.map_or(next, |deadline| next.min(deadline));
            tokio::time::sleep_until(wake).await;
        }
    }
}
