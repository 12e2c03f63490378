//! Small deterministic scenarios, each run twice on the same demand: once scaled by the HPA
//! (the Kubernetes algorithm in `arbiter_sim::hpa`) and once by Arbiter's controller with the
//! default configuration tied to the cluster. Each test asserts what the HPA does, and that
//! Arbiter misses the SLO for no more ticks than the HPA.

use arbiter_core::controller::Controller;
use arbiter_core::execution::Executor;
use arbiter_core::predict::PredictionBasis;
use arbiter_core::referee::Decision;
use arbiter_sim::baseline::{BaselineConfig, BaselineHpa};
use arbiter_sim::cluster::{Cluster, PodViewCache};
use arbiter_sim::config::{ClusterConfig, MIB, StartupConfig, WorkloadConfig};
use arbiter_sim::executor::SimExecutor;
use arbiter_sim::experiment::ExperimentConfig;
use arbiter_sim::hpa::{
    ApiFailures, HorizontalPodAutoscaler, HpaConfig, HpaSpec, MetricSource, MetricSpec,
    MetricTarget, MetricTargetType, PodPhase, PodView, ReconcileInput, ReconcileOutcome,
};
use arbiter_sim::load::Demand;

const TICK_S: f64 = 15.0;
const SEED: u64 = 7;
const NAME: &str = "web";
const KEY: &str = "arbiter-exercise/web";
const MINUTE: f64 = 60.0;

/// A fault or change applied to the cluster at a time.
#[derive(Debug, Clone, Copy)]
enum Event {
    /// Starts a rolling update.
    Rollout,
    /// Readiness probes of every pod fail until the given time.
    FailReadiness { until_s: f64 },
    /// The metrics pipeline drops the samples of this many pods.
    WithholdMetrics(usize),
}

/// One scenario: the cluster, its demand over time and its events.
struct Scenario {
    cluster: ClusterConfig,
    duration_s: f64,
    demand: Box<dyn Fn(f64) -> f64>,
    events: Vec<(f64, Event)>,
}

impl Scenario {
    fn new(cluster: ClusterConfig, duration_s: f64, demand: impl Fn(f64) -> f64 + 'static) -> Self {
        Self {
            cluster,
            duration_s,
            demand: Box::new(demand),
            events: Vec::new(),
        }
    }

    fn with_event(mut self, time_s: f64, event: Event) -> Self {
        self.events.push((time_s, event));
        self
    }
}

/// What one run of a scenario produced.
#[derive(Debug, Default)]
struct Run {
    /// `spec.replicas` after each tick's control step, with the tick's time.
    replicas: Vec<(f64, i32)>,
    /// Times and new `spec.replicas` of every change.
    scale_events: Vec<(f64, i32)>,
    /// Ticks whose p95 latency exceeded the SLO.
    slo_miss_ticks: u32,
    /// Arbiter's decisions (empty for HPA runs).
    decisions: Vec<Decision>,
    /// The custom HPA's outcomes (empty for other runs).
    outcomes: Vec<ReconcileOutcome>,
}

impl Run {
    fn spec_at(&self, time_s: f64) -> i32 {
        self.replicas
            .iter()
            .take_while(|(time, _)| *time <= time_s + 1e-9)
            .last()
            .map_or(0, |(_, replicas)| *replicas)
    }

    fn max_spec_between(&self, from_s: f64, to_s: f64) -> i32 {
        self.replicas
            .iter()
            .filter(|(time, _)| *time > from_s && *time <= to_s)
            .map(|(_, replicas)| *replicas)
            .max()
            .unwrap_or(0)
    }

    fn min_spec_between(&self, from_s: f64, to_s: f64) -> i32 {
        self.replicas
            .iter()
            .filter(|(time, _)| *time > from_s && *time <= to_s)
            .map(|(_, replicas)| *replicas)
            .min()
            .unwrap_or(0)
    }
}

/// A change a test makes to the HPA's pod views and API failures before each reconcile.
type AdjustInputs = Box<dyn Fn(&mut Vec<PodView>, &mut ApiFailures)>;

/// An HPA with a custom spec whose inputs a test may change before each reconcile.
struct CustomHpa {
    hpa: HorizontalPodAutoscaler,
    cache: PodViewCache,
    with_memory: bool,
    adjust: AdjustInputs,
}

impl CustomHpa {
    fn new(spec: HpaSpec, adjust: impl Fn(&mut Vec<PodView>, &mut ApiFailures) + 'static) -> Self {
        let with_memory = spec.metrics.iter().any(|metric| {
            matches!(&metric.source, MetricSource::Resource { resource } if resource == "memory")
        });
        Self {
            hpa: HorizontalPodAutoscaler::new(spec),
            cache: PodViewCache::default(),
            with_memory,
            adjust: Box::new(adjust),
        }
    }
}

/// Who scales the workload.
enum Autoscaler {
    Hpa(BaselineHpa),
    Custom(Box<CustomHpa>),
    Arbiter(Box<Controller>),
}

fn baseline_hpa(cluster: &ClusterConfig) -> Autoscaler {
    Autoscaler::Hpa(BaselineHpa::new(
        &BaselineConfig::default(),
        &[KEY.to_owned()],
        cluster.workload.min_replicas,
        cluster.workload.max_replicas,
    ))
}

fn arbiter(cluster: &ClusterConfig) -> Autoscaler {
    let config = ExperimentConfig::for_cluster(SEED, cluster.clone());
    Autoscaler::Arbiter(Box::new(Controller::new(config.controller)))
}

/// Runs a scenario under one autoscaler.
fn run(scenario: &Scenario, mut autoscaler: Autoscaler) -> Run {
    let mut cluster = Cluster::new(
        "scenario",
        scenario.cluster.clone(),
        SEED,
        &[NAME.to_owned()],
    )
    .expect("valid scenario cluster");
    let slo = scenario.cluster.latency.slo_p95_ms;
    let ticks = (scenario.duration_s / TICK_S).round() as usize;
    let mut result = Run::default();
    let mut events = scenario.events.clone();
    let mut last_spec = cluster.spec_replicas(KEY).expect("workload exists");
    for tick in 0..ticks {
        let time_s = tick as f64 * TICK_S;
        events.retain(|(at, event)| {
            if *at > time_s {
                return true;
            }
            match event {
                Event::Rollout => cluster.rollout(KEY).expect("workload exists"),
                Event::FailReadiness { until_s } => cluster
                    .fail_readiness(KEY, *until_s)
                    .expect("workload exists"),
                Event::WithholdMetrics(pods) => cluster
                    .withhold_metrics(KEY, *pods)
                    .expect("workload exists"),
            }
            false
        });
        let demand = Demand {
            cpu_cores: (scenario.demand)(time_s),
            memory_gib: 0.5,
        };
        let step = cluster.step(TICK_S, &[demand]);
        if step.workloads[0].p95_ms > slo {
            result.slo_miss_ticks += 1;
        }

        match &mut autoscaler {
            Autoscaler::Hpa(hpa) => {
                for rescale in hpa.reconcile_cluster(&cluster) {
                    cluster
                        .scale(&rescale.workload, rescale.replicas)
                        .expect("workload exists");
                }
            }
            Autoscaler::Custom(custom) => {
                cluster.update_pod_views(0, custom.with_memory, &mut custom.cache);
                let mut views = custom.cache.views.clone();
                let mut failures = ApiFailures::default();
                (custom.adjust)(&mut views, &mut failures);
                let spec = cluster.spec_replicas(KEY).expect("workload exists");
                let mut input =
                    ReconcileInput::new(cluster.time_s(), spec, views.len() as i32, &views);
                input.failures = failures;
                let outcome = custom.hpa.reconcile(&HpaConfig::default(), &input);
                if outcome.rescale {
                    cluster
                        .scale(KEY, outcome.desired_replicas)
                        .expect("workload exists");
                }
                result.outcomes.push(outcome);
            }
            Autoscaler::Arbiter(controller) => {
                let snapshot = cluster.snapshot();
                for mut decision in controller.decide(&snapshot) {
                    let record = SimExecutor::new(&mut cluster, false).execute(&decision.action);
                    decision.execution = Some(record);
                    result.decisions.push(decision);
                }
            }
        }
        let spec = cluster.spec_replicas(KEY).expect("workload exists");
        if spec != last_spec {
            result.scale_events.push((cluster.time_s(), spec));
            last_spec = spec;
        }
        result.replicas.push((cluster.time_s(), spec));
    }
    result
}

/// Asserts that Arbiter misses the SLO for no more ticks than the HPA.
fn assert_arbiter_at_least_as_good(scenario: &str, hpa: &Run, arbiter: &Run) {
    eprintln!(
        "{scenario}: SLO missed in {} ticks by the HPA and {} by Arbiter; replicas at the end \
         {} and {}",
        hpa.slo_miss_ticks,
        arbiter.slo_miss_ticks,
        hpa.replicas.last().map_or(0, |(_, replicas)| *replicas),
        arbiter.replicas.last().map_or(0, |(_, replicas)| *replicas),
    );
    assert!(
        arbiter.slo_miss_ticks <= hpa.slo_miss_ticks,
        "{scenario}: Arbiter missed the SLO in {} ticks, the HPA in {}; Arbiter's replicas: {:?}; \
         the HPA's: {:?}",
        arbiter.slo_miss_ticks,
        hpa.slo_miss_ticks,
        arbiter.scale_events,
        hpa.scale_events
    );
}

/// Returns a cluster with one Deployment starting at `replicas` pods.
fn cluster_with(replicas: i32) -> ClusterConfig {
    ClusterConfig {
        workload: WorkloadConfig {
            initial_replicas: replicas,
            ..WorkloadConfig::default()
        },
        ..ClusterConfig::default()
    }
}

/// Demand in cores that the HPA's 70% target of 500m requests sizes to `pods` pods.
fn cores_for(pods: f64) -> f64 {
    pods * 0.35
}

#[test]
fn jvm_startup_burst_rollout() {
    // Pods burn 2 cores for their first minute and turn Ready only after it. The load is
    // steady for 8 pods, and a rollout at minute 20 restarts every pod.
    let mut cluster = cluster_with(8);
    cluster.workload.cpu_limit_milli = 2000;
    cluster.workload.idle_cpu_milli = 20;
    cluster.startup = StartupConfig {
        burst_cpu_milli: 2000,
        burst_s: 60.0,
        readiness_delay_s: 60.0,
        ..StartupConfig::default()
    };
    let scenario = Scenario::new(cluster.clone(), 45.0 * MINUTE, |_| cores_for(8.0))
        .with_event(20.0 * MINUTE, Event::Rollout);
    let hpa = run(&scenario, baseline_hpa(&cluster));
    let before = hpa.spec_at(20.0 * MINUTE);

    // Within the 300 s CPU initialization period, the HPA ignores samples whose window began
    // before the pod turned Ready, so the burst never reaches its average.
    assert_eq!(
        before, 8,
        "HPA replicas before the rollout: {:?}",
        hpa.scale_events
    );
    assert_eq!(
        hpa.max_spec_between(20.0 * MINUTE, 45.0 * MINUTE),
        before,
        "HPA replicas rose during the rollout: {:?}",
        hpa.scale_events
    );

    let mut ready_early = cluster.clone();
    ready_early.startup.readiness_delay_s = 10.0;
    let early = Scenario::new(ready_early.clone(), 45.0 * MINUTE, |_| cores_for(8.0))
        .with_event(20.0 * MINUTE, Event::Rollout);
    let hpa_early = run(&early, baseline_hpa(&ready_early));
    // Pods that turn Ready while still burning the burst pass the rule after one window, so
    // the HPA jumps on the rollout.
    assert!(
        hpa_early.max_spec_between(20.0 * MINUTE, 45.0 * MINUTE) >= 2 * before,
        "Ready during the burst, the HPA jumps: {:?}",
        hpa_early.scale_events
    );

    let arbiter_run = run(&scenario, arbiter(&cluster));
    assert_arbiter_at_least_as_good("jvm_startup_burst_rollout", &hpa, &arbiter_run);
}

#[test]
fn rolling_update_max_surge() {
    // 25% maxSurge under steady load: the surge pods are unready and new, so the HPA must not
    // count them into a higher replica count.
    let cluster = cluster_with(8);
    let scenario = Scenario::new(cluster.clone(), 45.0 * MINUTE, |_| cores_for(8.0))
        .with_event(20.0 * MINUTE, Event::Rollout);
    let hpa = run(&scenario, baseline_hpa(&cluster));
    let before = hpa.spec_at(20.0 * MINUTE);
    assert_eq!(
        before, 8,
        "HPA replicas before the rollout: {:?}",
        hpa.scale_events
    );
    assert_eq!(
        hpa.max_spec_between(20.0 * MINUTE, 45.0 * MINUTE),
        before,
        "HPA replicas ratcheted up during the rollout: {:?}",
        hpa.scale_events
    );
    assert_eq!(hpa.spec_at(45.0 * MINUTE), before);

    let arbiter_run = run(&scenario, arbiter(&cluster));
    assert_arbiter_at_least_as_good("rolling_update_max_surge", &hpa, &arbiter_run);
}

#[test]
fn one_of_two_metrics_unavailable() {
    // CPU and a Pods metric from the custom metrics API, which fails throughout. Load rises
    // at minute 20 and falls at minute 40.
    let cluster = cluster_with(8);
    let demand = |time_s: f64| {
        if time_s < 20.0 * MINUTE {
            cores_for(8.0)
        } else if time_s < 40.0 * MINUTE {
            cores_for(16.0)
        } else {
            cores_for(3.0)
        }
    };
    let scenario = Scenario::new(cluster.clone(), 75.0 * MINUTE, demand);
    let spec = HpaSpec {
        min_replicas: Some(cluster.workload.min_replicas),
        max_replicas: cluster.workload.max_replicas,
        metrics: vec![
            MetricSpec::cpu_utilization(70),
            MetricSpec {
                source: MetricSource::Pods {
                    metric: "http_requests_per_second".to_owned(),
                },
                target: MetricTarget {
                    target_type: MetricTargetType::AverageValue,
                    average_value_milli: Some(100_000),
                    ..MetricTarget::default()
                },
            },
        ],
        behavior: None,
    };
    let custom = CustomHpa::new(spec, |_, failures| failures.custom_metrics_api = true);
    let hpa = run(&scenario, Autoscaler::Custom(Box::new(custom)));

    let peak = hpa.max_spec_between(20.0 * MINUTE, 40.0 * MINUTE);
    assert!(
        peak >= 14,
        "scale-up must still work on the CPU metric: peak {peak}, events {:?}",
        hpa.scale_events
    );
    assert_eq!(
        hpa.min_spec_between(40.0 * MINUTE, 75.0 * MINUTE),
        hpa.spec_at(40.0 * MINUTE),
        "scale-down must be blocked while a metric is invalid: {:?}",
        hpa.scale_events
    );
    assert!(
        hpa.outcomes
            .iter()
            .all(|outcome| outcome.error.as_deref().is_some_and(|e| !e.is_empty())),
        "every reconcile reports the failing metric"
    );

    let arbiter_run = run(&scenario, arbiter(&cluster));
    assert_arbiter_at_least_as_good("one_of_two_metrics_unavailable", &hpa, &arbiter_run);
}

#[test]
fn metrics_missing_under_high_load() {
    // Load triples at minute 10; in one run two of the four pods have no metrics from then on.
    let cluster = cluster_with(4);
    let demand = |time_s: f64| {
        if time_s < 10.0 * MINUTE {
            cores_for(4.0)
        } else {
            cores_for(12.0)
        }
    };
    let complete = Scenario::new(cluster.clone(), 25.0 * MINUTE, demand);
    let missing = Scenario::new(cluster.clone(), 25.0 * MINUTE, demand)
        .with_event(10.0 * MINUTE, Event::WithholdMetrics(2));
    let hpa_complete = run(&complete, baseline_hpa(&cluster));
    let hpa_missing = run(&missing, baseline_hpa(&cluster));

    // On a scale-up the HPA assumes pods without metrics use 0% of their request, so it
    // climbs more slowly and settles lower while the pods stay silent.
    for minute in 10..25 {
        let time_s = f64::from(minute) * MINUTE;
        assert!(
            hpa_missing.spec_at(time_s) <= hpa_complete.spec_at(time_s),
            "at minute {minute}: {:?} against {:?}",
            hpa_missing.scale_events,
            hpa_complete.scale_events
        );
    }
    let with_all = hpa_complete.spec_at(12.0 * MINUTE);
    let with_missing = hpa_missing.spec_at(12.0 * MINUTE);
    assert!(
        with_missing < with_all,
        "missing metrics must damp the scale-up: {with_missing} against {with_all}"
    );
    assert!(
        hpa_missing.spec_at(25.0 * MINUTE) > 4,
        "the HPA still scales up: {:?}",
        hpa_missing.scale_events
    );

    let arbiter_run = run(&missing, arbiter(&cluster));
    assert_arbiter_at_least_as_good(
        "metrics_missing_under_high_load",
        &hpa_missing,
        &arbiter_run,
    );
}

#[test]
fn all_pods_unready_during_spike() {
    // Load triples at minute 20 while every readiness probe fails for 8 minutes.
    let cluster = cluster_with(8);
    let demand = |time_s: f64| {
        if time_s < 20.0 * MINUTE {
            cores_for(8.0)
        } else {
            cores_for(24.0)
        }
    };
    let scenario = Scenario::new(cluster.clone(), 45.0 * MINUTE, demand).with_event(
        20.0 * MINUTE,
        Event::FailReadiness {
            until_s: 28.0 * MINUTE,
        },
    );
    let hpa = run(&scenario, baseline_hpa(&cluster));
    let before = hpa.spec_at(20.0 * MINUTE);
    assert_eq!(before, 8);
    // Pods past the CPU initialization period keep their samples when they turn unready, and
    // unready pods serve nothing, so the HPA sees idle pods: no scale-up during the outage,
    // and a scale-down once the 300 s stabilization window has passed.
    assert_eq!(
        hpa.max_spec_between(20.0 * MINUTE, 28.0 * MINUTE),
        before,
        "the HPA must not scale up while it sees idle pods: {:?}",
        hpa.scale_events
    );
    assert!(
        hpa.min_spec_between(25.0 * MINUTE, 28.0 * MINUTE) < before,
        "the HPA scales down during the outage after the stabilization window: {:?}",
        hpa.scale_events
    );
    assert!(
        hpa.max_spec_between(28.0 * MINUTE, 45.0 * MINUTE) > before,
        "the HPA scales up once pods are Ready again: {:?}",
        hpa.scale_events
    );

    let arbiter_run = run(&scenario, arbiter(&cluster));
    assert_arbiter_at_least_as_good("all_pods_unready_during_spike", &hpa, &arbiter_run);
}

#[test]
fn memory_hpa_floor_never_falls() {
    // Every container keeps 384 MiB of its 512 MiB request (75%) whatever its load, above the
    // HPA's 60% memory target.
    let mut cluster = cluster_with(4);
    cluster.workload.base_memory_bytes = 384 * MIB;
    cluster.workload.max_replicas = 20;
    let demand = |time_s: f64| {
        if time_s < 30.0 * MINUTE {
            cores_for(6.0)
        } else {
            cores_for(1.0)
        }
    };
    let scenario = Scenario::new(cluster.clone(), 75.0 * MINUTE, demand);
    let spec = HpaSpec {
        min_replicas: Some(cluster.workload.min_replicas),
        max_replicas: cluster.workload.max_replicas,
        metrics: vec![MetricSpec {
            source: MetricSource::Resource {
                resource: "memory".to_owned(),
            },
            target: MetricTarget {
                target_type: MetricTargetType::Utilization,
                average_utilization: Some(60),
                ..MetricTarget::default()
            },
        }],
        behavior: None,
    };
    let hpa = run(
        &scenario,
        Autoscaler::Custom(Box::new(CustomHpa::new(spec, |_, _| {}))),
    );
    assert_eq!(
        hpa.max_spec_between(0.0, 30.0 * MINUTE),
        20,
        "the HPA climbs to maxReplicas: {:?}",
        hpa.scale_events
    );
    assert_eq!(
        hpa.min_spec_between(30.0 * MINUTE, 75.0 * MINUTE),
        20,
        "the HPA never scales down while the memory floor is above target: {:?}",
        hpa.scale_events
    );

    let arbiter_run = run(&scenario, arbiter(&cluster));
    assert!(
        arbiter_run.spec_at(75.0 * MINUTE) < 20,
        "Arbiter sizes on CPU and scales down: {:?}",
        arbiter_run.scale_events
    );
    assert_arbiter_at_least_as_good("memory_hpa_floor_never_falls", &hpa, &arbiter_run);
}

#[test]
fn completed_pod_without_cpu_request() {
    // A finished Job pod without CPU requests matches the HPA's selector; load doubles at
    // minute 10.
    let cluster = cluster_with(4);
    let demand = |time_s: f64| {
        if time_s < 10.0 * MINUTE {
            cores_for(4.0)
        } else {
            cores_for(10.0)
        }
    };
    let scenario = Scenario::new(cluster.clone(), 30.0 * MINUTE, demand);
    let spec = HpaSpec {
        min_replicas: Some(cluster.workload.min_replicas),
        max_replicas: cluster.workload.max_replicas,
        metrics: vec![MetricSpec::cpu_utilization(70)],
        behavior: None,
    };
    let add_completed_pod = |views: &mut Vec<PodView>, _: &mut ApiFailures| {
        views.push(PodView {
            name: "web-migrate-job-x7k2p".to_owned(),
            phase: PodPhase::Succeeded,
            ready: Some(false),
            start_s: Some(0.0),
            ready_transition_s: Some(0.0),
            request_milli: None,
            cpu: None,
            ..PodView::default()
        });
    };
    let hpa = run(
        &scenario,
        Autoscaler::Custom(Box::new(CustomHpa::new(spec, add_completed_pod))),
    );
    // The HPA sums the requests of every matched pod, and a pod without a CPU request fails
    // the whole metric: no scaling at all.
    assert!(
        hpa.scale_events.is_empty(),
        "the HPA must not scale: {:?}",
        hpa.scale_events
    );
    let last = hpa.outcomes.last().expect("the HPA reconciled");
    let error = last.error.as_deref().unwrap_or_default();
    assert!(error.contains("missing request for cpu"), "{error}");

    let arbiter_run = run(&scenario, arbiter(&cluster));
    assert!(arbiter_run.spec_at(30.0 * MINUTE) > 4);
    assert_arbiter_at_least_as_good("completed_pod_without_cpu_request", &hpa, &arbiter_run);
}

#[test]
fn stabilization_window_spacing() {
    // Load climbs one step a minute for 10 minutes, then falls one step a minute. Users expect
    // the 300 s stabilization window to space scale events 300 s apart.
    let cluster = cluster_with(4);
    let demand = |time_s: f64| {
        let minute = (time_s / MINUTE).floor();
        let steps = if minute < 10.0 {
            minute
        } else if minute < 20.0 {
            20.0 - minute
        } else {
            0.0
        };
        cores_for(4.0 + 2.0 * steps)
    };
    let scenario = Scenario::new(cluster.clone(), 45.0 * MINUTE, demand);
    let hpa = run(&scenario, baseline_hpa(&cluster));
    let gaps = |up: bool| -> Vec<f64> {
        let mut previous = 4;
        let mut times = Vec::new();
        for (time, replicas) in &hpa.scale_events {
            if (*replicas > previous) == up {
                times.push(*time);
            }
            previous = *replicas;
        }
        times.windows(2).map(|pair| pair[1] - pair[0]).collect()
    };
    let up_gaps = gaps(true);
    let down_gaps = gaps(false);
    // Scale-ups have no window without `behavior`, and the scale-down window takes the highest
    // recommendation of the last 300 s, so it delays the first scale-down but then follows
    // the falling load every sync.
    assert!(
        up_gaps.iter().any(|gap| *gap < 300.0),
        "scale-ups closer than 300 s: {up_gaps:?} from {:?}",
        hpa.scale_events
    );
    assert!(
        down_gaps.iter().any(|gap| *gap < 300.0),
        "scale-downs closer than 300 s: {down_gaps:?} from {:?}",
        hpa.scale_events
    );
    let first_down = hpa
        .scale_events
        .iter()
        .find(|(time, _)| *time > 10.0 * MINUTE && hpa.spec_at(*time - TICK_S) > hpa.spec_at(*time))
        .map(|(time, _)| *time)
        .expect("the HPA scales down");
    assert!(
        first_down >= 15.0 * MINUTE,
        "the first scale-down waits for the window: at {first_down} s"
    );

    let arbiter_run = run(&scenario, arbiter(&cluster));
    assert_arbiter_at_least_as_good("stabilization_window_spacing", &hpa, &arbiter_run);
}

#[test]
fn burst_shorter_than_metrics_window() {
    // A 30 s burst of five times the load, inside one 60 s metrics window.
    let cluster = cluster_with(4);
    let demand = |time_s: f64| {
        if (20.0 * MINUTE..20.0 * MINUTE + 30.0).contains(&time_s) {
            cores_for(20.0)
        } else {
            cores_for(4.0)
        }
    };
    let scenario = Scenario::new(cluster.clone(), 35.0 * MINUTE, demand);
    let hpa = run(&scenario, baseline_hpa(&cluster));
    // The sample averages the burst with calm ticks and pods cap at their limit, so the HPA
    // reacts to a fraction of it at most.
    let peak = hpa.max_spec_between(20.0 * MINUTE, 35.0 * MINUTE);
    assert!(
        peak < 20,
        "the HPA sizes for a diluted burst: peak {peak}, {:?}",
        hpa.scale_events
    );
    let arbiter_run = run(&scenario, arbiter(&cluster));
    assert_arbiter_at_least_as_good("burst_shorter_than_metrics_window", &hpa, &arbiter_run);
}

#[test]
fn short_history_falls_back_to_reactive() {
    // A workload observed for 40 minutes, less than the forecaster's 12 windows of 300 s;
    // load triples at minute 10.
    let cluster = cluster_with(4);
    let demand = |time_s: f64| {
        if time_s < 10.0 * MINUTE {
            cores_for(4.0)
        } else {
            cores_for(12.0)
        }
    };
    let scenario = Scenario::new(cluster.clone(), 40.0 * MINUTE, demand);
    let hpa = run(&scenario, baseline_hpa(&cluster));
    assert!(hpa.spec_at(40.0 * MINUTE) > 4, "{:?}", hpa.scale_events);

    let arbiter_run = run(&scenario, arbiter(&cluster));
    assert!(!arbiter_run.decisions.is_empty());
    for decision in &arbiter_run.decisions {
        assert!(
            matches!(decision.prediction.basis, PredictionBasis::Reactive { .. }),
            "decision at {} s used {:?}",
            decision.time_s,
            decision.prediction.basis
        );
    }
    assert!(
        arbiter_run.spec_at(40.0 * MINUTE) > 4,
        "the reactive fallback still scales up: {:?}",
        arbiter_run.scale_events
    );
    assert_arbiter_at_least_as_good("short_history_falls_back_to_reactive", &hpa, &arbiter_run);
}
