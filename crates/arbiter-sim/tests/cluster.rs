//! The simulated cluster through its public API: scheduling, the node provisioner, node
//! failures and drains, rolling updates, pod lifecycle, energy and configuration checks.

use arbiter_sim::SimError;
use arbiter_sim::baseline::pod_views;
use arbiter_sim::cluster::{Cluster, ClusterTick, PodViewCache};
use arbiter_sim::config::{
    ClusterConfig, DelayDistribution, GIB, NodePoolConfig, ProvisionerConfig, RolloutConfig,
    ScoringStrategy, StartupConfig, WorkloadConfig,
};
use arbiter_sim::load::Demand;

const TICK_S: f64 = 15.0;
const KEY: &str = "arbiter-exercise/web";

fn cluster(config: ClusterConfig) -> Cluster {
    Cluster::new("test", config, 3, &["web".to_owned()]).expect("valid config")
}

fn steps(cluster: &mut Cluster, ticks: usize, cores: f64) -> Vec<ClusterTick> {
    (0..ticks)
        .map(|_| {
            cluster.step(
                TICK_S,
                &[Demand {
                    cpu_cores: cores,
                    memory_gib: 0.5,
                }],
            )
        })
        .collect()
}

/// Pods per node name, from a snapshot.
fn placement(cluster: &Cluster) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for pod in &cluster.snapshot().workloads[0].pods {
        if let Some(node) = &pod.node {
            *counts.entry(node.clone()).or_insert(0) += 1;
        }
    }
    counts
}

fn with_replicas(replicas: i32) -> ClusterConfig {
    ClusterConfig {
        workload: WorkloadConfig {
            initial_replicas: replicas,
            ..WorkloadConfig::default()
        },
        ..ClusterConfig::default()
    }
}

#[test]
fn least_allocated_spreads_pods() {
    let mut sim = cluster(with_replicas(10));
    steps(&mut sim, 1, 1.0);
    let counts = placement(&sim);
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(counts.values().all(|pods| *pods == 2), "{counts:?}");
}

#[test]
fn most_allocated_packs_pods() {
    let mut config = with_replicas(10);
    config.scheduler.scoring = ScoringStrategy::MostAllocated;
    let mut sim = cluster(config);
    steps(&mut sim, 1, 1.0);
    let counts = placement(&sim);
    // 7500m of room for 500m pods: 15 fit on the first node.
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(counts.get("node-000"), Some(&10));
}

#[test]
fn provisioner_launches_and_consolidates() {
    let mut config = with_replicas(4);
    config.nodes = NodePoolConfig {
        count: 1,
        cpu_milli: 2500,
        memory_bytes: 8 * GIB,
        ..NodePoolConfig::default()
    };
    config.provisioner = Some(ProvisionerConfig {
        launch_delay_s: 60.0,
        consolidate_after_s: 300.0,
        ..ProvisionerConfig::default()
    });
    let mut sim = cluster(config);
    // The static node takes 4 pods (2000m of room); 8 more need new nodes.
    steps(&mut sim, 1, 1.0);
    sim.scale(KEY, 12).expect("known workload");
    let first = steps(&mut sim, 1, 1.0);
    assert!(first[0].nodes > 1, "a node is launched at once");
    assert_eq!(
        first[0].workloads[0].pending_pods, 8,
        "launched nodes are not Ready yet"
    );
    let later = steps(&mut sim, 5, 1.0);
    assert_eq!(later.last().expect("ticks").workloads[0].pending_pods, 0);
    let launched = sim.node_names();
    assert!(
        launched.iter().any(|name| name.starts_with("c8-")),
        "the cheapest type that fits 8 pods: {launched:?}"
    );

    // Back to 4 pods: the provisioned node empties and goes after consolidate_after_s.
    sim.scale(KEY, 4).expect("known workload");
    let ticks = steps(&mut sim, 10, 1.0);
    assert!(
        ticks.last().expect("ticks").nodes > 1,
        "kept before consolidate_after_s"
    );
    let ticks = steps(&mut sim, 20, 1.0);
    assert_eq!(
        ticks.last().expect("ticks").nodes,
        1,
        "{:?}",
        sim.node_names()
    );
    assert_eq!(sim.pod_count(), 4);
}

#[test]
fn consolidation_respects_budget() {
    let mut config = with_replicas(1);
    config.nodes = NodePoolConfig {
        count: 1,
        cpu_milli: 1000,
        memory_bytes: 4 * GIB,
        ..NodePoolConfig::default()
    };
    config.provisioner = Some(ProvisionerConfig {
        launch_delay_s: 0.0,
        consolidate_after_s: 60.0,
        disruption_budget: 0.1,
        underutilized_below: 0.0,
        ..ProvisionerConfig::default()
    });
    config.scheduler.scoring = ScoringStrategy::LeastAllocated;
    let mut sim = cluster(config);
    steps(&mut sim, 1, 0.1);
    // 20 pods need 3 c8 nodes (14 slots each with 500m background); then all go empty.
    sim.scale(KEY, 30).expect("known workload");
    let grown = steps(&mut sim, 4, 0.1);
    let peak = grown.last().expect("ticks").nodes;
    assert!(peak >= 3, "{:?}", sim.node_names());
    sim.scale(KEY, 1).expect("known workload");
    let shrinking = steps(&mut sim, 12, 0.1);
    // Budget 10% of the provisioned nodes, rounded up: one node at a time.
    for pair in shrinking.windows(2) {
        assert!(
            pair[0].nodes - pair[1].nodes <= 1,
            "{} to {} nodes in one tick",
            pair[0].nodes,
            pair[1].nodes
        );
    }
    assert!(shrinking.last().expect("ticks").nodes < peak);
}

#[test]
fn failed_node_pods_evicted_after_timeout() {
    let mut config = with_replicas(10);
    config.failures.pod_eviction_timeout_s = 60.0;
    let mut sim = cluster(config);
    steps(&mut sim, 8, 2.0);
    let ready_before = steps(&mut sim, 1, 2.0)[0].workloads[0].ready_pods;
    assert_eq!(ready_before, 10);
    sim.fail_node("node-000").expect("node exists");
    let after = steps(&mut sim, 1, 2.0);
    assert_eq!(
        after[0].workloads[0].ready_pods, 8,
        "pods on the failed node stop serving"
    );
    let snapshot = sim.snapshot();
    let node = snapshot
        .nodes
        .iter()
        .find(|node| node.name == "node-000")
        .expect("node listed");
    assert!(!node.ready);
    let ticks = steps(&mut sim, 4, 2.0);
    let evicted: usize = ticks.iter().map(|tick| tick.evicted_pods).sum();
    assert_eq!(evicted, 2);
    assert_eq!(placement(&sim).get("node-000"), None);
    assert_eq!(sim.pod_count(), 10, "the ReplicaSet replaced them");
    assert!(matches!(
        sim.fail_node("node-999"),
        Err(SimError::UnknownNode { .. })
    ));
}

#[test]
fn drain_evicts_and_cordons() {
    let mut sim = cluster(with_replicas(10));
    steps(&mut sim, 4, 1.0);
    let evicted = sim.drain_node("node-001").expect("node exists");
    assert_eq!(evicted, 2);
    steps(&mut sim, 2, 1.0);
    assert_eq!(
        placement(&sim).get("node-001"),
        None,
        "cordoned: no new pods"
    );
    assert_eq!(sim.pod_count(), 10);
    sim.uncordon_node("node-001").expect("node exists");
    sim.scale(KEY, 12).expect("known workload");
    steps(&mut sim, 1, 1.0);
    assert_eq!(
        placement(&sim).get("node-001"),
        Some(&2),
        "emptiest node again"
    );
}

#[test]
fn rollout_respects_surge_and_unavailable() {
    let mut config = with_replicas(8);
    config.rollout = RolloutConfig {
        max_surge: 0.25,
        max_unavailable: 0.25,
    };
    let mut sim = cluster(config);
    steps(&mut sim, 8, 1.0);
    sim.rollout(KEY).expect("known workload");
    assert!(sim.rollout_in_progress(KEY).expect("known workload"));
    let mut ticks = 0;
    while sim.rollout_in_progress(KEY).expect("known workload") {
        let tick = steps(&mut sim, 1, 1.0);
        let pods = sim.pod_count();
        assert!(pods <= 10, "at most 8 + 25% surge pods: {pods}");
        assert!(
            tick[0].workloads[0].ready_pods >= 6,
            "at least 8 - 25% Ready: {}",
            tick[0].workloads[0].ready_pods
        );
        ticks += 1;
        assert!(ticks < 100, "the rollout finishes");
    }
    let names: Vec<String> = sim.snapshot().workloads[0]
        .pods
        .iter()
        .map(|pod| pod.name.clone())
        .collect();
    assert_eq!(names.len(), 8);
    assert!(
        names.iter().all(|name| name.as_str() >= "web-00008"),
        "{names:?}"
    );
}

#[test]
fn oom_backoff_grows() {
    let mut config = with_replicas(2);
    config.startup.backoff_reset_s = 600.0;
    let mut sim = cluster(config);
    steps(&mut sim, 6, 0.5);
    // 4 GiB of in-flight memory over 2 pods: above the 1 GiB limit.
    let mut kills = Vec::new();
    for tick in 0..60 {
        let result = sim.step(
            TICK_S,
            &[Demand {
                cpu_cores: 0.5,
                memory_gib: 4.0,
            }],
        );
        if result.workloads[0].oom_kills > 0 {
            kills.push(tick);
        }
    }
    assert!(kills.len() >= 3, "{kills:?}");
    let gaps: Vec<i32> = kills.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(
        gaps.windows(2).any(|pair| pair[1] > pair[0]),
        "the back-off grows: {gaps:?}"
    );
    let restarts = sim.snapshot().workloads[0].restarts();
    assert!(restarts >= 3);
}

#[test]
fn readiness_probe_period_delays_ready() {
    let mut config = with_replicas(1);
    config.startup = StartupConfig {
        min_start_s: 10.0,
        max_start_s: 10.0,
        readiness_delay_s: 12.0,
        readiness_period_s: 10.0,
        ..StartupConfig::default()
    };
    let mut sim = cluster(config);
    // Bound at 15 s, container at 25 s, warm at 37 s, first passing probe at 45 s.
    let ready: Vec<usize> = steps(&mut sim, 4, 0.1)
        .iter()
        .map(|tick| tick.workloads[0].ready_pods)
        .collect();
    assert_eq!(ready, vec![0, 0, 1, 1]);
    let pod = &sim.snapshot().workloads[0].pods[0];
    assert_eq!(pod.ready_transition_s, Some(45.0));
}

#[test]
fn startup_burst_shows_in_usage() {
    let mut config = with_replicas(1);
    config.workload.cpu_limit_milli = 2000;
    config.startup = StartupConfig {
        min_start_s: 0.0,
        max_start_s: 0.0,
        readiness_delay_s: 60.0,
        burst_cpu_milli: 2000,
        burst_s: 60.0,
        ..StartupConfig::default()
    };
    let mut sim = cluster(config);
    let ticks = steps(&mut sim, 12, 0.0);
    let early = ticks[1].controlled_dynamic_w;
    let late = ticks[11].controlled_dynamic_w;
    assert!(
        early > 10.0 * late.max(0.1),
        "burst {early} W against {late} W"
    );
    let sample = sim.snapshot().workloads[0].pods[0]
        .usage
        .expect("sample published");
    assert!(
        sample.cpu_milli < 100,
        "after the burst: {}",
        sample.cpu_milli
    );
}

#[test]
fn withheld_metrics_leave_no_sample() {
    let mut sim = cluster(with_replicas(4));
    steps(&mut sim, 8, 1.0);
    sim.withhold_metrics(KEY, 2).expect("known workload");
    steps(&mut sim, 4, 1.0);
    let snapshot = sim.snapshot();
    let samples: Vec<bool> = snapshot.workloads[0]
        .pods
        .iter()
        .map(|pod| pod.usage.is_some())
        .collect();
    assert_eq!(samples, vec![false, false, true, true]);
    assert_eq!(snapshot.missing.len(), 2);
}

#[test]
fn pod_view_cache_matches_snapshot() {
    let mut sim = cluster(with_replicas(6));
    let mut cache = PodViewCache::default();
    for tick in 0..40 {
        if tick == 10 {
            sim.scale(KEY, 9).expect("known workload");
        }
        if tick == 25 {
            sim.scale(KEY, 3).expect("known workload");
        }
        steps(&mut sim, 1, 2.0);
        sim.update_pod_views(0, false, &mut cache);
        let expected = pod_views(&sim.snapshot().workloads[0]);
        assert_eq!(cache.views, expected, "tick {tick}");
    }
}

#[test]
fn thread_count_does_not_change_results() {
    let names: Vec<String> = (0..9).map(|index| format!("svc-{index}")).collect();
    let run = |threads: usize| {
        let mut sim = Cluster::new("t", ClusterConfig::default(), 11, &names).expect("valid");
        sim.set_threads(threads);
        let mut ticks = Vec::new();
        for tick in 0..80 {
            if tick == 20 {
                sim.scale("svc-3", 9).expect("known workload");
            }
            let demands: Vec<Demand> = (0..names.len())
                .map(|index| Demand {
                    cpu_cores: 0.5 + index as f64 * 0.3,
                    memory_gib: 0.2,
                })
                .collect();
            ticks.push(sim.step(TICK_S, &demands));
        }
        (ticks, format!("{:?}", sim.snapshot()))
    };
    let (one, one_snapshot) = run(1);
    let (four, four_snapshot) = run(4);
    assert_eq!(one, four);
    assert_eq!(one_snapshot, four_snapshot);
}

#[test]
fn energy_sweep_keeps_peak() {
    let mut config = with_replicas(4);
    config.energy_idle_fractions = vec![0.27, 0.73];
    let mut sim = cluster(config);
    let ticks = steps(&mut sim, 8, 1.5);
    let tick = ticks.last().expect("ticks");
    assert_eq!(tick.energy_sweep.len(), 2);
    let low = tick.energy_sweep[0];
    let high = tick.energy_sweep[1];
    assert!(high.idle_w > low.idle_w);
    assert!(high.controlled_dynamic_w < low.controlled_dynamic_w);
    // 5 nodes with a peak of 80 + 120 + 60 = 260 W each.
    assert!(
        (low.idle_w - 5.0 * 0.27 * 260.0).abs() < 1e-6,
        "{}",
        low.idle_w
    );
    assert!(tick.controlled_dynamic_w > 0.0);
    assert!(tick.background_dynamic_w > 0.0);
}

#[test]
fn invalid_configs_are_rejected() {
    let cases: Vec<(&str, ClusterConfig)> = vec![
        ("nodes.count", {
            let mut config = ClusterConfig::default();
            config.nodes.count = 0;
            config
        }),
        ("rollout.max_surge", {
            let mut config = ClusterConfig::default();
            config.rollout.max_surge = 1.5;
            config
        }),
        ("startup.delay_distribution", {
            let mut config = ClusterConfig::default();
            config.startup.delay_distribution = DelayDistribution::LogNormal {
                median_s: -1.0,
                sigma: 0.5,
            };
            config
        }),
        (
            "provisioner.instance_types",
            ClusterConfig {
                provisioner: Some(ProvisionerConfig {
                    instance_types: Vec::new(),
                    ..ProvisionerConfig::default()
                }),
                ..ClusterConfig::default()
            },
        ),
        (
            "energy_idle_fractions",
            ClusterConfig {
                energy_idle_fractions: vec![1.2],
                ..ClusterConfig::default()
            },
        ),
        ("power", {
            let mut config = ClusterConfig::default();
            config.power.idle_w = f64::NAN;
            config
        }),
    ];
    for (field, config) in cases {
        match Cluster::new("bad", config, 1, &["web".to_owned()]) {
            Err(SimError::InvalidConfig { field: found, .. }) => assert_eq!(found, field),
            other => panic!("{field}: expected InvalidConfig, got {other:?}"),
        }
    }
    let mut config = ClusterConfig::default();
    config.nodes.count = 0;
    config.provisioner = Some(ProvisionerConfig::default());
    assert!(
        Cluster::new("provisioned", config, 1, &["web".to_owned()]).is_ok(),
        "a provisioner may start from no nodes"
    );
}

/// Returns a configuration with `static_nodes` static nodes and the default provisioner with
/// the given launch and consolidation delays.
fn provisioned(
    static_nodes: usize,
    replicas: i32,
    launch_delay_s: f64,
    consolidate_after_s: f64,
) -> ClusterConfig {
    let mut config = with_replicas(replicas);
    config.nodes.count = static_nodes;
    config.provisioner = Some(ProvisionerConfig {
        launch_delay_s,
        consolidate_after_s,
        ..ProvisionerConfig::default()
    });
    config
}

#[test]
fn provisioner_launches_no_extra_nodes() {
    // Ten 1500m pods: an 8-core node has 7500m of room beside the background, five pods.
    let mut config = provisioned(0, 10, 60.0, 300.0);
    config.workload.cpu_request_milli = 1500;
    config.workload.cpu_limit_milli = 1500;
    let mut sim = cluster(config);
    let first = steps(&mut sim, 1, 1.0);
    assert_eq!(first[0].nodes, 2, "{:?}", sim.node_names());
    assert_eq!(sim.node_names(), ["c8-00000", "c8-00001"]);

    let later = steps(&mut sim, 8, 1.0);
    assert!(
        later.iter().all(|tick| tick.nodes == 2),
        "no launch while the pods wait for the two nodes: {:?}",
        sim.node_names()
    );
    assert_eq!(later.last().expect("ticks").workloads[0].pending_pods, 0);
    let counts = placement(&sim);
    assert_eq!(counts.get("c8-00000"), Some(&5), "{counts:?}");
    assert_eq!(counts.get("c8-00001"), Some(&5), "{counts:?}");
}

/// Runs a provisioned node of two pods next to two static nodes with memory for two pods
/// each. node-001 stays cordoned unless `uncordon`. Returns the node names at the end and the
/// pods evicted after the launch.
fn consolidate_beside_full_memory(uncordon: bool) -> (Vec<String>, usize) {
    // 8 cores but 1 GiB beside the background: two 512 MiB pods per static node.
    let mut config = provisioned(2, 2, 0.0, 60.0);
    config.nodes.memory_bytes = 3 * GIB;
    config
        .provisioner
        .as_mut()
        .expect("provisioner set")
        .underutilized_below = 0.7;
    let mut sim = cluster(config);
    sim.drain_node("node-001").expect("node exists");
    steps(&mut sim, 2, 0.5);
    assert_eq!(placement(&sim).get("node-000"), Some(&2));

    // Two more pods fit on no static node, so a 2-core node is launched for them. Their 1000m
    // of its 1500m of room keeps it below the underutilization share.
    sim.scale(KEY, 4).expect("known workload");
    steps(&mut sim, 3, 0.5);
    let launched: Vec<String> = sim
        .node_names()
        .into_iter()
        .filter(|name| name.starts_with("c2-"))
        .collect();
    assert_eq!(launched, ["c2-00000"]);
    assert_eq!(placement(&sim).get("c2-00000"), Some(&2));

    if uncordon {
        sim.uncordon_node("node-001").expect("node exists");
    }
    let ticks = steps(&mut sim, 12, 0.5);
    let evicted = ticks.iter().map(|tick| tick.evicted_pods).sum();
    (sim.node_names(), evicted)
}

#[test]
fn consolidation_needs_memory_room_elsewhere() {
    // node-000 has 6500m of CPU free, room for thirteen more pods by CPU, but no memory.
    let (kept, evicted) = consolidate_beside_full_memory(false);
    assert_eq!(kept, ["node-000", "node-001", "c2-00000"]);
    assert_eq!(evicted, 0);

    // With node-001 schedulable its memory takes both pods, so the node goes.
    let (consolidated, evicted) = consolidate_beside_full_memory(true);
    assert_eq!(consolidated, ["node-000", "node-001"]);
    assert_eq!(evicted, 2, "consolidation evictions are counted");
}

#[test]
fn failed_provisioned_node_is_replaced_and_removed() {
    // Eviction after 300 s, repair after 600 s.
    let mut sim = cluster(provisioned(0, 4, 60.0, 300.0));
    steps(&mut sim, 8, 1.0);
    assert_eq!(sim.node_names(), ["c4-00000"]);
    assert_eq!(placement(&sim).get("c4-00000"), Some(&4));

    sim.fail_node("c4-00000").expect("node exists");
    let before_eviction = steps(&mut sim, 19, 1.0);
    assert!(before_eviction.iter().all(|tick| tick.nodes == 1));
    assert!(before_eviction.iter().all(|tick| tick.evicted_pods == 0));

    // At 300 s the pods are evicted, and their replacements get a node of their own.
    let evicted = steps(&mut sim, 1, 1.0);
    assert_eq!(evicted[0].evicted_pods, 4);
    let replaced = steps(&mut sim, 10, 1.0);
    assert_eq!(sim.node_names(), ["c4-00000", "c4-00001"]);
    assert_eq!(replaced.last().expect("ticks").workloads[0].pending_pods, 0);
    assert_eq!(placement(&sim).get("c4-00001"), Some(&4));

    // At 600 s the failed node is removed, with no pod left on it to evict.
    let before_repair = steps(&mut sim, 9, 1.0);
    assert!(before_repair.iter().all(|tick| tick.nodes == 2));
    let repaired = steps(&mut sim, 1, 1.0);
    assert_eq!(repaired[0].nodes, 1);
    assert_eq!(repaired[0].evicted_pods, 0);
    assert_eq!(sim.node_names(), ["c4-00001"]);
    assert!(
        sim.snapshot()
            .nodes
            .iter()
            .all(|node| node.name != "c4-00000")
    );
    assert!(matches!(
        sim.recover_node("c4-00000"),
        Err(SimError::UnknownNode { .. })
    ));
    assert_eq!(sim.pod_count(), 4);
}

#[test]
fn repair_before_eviction_evicts_pods() {
    let mut config = provisioned(0, 4, 60.0, 300.0);
    config
        .provisioner
        .as_mut()
        .expect("provisioner set")
        .repair_after_s = 120.0;
    let mut sim = cluster(config);
    steps(&mut sim, 8, 1.0);
    sim.fail_node("c4-00000").expect("node exists");
    let ticks = steps(&mut sim, 8, 1.0);
    assert!(ticks[..7].iter().all(|tick| tick.nodes == 1));
    assert_eq!(ticks[7].evicted_pods, 4, "evicted when the node is removed");
    assert!(sim.node_names().is_empty(), "{:?}", sim.node_names());
    steps(&mut sim, 6, 1.0);
    assert_eq!(sim.node_names(), ["c4-00001"]);
    assert_eq!(placement(&sim).get("c4-00001"), Some(&4));
}

#[test]
fn failed_static_node_is_kept() {
    let mut config = provisioned(1, 4, 60.0, 300.0);
    config
        .provisioner
        .as_mut()
        .expect("provisioner set")
        .repair_after_s = 60.0;
    let mut sim = cluster(config);
    steps(&mut sim, 2, 1.0);
    assert_eq!(placement(&sim).get("node-000"), Some(&4));
    sim.fail_node("node-000").expect("node exists");

    // Its pods are evicted after 300 s and get a provisioned node, but the static node stays.
    let ticks = steps(&mut sim, 60, 1.0);
    assert_eq!(ticks.last().expect("ticks").nodes, 2);
    let names = sim.node_names();
    assert_eq!(names, ["node-000", "c4-00000"]);
    assert_eq!(placement(&sim).get("c4-00000"), Some(&4));
    let snapshot = sim.snapshot();
    let node = snapshot
        .nodes
        .iter()
        .find(|node| node.name == "node-000")
        .expect("static node listed");
    assert!(!node.ready);
    sim.recover_node("node-000")
        .expect("static node still exists");
}

#[test]
fn provisioner_repair_delay_is_checked() {
    let mut config = provisioned(1, 4, 60.0, 300.0);
    config
        .provisioner
        .as_mut()
        .expect("provisioner set")
        .repair_after_s = -1.0;
    match Cluster::new("bad", config, 1, &["web".to_owned()]) {
        Err(SimError::InvalidConfig { field, value, .. }) => {
            assert_eq!(field, "provisioner");
            assert!(value.contains("repair_after_s -1"), "{value}");
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }

    // Configurations written before the repair delay existed get its default.
    let mut json = serde_json::to_value(ProvisionerConfig::default()).expect("encodes");
    json.as_object_mut()
        .expect("an object")
        .remove("repair_after_s");
    let decoded: ProvisionerConfig = serde_json::from_value(json).expect("decodes");
    assert_eq!(decoded.repair_after_s, 600.0);
}
