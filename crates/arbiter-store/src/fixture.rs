//! Small synthetic runs for tests, examples and benchmarks of the store and the dashboard.
//!
//! Every figure a fixture writes is made up: demand follows a daily sine wave, and every 20th
//! tick carries a decision with proposals, a conflict, a veto and an operation.

use std::collections::BTreeMap;

use arbiter_core::action::{Action, AgentId, ExpectedEffect, PriorityClass, Proposal};
use arbiter_core::controller::ControllerMode;
use arbiter_core::execution::{ExecutionRecord, ExecutionStatus, OperationRecord};
use arbiter_core::features::FeatureVector;
use arbiter_core::predict::{Prediction, PredictionBasis};
use arbiter_core::referee::{
    Bound, Conflict, ConflictKind, DECISION_SCHEMA_VERSION, Decision, Veto,
};
use arbiter_core::snapshot::ObservedWorkload;

use crate::{NewRun, RunId, RunRecorder, RunStore, StoreError, TickRecord};

/// Workload key of the fixture's only workload.
pub const FIXTURE_WORKLOAD: &str = "arbiter-exercise/web";

/// Seconds per fixture tick.
pub const FIXTURE_TICK_S: f64 = 15.0;

/// Returns the description of a fixture run with `seed`.
pub fn fixture_run(seed: u64) -> NewRun {
    NewRun {
        kind: "compare".to_owned(),
        seed,
        trace: "fixture/sine.csv".to_owned(),
        models: None,
        configuration: serde_json::json!({
            "seed": seed,
            "tick_s": FIXTURE_TICK_S,
            "cluster": {"nodes": {"count": 4, "cpu_milli": 16000}, "latency": {"slo_p95_ms": 250.0}},
        }),
    }
}

/// Returns the demand in cores of the fixture at a time.
fn demand_at(time_s: f64, seed: u64) -> f64 {
    let day = 2.0 * std::f64::consts::PI * time_s / 86_400.0;
    4.0 + 2.5 * (day * 24.0).sin() + 0.1 * (seed % 7) as f64
}

/// Returns the tick records of both clusters at tick `tick`.
pub fn fixture_ticks(tick: u64, seed: u64) -> [TickRecord; 2] {
    let time_s = (tick + 1) as f64 * FIXTURE_TICK_S;
    let demand = demand_at(time_s, seed);
    let make = |cluster: &str, replicas: i32, nodes: u32, p95_ms: f64, idle_w: f64| {
        let capacity = f64::from(replicas) * 0.5;
        TickRecord {
            time_s,
            cluster: cluster.to_owned(),
            workload: FIXTURE_WORKLOAD.to_owned(),
            demand_cores: demand,
            ready_capacity_cores: capacity,
            spec_replicas: replicas,
            ready_pods: replicas as u32,
            pending_pods: u32::from(tick.is_multiple_of(50)),
            p95_ms,
            slo_miss: p95_ms > 250.0,
            oom_kills: u32::from(tick % 500 == 7),
            idle_w,
            controlled_dynamic_w: 40.0 * demand,
            background_dynamic_w: 35.0,
            nodes,
        }
    };
    let baseline_replicas = 12;
    let experimental_replicas = ((demand / 0.5) * 1.3).ceil() as i32;
    // The baseline keeps the configuration's 4 nodes. The experimental cluster's nodes follow
    // its replicas, one more node per 8 replicas.
    let experimental_nodes = 1 + experimental_replicas as u32 / 8;
    [
        make(
            "baseline",
            baseline_replicas,
            4,
            120.0 + 30.0 * demand,
            320.0,
        ),
        make(
            "experimental",
            experimental_replicas,
            experimental_nodes,
            if tick % 97 == 3 {
                310.0
            } else {
                140.0 + 25.0 * demand
            },
            300.0,
        ),
    ]
}

/// Returns the experimental controller's decision at tick `tick`.
pub fn fixture_decision(tick: u64, seed: u64) -> Decision {
    let time_s = (tick + 1) as f64 * FIXTURE_TICK_S;
    let demand = demand_at(time_s, seed);
    let replicas = ((demand / 0.5) * 1.3).ceil() as i32;

    let prediction = Prediction {
        cpu_mean_cores: demand_at(time_s + 300.0, seed),
        cpu_upper_cores: demand_at(time_s + 300.0, seed) * 1.2,
        memory_mean_gib: 2.0,
        risk: (0.5 + 0.5 * (time_s / 3_000.0).sin()).clamp(0.0, 1.0),
        basis: PredictionBasis::Statistical,
        cpu_peak_cores: None,
    };

    let observed = ObservedWorkload {
        namespace: "arbiter-exercise".to_owned(),
        name: "web".to_owned(),
        labels: BTreeMap::new(),
        spec_replicas: replicas,
        ready_replicas: replicas,
        starting_pods: 0,
        unbound_pods: 0,
        cpu_request_milli: 500,
        cpu_limit_milli: 500,
        memory_request_bytes: 512 << 20,
        memory_limit_bytes: 512 << 20,
        latency_p95_ms: Some(150.0),
        restarts: 0,
        placement: BTreeMap::new(),
    };

    let mut decision = Decision {
        schema_version: DECISION_SCHEMA_VERSION,
        mode: ControllerMode::Act,
        cluster: "experimental".to_owned(),
        tick,
        time_s,
        workload: FIXTURE_WORKLOAD.to_owned(),
        spec_replicas: replicas,
        ready_replicas: replicas,
        observed,
        features: FeatureVector::default(),
        prediction,
        proposals: Vec::new(),
        adjustments: Vec::new(),
        vetoes: Vec::new(),
        conflicts: Vec::new(),
        action: Action::Noop,
        chosen_agent: None,
        reason: "no agent proposed an action".to_owned(),
        actions_today: 0,
        referee_config_digest: "fixture".to_owned(),
        execution: Some(ExecutionRecord {
            status: ExecutionStatus::Noop,
            operations: Vec::new(),
        }),
    };

    if tick % 20 != 10 {
        return decision;
    }

    let up = Action::Scale {
        workload: FIXTURE_WORKLOAD.to_owned(),
        from: replicas,
        to: replicas + 2,
    };
    let down = Action::Scale {
        workload: FIXTURE_WORKLOAD.to_owned(),
        from: replicas,
        to: replicas - 1,
    };

    decision.proposals = vec![
        Proposal {
            agent: AgentId::SloGuard,
            priority: PriorityClass::Slo,
            action: up.clone(),
            score: 0.4,
            effect: ExpectedEffect {
                replicas: replicas + 2,
                risk: 0.1,
                core_hours_per_hour: 1.0,
                watts: 18.0,
            },
            reason: format!(
                "upper forecast {:.2} cores exceeds the SLO-safe capacity",
                demand * 1.2
            ),
        },
        Proposal {
            agent: AgentId::Efficiency,
            priority: PriorityClass::Efficiency,
            action: down.clone(),
            score: 0.2,
            effect: ExpectedEffect {
                replicas: replicas - 1,
                risk: 0.3,
                core_hours_per_hour: -0.5,
                watts: -9.0,
            },
            reason: "one replica is idle at the mean forecast".to_owned(),
        },
    ];

    decision.conflicts = vec![Conflict {
        kind: ConflictKind::OpposingScale,
        first_agent: AgentId::SloGuard,
        first_action: up.clone(),
        second_agent: AgentId::Efficiency,
        second_action: down.clone(),
        winner: Some(AgentId::SloGuard),
    }];

    if tick % 40 == 10 {
        decision.vetoes = vec![Veto {
            agent: AgentId::Efficiency,
            action: down.clone(),
            bound: Bound::Cooldown,
            reason: "scale-down within 300 s of the last scale action".to_owned(),
        }];
    }

    let failed = tick % 100 == 50;
    decision.action = up;
    decision.chosen_agent = Some(AgentId::SloGuard);
    decision.reason = "SLO class ranks above efficiency".to_owned();
    decision.execution = Some(ExecutionRecord {
        status: if failed {
            ExecutionStatus::Error
        } else {
            ExecutionStatus::Executed
        },
        operations: vec![OperationRecord {
            description: format!("scale {FIXTURE_WORKLOAD} to {} replicas", replicas + 2),
            kubectl: format!(
                "kubectl -n arbiter-exercise scale deployment/web --replicas={}",
                replicas + 2
            ),
            method: "PATCH".to_owned(),
            path: "/apis/apps/v1/namespaces/arbiter-exercise/deployments/web/scale".to_owned(),
            request: Some(serde_json::json!({"spec": {"replicas": replicas + 2}})),
            status_code: Some(if failed { 409 } else { 200 }),
            response: if failed {
                "Conflict: the object has been modified".to_owned()
            } else {
                format!("spec.replicas={}", replicas + 2)
            },
            duration_ms: 0.0,
        }],
    });
    decision
}

/// Returns a report in the layout of `arbiter compare`'s, with figures derived from the seed.
pub fn fixture_report(seed: u64, ticks: u64) -> serde_json::Value {
    let shift = (seed % 5) as f64;
    let figures = |slo: f64, cores: f64, kwh: f64| {
        serde_json::json!({
            "slo_miss_minutes": slo + shift,
            "p95_latency_ms": 230.0 + shift,
            "requested_core_hours": cores - shift,
            "replica_changes": 40,
            "oom_kills": 1,
            "pending_pod_minutes": 3.0,
            "mean_replicas": 9.5,
            "max_replicas": 14,
            "served_core_hours": 100.0,
            "dropped_core_hours": 0.5,
            "energy_kwh": kwh,
            "energy_idle_kwh": kwh * 0.6,
            "energy_controlled_dynamic_kwh": kwh * 0.3,
            "energy_background_dynamic_kwh": kwh * 0.1,
        })
    };
    serde_json::json!({
        "seed": seed,
        "ticks": ticks,
        "simulated_s": ticks as f64 * FIXTURE_TICK_S,
        "baseline": figures(12.0, 150.0, 30.0),
        "experimental": figures(9.0, 120.0, 27.0 - shift * 0.2),
    })
}

/// Writes `ticks` ticks and decisions of a fixture run through `recorder`.
pub fn record_fixture_ticks(
    recorder: &mut RunRecorder,
    seed: u64,
    ticks: std::ops::Range<u64>,
) -> Result<(), StoreError> {
    for tick in ticks {
        for record in fixture_ticks(tick, seed) {
            recorder.record_tick(&record)?;
        }
        recorder.record_decision(&fixture_decision(tick, seed))?;
    }
    Ok(())
}

/// Writes a complete fixture run of `ticks` ticks and returns its id.
pub fn write_fixture_run(store: &RunStore, seed: u64, ticks: u64) -> Result<RunId, StoreError> {
    let run = store.begin_run(&fixture_run(seed))?;
    let mut recorder = store.recorder(run)?;
    record_fixture_ticks(&mut recorder, seed, 0..ticks)?;
    recorder.finish(&fixture_report(seed, ticks))?;
    Ok(run)
}
