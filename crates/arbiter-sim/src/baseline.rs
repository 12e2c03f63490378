//! The baseline controller: the Kubernetes HPA acting on the same snapshots Arbiter sees.

use serde::{Deserialize, Serialize};

use arbiter_core::snapshot::{ClusterSnapshot, PodPhase as ObservedPhase, WorkloadObservation};

use crate::hpa::{
    HorizontalPodAutoscaler, HpaConfig, HpaSpec, MetricSample, MetricSpec, PodPhase, PodView,
    ReconcileInput,
};

/// Settings of the baseline HPA. The controller constants are Kubernetes' production defaults
/// (tolerance 0.1, CPU initialization period 300 s, initial readiness delay 30 s, downscale
/// stabilization 300 s, sync period 15 s), and `behavior` is unset, as in a plain
/// `kubectl autoscale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineConfig {
    /// Target average CPU utilization of the request, in percent. Default 70.
    pub target_cpu_utilization_percent: i32,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            target_cpu_utilization_percent: 70,
        }
    }
}

/// One HPA per exercise Deployment.
pub struct BaselineHpa {
    config: HpaConfig,
    autoscalers: Vec<(String, HorizontalPodAutoscaler)>,
}

/// A rescale the HPA decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Rescale {
    /// Workload key `namespace/name`.
    pub workload: String,
    /// New `spec.replicas`.
    pub replicas: i32,
}

impl BaselineHpa {
    /// Creates one HPA per workload key with `min_replicas`, `max_replicas` and the CPU target.
    pub fn new(
        settings: &BaselineConfig,
        workloads: &[String],
        min_replicas: i32,
        max_replicas: i32,
    ) -> Self {
        let autoscalers = workloads
            .iter()
            .map(|workload| {
                let spec = HpaSpec {
                    min_replicas: Some(min_replicas),
                    max_replicas,
                    metrics: vec![MetricSpec::cpu_utilization(
                        settings.target_cpu_utilization_percent,
                    )],
                    behavior: None,
                };
                (workload.clone(), HorizontalPodAutoscaler::new(spec))
            })
            .collect();
        Self {
            config: HpaConfig::default(),
            autoscalers,
        }
    }

    /// Reconciles every HPA against the snapshot and returns the rescales to apply.
    pub fn reconcile(&mut self, snapshot: &ClusterSnapshot) -> Vec<Rescale> {
        let mut rescales = Vec::new();
        for (key, autoscaler) in &mut self.autoscalers {
            let Some(workload) = snapshot
                .workloads
                .iter()
                .find(|workload| workload.key() == *key)
            else {
                continue;
            };
            let pods = pod_views(workload);
            let input = ReconcileInput::new(
                snapshot.time_s,
                workload.spec_replicas,
                workload.pods.len() as i32,
                &pods,
            );
            let outcome = autoscaler.reconcile(&self.config, &input);
            if outcome.rescale {
                rescales.push(Rescale {
                    workload: key.clone(),
                    replicas: outcome.desired_replicas,
                });
            }
        }
        rescales
    }
}

/// Converts observed pods into the HPA's view of them.
pub fn pod_views(workload: &WorkloadObservation) -> Vec<PodView> {
    workload
        .pods
        .iter()
        .map(|pod| PodView {
            name: pod.name.clone(),
            phase: match pod.phase {
                ObservedPhase::Pending => PodPhase::Pending,
                ObservedPhase::Running => PodPhase::Running,
                ObservedPhase::Succeeded => PodPhase::Succeeded,
                ObservedPhase::Failed => PodPhase::Failed,
            },
            ready: pod.start_s.map(|_| pod.ready),
            start_s: pod.start_s,
            ready_transition_s: pod.ready_transition_s.or(pod.start_s),
            deleting: pod.deleting,
            request_milli: Some(workload.cpu_request_milli),
            cpu: pod.usage.map(|usage| MetricSample {
                value_milli: usage.cpu_milli,
                timestamp_s: usage.timestamp_s,
                window_s: usage.window_s,
            }),
            ..PodView::default()
        })
        .collect()
}
