//! Normalization of the metric proposal: stabilization, rate limits and the scale-event store
//! (horizontal.go).

use super::config::HpaConfig;
use super::spec::{EffectiveScalingRules, ScalingPolicyType, SelectPolicy};

/// A desired replica count computed from metrics before normalization, with its time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recommendation {
    /// The proposed replica count.
    pub replicas: i32,
    /// When it was computed, in seconds.
    pub timestamp_s: f64,
}

/// A past rescale in one direction, used by the rate limits of `behavior`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleEvent {
    /// Absolute change of the replica count.
    pub change: i32,
    /// When the scale was written, in seconds.
    pub timestamp_s: f64,
    /// Whether the event is older than the direction's longest policy period and may be reused.
    pub outdated: bool,
}

/// A normalized replica count with the ScalingLimited reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleLimit {
    /// The replica count after the limit.
    pub replicas: i32,
    /// `DesiredWithinRange`, `TooFewReplicas`, `TooManyReplicas`, `ScaleUpLimit` or `ScaleDownLimit`.
    pub reason: &'static str,
    /// The condition message.
    pub message: &'static str,
}

const WITHIN_RANGE: ScaleLimitText = (
    "DesiredWithinRange",
    "the desired count is within the acceptable range",
);
const TOO_FEW: ScaleLimitText = (
    "TooFewReplicas",
    "the desired replica count is less than the minimum replica count",
);
const TOO_MANY: ScaleLimitText = (
    "TooManyReplicas",
    "the desired replica count is more than the maximum replica count",
);
const SCALE_UP_LIMIT: ScaleLimitText = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
);
const SCALE_DOWN_LIMIT: ScaleLimitText = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
);

type ScaleLimitText = (&'static str, &'static str);

fn limit(replicas: i32, text: ScaleLimitText) -> ScaleLimit {
    ScaleLimit {
        replicas,
        reason: text.0,
        message: text.1,
    }
}

/// Returns the maximum of `desired` and every recommendation no older than `window_s`, then
/// stores `desired`, reusing the slot of the last recommendation older than the window
/// (`stabilizeRecommendation`, horizontal.go). The window bound is inclusive.
///
/// NOTE: with reconciles exactly 15 s apart, a recommendation from 20 reconciles earlier is
/// exactly 300 s old and still counts. In a real cluster reconciles are a little more than 15 s
/// apart, so it would have left the window. A sync period of 15.001 s reproduces that.
pub fn stabilize_recommendation(
    history: &mut Vec<Recommendation>,
    desired: i32,
    now_s: f64,
    window_s: f64,
) -> i32 {
    let cutoff = now_s - window_s;
    let mut stabilized = desired;
    let mut old_index = None;
    for (index, recommendation) in history.iter().enumerate() {
        if recommendation.timestamp_s < cutoff {
            old_index = Some(index);
        } else if recommendation.replicas > stabilized {
            stabilized = recommendation.replicas;
        }
    }
    store_recommendation(history, old_index, desired, now_s);
    stabilized
}

fn store_recommendation(
    history: &mut Vec<Recommendation>,
    old_index: Option<usize>,
    replicas: i32,
    now_s: f64,
) {
    let recommendation = Recommendation {
        replicas,
        timestamp_s: now_s,
    };
    match old_index {
        Some(index) => history[index] = recommendation,
        None => history.push(recommendation),
    }
}

/// Clamps to `[min, max(factor × current, minimum)]` or to `max_replicas` when that is lower
/// (`convertDesiredReplicasWithRules` and `calculateScaleUpLimit`, horizontal.go). This is the
/// path without `behavior`.
pub fn convert_desired_replicas_with_rules(
    current: i32,
    desired: i32,
    min_replicas: i32,
    max_replicas: i32,
    config: &HpaConfig,
) -> ScaleLimit {
    let scale_up_limit = (config.legacy_scale_up_limit_factor * f64::from(current))
        .max(config.legacy_scale_up_limit_minimum) as i32;
    let (maximum, max_text) = if max_replicas > scale_up_limit {
        (scale_up_limit, SCALE_UP_LIMIT)
    } else {
        (max_replicas, TOO_MANY)
    };
    if desired < min_replicas {
        limit(min_replicas, TOO_FEW)
    } else if desired > maximum {
        limit(maximum, max_text)
    } else {
        limit(desired, WITHIN_RANGE)
    }
}

/// Stabilizes with `behavior` (`stabilizeRecommendationWithBehaviors`, horizontal.go).
///
/// The result is `current` raised to the minimum of the recommendations within the scale-up
/// window, then lowered to the maximum of those within the scale-down window. Both windows
/// include `desired` and have strict bounds. Then `desired` is stored, reusing the slot of the last
/// recommendation older than both windows. Returns the result and the AbleToScale reason to use
/// when it differs from `desired`.
pub fn stabilize_recommendation_with_behaviors(
    history: &mut Vec<Recommendation>,
    current: i32,
    desired: i32,
    now_s: f64,
    scale_up_window_s: f64,
    scale_down_window_s: f64,
) -> (i32, &'static str) {
    let up_cutoff = now_s - scale_up_window_s;
    let down_cutoff = now_s - scale_down_window_s;
    let mut up_recommendation = desired;
    let mut down_recommendation = desired;
    let mut old_index = None;
    for (index, recommendation) in history.iter().enumerate() {
        if recommendation.timestamp_s > up_cutoff {
            up_recommendation = up_recommendation.min(recommendation.replicas);
        }
        if recommendation.timestamp_s > down_cutoff {
            down_recommendation = down_recommendation.max(recommendation.replicas);
        }
        if recommendation.timestamp_s < up_cutoff && recommendation.timestamp_s < down_cutoff {
            old_index = Some(index);
        }
    }

    let mut stabilized = current;
    if stabilized < up_recommendation {
        stabilized = up_recommendation;
    }
    if stabilized > down_recommendation {
        stabilized = down_recommendation;
    }
    store_recommendation(history, old_index, desired, now_s);

    let reason = if desired >= current {
        "ScaleUpStabilized"
    } else {
        "ScaleDownStabilized"
    };
    (stabilized, reason)
}

/// Sums the changes of the events newer than `period_s` (strict bound)
/// (`getReplicasChangePerPeriod`, horizontal.go).
pub fn replicas_change_per_period(period_s: i32, events: &[ScaleEvent], now_s: f64) -> i32 {
    let cutoff = now_s - f64::from(period_s);
    events
        .iter()
        .filter(|event| event.timestamp_s > cutoff)
        .fold(0_i32, |sum, event| sum.saturating_add(event.change))
}

/// Returns the replica count at the start of a policy period: current minus recent scale-ups
/// plus recent scale-downs.
fn period_start_replicas(
    current: i32,
    period_s: i32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    now_s: f64,
) -> i32 {
    current
        .saturating_sub(replicas_change_per_period(period_s, up_events, now_s))
        .saturating_add(replicas_change_per_period(period_s, down_events, now_s))
}

/// Returns the highest count a scale-up may reach (`calculateScaleUpLimitWithScalingRules`,
/// horizontal.go).
///
/// Each policy proposes `start + value` (Pods) or `ceil(start × (1 + value/100))` (Percent). The
/// proposals are combined by max for selectPolicy Max and by min for Min. Disabled returns
/// `current`. With no policies the result is i32::MIN, which the caller raises to `current`.
pub fn calculate_scale_up_limit(
    current: i32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    rules: &EffectiveScalingRules,
    now_s: f64,
) -> i32 {
    let (mut result, select): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MAX, i32::min),
        SelectPolicy::Max => (i32::MIN, i32::max),
    };
    for policy in &rules.policies {
        let start = period_start_replicas(current, policy.period_s, up_events, down_events, now_s);
        let proposed = match policy.policy_type {
            ScalingPolicyType::Pods => start.saturating_add(policy.value),
            ScalingPolicyType::Percent => {
                (f64::from(start) * (1.0 + f64::from(policy.value) / 100.0)).ceil() as i32
            }
        };
        result = select(result, proposed);
    }
    result
}

/// Returns the lowest count a scale-down may reach (`calculateScaleDownLimitWithBehaviors`,
/// horizontal.go).
///
/// Each policy proposes `start - value` (Pods) or `trunc(start × (1 - value/100))` (Percent). The
/// proposals are combined by min for selectPolicy Max, because Max means the largest change, and
/// by max for Min. Disabled returns `current`.
pub fn calculate_scale_down_limit(
    current: i32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    rules: &EffectiveScalingRules,
    now_s: f64,
) -> i32 {
    let (mut result, select): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MIN, i32::max),
        SelectPolicy::Max => (i32::MAX, i32::min),
    };
    for policy in &rules.policies {
        let start = period_start_replicas(current, policy.period_s, up_events, down_events, now_s);
        let proposed = match policy.policy_type {
            ScalingPolicyType::Pods => start.saturating_sub(policy.value),
            ScalingPolicyType::Percent => {
                (f64::from(start) * (1.0 - f64::from(policy.value) / 100.0)) as i32
            }
        };
        result = select(result, proposed);
    }
    result
}

/// Applies the `behavior` rate limits and the replica bounds to a stabilized count
/// (`convertDesiredReplicasWithBehaviorRate`, horizontal.go). A limit past `current` in the
/// wrong direction is reset to `current`, so a burst of recent events freezes scaling.
#[allow(clippy::too_many_arguments)]
pub fn convert_desired_replicas_with_behavior_rate(
    current: i32,
    desired: i32,
    min_replicas: i32,
    max_replicas: i32,
    scale_up: &EffectiveScalingRules,
    scale_down: &EffectiveScalingRules,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    now_s: f64,
) -> ScaleLimit {
    if desired > current {
        let scale_up_limit =
            calculate_scale_up_limit(current, up_events, down_events, scale_up, now_s).max(current);
        let (maximum, text) = if max_replicas > scale_up_limit {
            (scale_up_limit, SCALE_UP_LIMIT)
        } else {
            (max_replicas, TOO_MANY)
        };
        if desired > maximum {
            return limit(maximum, text);
        }
    } else if desired < current {
        let scale_down_limit =
            calculate_scale_down_limit(current, up_events, down_events, scale_down, now_s)
                .min(current);
        let (minimum, text) = if min_replicas < scale_down_limit {
            (scale_down_limit, SCALE_DOWN_LIMIT)
        } else {
            (min_replicas, TOO_FEW)
        };
        if desired < minimum {
            return limit(minimum, text);
        }
    }
    limit(desired, WITHIN_RANGE)
}

/// Records a rescale for the rate limits (`storeScaleEvent` and `markScaleEventsOutdated`,
/// horizontal.go): events older than the longest policy period of `rules` (strict) are marked
/// outdated, and the new event replaces the last outdated one or is appended.
pub fn store_scale_event(
    events: &mut Vec<ScaleEvent>,
    rules: &EffectiveScalingRules,
    change: i32,
    now_s: f64,
) {
    let longest_period_s = rules
        .policies
        .iter()
        .map(|policy| policy.period_s)
        .max()
        .unwrap_or(0);
    let cutoff = now_s - f64::from(longest_period_s);
    let mut old_index = None;
    for (index, event) in events.iter_mut().enumerate() {
        if event.timestamp_s < cutoff {
            event.outdated = true;
        }
        if event.outdated {
            old_index = Some(index);
        }
    }
    let event = ScaleEvent {
        change,
        timestamp_s: now_s,
        outdated: false,
    };
    match old_index {
        Some(index) => events[index] = event,
        None => events.push(event),
    }
}
