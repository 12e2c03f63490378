//! The referee's individual rules on hand-made proposals: ranking, conflicts, bounds and
//! configuration checks.

mod common;

use arbiter_core::action::{Action, AgentId, ExpectedEffect, PriorityClass, Proposal};
use arbiter_core::controller::ControllerMode;
use arbiter_core::error::CoreError;
use arbiter_core::features::FeatureVector;
use arbiter_core::predict::{Prediction, PredictionBasis};
use arbiter_core::referee::{
    Bound, ConflictKind, Decision, DecisionInput, Referee, RefereeConfig, RefereeState,
};
use arbiter_core::snapshot::ObservedWorkload;

const KEY: &str = "arbiter-exercise/web";

fn proposal(agent: AgentId, priority: PriorityClass, action: Action, score: f64) -> Proposal {
    Proposal {
        agent,
        priority,
        action,
        score,
        effect: ExpectedEffect {
            replicas: 0,
            risk: 0.0,
            core_hours_per_hour: 0.0,
            watts: 0.0,
        },
        reason: format!("{agent:?} test proposal"),
    }
}

fn scale(to: i32) -> Action {
    Action::Scale {
        workload: KEY.to_owned(),
        from: 10,
        to,
    }
}

fn decide_at(
    referee: &Referee,
    state: &mut RefereeState,
    time_s: f64,
    observed: &ObservedWorkload,
    proposals: Vec<Proposal>,
) -> Decision {
    let features = FeatureVector::default();
    let prediction = Prediction {
        cpu_mean_cores: 3.0,
        cpu_upper_cores: 4.0,
        memory_mean_gib: 1.0,
        risk: 0.2,
        basis: PredictionBasis::Statistical,
        cpu_peak_cores: None,
    };
    let input = DecisionInput {
        cluster: "experimental",
        tick: 0,
        time_s,
        mode: ControllerMode::Act,
        workload: observed,
        features: &features,
        prediction: &prediction,
    };
    referee.decide(state, input, proposals)
}

fn web(spec: i32, ready: i32) -> ObservedWorkload {
    common::observed(common::NAMESPACE, "web", true, spec, ready)
}

#[test]
fn slo_outranks_efficiency_and_records_conflict() {
    let referee = Referee::default();
    let decision = decide_at(
        &referee,
        &mut RefereeState::default(),
        0.0,
        &web(10, 10),
        vec![
            proposal(
                AgentId::Efficiency,
                PriorityClass::Efficiency,
                scale(9),
                50.0,
            ),
            proposal(AgentId::SloGuard, PriorityClass::Slo, scale(13), 0.1),
        ],
    );
    assert_eq!(decision.action, scale(13));
    assert_eq!(decision.chosen_agent, Some(AgentId::SloGuard));
    assert_eq!(decision.conflicts.len(), 1);
    let conflict = &decision.conflicts[0];
    assert_eq!(conflict.kind, ConflictKind::OpposingScale);
    assert_eq!(conflict.first_agent, AgentId::SloGuard);
    assert_eq!(conflict.second_agent, AgentId::Efficiency);
    assert_eq!(conflict.winner, Some(AgentId::SloGuard));
    assert!(
        decision.reason.contains("outranked B"),
        "{}",
        decision.reason
    );
}

#[test]
fn configured_priority_reorders_classes() {
    let config = RefereeConfig {
        priority: vec![
            PriorityClass::Efficiency,
            PriorityClass::Slo,
            PriorityClass::Risk,
        ],
        ..RefereeConfig::default()
    };
    let decision = decide_at(
        &Referee::new(config),
        &mut RefereeState::default(),
        0.0,
        &web(10, 10),
        vec![
            proposal(AgentId::SloGuard, PriorityClass::Slo, scale(13), 0.1),
            proposal(
                AgentId::Efficiency,
                PriorityClass::Efficiency,
                scale(9),
                1.0,
            ),
        ],
    );
    assert_eq!(decision.chosen_agent, Some(AgentId::Efficiency));
}

#[test]
fn weights_decide_within_class() {
    let mut config = RefereeConfig::default();
    config.weights.slo_guard = 0.1;
    let a = proposal(AgentId::SloGuard, PriorityClass::Risk, scale(13), 2.0);
    let c = proposal(AgentId::Reliability, PriorityClass::Risk, scale(12), 1.0);
    let weighted = decide_at(
        &Referee::new(config),
        &mut RefereeState::default(),
        0.0,
        &web(10, 10),
        vec![a.clone(), c.clone()],
    );
    assert_eq!(weighted.chosen_agent, Some(AgentId::Reliability));

    let unweighted = decide_at(
        &Referee::default(),
        &mut RefereeState::default(),
        0.0,
        &web(10, 10),
        vec![a, c],
    );
    assert_eq!(unweighted.chosen_agent, Some(AgentId::SloGuard));
}

#[test]
fn hold_wins_and_conflict_recorded() {
    let decision = decide_at(
        &Referee::default(),
        &mut RefereeState::default(),
        0.0,
        &web(10, 7),
        vec![
            proposal(AgentId::SloGuard, PriorityClass::Slo, scale(14), 0.5),
            proposal(
                AgentId::Reliability,
                PriorityClass::Risk,
                Action::Hold {
                    workload: KEY.to_owned(),
                },
                1.0,
            ),
        ],
    );
    assert!(matches!(decision.action, Action::Hold { .. }));
    assert_eq!(decision.actions_today, 0, "a hold is not an action");
    assert_eq!(decision.conflicts[0].kind, ConflictKind::HoldAgainstScale);
    assert_eq!(decision.conflicts[0].winner, Some(AgentId::Reliability));
}

#[test]
fn step_and_range_adjust_scale() {
    let config = RefereeConfig {
        max_step_up: 3,
        max_replicas: 12,
        ..RefereeConfig::default()
    };
    let decision = decide_at(
        &Referee::new(config),
        &mut RefereeState::default(),
        0.0,
        &web(10, 10),
        vec![proposal(
            AgentId::SloGuard,
            PriorityClass::Slo,
            scale(30),
            1.0,
        )],
    );
    assert_eq!(decision.action, scale(12));
    let bounds: Vec<Bound> = decision.adjustments.iter().map(|a| a.bound).collect();
    assert_eq!(bounds, [Bound::MaxStep, Bound::MaxReplicas]);
}

#[test]
fn cooldown_vetoes_quick_scale_down() {
    let referee = Referee::default();
    let mut state = RefereeState::default();
    let up = decide_at(
        &referee,
        &mut state,
        0.0,
        &web(10, 10),
        vec![proposal(
            AgentId::SloGuard,
            PriorityClass::Slo,
            scale(14),
            1.0,
        )],
    );
    assert_eq!(up.action, scale(14));

    let down = Action::Scale {
        workload: KEY.to_owned(),
        from: 14,
        to: 10,
    };
    let early = decide_at(
        &referee,
        &mut state,
        600.0,
        &web(14, 14),
        vec![proposal(
            AgentId::Efficiency,
            PriorityClass::Efficiency,
            down.clone(),
            1.0,
        )],
    );
    assert_eq!(early.action, Action::Noop);
    assert_eq!(early.vetoes[0].bound, Bound::Cooldown);
    assert!(early.reason.contains("vetoed"), "{}", early.reason);

    let later = decide_at(
        &referee,
        &mut state,
        RefereeConfig::default().cooldown_down_s + 1.0,
        &web(14, 14),
        vec![proposal(
            AgentId::Efficiency,
            PriorityClass::Efficiency,
            down.clone(),
            1.0,
        )],
    );
    assert_eq!(later.action, down);
}

#[test]
fn disruption_budget_vetoes_restart() {
    let restart = || {
        proposal(
            AgentId::Reliability,
            PriorityClass::Risk,
            Action::RolloutRestart {
                workload: KEY.to_owned(),
            },
            1.0,
        )
    };
    let referee = Referee::default();
    let starting = decide_at(
        &referee,
        &mut RefereeState::default(),
        0.0,
        &web(8, 6),
        vec![restart()],
    );
    assert_eq!(
        starting.action,
        Action::Noop,
        "2 of 8 unavailable, budget 2"
    );
    assert_eq!(starting.vetoes[0].bound, Bound::DisruptionBudget);

    let mut state = RefereeState::default();
    let ready = decide_at(&referee, &mut state, 0.0, &web(8, 8), vec![restart()]);
    assert!(matches!(ready.action, Action::RolloutRestart { .. }));
    let again = decide_at(&referee, &mut state, 60.0, &web(8, 8), vec![restart()]);
    assert_eq!(again.vetoes[0].bound, Bound::Cooldown);
}

#[test]
fn scope_vetoes_foreign_targets() {
    let config = RefereeConfig {
        allowed_namespaces: vec![common::NAMESPACE.to_owned()],
        ..RefereeConfig::default()
    };
    let referee = Referee::new(config);
    let other = Action::Scale {
        workload: "arbiter-exercise/api".to_owned(),
        from: 10,
        to: 12,
    };
    let decision = decide_at(
        &referee,
        &mut RefereeState::default(),
        0.0,
        &web(10, 10),
        vec![proposal(AgentId::SloGuard, PriorityClass::Slo, other, 1.0)],
    );
    assert_eq!(decision.vetoes[0].bound, Bound::Scope);

    let unlabeled = common::observed(common::NAMESPACE, "web", false, 10, 10);
    let decision = decide_at(
        &referee,
        &mut RefereeState::default(),
        0.0,
        &unlabeled,
        vec![proposal(
            AgentId::SloGuard,
            PriorityClass::Slo,
            scale(12),
            1.0,
        )],
    );
    assert_eq!(decision.vetoes[0].bound, Bound::Scope);

    let system = common::observed("kube-system", "web", true, 10, 10);
    let decision = decide_at(
        &referee,
        &mut RefereeState::default(),
        0.0,
        &system,
        vec![proposal(
            AgentId::SloGuard,
            PriorityClass::Slo,
            Action::Scale {
                workload: "kube-system/web".to_owned(),
                from: 10,
                to: 12,
            },
            1.0,
        )],
    );
    assert_eq!(decision.vetoes[0].bound, Bound::Scope);
}

#[test]
fn malformed_cap_is_vetoed() {
    let decision = decide_at(
        &Referee::default(),
        &mut RefereeState::default(),
        0.0,
        &web(10, 10),
        vec![proposal(
            AgentId::Reliability,
            PriorityClass::Risk,
            Action::CapLoad {
                workload: KEY.to_owned(),
                cap_cores: Some(f64::NAN),
            },
            1.0,
        )],
    );
    assert_eq!(decision.vetoes[0].bound, Bound::Malformed);
}

#[test]
fn noop_without_proposals_has_reason() {
    let decision = decide_at(
        &Referee::default(),
        &mut RefereeState::default(),
        0.0,
        &web(10, 10),
        Vec::new(),
    );
    assert_eq!(decision.action, Action::Noop);
    assert_eq!(decision.reason, "no agent proposed a change");
}

#[test]
fn validate_rejects_bad_configs() {
    let cases: Vec<(&str, RefereeConfig)> = vec![
        (
            "referee.min_replicas",
            RefereeConfig {
                min_replicas: -1,
                ..RefereeConfig::default()
            },
        ),
        (
            "referee.max_step_up",
            RefereeConfig {
                max_step_up: 0,
                ..RefereeConfig::default()
            },
        ),
        (
            "referee.cooldown_down_s",
            RefereeConfig {
                cooldown_down_s: f64::NAN,
                ..RefereeConfig::default()
            },
        ),
        (
            "referee.max_unavailable_fraction",
            RefereeConfig {
                max_unavailable_fraction: 1.5,
                ..RefereeConfig::default()
            },
        ),
        (
            "referee.priority",
            RefereeConfig {
                priority: vec![PriorityClass::Slo, PriorityClass::Slo],
                ..RefereeConfig::default()
            },
        ),
    ];
    for (field, config) in cases {
        let error = Referee::try_new(config).expect_err(field);
        assert!(
            matches!(&error, CoreError::InvalidConfig { field: found, .. } if found == field),
            "{field}: {error}"
        );
    }
    assert!(RefereeConfig::default().validate().is_ok());
}

#[test]
fn partial_config_keeps_defaults() {
    let config: RefereeConfig =
        serde_json::from_str(r#"{"max_replicas": 40}"#).expect("partial JSON parses");
    assert_eq!(config.max_replicas, 40);
    assert_eq!(config.min_replicas, RefereeConfig::default().min_replicas);
    assert_ne!(config.digest(), RefereeConfig::default().digest());
}

#[test]
fn day_of_counts_tick_ends_in_their_day() {
    use arbiter_core::referee::day_of;
    assert_eq!(day_of(0.0), 0);
    assert_eq!(day_of(15.0), 0);
    assert_eq!(
        day_of(86_400.0),
        0,
        "the last tick of day 0 ends at 86,400 s"
    );
    assert_eq!(day_of(86_415.0), 1);
    assert_eq!(day_of(2.0 * 86_400.0), 1);
}
