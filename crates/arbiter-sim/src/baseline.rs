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

use crate::cluster::Cluster;
use crate::hpa::{
    HorizontalPodAutoscaler, HpaConfig, HpaSpec, MetricSample, MetricSource, MetricSpec, PodList,
    PodPhase, PodView, ReconcileInput, ReconcileOutcome, ReconcileScratch,
};
use crate::workers::Workers;

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
    workers: Workers,
    /// Reconcile buffers, one per chunk of [`BaselineHpa::reconcile_cluster`].
    scratch: Vec<Scratch>,
}

/// One HPA with its target.
struct Autoscaler {
    key: String,
    hpa: HorizontalPodAutoscaler,
    /// Index of the target in the cluster, once found.
    index: Option<usize>,
    /// Whether a metric of the spec reads memory, so the pods are read with memory.
    with_memory: bool,
}

/// Buffers that one thread reuses for every reconcile, so the steady state allocates nothing.
#[derive(Default)]
struct Scratch {
    calc: ReconcileScratch,
    outcome: ReconcileOutcome,
}

impl Autoscaler {
    fn new(key: String, spec: HpaSpec) -> Self {
        let with_memory = spec.metrics.iter().any(|metric| {
            matches!(&metric.source, MetricSource::Resource { resource }
                | MetricSource::ContainerResource { resource, .. } if resource == "memory")
        });
        Autoscaler {
            key,
            hpa: HorizontalPodAutoscaler::new(spec),
            index: None,
            with_memory,
        }
    }

    /// Reconciles against the cluster and returns the rescale, if any. The HPA reads the
    /// cluster's pod records in place ([`Cluster::hpa_pods`]), the same pods as the views of
    /// [`Cluster::update_pod_views`].
    fn reconcile(
        &mut self,
        config: &HpaConfig,
        cluster: &Cluster,
        scratch: &mut Scratch,
    ) -> Option<Rescale> {
        let index = match self.index {
            Some(index) if cluster.workload_key(index) == Some(self.key.as_str()) => index,
            _ => {
                let index = cluster.deployment_index(&self.key).ok()?;
                self.index = Some(index);
                index
            }
        };
        let pods = cluster.hpa_pods(index, self.with_memory);
        let input = ReconcileInput::new(
            cluster.time_s(),
            cluster.spec_replicas_at(index),
            pods.len() as i32,
            &[],
        );
        let outcome = &mut scratch.outcome;
        // Only the rescale is read here; the conditions stay in the HPA.
        self.hpa
            .decide_into(config, &input, &pods, &mut scratch.calc, outcome);
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
                Autoscaler::new(workload.clone(), spec)
            })
            .collect();
        Self {
            config: HpaConfig::default(),
            autoscalers,
            workers: Workers::default(),
            scratch: Vec::new(),
        }
    }

    /// Creates HPAs with explicit specs and controller settings, one per workload key. Specs
    /// with a `memory` Resource metric get memory samples and requests in their pod views.
    pub fn with_specs(config: HpaConfig, specs: Vec<(String, HpaSpec)>) -> Self {
        let autoscalers = specs
            .into_iter()
            .map(|(key, spec)| Autoscaler::new(key, spec))
            .collect();
        Self {
            config,
            autoscalers,
            workers: Workers::default(),
            scratch: Vec::new(),
        }
    }

    /// Reconciles every HPA against the snapshot and returns the rescales to apply.
    pub fn reconcile(&mut self, snapshot: &ClusterSnapshot) -> Vec<Rescale> {
        let mut rescales = Vec::new();
        if self.scratch.is_empty() {
            self.scratch.push(Scratch::default());
        }
        let scratch = &mut self.scratch[0];
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
            let outcome = &mut scratch.outcome;
            autoscaler.hpa.reconcile_into(
                &self.config,
                &input,
                pods.as_slice(),
                &mut scratch.calc,
                outcome,
            );
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
        let chunks = self.workers.chunks();
        if self.scratch.len() < chunks {
            self.scratch.resize_with(chunks, Scratch::default);
        }
        if chunks == 1 {
            let scratch = &mut self.scratch[0];
            return self
                .autoscalers
                .iter_mut()
                .filter_map(|autoscaler| autoscaler.reconcile(config, cluster, scratch))
                .collect();
        }
        // Workers reconcile contiguous chunks, and gathering in chunk order keeps the result
        // the same for any thread count.
        self.workers
            .map_chunks(
                &mut self.autoscalers,
                &mut self.scratch,
                |chunk, scratch| {
                    chunk
                        .iter_mut()
                        .filter_map(|autoscaler| autoscaler.reconcile(config, cluster, scratch))
                        .collect::<Vec<_>>()
                },
            )
            .into_iter()
            .flatten()
            .collect()
    }

    /// Sets how many threads [`BaselineHpa::reconcile_cluster`] uses; 1 (the default) runs on
    /// the caller's thread. Results are the same for any count.
    pub fn set_threads(&mut self, threads: usize) {
        self.workers = Workers::new(threads);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PodViewCache;
    use crate::config::{ClusterConfig, WorkloadConfig};
    use crate::hpa::{MetricTarget, MetricTargetType, PodList};
    use crate::load::Demand;

    const TICK_S: f64 = 15.0;
    const KEY: &str = "arbiter-exercise/web";

    fn cluster() -> Cluster {
        let config = ClusterConfig {
            workload: WorkloadConfig {
                initial_replicas: 4,
                ..WorkloadConfig::default()
            },
            ..ClusterConfig::default()
        };
        Cluster::new("test", config, 5, &["web".to_owned()]).expect("valid config")
    }

    /// Demand in cores at a tick: a ramp up, a plateau and a drop, so that pods start, turn
    /// Ready and are deleted while the HPAs scale.
    fn demand(tick: usize) -> Demand {
        let cpu_cores = match tick {
            0..40 => 0.5 + tick as f64 * 0.15,
            40..80 => 6.5,
            _ => 1.0,
        };
        Demand {
            cpu_cores,
            memory_gib: 0.5,
        }
    }

    /// Applies faults at fixed ticks: samples withheld, readiness failing and a rollout.
    fn inject_faults(cluster: &mut Cluster, tick: usize) {
        match tick {
            20 => cluster.withhold_metrics(KEY, 2).expect("known workload"),
            30 => cluster.withhold_metrics(KEY, 0).expect("known workload"),
            50 => cluster
                .fail_readiness(KEY, cluster.time_s() + 120.0)
                .expect("known workload"),
            90 => cluster.rollout(KEY).expect("known workload"),
            _ => {}
        }
    }

    fn memory_spec() -> HpaSpec {
        HpaSpec {
            min_replicas: Some(1),
            max_replicas: 30,
            metrics: vec![
                MetricSpec::cpu_utilization(60),
                MetricSpec {
                    source: MetricSource::Resource {
                        resource: "memory".to_owned(),
                    },
                    target: MetricTarget {
                        target_type: MetricTargetType::AverageValue,
                        average_value_milli: Some(300 * 1024 * 1024 * 1000),
                        ..MetricTarget::default()
                    },
                },
                MetricSpec {
                    source: MetricSource::ContainerResource {
                        resource: "cpu".to_owned(),
                        container: "app".to_owned(),
                    },
                    target: MetricTarget {
                        average_utilization: Some(80),
                        ..MetricTarget::default()
                    },
                },
            ],
            behavior: None,
        }
    }

    fn cpu_spec() -> HpaSpec {
        HpaSpec {
            min_replicas: Some(1),
            max_replicas: 30,
            metrics: vec![MetricSpec::cpu_utilization(70)],
            behavior: None,
        }
    }

    #[test]
    fn hpa_pods_read_as_pod_views() {
        let mut sim = cluster();
        let mut cache = PodViewCache::default();
        let resources = ["cpu", "memory", "gpu"];
        let containers = ["", "app", "sidecar"];
        for tick in 0..120 {
            inject_faults(&mut sim, tick);
            sim.step(TICK_S, &[demand(tick)]);
            if tick == 10 {
                sim.scale(KEY, 9).expect("known workload");
            }
            for with_memory in [false, true] {
                sim.update_pod_views(0, with_memory, &mut cache);
                let views = cache.views.as_slice();
                let pods = sim.hpa_pods(0, with_memory);
                assert_eq!(PodList::len(&pods), views.len(), "tick {tick}");
                assert!(pods.names_distinct());
                for index in 0..views.len() {
                    let at = format!("tick {tick}, pod {index}, memory {with_memory}");
                    assert_eq!(pods.name(index), views.name(index), "{at}");
                    let (status, expected) = (pods.status(index), views.status(index));
                    assert_eq!(status.phase, expected.phase, "{at}");
                    assert_eq!(status.ready, expected.ready, "{at}");
                    assert_eq!(status.start_s, expected.start_s, "{at}");
                    assert_eq!(
                        status.ready_transition_s, expected.ready_transition_s,
                        "{at}"
                    );
                    assert_eq!(status.deleting, expected.deleting, "{at}");
                    for resource in resources {
                        for container in containers {
                            assert_eq!(
                                pods.resource_sample(index, resource, container),
                                views.resource_sample(index, resource, container),
                                "{at}, {resource} of {container:?}"
                            );
                            for pod_level in [false, true] {
                                assert_eq!(
                                    pods.request(index, container, resource, pod_level),
                                    views.request(index, container, resource, pod_level),
                                    "{at}, {resource} of {container:?}"
                                );
                            }
                        }
                    }
                    assert_eq!(
                        pods.custom_metric(index, "requests"),
                        views.custom_metric(index, "requests"),
                        "{at}"
                    );
                }
            }
        }
    }

    /// Reconciles one HPA on the cluster's pods in place and a copy of it on the pod views of
    /// the public API, and checks that outcomes and state agree at every tick.
    fn assert_same_reconciles(spec: HpaSpec, with_memory: bool) {
        let config = HpaConfig::default();
        let mut sim = cluster();
        let mut in_place = HorizontalPodAutoscaler::new(spec.clone());
        let mut public = HorizontalPodAutoscaler::new(spec);
        let mut cache = PodViewCache::default();
        let mut scratch = Scratch::default();
        let mut rescales = 0;
        for tick in 0..160 {
            inject_faults(&mut sim, tick);
            sim.step(TICK_S, &[demand(tick)]);
            let pods = sim.hpa_pods(0, with_memory);
            let input = ReconcileInput::new(
                sim.time_s(),
                sim.spec_replicas_at(0),
                PodList::len(&pods) as i32,
                &[],
            );
            in_place.reconcile_into(
                &config,
                &input,
                &pods,
                &mut scratch.calc,
                &mut scratch.outcome,
            );

            sim.update_pod_views(0, with_memory, &mut cache);
            let input = ReconcileInput::new(
                sim.time_s(),
                sim.spec_replicas_at(0),
                cache.views.len() as i32,
                &cache.views,
            );
            let expected = public.reconcile(&config, &input);
            assert_eq!(scratch.outcome, expected, "tick {tick}");
            assert_eq!(in_place.conditions, public.conditions, "tick {tick}");
            assert_eq!(
                in_place.recommendations, public.recommendations,
                "tick {tick}"
            );

            if expected.rescale {
                rescales += 1;
                sim.scale(KEY, expected.desired_replicas)
                    .expect("known workload");
            }
        }
        assert!(rescales >= 2, "only {rescales} rescales");
    }

    #[test]
    fn in_place_reconcile_matches_cpu() {
        assert_same_reconciles(cpu_spec(), false);
    }

    #[test]
    fn in_place_reconcile_matches_memory() {
        assert_same_reconciles(memory_spec(), true);
    }

    #[test]
    fn thread_count_keeps_rescales() {
        let names: Vec<String> = (0..7).map(|index| format!("svc-{index}")).collect();
        let keys: Vec<String> = names
            .iter()
            .map(|name| format!("arbiter-exercise/{name}"))
            .collect();
        let run = |threads: usize| {
            let mut sim = Cluster::new("t", ClusterConfig::default(), 9, &names).expect("valid");
            let mut hpa = BaselineHpa::new(&BaselineConfig::default(), &keys, 1, 20);
            hpa.set_threads(threads);
            let mut all = Vec::new();
            for tick in 0..80 {
                let demands: Vec<Demand> = (0..names.len())
                    .map(|index| Demand {
                        cpu_cores: 0.5 + (tick * (index + 1)) as f64 * 0.02,
                        memory_gib: 0.5,
                    })
                    .collect();
                sim.step(TICK_S, &demands);
                for rescale in hpa.reconcile_cluster(&sim) {
                    sim.scale(&rescale.workload, rescale.replicas)
                        .expect("known workload");
                    all.push((tick, rescale));
                }
            }
            all
        };
        let single = run(1);
        assert!(!single.is_empty());
        assert_eq!(run(3), single);
    }
}
