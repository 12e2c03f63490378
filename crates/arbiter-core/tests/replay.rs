//! Counterfactual replay, shadow mode and action discipline over a controller run on a small
//! simulated workload.

mod common;

use std::sync::OnceLock;

use arbiter_core::action::Action;
use arbiter_core::controller::ControllerMode;
use arbiter_core::discipline::action_discipline;
use arbiter_core::error::CoreError;
use arbiter_core::referee::{Bound, DECISION_SCHEMA_VERSION, Decision};
use arbiter_core::replay::{parse_decisions, replay};

use common::{MiniCluster, run_scenario, scenario_config};

/// Two days and a half at one tick a minute.
const TICKS: usize = 3_600;

/// Returns the recorded run, made once and shared by the tests.
fn recorded_run() -> (arbiter_core::controller::ControllerConfig, Vec<Decision>) {
    static RUN: OnceLock<(arbiter_core::controller::ControllerConfig, Vec<Decision>)> =
        OnceLock::new();
    RUN.get_or_init(|| {
        let config = scenario_config();
        let decisions = run_scenario(config.clone(), &mut MiniCluster::new(4), TICKS);
        (config, decisions)
    })
    .clone()
}

fn to_json_lines(decisions: &[Decision]) -> String {
    decisions
        .iter()
        .map(|decision| serde_json::to_string(decision).expect("decision encodes") + "\n")
        .collect()
}

#[test]
fn scenario_makes_scale_actions_both_ways() {
    let (_, decisions) = recorded_run();
    let ups = decisions
        .iter()
        .filter(|decision| decision.action.replica_delta() > 0)
        .count();
    let downs = decisions
        .iter()
        .filter(|decision| decision.action.replica_delta() < 0)
        .count();
    assert!(ups > 0, "no scale-up in the scenario");
    assert!(downs > 0, "no scale-down in the scenario");
}

#[test]
fn replay_with_own_config_reproduces_every_decision() {
    let (config, decisions) = recorded_run();
    let parsed = parse_decisions(&to_json_lines(&decisions), "run.jsonl").expect("parses");
    assert_eq!(parsed.len(), decisions.len());
    // NOTE: serde_json without its `float_roundtrip` feature may parse a float 1 ULP away
    // from the value it wrote, so the parsed inputs are compared by action, not bit for bit.
    for (parsed, original) in parsed.iter().zip(&decisions) {
        assert_eq!(parsed.action, original.action, "tick {}", original.tick);
    }

    let report = replay(&parsed, &config.referee).expect("valid configuration");
    assert_eq!(report.decisions, decisions.len());
    assert_eq!(
        report.exact,
        decisions.len(),
        "{:?}",
        report.differences.first()
    );
    assert_eq!(report.same_action, 0);
    assert!(report.differences.is_empty());
    assert_eq!(report.recorded_digests.len(), 1);
    assert!(report.recorded_digests.contains_key(&report.replay_digest));
    assert_eq!(report.recorded_discipline, report.replayed_discipline);
}

#[test]
fn replay_with_tighter_budget_reports_differences() {
    let (config, decisions) = recorded_run();
    let mut tighter = config.referee.clone();
    tighter.actions_per_day = Some(1);
    let report = replay(&decisions, &tighter).expect("valid configuration");

    assert!(
        !report.differences.is_empty(),
        "a budget of 1 must change something"
    );
    assert!(report.exact < decisions.len());
    assert_ne!(
        report.recorded_digests.keys().next(),
        Some(&report.replay_digest)
    );
    assert!(
        report
            .new_vetoes_by_bound
            .get(&Bound::ActionsPerDay)
            .is_some_and(|count| *count > 0),
        "{:?}",
        report.new_vetoes_by_bound
    );
    let first = &report.differences[0];
    assert!(
        first.explanation.contains("ActionsPerDay"),
        "{}",
        first.explanation
    );
    assert!(report.replayed_discipline.max_actions_per_workload_day <= 1);
    assert!(
        report
            .transitions
            .keys()
            .any(|key| key.ends_with("-> noop"))
    );
}

#[test]
fn replay_rejects_invalid_config() {
    let (config, decisions) = recorded_run();
    let mut invalid = config.referee.clone();
    invalid.max_replicas = invalid.min_replicas - 1;
    let error = replay(&decisions, &invalid).expect_err("max below min");
    assert!(
        matches!(&error, CoreError::InvalidConfig { field, .. } if field == "referee.max_replicas"),
        "{error}"
    );
}

#[test]
fn parse_rejects_bad_lines_with_line_numbers() {
    let (_, decisions) = recorded_run();
    let good = serde_json::to_string(&decisions[0]).expect("encodes");

    let error = parse_decisions(&format!("{good}\n{{not json\n"), "bad.jsonl").unwrap_err();
    assert!(
        matches!(&error, CoreError::InvalidRecord { line: 2, source_name, .. } if source_name == "bad.jsonl"),
        "{error}"
    );

    let old = good.replacen(
        &format!("\"schema_version\":{DECISION_SCHEMA_VERSION}"),
        "\"schema_version\":1",
        1,
    );
    let error = parse_decisions(&format!("\n{old}\n"), "old.jsonl").unwrap_err();
    assert!(
        matches!(
            error,
            CoreError::UnsupportedSchema {
                line: 2,
                found: 1,
                ..
            }
        ),
        "{error}"
    );

    let error = parse_decisions("\n\n", "empty.jsonl").unwrap_err();
    assert!(matches!(error, CoreError::NoRecords { .. }), "{error}");

    let missing = good.replacen("\"workload\":", "\"workload_renamed\":", 1);
    let error = parse_decisions(&missing, "missing.jsonl").unwrap_err();
    assert!(
        matches!(error, CoreError::InvalidRecord { line: 1, .. }),
        "{error}"
    );
}

#[test]
fn shadow_mode_decides_but_marks_dry_run() {
    let mut config = scenario_config();
    config.mode = ControllerMode::Shadow;
    let mut cluster = MiniCluster::new(4);
    let decisions = run_scenario(config, &mut cluster, TICKS);

    assert!(decisions.iter().all(Decision::dry_run));
    assert!(
        decisions
            .iter()
            .all(|decision| decision.mode == ControllerMode::Shadow)
    );
    assert!(
        decisions.iter().any(|decision| decision.action.is_change()),
        "shadow mode must still decide changes"
    );
    assert_eq!(cluster.spec, 4, "a dry run must leave the cluster alone");
    assert!(decisions.iter().all(|decision| decision.spec_replicas == 4));
}

#[test]
fn act_mode_decisions_are_not_dry_run() {
    let (_, decisions) = recorded_run();
    assert!(decisions.iter().all(|decision| !decision.dry_run()));
}

#[test]
fn discipline_counts_actions_per_workload_day() {
    let (_, decisions) = recorded_run();
    let figures = action_discipline(&decisions);
    assert_eq!(figures.workload_days, 3, "2.5 days touch days 0, 1 and 2");
    let changes = decisions
        .iter()
        .filter(|decision| decision.action.is_change())
        .count() as u64;
    assert_eq!(figures.actions, changes);
    assert!(figures.max_actions_per_workload_day >= 1);
    assert!((0.0..=1.0).contains(&figures.share_without_action));
    assert!(
        figures.p99_actions_per_workload_day <= f64::from(figures.max_actions_per_workload_day)
    );
}

#[test]
fn discipline_of_hand_made_days() {
    let (_, decisions) = recorded_run();
    let template = decisions[0].clone();
    let at = |time_s: f64, workload: &str, action: Action| {
        let mut decision = template.clone();
        decision.time_s = time_s;
        decision.workload = workload.to_owned();
        decision.action = action;
        decision
    };
    let scale = |workload: &str| Action::Scale {
        workload: workload.to_owned(),
        from: 4,
        to: 5,
    };
    let day = 86_400.0;

    let decisions = vec![
        at(0.0, "ns/a", scale("ns/a")),
        at(10.0, "ns/a", scale("ns/a")),
        at(20.0, "ns/a", Action::Noop),
        at(
            day + 1.0,
            "ns/a",
            Action::Hold {
                workload: "ns/a".to_owned(),
            },
        ),
        at(0.0, "ns/b", Action::Noop),
        at(
            day + 5.0,
            "ns/b",
            Action::RolloutRestart {
                workload: "ns/b".to_owned(),
            },
        ),
    ];

    let figures = action_discipline(&decisions);
    assert_eq!(figures.workload_days, 4);
    assert_eq!(figures.actions, 3);
    assert_eq!(figures.max_actions_per_workload_day, 2);
    assert_eq!(figures.share_without_action, 0.5);
    assert_eq!(figures.p50_actions_per_workload_day, 0.5);
}
