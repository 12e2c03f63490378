//! The served simulator's state: simulated clusters, the Kubernetes objects layered on them,
//! HorizontalPodAutoscalers, Events, the fault plan and the request log.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arbiter_core::series::{SpikePolicy, WorkloadSeries};
use arbiter_core::snapshot::{ClusterSnapshot, EXERCISE_LABEL};
use arbiter_sim::baseline::{BaselineConfig, BaselineHpa};
use arbiter_sim::cluster::Cluster;
use arbiter_sim::config::ClusterConfig;
use arbiter_sim::experiment::{ExperimentConfig, derive_seed};
use arbiter_sim::load::{Demand, LoadGenerator};
use arbiter_trace::ReadOptions;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::time::{SIM_EPOCH_UNIX_S, format_rfc3339};
use crate::{KubeError, LOAD_CAP_ANNOTATION, LOAD_TARGET_LABEL};

/// Settings of the served simulator.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Cluster, demand, baseline HPA and tick settings, as `arbiter compare` uses them.
    pub experiment: ExperimentConfig,
    /// Trace series, one exercise Deployment per series.
    pub series: Vec<WorkloadSeries>,
    /// Simulated seconds per wall-clock second. 0 stops the clock: time then advances only
    /// through [`super::ApiServer::step`] or `POST /arbiter/v1/step`.
    pub acceleration: f64,
    /// Name of the simulated cluster, which appears in Events' `source.host`.
    pub cluster_name: String,
    /// Whether to create one autoscaling/v2 HorizontalPodAutoscaler per exercise Deployment,
    /// with the baseline's CPU target and the workload's replica range.
    pub hpa: bool,
    /// Whether to add two Deployments outside Arbiter's scope: `bystander` in the exercise
    /// namespace without the exercise label, and `outsider` with the label in the namespace
    /// [`DECOY_NAMESPACE`].
    pub decoys: bool,
    /// Whether metrics.k8s.io is served, as on a cluster with metrics-server.
    pub metrics: bool,
}

impl ServerConfig {
    /// Builds the default served simulator for a trace file: the `arbiter compare` defaults
    /// for `seed`, windows counted twice repaired, a manual clock, no HPA, the decoys and
    /// metrics.k8s.io.
    ///
    /// # Errors
    /// [`KubeError::Trace`] when the trace cannot be read.
    pub fn from_trace(trace: &Path, seed: u64, cluster_name: &str) -> Result<Self, KubeError> {
        let options = ReadOptions {
            spike_policy: SpikePolicy::Repair,
        };
        let series = arbiter_trace::read_series(trace, None, &options)?;
        Ok(Self {
            experiment: ExperimentConfig::with_seed(seed),
            series,
            acceleration: 0.0,
            cluster_name: cluster_name.to_owned(),
            hpa: false,
            decoys: true,
            metrics: true,
        })
    }
}

/// Namespace of the labelled decoy Deployment, which Arbiter's default scope excludes.
pub const DECOY_NAMESPACE: &str = "arbiter-other";

/// Demand of the decoy Deployments, in cores: constant and small.
const DECOY_DEMAND_CORES: f64 = 0.5;

/// Maximum Events kept; older ones are dropped first.
const MAX_EVENTS: usize = 2000;

/// Maximum request log entries kept; older ones are dropped first.
const MAX_REQUEST_LOG: usize = 100_000;

/// A simulated cluster and the demand that drives it.
pub(crate) struct SimCluster {
    pub cluster: Cluster,
    pub generators: Vec<LoadGenerator>,
    pub constant_demand: Option<Demand>,
}

/// Source of a served Deployment's replicas and pods.
#[derive(Debug, Clone)]
pub(crate) enum Backing {
    /// A Deployment of a simulated cluster.
    Simulated { cluster: usize },
    /// The load generator of a simulated Deployment: it has no pods, and its template
    /// annotation [`LOAD_CAP_ANNOTATION`] caps the target's demand.
    LoadGenerator {
        cluster: usize,
        target: String,
        replicas: i32,
    },
}

/// A served Deployment's metadata; `spec.replicas` and status come from the simulator.
#[derive(Debug, Clone)]
pub(crate) struct DeploymentState {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub template_annotations: BTreeMap<String, String>,
    pub generation: i64,
    pub resource_version: u64,
    pub backing: Backing,
}

impl DeploymentState {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A served HorizontalPodAutoscaler driving the simulator's HPA algorithm.
pub(crate) struct HpaState {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub target: String,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub target_cpu_percent: i32,
    pub controller: BaselineHpa,
    pub resource_version: u64,
    pub creation_s: f64,
    pub current_replicas: i32,
    pub desired_replicas: i32,
    pub utilization_percent: Option<i32>,
    pub average_cpu_milli: Option<i64>,
    pub last_scale_s: Option<f64>,
}

/// Kind of a fault the served simulator injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Respond with 500 Internal Server Error.
    InternalError,
    /// Respond with 409 Conflict.
    Conflict,
    /// Respond with 429 Too Many Requests.
    TooManyRequests,
    /// Close the connection without a response.
    Drop,
    /// Wait `delay_ms`, then respond normally.
    Slow,
}

/// One fault rule: the next `count` requests that match get the fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// The fault.
    pub kind: FaultKind,
    /// How many matching requests get it.
    pub count: u32,
    /// Only requests with this method (for example `PATCH`); any method when unset.
    #[serde(default)]
    pub method: Option<String>,
    /// Only requests whose path contains this text; any path when unset.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Delay of a `slow` fault in milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
}

impl FaultRule {
    /// Parses `KIND[:COUNT[:METHOD[:PATH_SUBSTRING]]]`, where KIND is `500`, `409`, `429`,
    /// `drop` or `slow=MILLISECONDS`; COUNT defaults to 1.
    ///
    /// # Errors
    /// [`KubeError::InvalidSetting`] naming the text when a part does not parse.
    pub fn parse(text: &str) -> Result<Self, KubeError> {
        let invalid = |expected: &str| KubeError::InvalidSetting {
            field: "--fault".to_owned(),
            value: text.to_owned(),
            expected: expected.to_owned(),
        };
        let mut parts = text.splitn(4, ':');
        let kind_text = parts.next().unwrap_or_default();
        let (kind, delay_ms) = match kind_text {
            "500" => (FaultKind::InternalError, 0),
            "409" => (FaultKind::Conflict, 0),
            "429" => (FaultKind::TooManyRequests, 0),
            "drop" => (FaultKind::Drop, 0),
            slow if slow.starts_with("slow=") => {
                let delay = slow["slow=".len()..]
                    .parse()
                    .map_err(|_| invalid("slow=MILLISECONDS with a whole number"))?;
                (FaultKind::Slow, delay)
            }
            _ => {
                return Err(invalid(
                    "a fault kind of 500, 409, 429, drop or slow=MILLISECONDS",
                ));
            }
        };
        let count = match parts.next() {
            Some(count) if !count.is_empty() => count
                .parse()
                .map_err(|_| invalid("KIND:COUNT with a whole COUNT"))?,
            _ => 1,
        };
        let method = parts
            .next()
            .filter(|m| !m.is_empty())
            .map(str::to_ascii_uppercase);
        let path_contains = parts.next().filter(|p| !p.is_empty()).map(str::to_owned);
        Ok(Self {
            kind,
            count,
            method,
            path_contains,
            delay_ms,
        })
    }
}

/// One request the served simulator received, with the status it returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestLogEntry {
    /// HTTP method.
    pub method: String,
    /// Path with the query string.
    pub path: String,
    /// Status code sent, or `None` when the connection was dropped.
    pub status: Option<u16>,
    /// The injected fault, if any.
    pub fault: Option<FaultKind>,
}

/// Everything the served simulator holds.
pub(crate) struct SimState {
    pub clusters: Vec<SimCluster>,
    pub deployments: Vec<DeploymentState>,
    pub hpas: Vec<HpaState>,
    pub events: Vec<Value>,
    pub namespaces: BTreeSet<String>,
    pub faults: Vec<FaultRule>,
    pub requests: Vec<RequestLogEntry>,
    pub resource_version: u64,
    pub tick: u64,
    pub tick_s: f64,
    pub cluster_name: String,
    pub serves_metrics: bool,
    next_uid: u64,
}

impl SimState {
    /// Builds the clusters and objects of `config`.
    pub fn new(config: &ServerConfig) -> Result<Self, KubeError> {
        let experiment = &config.experiment;
        if config.series.is_empty() {
            return Err(arbiter_sim::SimError::NoWorkloads.into());
        }
        if !(experiment.tick_s.is_finite() && experiment.tick_s > 0.0) {
            return Err(KubeError::InvalidSetting {
                field: "tick_s".to_owned(),
                value: experiment.tick_s.to_string(),
                expected: "a positive number of seconds".to_owned(),
            });
        }
        let names = deployment_names(&config.series);
        let namespace = experiment.cluster.workload.namespace.clone();
        let mut generators = Vec::new();
        for (index, one) in config.series.iter().enumerate() {
            let generator = LoadGenerator::new(
                one.clone(),
                &experiment.demand,
                derive_seed(experiment.seed, 1 + index as u64),
            )?;
            generators.push(match experiment.days {
                Some(days) => generator.replaying_days(days),
                None => generator,
            });
        }
        let cluster_seed = derive_seed(experiment.seed, 0);
        let primary = Cluster::new(
            &config.cluster_name,
            experiment.cluster.clone(),
            cluster_seed,
            &names,
        )?;
        let mut state = Self {
            clusters: vec![SimCluster {
                cluster: primary,
                generators,
                constant_demand: None,
            }],
            deployments: Vec::new(),
            hpas: Vec::new(),
            events: Vec::new(),
            namespaces: ["default", "kube-system", namespace.as_str()]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            faults: Vec::new(),
            requests: Vec::new(),
            resource_version: 1,
            tick: 0,
            tick_s: experiment.tick_s,
            cluster_name: config.cluster_name.clone(),
            serves_metrics: config.metrics,
            next_uid: 1,
        };
        for name in &names {
            let labels = exercise_labels(name);
            state.add_deployment(&namespace, name, labels, Backing::Simulated { cluster: 0 });
            let mut load_labels = exercise_labels(&format!("{name}-load"));
            load_labels.insert(LOAD_TARGET_LABEL.to_owned(), name.clone());
            state.add_deployment(
                &namespace,
                &format!("{name}-load"),
                load_labels,
                Backing::LoadGenerator {
                    cluster: 0,
                    target: name.clone(),
                    replicas: 1,
                },
            );
        }
        if config.decoys {
            state.add_decoy(
                &experiment.cluster,
                &namespace,
                "bystander",
                false,
                cluster_seed,
            )?;
            state.add_decoy(
                &experiment.cluster,
                DECOY_NAMESPACE,
                "outsider",
                true,
                cluster_seed,
            )?;
        }
        if config.hpa {
            for name in &names {
                state.add_hpa(
                    &namespace,
                    name,
                    name,
                    experiment.cluster.workload.min_replicas,
                    experiment.cluster.workload.max_replicas,
                    experiment.baseline.target_cpu_utilization_percent,
                );
            }
        }
        Ok(state)
    }

    fn add_decoy(
        &mut self,
        base: &ClusterConfig,
        namespace: &str,
        name: &str,
        labelled: bool,
        seed: u64,
    ) -> Result<(), KubeError> {
        let mut config = base.clone();
        config.workload.namespace = namespace.to_owned();
        let cluster = Cluster::new(
            &self.cluster_name,
            config,
            seed ^ 0x5eed,
            &[name.to_owned()],
        )?;
        self.clusters.push(SimCluster {
            cluster,
            generators: Vec::new(),
            constant_demand: Some(Demand {
                cpu_cores: DECOY_DEMAND_CORES,
                memory_gib: 0.0,
            }),
        });
        self.namespaces.insert(namespace.to_owned());
        let labels = if labelled {
            exercise_labels(name)
        } else {
            [("app".to_owned(), name.to_owned())].into_iter().collect()
        };
        let index = self.clusters.len() - 1;
        self.add_deployment(
            namespace,
            name,
            labels,
            Backing::Simulated { cluster: index },
        );
        Ok(())
    }

    fn add_deployment(
        &mut self,
        namespace: &str,
        name: &str,
        labels: BTreeMap<String, String>,
        backing: Backing,
    ) {
        let uid = self.new_uid();
        let resource_version = self.bump();
        self.deployments.push(DeploymentState {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid,
            labels,
            annotations: BTreeMap::new(),
            template_annotations: BTreeMap::new(),
            generation: 1,
            resource_version,
            backing,
        });
    }

    /// Adds an HPA for Deployment `target` in `namespace`.
    pub fn add_hpa(
        &mut self,
        namespace: &str,
        name: &str,
        target: &str,
        min_replicas: i32,
        max_replicas: i32,
        target_cpu_percent: i32,
    ) {
        let settings = BaselineConfig {
            target_cpu_utilization_percent: target_cpu_percent,
        };
        let key = format!("{namespace}/{target}");
        let uid = self.new_uid();
        let resource_version = self.bump();
        let current = self
            .deployment(namespace, target)
            .and_then(|index| self.spec_replicas(index))
            .unwrap_or(0);
        self.hpas.push(HpaState {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid,
            target: target.to_owned(),
            min_replicas,
            max_replicas,
            target_cpu_percent,
            controller: BaselineHpa::new(&settings, &[key], min_replicas, max_replicas),
            resource_version,
            creation_s: self.now_s(),
            current_replicas: current,
            desired_replicas: current,
            utilization_percent: None,
            average_cpu_milli: None,
            last_scale_s: None,
        });
    }

    pub fn new_uid(&mut self) -> String {
        let uid = format!("00000000-0000-4000-8000-{:012x}", self.next_uid);
        self.next_uid += 1;
        uid
    }

    /// Increments and returns the global resourceVersion.
    pub fn bump(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    /// Simulated seconds since the start.
    pub fn now_s(&self) -> f64 {
        self.clusters[0].cluster.time_s()
    }

    /// Unix time of the simulated clock.
    pub fn now_unix(&self) -> f64 {
        SIM_EPOCH_UNIX_S as f64 + self.now_s()
    }

    pub fn deployment(&self, namespace: &str, name: &str) -> Option<usize> {
        self.deployments
            .iter()
            .position(|d| d.namespace == namespace && d.name == name)
    }

    /// `spec.replicas` of the Deployment at `index`.
    pub fn spec_replicas(&self, index: usize) -> Option<i32> {
        let deployment = &self.deployments[index];
        match &deployment.backing {
            Backing::Simulated { cluster } => self.clusters[*cluster]
                .cluster
                .spec_replicas(&deployment.key())
                .ok(),
            Backing::LoadGenerator { replicas, .. } => Some(*replicas),
        }
    }

    /// Sets `spec.replicas` of the Deployment at `index`.
    pub fn set_replicas(&mut self, index: usize, replicas: i32) -> Result<(), KubeError> {
        let key = self.deployments[index].key();
        match &mut self.deployments[index].backing {
            Backing::Simulated { cluster } => {
                self.clusters[*cluster].cluster.scale(&key, replicas)?;
            }
            Backing::LoadGenerator {
                replicas: stored, ..
            } => *stored = replicas,
        }
        let version = self.bump();
        let deployment = &mut self.deployments[index];
        deployment.resource_version = version;
        deployment.generation += 1;
        Ok(())
    }

    /// Starts a rolling update of a simulated Deployment whose pod template changed, as the
    /// Deployment controller does. A load generator has no simulated pods to replace.
    pub fn roll_out(&mut self, index: usize) -> Result<(), KubeError> {
        let key = self.deployments[index].key();
        if let Backing::Simulated { cluster } = &self.deployments[index].backing {
            self.clusters[*cluster].cluster.rollout(&key)?;
        }
        Ok(())
    }

    /// Applies the load cap of a load generator Deployment's template annotation to its target.
    pub fn apply_load_cap(&mut self, index: usize) -> Result<(), String> {
        let deployment = &self.deployments[index];
        let Backing::LoadGenerator {
            cluster, target, ..
        } = &deployment.backing
        else {
            return Ok(());
        };
        let cap = match deployment.template_annotations.get(LOAD_CAP_ANNOTATION) {
            None => None,
            Some(text) => match text.parse::<f64>() {
                Ok(cores) if cores.is_finite() && cores >= 0.0 => Some(cores),
                _ => {
                    return Err(format!(
                        "annotation {LOAD_CAP_ANNOTATION}=`{text}` is invalid: expected a non-negative number of cores"
                    ));
                }
            },
        };
        let key = format!("{}/{}", deployment.namespace, target);
        self.clusters[*cluster]
            .cluster
            .cap_load(&key, cap)
            .map_err(|error| error.to_string())
    }

    /// Snapshot of the cluster at `index`, as the in-process simulator reports it.
    pub fn snapshot(&self, cluster: usize) -> ClusterSnapshot {
        self.clusters[cluster].cluster.snapshot()
    }

    /// Advances every cluster by one tick with the trace demand, then lets each HPA reconcile,
    /// in the order `arbiter compare` uses.
    pub fn step(&mut self) {
        let time_s = self.tick as f64 * self.tick_s;
        for sim in &mut self.clusters {
            let demands: Vec<Demand> = match sim.constant_demand {
                Some(demand) => vec![demand],
                None => sim
                    .generators
                    .iter_mut()
                    .map(|generator| generator.demand_at(time_s))
                    .collect(),
            };
            sim.cluster.step(self.tick_s, &demands);
        }
        self.tick += 1;
        for index in 0..self.hpas.len() {
            self.reconcile_hpa(index);
        }
    }

    fn reconcile_hpa(&mut self, index: usize) {
        let (namespace, target) = (
            self.hpas[index].namespace.clone(),
            self.hpas[index].target.clone(),
        );
        let Some(deployment) = self.deployment(&namespace, &target) else {
            return;
        };
        let Backing::Simulated { cluster } = self.deployments[deployment].backing else {
            return;
        };
        let snapshot = self.snapshot(cluster);
        let key = format!("{namespace}/{target}");
        let Some(workload) = snapshot.workloads.iter().find(|w| w.key() == key) else {
            return;
        };
        let samples: Vec<i64> = workload
            .pods
            .iter()
            .filter_map(|pod| pod.usage.map(|usage| usage.cpu_milli))
            .collect();
        let average =
            (!samples.is_empty()).then(|| samples.iter().sum::<i64>() / samples.len() as i64);
        let utilization = average
            .filter(|_| workload.cpu_request_milli > 0)
            .map(|milli| (milli * 100 / workload.cpu_request_milli) as i32);
        let current = workload.spec_replicas;
        let rescales = self.hpas[index].controller.reconcile(&snapshot);
        let now = self.now_s();
        let version = self.bump();
        {
            let hpa = &mut self.hpas[index];
            hpa.current_replicas = current;
            hpa.desired_replicas = current;
            hpa.utilization_percent = utilization;
            hpa.average_cpu_milli = average;
            hpa.resource_version = version;
        }
        for rescale in rescales {
            if self.set_replicas(deployment, rescale.replicas).is_err() {
                continue;
            }
            let hpa = &mut self.hpas[index];
            hpa.desired_replicas = rescale.replicas;
            hpa.last_scale_s = Some(now);
            let direction = if rescale.replicas > current {
                "above"
            } else {
                "below"
            };
            let message = format!(
                "New size: {}; reason: cpu resource utilization (percentage of request) {direction} target",
                rescale.replicas
            );
            let involved = json!({
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "name": hpa.name,
                "namespace": namespace,
                "uid": hpa.uid,
            });
            self.record_event(
                &namespace,
                involved,
                "SuccessfulRescale",
                &message,
                "Normal",
                "horizontal-pod-autoscaler",
            );
        }
    }

    /// Stores a core/v1 Event the simulator itself emits.
    pub fn record_event(
        &mut self,
        namespace: &str,
        involved: Value,
        reason: &str,
        message: &str,
        event_type: &str,
        component: &str,
    ) {
        let now = format_rfc3339(self.now_unix());
        let object_name = involved["name"].as_str().unwrap_or("object").to_owned();
        let uid = self.new_uid();
        let version = self.bump();
        let event = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": format!("{object_name}.{version:x}"),
                "namespace": namespace,
                "uid": uid,
                "resourceVersion": version.to_string(),
                "creationTimestamp": now,
            },
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": event_type,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": { "component": component, "host": self.cluster_name },
            "reportingComponent": component,
            "reportingInstance": "",
        });
        self.store_event(event);
    }

    /// Stores an Event, dropping the oldest beyond the limit.
    pub fn store_event(&mut self, event: Value) {
        self.events.push(event);
        if self.events.len() > MAX_EVENTS {
            let excess = self.events.len() - MAX_EVENTS;
            self.events.drain(..excess);
        }
    }

    /// Appends to the request log, dropping the oldest beyond the limit.
    pub fn log_request(&mut self, entry: RequestLogEntry) {
        self.requests.push(entry);
        if self.requests.len() > MAX_REQUEST_LOG {
            let excess = self.requests.len() - MAX_REQUEST_LOG;
            self.requests.drain(..excess);
        }
    }

    /// Takes the first fault rule matching the request, consuming one of its count.
    pub fn take_fault(&mut self, method: &str, path: &str) -> Option<FaultRule> {
        let rule = self.faults.iter_mut().find(|rule| {
            rule.count > 0
                && rule.method.as_deref().is_none_or(|m| m == method)
                && rule
                    .path_contains
                    .as_deref()
                    .is_none_or(|p| path.contains(p))
        })?;
        rule.count -= 1;
        let taken = rule.clone();
        self.faults.retain(|rule| rule.count > 0);
        Some(taken)
    }
}

fn exercise_labels(name: &str) -> BTreeMap<String, String> {
    [
        ("app".to_owned(), name.to_owned()),
        (EXERCISE_LABEL.to_owned(), "true".to_owned()),
    ]
    .into_iter()
    .collect()
}

/// Deployment names from workload names, by the rule `arbiter compare` uses, so both name the
/// same workload alike.
pub use arbiter_sim::experiment::deployment_names;
