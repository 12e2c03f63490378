//! Agents A, B and C on hand-built snapshots: when each proposes, and what.

mod common;

use arbiter_core::action::{Action, AgentId, PriorityClass};
use arbiter_core::agents::{
    Agent, Efficiency, PolicyConfig, Reliability, SloGuard, WorkloadContext,
};
use arbiter_core::features::{Feature, FeatureVector};
use arbiter_core::predict::{Prediction, PredictionBasis};
use arbiter_core::snapshot::ClusterSnapshot;

use common::{WorkloadSpec, snapshot};

fn prediction(mean: f64, upper: f64, peak: Option<f64>, risk: f64) -> Prediction {
    Prediction {
        cpu_mean_cores: mean,
        cpu_upper_cores: upper,
        memory_mean_gib: 1.0,
        risk,
        basis: PredictionBasis::Statistical,
        cpu_peak_cores: peak,
    }
}

fn propose(
    agent: &dyn Agent,
    snapshot: &ClusterSnapshot,
    features: &FeatureVector,
    prediction: &Prediction,
) -> Vec<arbiter_core::action::Proposal> {
    propose_with(
        agent,
        snapshot,
        features,
        prediction,
        &PolicyConfig::default(),
    )
}

fn propose_with(
    agent: &dyn Agent,
    snapshot: &ClusterSnapshot,
    features: &FeatureVector,
    prediction: &Prediction,
    policy: &PolicyConfig,
) -> Vec<arbiter_core::action::Proposal> {
    let context = WorkloadContext {
        snapshot,
        workload: &snapshot.workloads[0],
        features,
        prediction,
        policy,
    };
    agent.propose(&context)
}

/// Features with the summed working set now and its hourly mean, in GiB.
fn memory_features(now_gib: f64, mean_1h_gib: f64) -> FeatureVector {
    let mut features = FeatureVector::default();
    features.values[Feature::MemoryNow as usize] = Some(now_gib);
    features.values[Feature::MemoryMean1h as usize] = Some(mean_1h_gib);
    features
}

/// Checks that `proposals` is one scale to `to` whose reason mentions `phrase`.
fn assert_one_scale(proposals: &[arbiter_core::action::Proposal], to: i32, phrase: &str) {
    assert_eq!(proposals.len(), 1, "{proposals:?}");
    let reason = &proposals[0].reason;
    assert_eq!(scale_to(&proposals[0].action), to, "{reason}");
    assert!(reason.contains(phrase), "{reason}");
}

fn scale_to(action: &Action) -> i32 {
    match action {
        Action::Scale { to, .. } => *to,
        other => panic!("expected a scale action, got {other:?}"),
    }
}

#[test]
fn slo_guard_sizes_by_forecast() {
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 10, 3.0)]);
    // 7 cores at 0.35 cores per replica need 20 replicas; 25% headroom makes 8.75 cores, 25.
    let prediction = prediction(5.0, 7.0, None, 0.1);
    let proposals = propose(&SloGuard, &cluster, &FeatureVector::default(), &prediction);
    assert_eq!(proposals.len(), 1);
    assert_eq!(proposals[0].agent, AgentId::SloGuard);
    assert_eq!(proposals[0].priority, PriorityClass::Slo);
    assert_eq!(scale_to(&proposals[0].action), 25);
    assert_eq!(proposals[0].effect.replicas, 25);
    assert!(
        proposals[0].reason.contains("upper forecast"),
        "{}",
        proposals[0].reason
    );
}

#[test]
fn slo_guard_covers_long_horizon_peak() {
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 10, 3.0)]);
    let prediction = prediction(5.0, 7.0, Some(10.5), 0.1);
    let proposals = propose(&SloGuard, &cluster, &FeatureVector::default(), &prediction);
    assert_eq!(
        scale_to(&proposals[0].action),
        30,
        "10.5 cores at 0.35 per replica"
    );
}

#[test]
fn slo_guard_silent_with_enough_capacity() {
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 10, 2.0)]);
    let prediction = prediction(2.0, 3.0, Some(3.0), 0.01);
    assert!(propose(&SloGuard, &cluster, &FeatureVector::default(), &prediction).is_empty());
}

#[test]
fn slo_guard_grows_when_throttled() {
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 10, 9.5)]);
    let mut features = FeatureVector::default();
    features.values[Feature::CpuOverLimit as usize] = Some(0.95);
    let prediction = prediction(2.0, 2.0, None, 0.0);
    let proposals = propose(&SloGuard, &cluster, &features, &prediction);
    assert_eq!(scale_to(&proposals[0].action), 15, "1.5 times 10 replicas");
}

#[test]
fn efficiency_waits_for_peak() {
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 30, 2.0)]);
    let prediction = prediction(2.0, 2.0, None, 0.0);
    assert!(
        propose(
            &Efficiency,
            &cluster,
            &FeatureVector::default(),
            &prediction
        )
        .is_empty()
    );
}

#[test]
fn efficiency_never_uses_reactive_forecast() {
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 30, 2.0)]);
    let mut prediction = prediction(2.0, 2.0, Some(2.0), 0.0);
    prediction.basis = PredictionBasis::Reactive {
        reason: "short history".to_owned(),
    };
    assert!(
        propose(
            &Efficiency,
            &cluster,
            &FeatureVector::default(),
            &prediction
        )
        .is_empty()
    );
}

#[test]
fn efficiency_consolidates_to_peak_with_margin() {
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 30, 2.0)]);
    // max(2.0, 2.8) * 1.25 = 3.5 cores at 0.35 per replica: 10 replicas.
    let prediction = prediction(2.0, 2.0, Some(2.8), 0.0);
    let proposals = propose(
        &Efficiency,
        &cluster,
        &FeatureVector::default(),
        &prediction,
    );
    assert_eq!(proposals.len(), 1);
    assert_eq!(proposals[0].priority, PriorityClass::Efficiency);
    let to = scale_to(&proposals[0].action);
    assert!((8..=10).contains(&to), "{to}");
    assert!(proposals[0].effect.watts < 0.0);
    assert!(proposals[0].score > 0.0);
}

#[test]
fn efficiency_skips_small_savings() {
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 11, 2.0)]);
    // 10 replicas needed, 11 specified: one replica is less than 20% of 11.
    let prediction = prediction(2.0, 2.0, Some(2.8), 0.0);
    assert!(
        propose(
            &Efficiency,
            &cluster,
            &FeatureVector::default(),
            &prediction
        )
        .is_empty()
    );
}

#[test]
fn efficiency_prefers_freeing_node() {
    // 12 pods round-robin over 5 nodes: 3, 3, 2, 2 and 2. Planned 2.4 cores: the floor is 7
    // replicas and the target with margin 9. Emptying the two nodes with 2 pods each gives 8,
    // inside that range, so B proposes 8 instead of 9.
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 12, 2.0)]);
    let prediction = prediction(2.0, 2.0, Some(2.4), 0.0);
    let proposals = propose(
        &Efficiency,
        &cluster,
        &FeatureVector::default(),
        &prediction,
    );
    assert_eq!(proposals.len(), 1);
    assert_eq!(scale_to(&proposals[0].action), 8);
    assert!(
        proposals[0].reason.contains("node-002, node-003"),
        "{}",
        proposals[0].reason
    );
    assert!(
        proposals[0].effect.watts <= -160.0,
        "two nodes' idle power counted"
    );
}

#[test]
fn efficiency_keeps_plan_when_no_node_fits() {
    // 20 pods, 5 per node on 4 nodes. Planned 3.6 cores: floor 11, target 13. Emptying one
    // node gives 15, above the target, and two give 10, below the floor.
    let cluster = snapshot(0.0, 4, &[WorkloadSpec::new("web", 20, 2.0)]);
    let prediction = prediction(2.0, 2.0, Some(3.6), 0.0);
    let proposals = propose(
        &Efficiency,
        &cluster,
        &FeatureVector::default(),
        &prediction,
    );
    assert_eq!(scale_to(&proposals[0].action), 13);
    assert!(
        !proposals[0].reason.contains("can empty"),
        "{}",
        proposals[0].reason
    );
}

#[test]
fn reliability_holds_while_pods_start() {
    let mut web = WorkloadSpec::new("web", 10, 2.0);
    web.ready = 7;
    let cluster = snapshot(0.0, 5, &[web]);
    let prediction = prediction(2.0, 2.0, None, 0.0);
    let proposals = propose(
        &Reliability,
        &cluster,
        &FeatureVector::default(),
        &prediction,
    );
    assert_eq!(proposals.len(), 1);
    assert!(matches!(proposals[0].action, Action::Hold { .. }));
    assert_eq!(proposals[0].priority, PriorityClass::Risk);
}

#[test]
fn reliability_no_hold_when_demand_outgrows_spec() {
    let mut web = WorkloadSpec::new("web", 10, 2.0);
    web.ready = 7;
    let cluster = snapshot(0.0, 5, &[web]);
    let prediction = prediction(6.0, 6.0, None, 0.9);
    assert!(
        propose(
            &Reliability,
            &cluster,
            &FeatureVector::default(),
            &prediction
        )
        .is_empty()
    );
}

#[test]
fn reliability_restarts_growing_memory() {
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 10, 2.0)]);
    let prediction = prediction(2.0, 2.0, None, 0.0);
    let mut features = FeatureVector::default();
    features.values[Feature::MemoryOverLimit as usize] = Some(0.93);
    features.values[Feature::MemoryTrend1h as usize] = Some(0.5);
    let proposals = propose(&Reliability, &cluster, &features, &prediction);
    assert_eq!(proposals.len(), 1);
    assert!(matches!(proposals[0].action, Action::RolloutRestart { .. }));

    features.values[Feature::MemoryTrend1h as usize] = Some(0.0);
    assert!(
        propose(&Reliability, &cluster, &features, &prediction).is_empty(),
        "a flat working set near the limit is not a leak"
    );
}

#[test]
fn reliability_caps_load_when_cluster_saturated() {
    let mut web = WorkloadSpec::new("web", 20, 8.0);
    web.unbound = 3;
    let mut cluster = snapshot(0.0, 2, &[web]);
    for node in &mut cluster.nodes {
        node.cpu_requested_milli = node.cpu_allocatable_milli - 100;
    }
    let prediction = prediction(8.0, 8.0, None, 0.5);
    let proposals = propose(
        &Reliability,
        &cluster,
        &FeatureVector::default(),
        &prediction,
    );
    let cap = proposals
        .iter()
        .find_map(|proposal| match proposal.action {
            Action::CapLoad { cap_cores, .. } => Some(cap_cores),
            _ => None,
        })
        .expect("a load cap");
    assert_eq!(cap, Some(14.0), "20 Ready pods times 1 core times 0.7");

    cluster.load_generators[0].cap_cores = Some(14.0);
    let again = propose(
        &Reliability,
        &cluster,
        &FeatureVector::default(),
        &prediction,
    );
    assert!(
        again
            .iter()
            .all(|proposal| !matches!(proposal.action, Action::CapLoad { .. })),
        "an existing cap is kept while the cluster stays saturated"
    );
}

#[test]
fn reliability_lifts_cap_when_pods_fit() {
    let mut cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 10, 2.0)]);
    cluster.load_generators[0].cap_cores = Some(5.0);
    let prediction = prediction(2.0, 2.0, None, 0.0);
    let proposals = propose(
        &Reliability,
        &cluster,
        &FeatureVector::default(),
        &prediction,
    );
    assert_eq!(proposals.len(), 1);
    assert_eq!(
        proposals[0].action,
        Action::CapLoad {
            workload: "arbiter-exercise/web".to_owned(),
            cap_cores: None
        }
    );
}

// Two nodes of 8 cores with 0.5 core of background each leave 15 cores: the CPU limits of
// 15 one-core replicas.

#[test]
fn slo_guard_stops_at_node_ceiling() {
    let cluster = snapshot(0.0, 2, &[WorkloadSpec::new("web", 10, 3.0)]);
    let prediction = prediction(5.0, 7.0, None, 0.1);
    let proposals = propose(&SloGuard, &cluster, &FeatureVector::default(), &prediction);
    assert_one_scale(&proposals, 15, "capped at 15");

    let without = PolicyConfig {
        node_capacity_ceiling: false,
        ..PolicyConfig::default()
    };
    let proposals = propose_with(
        &SloGuard,
        &cluster,
        &FeatureVector::default(),
        &prediction,
        &without,
    );
    assert_eq!(
        scale_to(&proposals[0].action),
        25,
        "sized by the forecast alone"
    );
}

#[test]
fn slo_guard_proposes_nothing_at_node_ceiling() {
    let cluster = snapshot(0.0, 2, &[WorkloadSpec::new("web", 15, 10.0)]);
    let prediction = prediction(10.0, 12.0, None, 0.1);
    let proposals = propose(&SloGuard, &cluster, &FeatureVector::default(), &prediction);
    assert!(proposals.is_empty(), "{proposals:?}");
}

#[test]
fn efficiency_removes_replicas_above_node_ceiling() {
    let cluster = snapshot(0.0, 2, &[WorkloadSpec::new("web", 30, 10.0)]);
    let prediction = prediction(10.0, 10.0, Some(10.0), 0.1);
    let proposals = propose(
        &Efficiency,
        &cluster,
        &FeatureVector::default(),
        &prediction,
    );
    assert_one_scale(&proposals, 15, "add no capacity");
}

#[test]
fn slo_guard_spreads_memory_surge_beyond_node_ceiling() {
    let cluster = snapshot(0.0, 2, &[WorkloadSpec::new("web", 10, 1.0)]);
    let prediction = prediction(1.0, 1.0, None, 0.0);
    // 9.1 GiB at 0.7 GiB per replica needs 13; with 25% headroom 11.375 GiB needs 17, beyond
    // the CPU ceiling of 15.
    let proposals = propose(&SloGuard, &cluster, &memory_features(9.1, 3.0), &prediction);
    assert_one_scale(&proposals, 17, "working set surged");
}

#[test]
fn slo_guard_leaves_slow_memory_climb_to_reliability() {
    let cluster = snapshot(0.0, 2, &[WorkloadSpec::new("web", 10, 1.0)]);
    let prediction = prediction(1.0, 1.0, None, 0.0);
    let proposals = propose(&SloGuard, &cluster, &memory_features(9.1, 8.0), &prediction);
    assert!(proposals.is_empty(), "{proposals:?}");
}

#[test]
fn efficiency_keeps_room_for_days_working_set() {
    let cluster = snapshot(0.0, 5, &[WorkloadSpec::new("web", 40, 1.0)]);
    let prediction = prediction(1.0, 1.0, Some(1.0), 0.0);
    let mut features = memory_features(8.0, 8.0);
    features.values[Feature::MemoryMax24h as usize] = Some(14.0);
    let proposals = propose(&Efficiency, &cluster, &features, &prediction);
    // 14 GiB at 0.7 GiB per replica needs 20 replicas, and 25 with the 25% margin. Emptying
    // two nodes of 8 pods each lands on 24, between the two.
    assert_one_scale(&proposals, 24, "highest working set");
}
