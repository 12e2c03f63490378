//! The baseline controller: the Kubernetes HPA acting on the same snapshots Arbiter sees.
//!
//! Each exercise Deployment gets one [`HorizontalPodAutoscaler`] with the production controller
//! constants of [`HpaConfig::default`]. Its pod views carry the pods' real phase, Ready
//! condition and its transition time, `status.startTime`, CPU request, and the latest
//! metrics-server sample with its timestamp and window, so the CPU-initialization and
//! readiness rules see what they would see in a cluster.
//!
//! # Not modelled
//!
//! * The controller's work queue and resync jitter: every HPA reconciles once per tick, right
//!   after the cluster steps.
//! * Custom, Object and External metrics: the pod views carry CPU samples only, plus memory
//!   in [`BaselineHpa::reconcile_cluster`] when a spec asks for it (see
//!   [`BaselineHpa::with_specs`]).

use serde::{Deserialize, Serialize};

use arbiter_core::snapshot::{ClusterSnapshot, PodPhase as ObservedPhase, WorkloadObservation};

use crate::cluster::{Cluster, PodViewCache};
use crate::hpa::{
    HorizontalPodAutoscaler, HpaConfig, HpaSpec, MetricSample, MetricSource, MetricSpec, PodPhase,
    PodView, ReconcileInput,
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
    autoscalers: Vec<Autoscaler>,
    threads: usize,
}

/// One HPA with its target and the pod views reused between reconciles.
struct Autoscaler {
    key: String,
    hpa: HorizontalPodAutoscaler,
    /// Index of the target in the cluster, once found.
    index: Option<usize>,
    views: PodViewCache,
}

impl Autoscaler {
    /// Reconciles against the cluster and returns the rescale, if any.
    fn reconcile(&mut self, config: &HpaConfig, cluster: &Cluster) -> Option<Rescale> {
        let index = match self.index {
            Some(index) if cluster.workload_key(index) == Some(self.key.as_str()) => index,
            _ => {
                let index = cluster.deployment_index(&self.key).ok()?;
                self.index = Some(index);
                index
            }
        };
        let with_memory = self.hpa.spec.metrics.iter().any(|metric| {
            matches!(&metric.source, MetricSource::Resource { resource }
                | MetricSource::ContainerResource { resource, .. } if resource == "memory")
        });
        cluster.update_pod_views(index, with_memory, &mut self.views);
        let input = ReconcileInput::new(
            cluster.time_s(),
            cluster.spec_replicas_at(index),
            self.views.views.len() as i32,
            &self.views.views,
        );
        let outcome = self.hpa.reconcile(config, &input);
        outcome.rescale.then(|| Rescale {
            workload: self.key.clone(),
            replicas: outcome.desired_replicas,
        })
    }
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
                Autoscaler {
                    key: workload.clone(),
                    hpa: HorizontalPodAutoscaler::new(spec),
                    index: None,
                    views: PodViewCache::default(),
                }
            })
            .collect();
        Self {
            config: HpaConfig::default(),
            autoscalers,
            threads: 1,
        }
    }

    /// Creates HPAs with explicit specs and controller settings, one per workload key. Specs
    /// with a `memory` Resource metric get memory samples and requests in their pod views.
    pub fn with_specs(config: HpaConfig, specs: Vec<(String, HpaSpec)>) -> Self {
        let autoscalers = specs
            .into_iter()
            .map(|(key, spec)| Autoscaler {
                key,
                hpa: HorizontalPodAutoscaler::new(spec),
                index: None,
                views: PodViewCache::default(),
            })
            .collect();
        Self {
            config,
            autoscalers,
            threads: 1,
        }
    }

    /// Reconciles every HPA against the snapshot and returns the rescales to apply.
    pub fn reconcile(&mut self, snapshot: &ClusterSnapshot) -> Vec<Rescale> {
        let mut rescales = Vec::new();
        for autoscaler in &mut self.autoscalers {
            let Some(workload) = snapshot
                .workloads
                .iter()
                .find(|workload| workload.key() == autoscaler.key)
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
            let outcome = autoscaler.hpa.reconcile(&self.config, &input);
            if outcome.rescale {
                rescales.push(Rescale {
                    workload: autoscaler.key.clone(),
                    replicas: outcome.desired_replicas,
                });
            }
        }
        rescales
    }

    /// Reconciles every HPA against the cluster's current state and returns the rescales to
    /// apply. The HPAs see the same pods, samples and times as through
    /// [`BaselineHpa::reconcile`] of a [`Cluster::snapshot`], without building the snapshot.
    pub fn reconcile_cluster(&mut self, cluster: &Cluster) -> Vec<Rescale> {
        let config = &self.config;
        let threads = self.threads.min(self.autoscalers.len()).max(1);
        if threads == 1 {
            return self
                .autoscalers
                .iter_mut()
                .filter_map(|autoscaler| autoscaler.reconcile(config, cluster))
                .collect();
        }
        // Each thread reconciles a contiguous chunk; joining in chunk order keeps the result
        // the same for any thread count.
        let chunk_size = self.autoscalers.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .autoscalers
                .chunks_mut(chunk_size)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter_mut()
                            .filter_map(|autoscaler| autoscaler.reconcile(config, cluster))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| handle.join().expect("an HPA thread panicked"))
                .collect()
        })
    }

    /// Sets how many threads [`BaselineHpa::reconcile_cluster`] uses; 1 (the default) runs on
    /// the caller's thread. Results are the same for any count.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Returns the HPA of a workload key, to read its state (recommendations, conditions).
    pub fn autoscaler(&self, workload: &str) -> Option<&HorizontalPodAutoscaler> {
        self.autoscalers
            .iter()
            .find(|autoscaler| autoscaler.key == workload)
            .map(|autoscaler| &autoscaler.hpa)
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
