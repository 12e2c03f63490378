//! Conformance: one scenario through the in-process simulator and through the served
//! simulator with the live code path (observer, controller, executor over HTTP) gives the
//! same decisions.

mod common;

use arbiter_core::action::Action;
use arbiter_core::controller::Controller;
use arbiter_core::execution::Executor;
use arbiter_core::referee::Decision;
use arbiter_kube::live::LiveRecord;
use arbiter_kube::server::deployment_names;
use arbiter_sim::cluster::Cluster;
use arbiter_sim::executor::SimExecutor;
use arbiter_sim::experiment::derive_seed;
use arbiter_sim::load::LoadGenerator;

const TICKS: usize = 240;

fn in_process() -> (Vec<Decision>, Vec<arbiter_core::snapshot::ClusterSnapshot>) {
    let config = common::config("experimental", false);
    let experiment = &config.experiment;
    let names = deployment_names(&config.series);
    let mut generators: Vec<LoadGenerator> = config
        .series
        .iter()
        .enumerate()
        .map(|(index, series)| {
            LoadGenerator::new(
                series.clone(),
                &experiment.demand,
                derive_seed(experiment.seed, 1 + index as u64),
            )
            .expect("generator")
            .replaying_days(experiment.days.unwrap_or(1.0))
        })
        .collect();
    let mut cluster = Cluster::new(
        "experimental",
        experiment.cluster.clone(),
        derive_seed(experiment.seed, 0),
        &names,
    )
    .expect("cluster");
    let mut controller = Controller::new(experiment.controller.clone());
    let mut decisions = Vec::new();
    let mut snapshots = Vec::new();
    for tick in 0..TICKS {
        let time_s = tick as f64 * experiment.tick_s;
        let demands: Vec<_> = generators.iter_mut().map(|g| g.demand_at(time_s)).collect();
        cluster.step(experiment.tick_s, &demands);
        let snapshot = cluster.snapshot();
        for decision in controller.decide(&snapshot) {
            SimExecutor::new(&mut cluster, false).execute(&decision.action);
            decisions.push(decision);
        }
        snapshots.push(snapshot);
    }
    (decisions, snapshots)
}

fn without_execution(decisions: &[Decision]) -> Vec<Decision> {
    decisions
        .iter()
        .cloned()
        .map(|mut decision| {
            decision.execution = None;
            decision
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_and_in_process_decide_alike() {
    let (expected, expected_snapshots) = in_process();
    let server = common::start("experimental", false, 0).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut live = common::live_loop(&server, None, dir.path(), common::fast_policy()).await;

    let mut served = Vec::new();
    for (tick, expected_snapshot) in expected_snapshots.iter().enumerate() {
        server.step(1);
        for record in live.tick().await {
            match record {
                LiveRecord::Decision(decision) => {
                    let execution = decision.execution.as_ref().expect("execution record");
                    assert_ne!(
                        execution.status,
                        arbiter_core::execution::ExecutionStatus::Error,
                        "tick {tick}: {execution:?}"
                    );
                    served.push(*decision);
                }
                LiveRecord::Skipped { reason, .. } => panic!("tick {tick} skipped: {reason}"),
                LiveRecord::Observation { time_s, .. } => {
                    assert_eq!(time_s, expected_snapshot.time_s, "clock at tick {tick}");
                }
            }
        }
    }

    let scales = expected
        .iter()
        .filter(|d| matches!(d.action, Action::Scale { .. }))
        .count();
    assert!(
        scales > 0,
        "the scenario has no scale decision, so it tests nothing"
    );
    assert_eq!(served.len(), expected.len(), "decision count");
    let served = without_execution(&served);
    for (index, (live, sim)) in served.iter().zip(&expected).enumerate() {
        assert_eq!(live, sim, "decision {index} differs");
    }
}

/// Rounds pod times to microseconds: RFC 3339 carries nanoseconds, not every f64 bit.
fn rounded(
    workloads: &[arbiter_core::snapshot::WorkloadObservation],
) -> Vec<arbiter_core::snapshot::WorkloadObservation> {
    let round = |t: f64| (t * 1e6).round() / 1e6;
    let mut workloads = workloads.to_vec();
    for workload in &mut workloads {
        for pod in &mut workload.pods {
            pod.start_s = pod.start_s.map(round);
            pod.ready_transition_s = pod.ready_transition_s.map(round);
            if let Some(usage) = &mut pod.usage {
                usage.timestamp_s = round(usage.timestamp_s);
            }
        }
    }
    workloads
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_matches_simulator_snapshot() {
    let server = common::start("experimental", false, 30).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let api = common::client(&server, dir.path(), "experimental", common::fast_policy()).await;
    let mut observer = common::observer(api, "experimental");
    let observation = observer.observe().await;
    let expected = server.snapshot();
    assert!(observation.complete);
    assert_eq!(observation.snapshot.time_s, expected.time_s);
    assert_eq!(
        rounded(&observation.snapshot.workloads),
        rounded(&expected.workloads)
    );
    assert_eq!(
        observation.snapshot.load_generators,
        expected.load_generators
    );
    assert_eq!(observation.snapshot.missing, expected.missing);
    assert_eq!(observation.snapshot.nodes.len(), expected.nodes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_restart_replaces_pods() {
    let server = common::start("experimental", false, 40).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let api = common::client(&server, dir.path(), "restart", common::fast_policy()).await;
    let controller = common::config("experimental", false).experiment.controller;
    let executor = arbiter_kube::executor::KubeExecutor::new(
        api,
        arbiter_kube::executor::ExecutorConfig::from_referee(&controller.referee, true),
    );
    let workload = server.snapshot().workloads[0].clone();
    let before: std::collections::BTreeSet<String> =
        workload.pods.iter().map(|pod| pod.name.clone()).collect();
    assert!(!before.is_empty(), "the warmed-up workload has pods");

    let record = executor.restart(&workload.key()).await;
    assert_eq!(
        record.status,
        arbiter_core::execution::ExecutionStatus::Executed,
        "{record:?}"
    );
    // A rolling update within maxSurge and maxUnavailable takes a few start-up times.
    server.step(240);
    let after = server.snapshot().workloads[0].clone();
    let kept: Vec<&String> = after
        .pods
        .iter()
        .map(|pod| &pod.name)
        .filter(|name| before.contains(*name))
        .collect();
    assert!(kept.is_empty(), "pods of the old template remain: {kept:?}");
    assert!(
        !after.pods.is_empty(),
        "the rollout keeps the workload running"
    );
}
