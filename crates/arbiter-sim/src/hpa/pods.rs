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

/// The fields of a pod that pod grouping and the ready-pod count read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PodStatus {
    /// `status.phase`.
    pub phase: PodPhase,
    /// Status of the Ready condition; `None` when the pod has no Ready condition.
    pub ready: Option<bool>,
    /// `status.startTime` in seconds.
    pub start_s: Option<f64>,
    /// `lastTransitionTime` of the Ready condition; `None` counts as [`EPOCH_S`].
    pub ready_transition_s: Option<f64>,
    /// Whether `metadata.deletionTimestamp` is set.
    pub deleting: bool,
}

/// The pods matched by an HPA's selector, read by position.
///
/// The replica calculation reads pods through this trait, so that the simulator can pass its
/// own pod records without building a [`PodView`] per pod. Every method must return what
/// the [`PodView`] of the pod would.
pub(crate) trait PodList {
    /// Returns the number of pods.
    fn len(&self) -> usize;

    /// Returns the name of the pod at `index`.
    fn name(&self, index: usize) -> &str;

    /// Tests whether pods at different positions are known to have different names. When it
    /// returns `false`, pods are matched with samples by name.
    fn names_distinct(&self) -> bool;

    /// Returns phase, readiness, start time and deletion of the pod at `index`.
    fn status(&self, index: usize) -> PodStatus;

    /// Returns the resource metrics sample of the pod at `index`, as
    /// [`PodView::resource_sample`] does.
    fn resource_sample(
        &self,
        index: usize,
        resource: &str,
        container: &str,
    ) -> Option<Result<Option<MetricSample>, String>>;

    /// Returns the request of the pod at `index`, as [`calculate_requests`] sums it.
    fn request(
        &self,
        index: usize,
        container: &str,
        resource: &str,
        pod_level_resources: bool,
    ) -> Result<i64, String>;

    /// Returns the sample of the custom metric `metric` of the pod at `index`.
    fn custom_metric(&self, index: usize, metric: &str) -> Option<MetricSample>;
}

impl PodList for [PodView] {
    fn len(&self) -> usize {
        <[PodView]>::len(self)
    }

    fn name(&self, index: usize) -> &str {
        &self[index].name
    }

    /// Names in strictly increasing order are distinct. Checking that costs one comparison per
    /// pod; any other order reports `false`.
    fn names_distinct(&self) -> bool {
        self.windows(2).all(|pair| pair[0].name < pair[1].name)
    }

    fn status(&self, index: usize) -> PodStatus {
        let pod = &self[index];
        PodStatus {
            phase: pod.phase,
            ready: pod.ready,
            start_s: pod.start_s,
            ready_transition_s: pod.ready_transition_s,
            deleting: pod.deleting,
        }
    }

    fn resource_sample(
        &self,
        index: usize,
        resource: &str,
        container: &str,
    ) -> Option<Result<Option<MetricSample>, String>> {
        self[index].resource_sample(resource, container)
    }

    fn request(
        &self,
        index: usize,
        container: &str,
        resource: &str,
        pod_level_resources: bool,
    ) -> Result<i64, String> {
        pod_request(&self[index], container, resource, pod_level_resources)
    }

    fn custom_metric(&self, index: usize, metric: &str) -> Option<MetricSample> {
        self[index].custom_metrics.get(metric).copied()
    }
}

/// Keys that join pods with metric samples in place of pod names, as `PodMetricsInfo` joins
/// them by name: entries with equal names share a key. The entries are the listed pods,
/// followed by the pods of the extra samples.
#[derive(Clone, Debug, Default)]
pub(crate) struct PodKeys {
    /// Key of each entry.
    of_entry: Vec<usize>,
    /// Number of distinct keys.
    count: usize,
    /// Entries sorted by name, a buffer of [`PodKeys::assign`].
    order: Vec<usize>,
}

impl PodKeys {
    /// Assigns keys to `entries` entries named by `name`. With `distinct`, the caller
    /// guarantees that the names are distinct, so each entry is its own key and no name is read.
    pub(crate) fn assign<'n>(
        &mut self,
        entries: usize,
        distinct: bool,
        name: impl Fn(usize) -> &'n str,
    ) {
        self.of_entry.clear();
        if distinct {
            self.of_entry.extend(0..entries);
            self.count = entries;
            return;
        }
        self.order.clear();
        self.order.extend(0..entries);
        self.order.sort_by(|&a, &b| name(a).cmp(name(b)));
        self.of_entry.resize(entries, 0);
        let mut count = 0;
        let mut previous: Option<&str> = None;
        for &entry in &self.order {
            let current = name(entry);
            if previous != Some(current) {
                count += 1;
                previous = Some(current);
            }
            self.of_entry[entry] = count - 1;
        }
        self.count = count;
    }

    /// Returns the key of entry `entry`.
    pub(crate) fn of(&self, entry: usize) -> usize {
        self.of_entry[entry]
    }

    /// Returns the number of distinct keys.
    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

/// Metric samples by pod key, the index-based form of `PodMetricsInfo` (metrics/interfaces.go).
#[derive(Clone, Debug, Default)]
pub(crate) struct PodSamples {
    by_key: Vec<Option<MetricSample>>,
    len: usize,
}

impl PodSamples {
    /// Empties the set and sizes it for `keys` keys.
    pub(crate) fn reset(&mut self, keys: usize) {
        self.by_key.clear();
        self.by_key.resize(keys, None);
        self.len = 0;
    }

    /// Stores the sample of `key`, replacing any earlier one.
    pub(crate) fn insert(&mut self, key: usize, sample: MetricSample) {
        if self.by_key[key].replace(sample).is_none() {
            self.len += 1;
        }
    }

    /// Removes the sample of `key`, if any.
    pub(crate) fn remove(&mut self, key: usize) {
        if self.by_key[key].take().is_some() {
            self.len -= 1;
        }
    }

    /// Returns the sample of `key`.
    pub(crate) fn get(&self, key: usize) -> Option<&MetricSample> {
        self.by_key[key].as_ref()
    }

    /// Returns the number of keys with a sample.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Tests whether no key has a sample.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Iterates over the keys with a sample, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &MetricSample)> {
        self.by_key
            .iter()
            .enumerate()
            .filter_map(|(key, sample)| sample.as_ref().map(|sample| (key, sample)))
    }
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

/// Flag of a key in [`KeyGroups`]: a pod with this key is unready.
pub(crate) const UNREADY: u8 = 1;
/// Flag of a key in [`KeyGroups`]: a pod with this key has no sample.
pub(crate) const MISSING: u8 = 2;
/// Flag of a key in [`KeyGroups`]: a pod with this key is ignored.
pub(crate) const IGNORED: u8 = 4;

/// Pod groups by key, the index-based form of [`PodGroups`]: each key carries the flags of
/// the groups that one of its pods fell into.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyGroups {
    flags: Vec<u8>,
    /// Pods whose sample is used as is.
    pub ready_count: usize,
}

impl KeyGroups {
    /// Tests whether `key` is in the group `flag`.
    pub(crate) fn has(&self, key: usize, flag: u8) -> bool {
        self.flags[key] & flag != 0
    }

    /// Tests whether any key is in the group `flag`.
    pub(crate) fn any(&self, flag: u8) -> bool {
        self.flags.iter().any(|flags| flags & flag != 0)
    }

    /// Iterates over the keys in the group `flag`, in key order.
    pub(crate) fn keys(&self, flag: u8) -> impl Iterator<Item = usize> + '_ {
        self.flags
            .iter()
            .enumerate()
            .filter(move |(_, flags)| *flags & flag != 0)
            .map(|(key, _)| key)
    }
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
/// Time comparisons are strict, as Go's `Before` and `After`. Pods with equal names share
/// their sample and their groups.
pub fn group_pods(
    pods: &[PodView],
    samples: &BTreeMap<String, MetricSample>,
    resource: &str,
    config: &HpaConfig,
    now_s: f64,
) -> PodGroups {
    let mut keys = PodKeys::default();
    keys.assign(pods.len(), false, |index| pods[index].name.as_str());
    let mut by_key = PodSamples::default();
    by_key.reset(keys.count());
    for (index, pod) in pods.iter().enumerate() {
        if let Some(sample) = samples.get(&pod.name) {
            by_key.insert(keys.of(index), *sample);
        }
    }
    let mut groups = KeyGroups::default();
    group_pods_by_key(pods, &keys, &by_key, resource, config, now_s, &mut groups);

    let names = |flag: u8| -> BTreeSet<String> {
        pods.iter()
            .enumerate()
            .filter(|(index, _)| groups.has(keys.of(*index), flag))
            .map(|(_, pod)| pod.name.clone())
            .collect()
    };
    PodGroups {
        ready_count: groups.ready_count,
        unready: names(UNREADY),
        missing: names(MISSING),
        ignored: names(IGNORED),
    }
}

/// Groups the listed pods as [`group_pods`] does, by key. `keys` covers at least the listed
/// pods, and `samples` is keyed by it.
pub(crate) fn group_pods_by_key<P: PodList + ?Sized>(
    pods: &P,
    keys: &PodKeys,
    samples: &PodSamples,
    resource: &str,
    config: &HpaConfig,
    now_s: f64,
    groups: &mut KeyGroups,
) {
    groups.flags.clear();
    groups.flags.resize(keys.count(), 0);
    groups.ready_count = 0;
    let is_cpu = resource == CPU;
    for index in 0..pods.len() {
        let key = keys.of(index);
        let pod = pods.status(index);
        let flag = if pod.deleting || pod.phase == PodPhase::Failed {
            IGNORED
        } else if pod.phase == PodPhase::Pending {
            UNREADY
        } else {
            match samples.get(key) {
                None => MISSING,
                Some(sample) if is_cpu && is_cpu_sample_unready(&pod, sample, config, now_s) => {
                    UNREADY
                }
                Some(_) => {
                    groups.ready_count += 1;
                    continue;
                }
            }
        };
        groups.flags[key] |= flag;
    }
}

fn is_cpu_sample_unready(
    pod: &PodStatus,
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

/// Stores each listed pod's request by key, as [`calculate_requests`] does by name, and fails
/// with the first pod's error in list order. Keys of extra samples get `None`.
pub(crate) fn requests_by_key<P: PodList + ?Sized>(
    pods: &P,
    keys: &PodKeys,
    container: &str,
    resource: &str,
    pod_level_resources: bool,
    requests: &mut Vec<Option<i64>>,
) -> Result<(), String> {
    requests.clear();
    requests.resize(keys.count(), None);
    for index in 0..pods.len() {
        let request = pods.request(index, container, resource, pod_level_resources)?;
        requests[keys.of(index)] = Some(request);
    }
    Ok(())
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
