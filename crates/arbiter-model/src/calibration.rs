//! Isotonic calibration of classifier scores into probabilities.

use serde::{Deserialize, Serialize};

/// A non-decreasing, piecewise-linear map from raw score to probability, fitted by the
/// pool-adjacent-violators algorithm. Scores below the first knot map to the first value and
/// scores above the last knot to the last value, as scikit-learn's `IsotonicRegression` with
/// `out_of_bounds="clip"` does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsotonicCalibration {
    /// Raw scores of the knots, ascending.
    pub scores: Vec<f64>,
    /// Calibrated probability at each knot, non-decreasing.
    pub probabilities: Vec<f64>,
}

impl IsotonicCalibration {
    /// Fits the calibration to raw scores and their labels. With no rows it is the identity.
    pub fn fit(scores: &[f64], labels: &[bool]) -> Self {
        let mut pairs: Vec<(f64, f64)> = scores
            .iter()
            .zip(labels)
            .filter(|(score, _)| score.is_finite())
            .map(|(score, label)| (*score, f64::from(u8::from(*label))))
            .collect();
        if pairs.is_empty() {
            return IsotonicCalibration {
                scores: vec![0.0, 1.0],
                probabilities: vec![0.0, 1.0],
            };
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));

        // Each block: (lowest score, highest score, sum of labels, rows).
        let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::new();
        for (score, label) in pairs {
            match blocks.last_mut() {
                // Rows with equal scores always share a block, so a score maps to one value.
                Some(last) if last.1 == score => {
                    last.2 += label;
                    last.3 += 1.0;
                }
                _ => blocks.push((score, score, label, 1.0)),
            }
            while blocks.len() >= 2 {
                let n = blocks.len();
                let (previous, last) = (blocks[n - 2], blocks[n - 1]);
                if previous.2 / previous.3 <= last.2 / last.3 {
                    break;
                }
                blocks[n - 2] = (previous.0, last.1, previous.2 + last.2, previous.3 + last.3);
                blocks.pop();
            }
        }

        let mut calibration = IsotonicCalibration {
            scores: Vec::new(),
            probabilities: Vec::new(),
        };
        for (low, high, sum, rows) in blocks {
            let value = sum / rows;
            calibration.scores.push(low);
            calibration.probabilities.push(value);
            if high > low {
                calibration.scores.push(high);
                calibration.probabilities.push(value);
            }
        }
        calibration
    }

    /// Maps a raw score to a calibrated probability; NaN maps to the first knot's value.
    pub fn apply(&self, score: f64) -> f64 {
        let (Some(first), Some(last)) = (self.scores.first(), self.scores.last()) else {
            return score.clamp(0.0, 1.0);
        };
        if score.is_nan() || score <= *first {
            return self.probabilities[0];
        }
        if score >= *last {
            return self.probabilities[self.probabilities.len() - 1];
        }
        let upper = self.scores.partition_point(|knot| *knot <= score);
        let lower = upper - 1;
        let (x0, x1) = (self.scores[lower], self.scores[upper]);
        let (y0, y1) = (self.probabilities[lower], self.probabilities[upper]);
        y0 + (y1 - y0) * (score - x0) / (x1 - x0)
    }

    /// Checks that the knots are ascending, the probabilities non-decreasing and in [0, 1],
    /// and that both lists have the same, non-zero length. Returns the problem found.
    pub fn check(&self) -> Result<(), String> {
        if self.scores.is_empty() || self.scores.len() != self.probabilities.len() {
            return Err(format!(
                "{} scores and {} probabilities, expected the same non-zero number",
                self.scores.len(),
                self.probabilities.len()
            ));
        }
        if self.scores.iter().any(|score| score.is_nan()) {
            return Err("a score is NaN".to_owned());
        }
        if self.scores.windows(2).any(|pair| pair[0] > pair[1]) {
            return Err("scores are not ascending".to_owned());
        }
        if self
            .probabilities
            .windows(2)
            .any(|pair| pair[0].is_nan() || pair[0] > pair[1])
        {
            return Err("probabilities are not non-decreasing".to_owned());
        }
        if self.probabilities.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Err("a probability is outside [0, 1]".to_owned());
        }
        Ok(())
    }
}
