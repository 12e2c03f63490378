//! Pod state read by the HPA (phase, readiness, requests and metric samples), pod grouping and
//! request sums.

use std::collections::{BTreeMap, BTreeSet};

use super::config::HpaConfig;

/// A time earlier than any real one, standing in for Go's zero `time.Time` (year 1), in seconds
/// relative to the Unix epoch.
pub const EPOCH_S: f64 = -62_135_596_800.0;

/// Resource name of CPU, the only resource whose samples are checked for pod readiness.
pub(crate) const CPU: &str = "cpu";

/// The phase of a pod (`status.phase`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodPhase {
    /// Not yet scheduled or not all containers started.
    Pending,
    /// Bound to a node with at least one container running.
    #[default]
    Running,
    /// All containers exited successfully.
    Succeeded,
    /// All containers exited and at least one failed.
    Failed,
}

/// One metric sample of a pod, as returned by a metrics API.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricSample {
    /// The value in milli-units.
    pub value_milli: i64,
    /// End of the collection window, in seconds.
    pub timestamp_s: f64,
    /// Length of the collection window in seconds. The custom metrics client uses 60 s when the
    /// adapter sends none (`metricServerDefaultMetricWindow`, metrics/client.go).
    pub window_s: f64,
}

/// The kind of a container in the pod spec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContainerKind {
    /// A regular container (`spec.containers`).
    #[default]
    Regular,
    /// An init container that runs to completion before the regular ones.
    Init,
    /// A sidecar: an init container with `restartPolicy: Always`.
    RestartableInit,
}

/// A container of the pod spec with its requests.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerView {
    /// Container name.
    pub name: String,
    /// Regular, init or sidecar.
    pub kind: ContainerKind,
    /// Requests by resource name, in milli-units. A resource missing here has no request.
    pub requests_milli: BTreeMap<String, i64>,
}

/// One `PodMetrics` item of the resource metrics API (metrics.k8s.io).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodResourceMetrics {
    /// End of the collection window, in seconds.
    pub timestamp_s: f64,
    /// Length of the collection window in seconds.
    pub window_s: f64,
    /// Usage by container name, then by resource name, in milli-units.
    pub containers: BTreeMap<String, BTreeMap<String, i64>>,
}

/// A pod matched by the scale target's selector.
///
/// CPU-only callers fill `request_milli` and `cpu` with pod totals. Callers that need other
/// resources, ContainerResource metrics or sidecars fill `containers` and `resource_metrics`,
/// which then take precedence.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodView {
    /// Pod name, the key that joins pods with metric samples.
    pub name: String,
    /// `status.phase`.
    pub phase: PodPhase,
    /// Status of the Ready condition; `None` when the pod has no Ready condition.
    pub ready: Option<bool>,
    /// `status.startTime` in seconds; `None` when unset.
    pub start_s: Option<f64>,
    /// `lastTransitionTime` of the Ready condition; `None` counts as [`EPOCH_S`].
    pub ready_transition_s: Option<f64>,
    /// Whether `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// CPU request summed over the pod's containers; `None` when a container lacks a CPU
    /// request. Used only when `containers` is empty.
    pub request_milli: Option<i64>,
    /// CPU usage summed over the pod's containers; `None` when metrics-server has no sample.
    /// Used only when `resource_metrics` is `None`.
    pub cpu: Option<MetricSample>,
    /// Containers with their requests. When non-empty, requests are computed from these.
    pub containers: Vec<ContainerView>,
    /// Pod-level requests (`spec.resources.requests`), used when
    /// [`HpaConfig::pod_level_resources`] is on.
    pub pod_level_requests_milli: BTreeMap<String, i64>,
    /// The resource metrics API item of this pod, per container.
    pub resource_metrics: Option<PodResourceMetrics>,
    /// Per-pod custom metric samples by metric name, for Pods metrics.
    pub custom_metrics: BTreeMap<String, MetricSample>,
}

impl PodView {
    /// Returns the `metrics.k8s.io` sample of `resource` for this pod, or `Ok(None)` when the
    /// item exists but has no usable sample. `Err` contains the message for a ContainerResource
    /// metric whose container is absent from the item (`getContainerMetrics`, metrics/client.go).
    /// The outer `Option` is `None` when the API returned no item for the pod.
    pub(crate) fn resource_sample(
        &self,
        resource: &str,
        container: &str,
    ) -> Option<Result<Option<MetricSample>, String>> {
        resource_sample(
            &self.name,
            self.resource_metrics.as_ref(),
            self.cpu.as_ref(),
            resource,
            container,
        )
    }
}

/// Finds the sample of one pod in a resource metrics item (`getPodMetrics` and
/// `getContainerMetrics`, metrics/client.go).
pub(crate) fn resource_sample(
    pod_name: &str,
    item: Option<&PodResourceMetrics>,
    cpu_total: Option<&MetricSample>,
    resource: &str,
    container: &str,
) -> Option<Result<Option<MetricSample>, String>> {
    let Some(item) = item else {
        // The CPU shortcut is a pod total, so it serves Resource cpu metrics only.
        let sample = cpu_total?;
        if !container.is_empty() {
            return Some(Err(format!(
                "container {container} not present in metrics for pod {pod_name}"
            )));
        }
        return Some(Ok((resource == CPU).then_some(*sample)));
    };
    let sample = |value_milli| MetricSample {
        value_milli,
        timestamp_s: item.timestamp_s,
        window_s: item.window_s,
    };
    if !container.is_empty() {
        // getContainerMetrics: a missing container fails the whole metric.
        return Some(match item.containers.get(container) {
            None => Err(format!(
                "container {container} not present in metrics for pod {pod_name}"
            )),
            Some(usage) => Ok(usage.get(resource).map(|value| sample(*value))),
        });
    }
    // getPodMetrics: a pod with no containers, or a container without the resource, has no sample.
    let mut total: i64 = 0;
    for usage in item.containers.values() {
        match usage.get(resource) {
            Some(value) => total = total.saturating_add(*value),
            None => return Some(Ok(None)),
        }
    }
    if item.containers.is_empty() {
        return Some(Ok(None));
    }
    Some(Ok(Some(sample(total))))
}

/// The classification of the listed pods for one metric (`groupPods`, replica_calculator.go).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodGroups {
    /// Pods whose sample is used as is.
    pub ready_count: usize,
    /// Pending pods, and for CPU pods that are initializing or never became ready.
    pub unready: BTreeSet<String>,
    /// Pods without a sample.
    pub missing: BTreeSet<String>,
    /// Pods being deleted or in phase Failed.
    pub ignored: BTreeSet<String>,
}

/// Sorts each pod into ready, unready, missing or ignored; the first matching rule wins
/// (`groupPods`, replica_calculator.go).
///
/// * ignored: deletion timestamp set, or phase Failed;
/// * unready: phase Pending;
/// * missing: no sample in `samples`;
/// * for `cpu` only, unready when one of these holds:
///   - the pod has no Ready condition or no start time;
///   - it is within the CPU initialization period, and either not Ready or its sample ends less
///     than one window after the last readiness change;
///   - it is past that period, not Ready, and turned unready within the initial readiness delay
///     after start, which means it was never ready.
///
/// Time comparisons are strict, as Go's `Before` and `After`.
pub fn group_pods(
    pods: &[PodView],
    samples: &BTreeMap<String, MetricSample>,
    resource: &str,
    config: &HpaConfig,
    now_s: f64,
) -> PodGroups {
    let mut groups = PodGroups::default();
    for pod in pods {
        if pod.deleting || pod.phase == PodPhase::Failed {
            groups.ignored.insert(pod.name.clone());
            continue;
        }
        if pod.phase == PodPhase::Pending {
            groups.unready.insert(pod.name.clone());
            continue;
        }
        let Some(sample) = samples.get(&pod.name) else {
            groups.missing.insert(pod.name.clone());
            continue;
        };
        if resource == CPU && is_cpu_sample_unready(pod, sample, config, now_s) {
            groups.unready.insert(pod.name.clone());
            continue;
        }
        groups.ready_count += 1;
    }
    groups
}

fn is_cpu_sample_unready(
    pod: &PodView,
    sample: &MetricSample,
    config: &HpaConfig,
    now_s: f64,
) -> bool {
    let (Some(ready), Some(start_s)) = (pod.ready, pod.start_s) else {
        return true;
    };
    let transition_s = pod.ready_transition_s.unwrap_or(EPOCH_S);
    if start_s + config.cpu_initialization_period_s > now_s {
        !ready || sample.timestamp_s < transition_s + sample.window_s
    } else {
        !ready && start_s + config.initial_readiness_delay_s > transition_s
    }
}

/// Sums each listed pod's request for `resource`, ignored pods included (`calculateRequests`,
/// replica_calculator.go).
///
/// The sum covers regular containers and sidecars (init containers with `restartPolicy: Always`);
/// with `container` set, only that container. With `pod_level_resources` on, no container name
/// and a pod-level request for the resource, the pod-level request is used. A container in scope
/// without a request, or a named container the pod lacks, fails the whole metric. A pod with an
/// empty `containers` list uses its `request_milli` CPU total.
pub fn calculate_requests(
    pods: &[PodView],
    container: &str,
    resource: &str,
    pod_level_resources: bool,
) -> Result<BTreeMap<String, i64>, String> {
    let mut requests = BTreeMap::new();
    for pod in pods {
        let request = pod_request(pod, container, resource, pod_level_resources)?;
        requests.insert(pod.name.clone(), request);
    }
    Ok(requests)
}

fn pod_request(
    pod: &PodView,
    container: &str,
    resource: &str,
    pod_level_resources: bool,
) -> Result<i64, String> {
    if pod.containers.is_empty() {
        if !container.is_empty() {
            return Err(format!(
                "container {container} not found in Pod {}",
                pod.name
            ));
        }
        return match (resource == CPU, pod.request_milli) {
            (true, Some(request)) => Ok(request),
            _ => Err(format!(
                "missing request for {resource} in a container of Pod {}",
                pod.name
            )),
        };
    }
    if pod_level_resources
        && container.is_empty()
        && let Some(request) = pod.pod_level_requests_milli.get(resource)
    {
        return Ok(*request);
    }
    let in_scope = pod
        .containers
        .iter()
        .filter(|c| c.kind != ContainerKind::Init)
        .filter(|c| container.is_empty() || c.name == container);
    let mut total: i64 = 0;
    let mut found = false;
    for c in in_scope {
        found = true;
        match c.requests_milli.get(resource) {
            Some(request) => total = total.saturating_add(*request),
            None => {
                return Err(format!(
                    "missing request for {resource} in container {} of Pod {}",
                    c.name, pod.name
                ));
            }
        }
    }
    if !container.is_empty() && !found {
        return Err(format!(
            "container {container} not found in Pod {}",
            pod.name
        ));
    }
    Ok(total)
}
