//! Property tests of the referee's contract: determinism, order independence, bounds, scope
//! and the actions-per-day budget.
//!
//! Each property runs 2,000 generated cases, each a sequence of up to 8 ticks over up to
//! three workloads with up to 4 proposals each.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;

use arbiter_core::action::{Action, AgentId, ExpectedEffect, PriorityClass, Proposal};
use arbiter_core::controller::ControllerMode;
use arbiter_core::features::FeatureVector;
use arbiter_core::predict::{Prediction, PredictionBasis};
use arbiter_core::referee::{
    Decision, DecisionInput, Referee, RefereeConfig, RefereeState, day_of,
};
use arbiter_core::snapshot::ObservedWorkload;

const CASES: u32 = 2_000;

const NAMES: [&str; 3] = ["api", "batch", "web"];
const NAMESPACES: [&str; 2] = [common::NAMESPACE, "kube-system"];

fn prediction() -> Prediction {
    Prediction {
        cpu_mean_cores: 3.0,
        cpu_upper_cores: 4.0,
        memory_mean_gib: 1.0,
        risk: 0.2,
        basis: PredictionBasis::Statistical,
        cpu_peak_cores: Some(4.0),
    }
}

fn agent() -> impl Strategy<Value = AgentId> {
    prop_oneof![
        Just(AgentId::SloGuard),
        Just(AgentId::Efficiency),
        Just(AgentId::Reliability)
    ]
}

fn priority() -> impl Strategy<Value = PriorityClass> {
    prop_oneof![
        Just(PriorityClass::Risk),
        Just(PriorityClass::Slo),
        Just(PriorityClass::Efficiency)
    ]
}

/// Generates a target key: usually one of the test workloads, sometimes a workload that is
/// not under decision or a namespace outside the scope.
fn target() -> impl Strategy<Value = String> {
    (0..NAMESPACES.len(), 0..NAMES.len() + 1).prop_map(|(namespace, name)| {
        let name = NAMES.get(name).copied().unwrap_or("stranger");
        format!("{}/{name}", NAMESPACES[namespace])
    })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (target(), -5i32..90, -5i32..90)
            .prop_map(|(workload, from, to)| Action::Scale { workload, from, to }),
        1 => target().prop_map(|workload| Action::Hold { workload }),
        1 => target().prop_map(|workload| Action::RolloutRestart { workload }),
        1 => (target(), prop::option::of(-2.0f64..50.0))
            .prop_map(|(workload, cap_cores)| Action::CapLoad { workload, cap_cores }),
        1 => Just(Action::Noop),
    ]
}

fn proposal() -> impl Strategy<Value = Proposal> {
    (agent(), priority(), action(), -10.0f64..10.0, 0u8..4).prop_map(
        |(agent, priority, action, score, reason)| Proposal {
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
            reason: format!("reason {reason}"),
        },
    )
}

fn config() -> impl Strategy<Value = RefereeConfig> {
    (
        (0i32..6, 0i32..60, 1i32..20, 1i32..20),
        (0.0f64..600.0, 0.0f64..3600.0, 0.0f64..3600.0, 0.0f64..=1.0),
        (prop::option::of(0u32..5), any::<bool>(), any::<bool>()),
        Just(vec![
            PriorityClass::Risk,
            PriorityClass::Slo,
            PriorityClass::Efficiency,
        ])
        .prop_shuffle(),
        (0.0f64..3.0, 0.0f64..3.0, 0.0f64..3.0),
    )
        .prop_map(
            |(
                (min, span, step_up, step_down),
                (cooldown_up, cooldown_down, restart_cooldown, unavailable),
                (budget, restrict_namespace, require_label),
                priority,
                (weight_a, weight_b, weight_c),
            )| {
                let mut config = RefereeConfig {
                    min_replicas: min,
                    max_replicas: min + span,
                    max_step_up: step_up,
                    max_step_down: step_down,
                    cooldown_up_s: cooldown_up,
                    cooldown_down_s: cooldown_down,
                    restart_cooldown_s: restart_cooldown,
                    max_unavailable_fraction: unavailable,
                    actions_per_day: budget,
                    priority,
                    allowed_namespaces: if restrict_namespace {
                        vec![common::NAMESPACE.to_owned()]
                    } else {
                        Vec::new()
                    },
                    require_exercise_label: require_label,
                    ..RefereeConfig::default()
                };
                config.weights.slo_guard = weight_a;
                config.weights.efficiency = weight_b;
                config.weights.reliability = weight_c;
                config
            },
        )
}

fn workload() -> impl Strategy<Value = ObservedWorkload> {
    (
        0..NAMESPACES.len(),
        0..NAMES.len(),
        any::<bool>(),
        0i32..70,
        0i32..70,
    )
        .prop_map(|(namespace, name, exercise, spec, ready)| {
            common::observed(
                NAMESPACES[namespace],
                NAMES[name],
                exercise,
                spec,
                ready.min(spec),
            )
        })
}

/// One tick: a time step in seconds, then per workload its observation and its proposals.
type Tick = (f64, Vec<(ObservedWorkload, Vec<Proposal>)>);

fn ticks() -> impl Strategy<Value = Vec<Tick>> {
    prop::collection::vec(
        (
            prop_oneof![0.0f64..120.0, 0.0f64..20_000.0],
            prop::collection::vec((workload(), prop::collection::vec(proposal(), 0..5)), 1..4),
        ),
        1..8,
    )
    .prop_map(|ticks| {
        ticks
            .into_iter()
            .map(|(step, workloads)| {
                // One decision per workload and tick, as the controller makes them.
                let mut seen = BTreeMap::new();
                for (observed, proposals) in workloads {
                    seen.entry(observed.key()).or_insert((observed, proposals));
                }
                (step, seen.into_values().collect())
            })
            .collect()
    })
}

fn decide(
    referee: &Referee,
    state: &mut RefereeState,
    tick: u64,
    time_s: f64,
    observed: &ObservedWorkload,
    proposals: Vec<Proposal>,
) -> Decision {
    let features = FeatureVector::default();
    let prediction = prediction();
    let input = DecisionInput {
        cluster: "experimental",
        tick,
        time_s,
        mode: ControllerMode::Act,
        workload: observed,
        features: &features,
        prediction: &prediction,
    };
    referee.decide(state, input, proposals)
}

/// Runs every tick through one referee and returns the decisions in order.
fn run(config: &RefereeConfig, ticks: &[Tick]) -> Vec<Decision> {
    let referee = Referee::new(config.clone());
    let mut state = RefereeState::default();
    let mut time_s = 0.0;
    let mut decisions = Vec::new();
    for (tick, (step, workloads)) in ticks.iter().enumerate() {
        time_s += step;
        for (observed, proposals) in workloads {
            decisions.push(decide(
                &referee,
                &mut state,
                tick as u64,
                time_s,
                observed,
                proposals.clone(),
            ));
        }
    }
    decisions
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn same_input_same_decision(config in config(), ticks in ticks()) {
        let first = run(&config, &ticks);
        let second = run(&config, &ticks);
        prop_assert_eq!(first, second);
    }

    #[test]
    fn proposal_order_changes_nothing(
        config in config(),
        ticks in ticks(),
        seed in any::<u64>(),
    ) {
        let expected = run(&config, &ticks);
        // Reverse and rotate every proposal list by a seed-dependent amount.
        let permuted: Vec<Tick> = ticks
            .iter()
            .map(|(step, workloads)| {
                let workloads = workloads
                    .iter()
                    .map(|(observed, proposals)| {
                        let mut proposals = proposals.clone();
                        proposals.reverse();
                        if !proposals.is_empty() {
                            let shift = (seed % proposals.len() as u64) as usize;
                            proposals.rotate_left(shift);
                        }
                        (observed.clone(), proposals)
                    })
                    .collect();
                (*step, workloads)
            })
            .collect();
        prop_assert_eq!(run(&config, &permuted), expected);
    }

    #[test]
    fn workload_order_changes_nothing(config in config(), ticks in ticks()) {
        let by_key = |mut decisions: Vec<Decision>| {
            decisions.sort_by(|a, b| a.tick.cmp(&b.tick).then_with(|| a.workload.cmp(&b.workload)));
            decisions
        };
        let expected = by_key(run(&config, &ticks));
        let reversed: Vec<Tick> = ticks
            .iter()
            .map(|(step, workloads)| (*step, workloads.iter().rev().cloned().collect()))
            .collect();
        prop_assert_eq!(by_key(run(&config, &reversed)), expected);
    }

    #[test]
    fn decisions_stay_in_bounds_and_scope(config in config(), ticks in ticks()) {
        for decision in run(&config, &ticks) {
            let observed = &decision.observed;
            if let Some(target) = decision.action.workload() {
                prop_assert_eq!(target, decision.workload.as_str());
                if !config.allowed_namespaces.is_empty() {
                    prop_assert!(config.allowed_namespaces.contains(&observed.namespace));
                }
                if config.require_exercise_label {
                    prop_assert!(observed.is_exercise());
                }
            }
            if let Action::Scale { from, to, .. } = decision.action {
                prop_assert_eq!(from, observed.spec_replicas);
                prop_assert_ne!(from, to);
                prop_assert!(to >= config.min_replicas, "{to} below {}", config.min_replicas);
                prop_assert!(to <= config.max_replicas, "{to} above {}", config.max_replicas);
                let in_range = (config.min_replicas..=config.max_replicas).contains(&from);
                if in_range {
                    prop_assert!(to - from <= config.max_step_up, "step up {from} -> {to}");
                    prop_assert!(from - to <= config.max_step_down, "step down {from} -> {to}");
                }
            }
            if let Action::CapLoad { cap_cores: Some(cap), .. } = decision.action {
                prop_assert!(cap.is_finite() && cap >= 0.0);
            }
        }
    }

    #[test]
    fn actions_per_day_never_exceed_budget(config in config(), ticks in ticks()) {
        let mut counts: BTreeMap<(String, i64), u32> = BTreeMap::new();
        for decision in run(&config, &ticks) {
            let count = counts
                .entry((decision.workload.clone(), day_of(decision.time_s)))
                .or_insert(0);
            if decision.action.is_change() {
                *count += 1;
            }
            prop_assert_eq!(decision.actions_today, *count);
            if let Some(budget) = config.actions_per_day {
                prop_assert!(*count <= budget, "{count} actions, budget {budget}");
            }
        }
    }

    #[test]
    fn every_proposal_is_chosen_or_accounted(config in config(), ticks in ticks()) {
        for decision in run(&config, &ticks) {
            let chosen = usize::from(decision.chosen_agent.is_some());
            prop_assert!(decision.vetoes.len() + chosen <= decision.proposals.len());
            if decision.proposals.is_empty() {
                prop_assert_eq!(&decision.action, &Action::Noop);
            }
            if decision.action == Action::Noop {
                prop_assert!(!decision.reason.is_empty());
                prop_assert_eq!(decision.vetoes.len(), decision.proposals.len());
            }
        }
    }
}
