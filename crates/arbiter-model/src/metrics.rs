//! Forecast and classifier metrics. Every function returns `None` for empty input (and for
//! inputs of different lengths), never NaN.

use serde::{Deserialize, Serialize};

fn paired<'a>(actual: &'a [f64], predicted: &'a [f64]) -> Option<(&'a [f64], &'a [f64])> {
    (!actual.is_empty() && actual.len() == predicted.len()).then_some((actual, predicted))
}

/// Returns the mean absolute error.
pub fn mean_absolute_error(actual: &[f64], predicted: &[f64]) -> Option<f64> {
    let (actual, predicted) = paired(actual, predicted)?;
    let sum: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).abs())
        .sum();
    Some(sum / actual.len() as f64)
}

/// Returns the weighted mean absolute percentage error: the sum of absolute errors over the
/// sum of absolute actual values, as a fraction (0.1 is 10%). `None` when every actual value
/// is 0.
pub fn weighted_mape(actual: &[f64], predicted: &[f64]) -> Option<f64> {
    let (actual, predicted) = paired(actual, predicted)?;
    let errors: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).abs())
        .sum();
    let total: f64 = actual.iter().map(|a| a.abs()).sum();
    (total > 0.0).then(|| errors / total)
}

/// Returns the mean pinball (quantile) loss at level `quantile`: `q * (a - p)` when the
/// actual value `a` is above the prediction `p`, else `(1 - q) * (p - a)`.
pub fn pinball_loss(actual: &[f64], predicted: &[f64], quantile: f64) -> Option<f64> {
    let (actual, predicted) = paired(actual, predicted)?;
    let sum: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| {
            let diff = a - p;
            if diff >= 0.0 {
                quantile * diff
            } else {
                (quantile - 1.0) * diff
            }
        })
        .sum();
    Some(sum / actual.len() as f64)
}

/// Returns the share of actual values at or below the upper prediction.
pub fn coverage(actual: &[f64], upper: &[f64]) -> Option<f64> {
    let (actual, upper) = paired(actual, upper)?;
    let covered = actual.iter().zip(upper).filter(|(a, u)| a <= u).count();
    Some(covered as f64 / actual.len() as f64)
}

/// Returns the area under the ROC curve: the probability that a random positive scores above
/// a random negative, with ties counted as one half. `None` without both classes.
pub fn auroc(labels: &[bool], scores: &[f64]) -> Option<f64> {
    if labels.len() != scores.len() {
        return None;
    }
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = labels.iter().filter(|label| **label).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Sum the average ranks of the positives (Mann-Whitney U), ties sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < pairs.len() {
        let mut end = start;
        while end < pairs.len() && pairs[end].0 == pairs[start].0 {
            end += 1;
        }
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = pairs[start..end].iter().filter(|pair| pair.1).count();
        rank_sum += mean_rank * tied_positives as f64;
        start = end;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// Returns the Brier score, the mean squared difference between probability and outcome.
pub fn brier_score(labels: &[bool], probabilities: &[f64]) -> Option<f64> {
    if labels.is_empty() || labels.len() != probabilities.len() {
        return None;
    }
    let sum: f64 = labels
        .iter()
        .zip(probabilities)
        .map(|(label, p)| (p - f64::from(u8::from(*label))).powi(2))
        .sum();
    Some(sum / labels.len() as f64)
}

/// Returns the share of rows whose probability falls on the side of `threshold` of its label
/// (a probability at or above the threshold predicts a positive).
pub fn accuracy(labels: &[bool], probabilities: &[f64], threshold: f64) -> Option<f64> {
    if labels.is_empty() || labels.len() != probabilities.len() {
        return None;
    }
    let correct = labels
        .iter()
        .zip(probabilities)
        .filter(|(label, p)| (**p >= threshold) == **label)
        .count();
    Some(correct as f64 / labels.len() as f64)
}

/// One bin of a reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower bound of the predicted probability, inclusive.
    pub lower: f64,
    /// Upper bound of the predicted probability, exclusive except for the last bin.
    pub upper: f64,
    /// Rows in the bin.
    pub rows: usize,
    /// Mean predicted probability of the rows, `None` for an empty bin.
    pub mean_predicted: Option<f64>,
    /// Share of positive rows, `None` for an empty bin.
    pub observed_rate: Option<f64>,
}

/// Returns a reliability table of `bins` equal-width bins over [0, 1].
pub fn reliability_table(
    labels: &[bool],
    probabilities: &[f64],
    bins: usize,
) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
    for (label, p) in labels.iter().zip(probabilities) {
        let p = p.clamp(0.0, 1.0);
        let bin = ((p * bins as f64) as usize).min(bins - 1);
        sums[bin].0 += 1;
        sums[bin].1 += p;
        sums[bin].2 += usize::from(*label);
    }
    sums.iter()
        .enumerate()
        .map(|(bin, (rows, p_sum, positives))| ReliabilityBin {
            lower: bin as f64 / bins as f64,
            upper: (bin + 1) as f64 / bins as f64,
            rows: *rows,
            mean_predicted: (*rows > 0).then(|| p_sum / *rows as f64),
            observed_rate: (*rows > 0).then(|| *positives as f64 / *rows as f64),
        })
        .collect()
}
