//! Unit tests for rules the Kubernetes test vectors do not pin: production defaults, strict and
//! inclusive time bounds, multi-reconcile state, validation and bad inputs.

use std::collections::BTreeMap;

use super::*;

fn ready_pod(name: &str, request_milli: i64, usage_milli: i64, now_s: f64) -> PodView {
    PodView {
        name: name.to_string(),
        phase: PodPhase::Running,
        ready: Some(true),
        start_s: Some(EPOCH_S),
        ready_transition_s: Some(EPOCH_S),
        request_milli: Some(request_milli),
        cpu: Some(MetricSample {
            value_milli: usage_milli,
            timestamp_s: now_s,
            window_s: 60.0,
        }),
        ..PodView::default()
    }
}

fn cpu_pods(count: usize, usage_milli: i64, now_s: f64) -> Vec<PodView> {
    (0..count)
        .map(|i| ready_pod(&format!("pod-{i}"), 1000, usage_milli, now_s))
        .collect()
}

fn cpu_spec(min: i32, max: i32, target: i32, behavior: Option<Behavior>) -> HpaSpec {
    HpaSpec {
        min_replicas: Some(min),
        max_replicas: max,
        metrics: vec![MetricSpec::cpu_utilization(target)],
        behavior,
    }
}

fn reason_of(outcome: &ReconcileOutcome, kind: ConditionType) -> Option<&str> {
    outcome
        .conditions
        .iter()
        .find(|condition| condition.kind == kind)
        .map(|condition| condition.reason.as_str())
}

// ----- configuration -----------------------------------------------------------------------

#[test]
fn config_default_is_production() {
    let config = HpaConfig::default();
    assert_eq!(config.tolerance_scale_up, 0.1);
    assert_eq!(config.tolerance_scale_down, 0.1);
    assert_eq!(config.cpu_initialization_period_s, 300.0);
    assert_eq!(config.initial_readiness_delay_s, 30.0);
    assert_eq!(config.downscale_stabilization_s, 300.0);
    assert_eq!(config.sync_period_s, 15.0);
    assert_eq!(config.legacy_scale_up_limit_factor, 2.0);
    assert_eq!(config.legacy_scale_up_limit_minimum, 4.0);
    assert!(!config.pod_level_resources);
    assert!(config.validate().is_ok());
}

#[test]
fn config_rejects_bad_values() {
    let negative = HpaConfig {
        tolerance_scale_down: -0.1,
        ..HpaConfig::default()
    };
    let error = negative.validate().expect_err("negative tolerance");
    assert!(
        error.to_string().contains("tolerance_scale_down"),
        "{error}"
    );

    let nan = HpaConfig {
        cpu_initialization_period_s: f64::NAN,
        ..HpaConfig::default()
    };
    assert!(nan.validate().is_err());

    let zero_sync = HpaConfig {
        sync_period_s: 0.0,
        ..HpaConfig::default()
    };
    let error = zero_sync.validate().expect_err("zero sync period");
    assert!(error.to_string().contains("sync_period_s"), "{error}");
}

#[test]
fn tolerance_edges_are_within() {
    let tolerances = HpaConfig::default().tolerances();
    // Exactly +-10% with integer percentages counts as within for every target that has one.
    for target in (10..=300).step_by(10) {
        let above = f64::from(target + target / 10) / f64::from(target);
        let below = f64::from(target - target / 10) / f64::from(target);
        assert!(
            tolerances.is_within(above),
            "target {target}: ratio {above}"
        );
        assert!(
            tolerances.is_within(below),
            "target {target}: ratio {below}"
        );
    }
    assert!(!tolerances.is_within(34.0 / 30.0));
    assert!(!tolerances.is_within(f64::NAN));
}

// ----- pod grouping bounds -----------------------------------------------------------------

fn grouped(pod: PodView, sample_timestamp_s: f64, now_s: f64) -> PodGroups {
    let samples = BTreeMap::from([(
        pod.name.clone(),
        MetricSample {
            value_milli: 100,
            timestamp_s: sample_timestamp_s,
            window_s: 60.0,
        },
    )]);
    group_pods(&[pod], &samples, "cpu", &HpaConfig::default(), now_s)
}

#[test]
fn readiness_delay_bound_is_strict() {
    let config = HpaConfig::default();
    let now_s = 10_000.0;
    let start_s = 0.0;
    let unready_at = |transition_s| PodView {
        name: "p".to_string(),
        ready: Some(false),
        start_s: Some(start_s),
        ready_transition_s: Some(transition_s),
        ..PodView::default()
    };
    // Turned unready exactly `delay` after start: not inside the delay, so it was ready once.
    let at_delay = grouped(
        unready_at(start_s + config.initial_readiness_delay_s),
        now_s,
        now_s,
    );
    assert_eq!(at_delay.ready_count, 1);
    // One second earlier: never ready, so its sample is dropped.
    let inside = grouped(
        unready_at(start_s + config.initial_readiness_delay_s - 1.0),
        now_s,
        now_s,
    );
    assert_eq!(inside.ready_count, 0);
    assert!(inside.unready.contains("p"));
}

#[test]
fn cpu_initialization_bound_is_strict() {
    let config = HpaConfig::default();
    let now_s = 1000.0;
    let pod = |start_s| PodView {
        name: "p".to_string(),
        ready: Some(true),
        start_s: Some(start_s),
        ready_transition_s: Some(now_s - 10.0),
        ..PodView::default()
    };
    // The sample ends 10 s after the readiness change, less than its 60 s window.
    let initializing = grouped(
        pod(now_s - config.cpu_initialization_period_s + 1.0),
        now_s,
        now_s,
    );
    assert_eq!(initializing.ready_count, 0);
    // Started exactly one initialization period ago: no longer initializing.
    let initialized = grouped(
        pod(now_s - config.cpu_initialization_period_s),
        now_s,
        now_s,
    );
    assert_eq!(initialized.ready_count, 1);
}

#[test]
fn memory_skips_readiness_check() {
    let pod = PodView {
        name: "p".to_string(),
        ready: None,
        ..PodView::default()
    };
    let samples = BTreeMap::from([(
        "p".to_string(),
        MetricSample {
            value_milli: 1,
            timestamp_s: 0.0,
            window_s: 60.0,
        },
    )]);
    let groups = group_pods(&[pod], &samples, "memory", &HpaConfig::default(), 0.0);
    assert_eq!(groups.ready_count, 1);
}

// ----- requests ----------------------------------------------------------------------------

fn container(name: &str, kind: ContainerKind, cpu: Option<i64>) -> ContainerView {
    ContainerView {
        name: name.to_string(),
        kind,
        requests_milli: cpu.map(|c| ("cpu".to_string(), c)).into_iter().collect(),
    }
}

#[test]
fn requests_missing_container_request_fails() {
    let pod = PodView {
        name: "web-0".to_string(),
        containers: vec![
            container("app", ContainerKind::Regular, Some(100)),
            container("sidecar", ContainerKind::RestartableInit, None),
        ],
        ..PodView::default()
    };
    let error = calculate_requests(&[pod], "", "cpu", false).expect_err("missing request");
    assert!(
        error.contains("missing request for cpu in container sidecar of Pod web-0"),
        "{error}"
    );
}

#[test]
fn requests_skip_plain_init_containers() {
    let pod = PodView {
        name: "web-0".to_string(),
        containers: vec![
            container("app", ContainerKind::Regular, Some(100)),
            container("setup", ContainerKind::Init, None),
        ],
        ..PodView::default()
    };
    let requests = calculate_requests(&[pod], "", "cpu", false).expect("init container skipped");
    assert_eq!(requests.get("web-0"), Some(&100));
}

#[test]
fn requests_unknown_container_fails() {
    let pod = PodView {
        name: "web-0".to_string(),
        containers: vec![container("app", ContainerKind::Regular, Some(100))],
        ..PodView::default()
    };
    let error = calculate_requests(&[pod], "proxy", "cpu", false).expect_err("unknown container");
    assert!(
        error.contains("container proxy not found in Pod web-0"),
        "{error}"
    );
}

#[test]
fn requests_shortcut_needs_cpu_total() {
    let pod = PodView {
        name: "web-0".to_string(),
        request_milli: None,
        ..PodView::default()
    };
    let error = calculate_requests(&[pod], "", "cpu", false).expect_err("no request");
    assert!(error.contains("missing request for cpu"), "{error}");
}

// ----- stabilization and rate-limit bounds -------------------------------------------------

#[test]
fn legacy_window_bound_is_inclusive() {
    let mut history = vec![Recommendation {
        replicas: 10,
        timestamp_s: -300.0,
    }];
    assert_eq!(stabilize_recommendation(&mut history, 3, 0.0, 300.0), 10);
    let mut history = vec![Recommendation {
        replicas: 10,
        timestamp_s: -300.001,
    }];
    assert_eq!(stabilize_recommendation(&mut history, 3, 0.0, 300.0), 3);
}

#[test]
fn behavior_window_bound_is_strict() {
    let mut history = vec![Recommendation {
        replicas: 10,
        timestamp_s: -300.0,
    }];
    let (stabilized, _) =
        stabilize_recommendation_with_behaviors(&mut history, 10, 3, 0.0, 0.0, 300.0);
    assert_eq!(stabilized, 3);
    let mut history = vec![Recommendation {
        replicas: 10,
        timestamp_s: -299.0,
    }];
    let (stabilized, reason) =
        stabilize_recommendation_with_behaviors(&mut history, 10, 3, 0.0, 0.0, 300.0);
    assert_eq!(stabilized, 10);
    assert_eq!(reason, "ScaleDownStabilized");
}

#[test]
fn event_at_period_age_not_counted() {
    let events = [
        ScaleEvent {
            change: 4,
            timestamp_s: -15.0,
            outdated: false,
        },
        ScaleEvent {
            change: 2,
            timestamp_s: -14.0,
            outdated: false,
        },
    ];
    assert_eq!(replicas_change_per_period(15, &events, 0.0), 2);
}

#[test]
fn default_scale_up_differs_from_legacy() {
    let config = HpaConfig::default();
    let rules = ScalingRules::effective_scale_up(None);
    for (current, behavior_limit, legacy_limit) in [(1, 5, 4), (2, 6, 4), (3, 7, 6), (10, 20, 20)] {
        assert_eq!(
            calculate_scale_up_limit(current, &[], &[], &rules, 0.0),
            behavior_limit,
            "behavior limit at {current}"
        );
        let legacy = convert_desired_replicas_with_rules(current, 1000, 1, 1000, &config);
        assert_eq!(legacy.replicas, legacy_limit, "legacy limit at {current}");
        assert_eq!(legacy.reason, "ScaleUpLimit");
    }
}

#[test]
fn percent_scale_down_truncates() {
    // 10% per 60 s from 80 replicas: 72, then 64 (7.2 pods removed rounds up to 8).
    let rules = EffectiveScalingRules {
        stabilization_window_s: 0.0,
        select_policy: SelectPolicy::Max,
        policies: vec![ScalingPolicy {
            policy_type: ScalingPolicyType::Percent,
            value: 10,
            period_s: 60,
        }],
        tolerance: None,
    };
    assert_eq!(calculate_scale_down_limit(80, &[], &[], &rules, 0.0), 72);
    assert_eq!(calculate_scale_down_limit(72, &[], &[], &rules, 100.0), 64);
}

#[test]
fn disabled_policy_freezes_direction() {
    let rules = EffectiveScalingRules {
        stabilization_window_s: 0.0,
        select_policy: SelectPolicy::Disabled,
        policies: Vec::new(),
        tolerance: None,
    };
    let limited =
        convert_desired_replicas_with_behavior_rate(5, 9, 1, 20, &rules, &rules, &[], &[], 0.0);
    assert_eq!(limited.replicas, 5);
    assert_eq!(limited.reason, "ScaleUpLimit");
}

// ----- reconcile over time -----------------------------------------------------------------

#[test]
fn seeded_history_blocks_first_scale_down() {
    let config = HpaConfig::default();
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 10, 50, None));
    // 10% against a 50% target on 5 pods proposes 1 replica.
    let pods = cpu_pods(5, 100, 0.0);
    let first = hpa.reconcile(&config, &ReconcileInput::new(0.0, 5, 5, &pods));
    assert_eq!(first.desired_replicas, 5);
    assert_eq!(
        reason_of(&first, ConditionType::AbleToScale),
        Some("ScaleDownStabilized")
    );

    // The seed of 5 at t=0 stays in the inclusive 300 s window at t=300 ...
    let pods = cpu_pods(5, 100, 300.0);
    let at_window = hpa.reconcile(&config, &ReconcileInput::new(300.0, 5, 5, &pods));
    assert_eq!(at_window.desired_replicas, 5);

    // ... and leaves it just after.
    let pods = cpu_pods(5, 100, 300.5);
    let after = hpa.reconcile(&config, &ReconcileInput::new(300.5, 5, 5, &pods));
    assert_eq!(after.desired_replicas, 1);
    assert!(after.rescale);
}

#[test]
fn behavior_scale_up_steps_per_sync() {
    let config = HpaConfig::default();
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 100, 50, Some(Behavior::default())));
    let mut replicas = 2;
    let mut history = Vec::new();
    for step in 0..4 {
        let now_s = f64::from(step) * config.sync_period_s;
        // 500% against a 50% target: the metrics ask for 10 × the current count.
        let pods = cpu_pods(replicas as usize, 5000, now_s);
        let outcome = hpa.reconcile(
            &config,
            &ReconcileInput::new(now_s, replicas, replicas, &pods),
        );
        replicas = outcome.desired_replicas;
        history.push(replicas);
    }
    // Default behavior allows max(current + 4, 2 × current) per 15 s; an event aged exactly
    // 15 s no longer counts.
    assert_eq!(history, vec![6, 12, 24, 48]);
    // Each store replaces the last event older than the longest period (15 s).
    assert_eq!(hpa.scale_up_events.len(), 2);
    assert!(hpa.scale_down_events.is_empty());
}

#[test]
fn burst_of_events_freezes_scale_up() {
    let config = HpaConfig::default();
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 100, 50, Some(Behavior::default())));
    let pods = cpu_pods(2, 5000, 0.0);
    let first = hpa.reconcile(&config, &ReconcileInput::new(0.0, 2, 2, &pods));
    assert_eq!(first.desired_replicas, 6);
    // Five seconds later the 2 → 6 event is still inside the 15 s periods.
    let pods = cpu_pods(6, 5000, 5.0);
    let second = hpa.reconcile(&config, &ReconcileInput::new(5.0, 6, 6, &pods));
    assert_eq!(second.desired_replicas, 6);
    assert!(!second.rescale);
    assert_eq!(
        reason_of(&second, ConditionType::ScalingLimited),
        Some("ScaleUpLimit")
    );
}

#[test]
fn zero_replicas_disable_scaling() {
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 10, 50, None));
    let outcome = hpa.reconcile(&HpaConfig::default(), &ReconcileInput::new(0.0, 0, 0, &[]));
    assert_eq!(outcome.desired_replicas, 0);
    assert!(!outcome.rescale);
    assert_eq!(
        reason_of(&outcome, ConditionType::ScalingActive),
        Some("ScalingDisabled")
    );
}

#[test]
fn empty_metrics_default_to_cpu_80() {
    let spec = HpaSpec {
        min_replicas: None,
        max_replicas: 10,
        metrics: Vec::new(),
        behavior: None,
    };
    assert_eq!(
        spec.effective_metrics(),
        vec![MetricSpec::cpu_utilization(80)]
    );
    let mut hpa = HorizontalPodAutoscaler::new(spec);
    hpa.recommendations = Some(Vec::new());
    // 40% against 80% on 4 pods: 2 replicas.
    let pods = cpu_pods(4, 400, 0.0);
    let outcome = hpa.reconcile(
        &HpaConfig::default(),
        &ReconcileInput::new(0.0, 4, 4, &pods),
    );
    assert_eq!(outcome.desired_replicas, 2);
    assert_eq!(outcome.cpu_utilization_percent, Some(40));
}

#[test]
fn conditions_persist_and_track_transitions() {
    let config = HpaConfig::default();
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 10, 50, None));
    let pods = cpu_pods(2, 500, 0.0);
    hpa.reconcile(&config, &ReconcileInput::new(0.0, 2, 2, &pods));
    let input = ReconcileInput {
        failures: ApiFailures {
            resource_metrics_api: true,
            ..ApiFailures::default()
        },
        ..ReconcileInput::new(15.0, 2, 2, &pods)
    };
    let failed = hpa.reconcile(&config, &input);
    assert_eq!(
        failed.conditions.len(),
        3,
        "ScalingLimited stays from the first reconcile"
    );
    let active = &failed.conditions[1];
    assert_eq!(active.kind, ConditionType::ScalingActive);
    assert!(!active.status);
    assert_eq!(active.reason, "FailedGetResourceMetric");
    assert!(
        active
            .message
            .contains("unable to fetch metrics from resource metrics API")
    );
    assert_eq!(active.last_transition_s, 15.0);
    assert!(failed.error.is_some());
    assert_eq!(failed.desired_replicas, 2);

    let able = &failed.conditions[0];
    assert_eq!(able.reason, "SucceededGetScale");
    assert_eq!(able.last_transition_s, 0.0, "AbleToScale stayed True");
}

#[test]
fn ambiguous_selector_stops_scaling() {
    let pods = cpu_pods(2, 900, 0.0);
    let input = ReconcileInput {
        failures: ApiFailures {
            selector: Some(SelectorProblem::Ambiguous(vec!["a".into(), "b".into()])),
            ..ApiFailures::default()
        },
        ..ReconcileInput::new(0.0, 2, 2, &pods)
    };
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 10, 50, None));
    let outcome = hpa.reconcile(&HpaConfig::default(), &input);
    assert_eq!(outcome.desired_replicas, 2);
    assert_eq!(
        reason_of(&outcome, ConditionType::ScalingActive),
        Some("AmbiguousSelector")
    );
}

#[test]
fn failed_update_keeps_replicas() {
    let pods = cpu_pods(2, 900, 0.0);
    let input = ReconcileInput {
        failures: ApiFailures {
            update_scale: true,
            ..ApiFailures::default()
        },
        ..ReconcileInput::new(0.0, 2, 2, &pods)
    };
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 10, 50, Some(Behavior::default())));
    let outcome = hpa.reconcile(&HpaConfig::default(), &input);
    assert_eq!(outcome.desired_replicas, 2);
    assert_eq!(outcome.attempted_replicas, Some(4));
    assert!(!outcome.rescale);
    assert!(
        hpa.scale_up_events.is_empty(),
        "no event without a successful write"
    );
    assert_eq!(hpa.last_scale_time_s, None);
}

#[test]
fn behavior_tolerance_overrides_config() {
    let behavior = Behavior {
        scale_up: Some(ScalingRules {
            tolerance: Some(0.5),
            ..ScalingRules::default()
        }),
        scale_down: None,
    };
    // 70% against 50%: ratio 1.4, within a 0.5 scale-up tolerance.
    let pods = cpu_pods(3, 700, 0.0);
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 10, 50, Some(behavior)));
    let outcome = hpa.reconcile(
        &HpaConfig::default(),
        &ReconcileInput::new(0.0, 3, 3, &pods),
    );
    assert_eq!(outcome.desired_replicas, 3);

    let mut plain = HorizontalPodAutoscaler::new(cpu_spec(1, 10, 50, Some(Behavior::default())));
    let outcome = plain.reconcile(
        &HpaConfig::default(),
        &ReconcileInput::new(0.0, 3, 3, &pods),
    );
    assert_eq!(outcome.desired_replicas, 5);
}

#[test]
fn memory_metric_uses_containers() {
    let spec = HpaSpec {
        min_replicas: Some(1),
        max_replicas: 10,
        metrics: vec![MetricSpec {
            source: MetricSource::Resource {
                resource: "memory".to_string(),
            },
            target: MetricTarget {
                target_type: MetricTargetType::Utilization,
                average_utilization: Some(50),
                ..MetricTarget::default()
            },
        }],
        behavior: None,
    };
    let memory = |value: i64| BTreeMap::from([("memory".to_string(), value)]);
    let pods: Vec<PodView> = (0..2)
        .map(|i| PodView {
            name: format!("pod-{i}"),
            ready: None,
            start_s: Some(0.0),
            containers: vec![ContainerView {
                name: "app".to_string(),
                kind: ContainerKind::Regular,
                requests_milli: memory(1_000_000),
            }],
            resource_metrics: Some(PodResourceMetrics {
                timestamp_s: 0.0,
                window_s: 60.0,
                containers: BTreeMap::from([("app".to_string(), memory(900_000))]),
            }),
            ..PodView::default()
        })
        .collect();
    let mut hpa = HorizontalPodAutoscaler::new(spec);
    let outcome = hpa.reconcile(
        &HpaConfig::default(),
        &ReconcileInput::new(0.0, 2, 2, &pods),
    );
    // 90% against 50% on 2 pods: ceil(1.8 × 2) = 4; readiness is not checked for memory.
    assert_eq!(outcome.desired_replicas, 4);
    assert_eq!(outcome.cpu_utilization_percent, None);
    assert_eq!(
        outcome.current_metrics[0]
            .as_ref()
            .and_then(|m| m.average_utilization),
        Some(90)
    );
}

#[test]
fn container_absent_from_metrics_fails() {
    let spec = HpaSpec {
        min_replicas: Some(1),
        max_replicas: 10,
        metrics: vec![MetricSpec {
            source: MetricSource::ContainerResource {
                resource: "cpu".to_string(),
                container: "proxy".to_string(),
            },
            target: MetricTarget {
                average_utilization: Some(50),
                ..MetricTarget::default()
            },
        }],
        behavior: None,
    };
    let pods = cpu_pods(2, 500, 0.0);
    let mut hpa = HorizontalPodAutoscaler::new(spec);
    let outcome = hpa.reconcile(
        &HpaConfig::default(),
        &ReconcileInput::new(0.0, 2, 2, &pods),
    );
    assert_eq!(
        reason_of(&outcome, ConditionType::ScalingActive),
        Some("FailedGetContainerResourceMetric")
    );
    let error = outcome.error.expect("reconcile error");
    assert!(
        error.contains("container proxy not present in metrics for pod pod-0"),
        "{error}"
    );
}

#[test]
fn zero_target_is_metric_failure() {
    let pods = cpu_pods(2, 500, 0.0);
    let input = ReconcileInput::new(0.0, 2, 2, &pods);
    let failure = compute_replicas_for_metric(
        &HpaConfig::default(),
        HpaConfig::default().tolerances(),
        &input,
        &MetricSpec::cpu_utilization(0),
    )
    .expect_err("a 0% target cannot give a ratio");
    assert_eq!(failure.reason, "FailedGetResourceMetric");
    assert!(
        failure.message.contains("must be > 0"),
        "{}",
        failure.message
    );
}

#[test]
fn external_values_sum_and_saturate() {
    let spec = HpaSpec {
        min_replicas: Some(1),
        max_replicas: 100,
        metrics: vec![MetricSpec {
            source: MetricSource::External {
                metric: "queue_depth".to_string(),
            },
            target: MetricTarget {
                target_type: MetricTargetType::Value,
                value_milli: Some(10_000),
                ..MetricTarget::default()
            },
        }],
        behavior: None,
    };
    let pods = cpu_pods(2, 500, 0.0);
    let input = ReconcileInput {
        external_metrics_milli: BTreeMap::from([("queue_depth".to_string(), vec![15_000, 15_000])]),
        ..ReconcileInput::new(0.0, 2, 2, &pods)
    };
    let proposal = compute_replicas_for_metric(
        &HpaConfig::default(),
        HpaConfig::default().tolerances(),
        &input,
        &spec.metrics[0],
    )
    .expect("external metric");
    // 30000 / 10000 = 3 × 2 ready pods.
    assert_eq!(proposal.replicas, 6);
    assert_eq!(proposal.status.value_milli, Some(30_000));

    let huge = ReconcileInput {
        external_metrics_milli: BTreeMap::from([("queue_depth".to_string(), vec![i64::MAX, 5])]),
        ..ReconcileInput::new(0.0, 2, 2, &pods)
    };
    let proposal = compute_replicas_for_metric(
        &HpaConfig::default(),
        HpaConfig::default().tolerances(),
        &huge,
        &spec.metrics[0],
    )
    .expect("saturated sum");
    assert_eq!(proposal.status.value_milli, Some(i64::MAX));
    assert_eq!(proposal.replicas, i32::MAX);
}

// ----- spec validation ---------------------------------------------------------------------

#[test]
fn spec_validation_rules() {
    assert!(cpu_spec(1, 10, 50, None).validate().is_ok());

    let error = cpu_spec(5, 3, 50, None).validate().expect_err("min > max");
    assert!(error.to_string().contains("min_replicas"), "{error}");

    let error = cpu_spec(0, 3, 50, None)
        .validate()
        .expect_err("zero min without Object");
    assert!(error.to_string().contains("Object or External"), "{error}");

    let error = cpu_spec(1, 0, 50, None).validate().expect_err("max 0");
    assert!(error.to_string().contains("max_replicas"), "{error}");

    let long_period = Behavior {
        scale_up: Some(ScalingRules {
            policies: Some(vec![ScalingPolicy {
                policy_type: ScalingPolicyType::Pods,
                value: 1,
                period_s: 1801,
            }]),
            ..ScalingRules::default()
        }),
        scale_down: None,
    };
    let error = cpu_spec(1, 10, 50, Some(long_period))
        .validate()
        .expect_err("period");
    assert!(
        error
            .to_string()
            .contains("behavior.scale_up.policies[0].period_s"),
        "{error}"
    );

    let empty_policies = Behavior {
        scale_up: None,
        scale_down: Some(ScalingRules {
            policies: Some(Vec::new()),
            ..ScalingRules::default()
        }),
    };
    let error = cpu_spec(1, 10, 50, Some(empty_policies))
        .validate()
        .expect_err("empty");
    assert!(error.to_string().contains("at least one policy"), "{error}");

    let window = Behavior {
        scale_up: None,
        scale_down: Some(ScalingRules {
            stabilization_window_s: Some(3601),
            ..ScalingRules::default()
        }),
    };
    assert!(cpu_spec(1, 10, 50, Some(window)).validate().is_err());
}

#[test]
fn scale_down_default_window_from_config() {
    let rules = ScalingRules::effective_scale_down(None, 120.0);
    assert_eq!(rules.stabilization_window_s, 120.0);
    assert_eq!(rules.select_policy, SelectPolicy::Max);
    let user = ScalingRules {
        stabilization_window_s: Some(0),
        ..ScalingRules::default()
    };
    assert_eq!(
        ScalingRules::effective_scale_down(Some(&user), 120.0).stabilization_window_s,
        0.0
    );
}

#[test]
fn invalid_metric_allows_scale_up() {
    let spec = HpaSpec {
        min_replicas: Some(1),
        max_replicas: 10,
        metrics: vec![
            MetricSpec::cpu_utilization(50),
            MetricSpec {
                source: MetricSource::Unknown {
                    type_name: "CheddarCheese".to_string(),
                },
                target: MetricTarget::default(),
            },
        ],
        behavior: None,
    };
    // 100% against 50% on 2 pods: 4 replicas from the valid metric.
    let pods = cpu_pods(2, 1000, 0.0);
    let mut hpa = HorizontalPodAutoscaler::new(spec);
    let outcome = hpa.reconcile(
        &HpaConfig::default(),
        &ReconcileInput::new(0.0, 2, 2, &pods),
    );
    assert_eq!(outcome.desired_replicas, 4);
    assert!(outcome.rescale);
    assert_eq!(
        reason_of(&outcome, ConditionType::ScalingActive),
        Some("ValidMetricFound")
    );
    let error = outcome.error.expect("the invalid metric is still reported");
    assert!(
        error.contains("invalid metrics (1 invalid out of 2)"),
        "{error}"
    );
    assert_eq!(outcome.current_metrics.len(), 2);
    assert!(outcome.current_metrics[1].is_none());
}

// ----- pods matched with samples by name ---------------------------------------------------

fn message_of(outcome: &ReconcileOutcome, kind: ConditionType) -> &str {
    outcome
        .conditions
        .iter()
        .find(|condition| condition.kind == kind)
        .map_or("", |condition| condition.message.as_str())
}

#[test]
fn extra_sample_replaces_listed_sample() {
    let pods = vec![
        ready_pod("pod-0", 500, 100, 0.0),
        ready_pod("pod-1", 500, 900, 0.0),
    ];
    let extras = vec![ExtraPodMetrics {
        name: "pod-0".to_string(),
        cpu: Some(MetricSample {
            value_milli: 1000,
            timestamp_s: 0.0,
            window_s: 60.0,
        }),
        ..ExtraPodMetrics::default()
    }];
    let mut input = ReconcileInput::new(0.0, 2, 2, &pods);
    input.extra_pod_metrics = &extras;
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 20, 50, None));
    let outcome = hpa.reconcile(&HpaConfig::default(), &input);
    // The extra sample of pod-0 replaces its listed one: 1900m of 1000m requested.
    assert_eq!(outcome.cpu_utilization_percent, Some(190));
    assert_eq!(outcome.metric_desired_replicas, Some(8));
}

#[test]
fn duplicate_pod_names_share_sample() {
    // Both pods are named "a": the later sample (900m) and request (500m) win, as in a map
    // keyed by pod name, and both pods count as ready.
    let pods = vec![ready_pod("a", 500, 100, 0.0), ready_pod("a", 500, 900, 0.0)];
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 20, 50, None));
    let outcome = hpa.reconcile(
        &HpaConfig::default(),
        &ReconcileInput::new(0.0, 2, 2, &pods),
    );
    assert_eq!(outcome.cpu_utilization_percent, Some(180));
    assert_eq!(outcome.metric_desired_replicas, Some(8));

    let failed = PodView {
        phase: PodPhase::Failed,
        ..ready_pod("a", 500, 100, 0.0)
    };
    let samples: BTreeMap<String, MetricSample> = [(
        "a".to_string(),
        MetricSample {
            value_milli: 100,
            timestamp_s: 0.0,
            window_s: 60.0,
        },
    )]
    .into_iter()
    .collect();
    let groups = group_pods(
        &[ready_pod("a", 500, 100, 0.0), failed],
        &samples,
        "cpu",
        &HpaConfig::default(),
        0.0,
    );
    assert_eq!(groups.ready_count, 1);
    assert_eq!(groups.ignored, ["a".to_string()].into_iter().collect());
    assert!(groups.unready.is_empty());
    assert!(groups.missing.is_empty());
}

#[test]
fn pod_order_does_not_change_outcome() {
    let now_s = 1000.0;
    let mut pods = cpu_pods(6, 900, now_s);
    pods[1].cpu = None;
    pods[3].phase = PodPhase::Pending;
    pods[4].deleting = true;
    let run = |pods: &[PodView]| {
        let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 20, 50, None));
        hpa.reconcile(
            &HpaConfig::default(),
            &ReconcileInput::new(now_s, 6, 6, pods),
        )
    };
    let in_name_order = run(&pods);
    assert!(in_name_order.metric_desired_replicas.is_some());
    pods.reverse();
    assert_eq!(run(&pods), in_name_order);
}

#[test]
fn condition_messages_follow_changes() {
    let config = HpaConfig::default();
    let mut hpa = HorizontalPodAutoscaler::new(cpu_spec(1, 20, 50, None));
    let active = "the HPA was able to successfully calculate a replica count from cpu resource \
                  utilization (percentage of request)";

    let pods = cpu_pods(2, 1000, 0.0);
    let outcome = hpa.reconcile(&config, &ReconcileInput::new(0.0, 2, 2, &pods));
    assert_eq!(outcome.desired_replicas, 4);
    assert_eq!(
        message_of(&outcome, ConditionType::AbleToScale),
        "the HPA controller was able to update the target scale to 4"
    );
    assert_eq!(message_of(&outcome, ConditionType::ScalingActive), active);
    assert_eq!(
        outcome.rescale_reason,
        "cpu resource utilization (percentage of request) above target"
    );

    let pods = cpu_pods(4, 1000, 15.0);
    let outcome = hpa.reconcile(&config, &ReconcileInput::new(15.0, 4, 4, &pods));
    assert_eq!(outcome.desired_replicas, 8);
    assert_eq!(
        message_of(&outcome, ConditionType::AbleToScale),
        "the HPA controller was able to update the target scale to 8"
    );
    assert_eq!(message_of(&outcome, ConditionType::ScalingActive), active);

    let pods = cpu_pods(8, 500, 30.0);
    let outcome = hpa.reconcile(&config, &ReconcileInput::new(30.0, 8, 8, &pods));
    assert!(!outcome.rescale);
    assert_eq!(
        reason_of(&outcome, ConditionType::AbleToScale),
        Some("ReadyForNewScale")
    );
    assert_eq!(
        message_of(&outcome, ConditionType::AbleToScale),
        "recommended size matches current size"
    );
    assert_eq!(outcome.rescale_reason, "");
    assert_eq!(outcome.conditions, hpa.conditions);
}
