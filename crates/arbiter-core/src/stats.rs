//! Small statistics used by the comparison: percentiles, means and confidence intervals.

use serde::{Deserialize, Serialize};

/// Returns the `q`-quantile (0 to 1) by linear interpolation between closest ranks, or `None`
/// for an empty slice. NaN values are ignored.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values
        .iter()
        .copied()
        .filter(|value| !value.is_nan())
        .collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let fraction = position - lower as f64;
    Some(sorted[lower] + (sorted[upper] - sorted[lower]) * fraction)
}

/// Mean with a two-sided 95% confidence interval from Student's t distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanInterval {
    /// Sample mean.
    pub mean: f64,
    /// Lower end of the 95% interval, `None` with fewer than two samples.
    pub low: Option<f64>,
    /// Upper end of the 95% interval, `None` with fewer than two samples.
    pub high: Option<f64>,
    /// Number of samples.
    pub n: usize,
}

/// Two-sided 97.5% quantiles of Student's t for 1 to 30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// Computes the mean and its 95% confidence interval; `None` for an empty slice.
pub fn mean_interval(values: &[f64]) -> Option<MeanInterval> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Some(MeanInterval {
            mean,
            low: None,
            high: None,
            n,
        });
    }
    let variance = values
        .iter()
        .map(|value| (value - mean).powi(2))
        .sum::<f64>()
        / (n - 1) as f64;
    let t = T_975.get(n - 2).copied().unwrap_or(1.96);
    let half = t * (variance / n as f64).sqrt();
    Some(MeanInterval {
        mean,
        low: Some(mean - half),
        high: Some(mean + half),
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&values, 0.0), Some(1.0));
        assert_eq!(quantile(&values, 0.5), Some(3.0));
        assert_eq!(quantile(&values, 0.95), Some(4.8));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn interval_uses_student_t() {
        let interval = mean_interval(&[1.0, 2.0, 3.0]).expect("interval");
        assert_eq!(interval.mean, 2.0);
        let half = 4.303 * (1.0f64 / 3.0).sqrt();
        assert!((interval.high.expect("high") - (2.0 + half)).abs() < 1e-12);
        assert_eq!(mean_interval(&[5.0]).expect("one").low, None);
    }
}
