//! Metrics, calibration and baselines on hand-worked values.

use arbiter_core::series::{PointFlags, QuirkReport, SeriesPoint, UsageUnit, WorkloadSeries};
use arbiter_model::metrics::{
    accuracy, auroc, brier_score, coverage, mean_absolute_error, pinball_loss, reliability_table,
    weighted_mape,
};
use arbiter_model::{BaselineConfig, BaselineForecasts, IsotonicCalibration, WindowedSeries};

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|actual| (actual - expected).abs() < 1e-12)
}

#[test]
fn forecast_metrics_by_hand() {
    let actual = [1.0, 2.0, 4.0];
    let predicted = [2.0, 2.0, 1.0];
    // Errors 1, 0, 3.
    assert!(close(mean_absolute_error(&actual, &predicted), 4.0 / 3.0));
    assert!(close(weighted_mape(&actual, &predicted), 4.0 / 7.0));
    // Under-forecast by 3 costs 0.9 * 3, over-forecast by 1 costs 0.1 * 1.
    assert!(close(
        pinball_loss(&actual, &predicted, 0.9),
        (0.1 + 0.0 + 2.7) / 3.0
    ));
    assert!(close(coverage(&actual, &predicted), 2.0 / 3.0));
}

#[test]
fn forecast_metrics_reject_empty_input() {
    assert_eq!(mean_absolute_error(&[], &[]), None);
    assert_eq!(mean_absolute_error(&[1.0], &[1.0, 2.0]), None);
    assert_eq!(weighted_mape(&[0.0, 0.0], &[1.0, 1.0]), None);
    assert_eq!(coverage(&[], &[]), None);
}

#[test]
fn classifier_metrics_by_hand() {
    let labels = [false, false, true, true];
    let scores = [0.1, 0.4, 0.35, 0.8];
    // Pairs (positive, negative): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4, so 3 of 4.
    assert!(close(auroc(&labels, &scores), 0.75));
    let brier = (0.01 + 0.16 + 0.65f64.powi(2) + 0.04) / 4.0;
    assert!(close(brier_score(&labels, &scores), brier));
    assert!(close(accuracy(&labels, &scores, 0.5), 0.75));
}

#[test]
fn auroc_counts_ties_as_half() {
    assert!(close(auroc(&[false, true], &[0.5, 0.5]), 0.5));
    assert_eq!(auroc(&[true, true], &[0.1, 0.2]), None);
}

#[test]
fn reliability_table_bins() {
    let labels = [false, true, true, false];
    let probabilities = [0.05, 0.15, 0.95, 1.0];
    let table = reliability_table(&labels, &probabilities, 10);
    assert_eq!(table.len(), 10);
    assert_eq!(table[0].rows, 1);
    assert_eq!(table[1].rows, 1);
    assert_eq!(table[9].rows, 2);
    assert!(close(table[9].mean_predicted, 0.975));
    assert!(close(table[9].observed_rate, 0.5));
    assert_eq!(table[5].mean_predicted, None);
}

#[test]
fn isotonic_pools_violators() {
    // Scores 1..5 with labels 0 1 0 1 1: blocks {1}=0, {2,3}=0.5, {4,5}=1.
    let scores = [1.0, 2.0, 3.0, 4.0, 5.0];
    let labels = [false, true, false, true, true];
    let calibration = IsotonicCalibration::fit(&scores, &labels);
    assert_eq!(calibration.scores, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(calibration.probabilities, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
    assert!(calibration.check().is_ok());
    assert_eq!(calibration.apply(0.0), 0.0);
    assert_eq!(calibration.apply(2.5), 0.5);
    assert_eq!(calibration.apply(3.5), 0.75);
    assert_eq!(calibration.apply(9.0), 1.0);
    assert_eq!(calibration.apply(f64::NAN), 0.0);
}

#[test]
fn isotonic_improves_brier_of_skewed_scores() {
    // Scores that are twice the true rate: calibration must bring the Brier score down.
    let mut scores = Vec::new();
    let mut labels = Vec::new();
    for bucket in 0..5 {
        let rate = 0.1 * f64::from(bucket);
        for index in 0..100 {
            scores.push(2.0 * rate);
            labels.push(index < bucket * 10);
        }
    }
    let calibration = IsotonicCalibration::fit(&scores, &labels);
    let calibrated: Vec<f64> = scores.iter().map(|s| calibration.apply(*s)).collect();
    let before = brier_score(&labels, &scores).expect("brier");
    let after = brier_score(&labels, &calibrated).expect("brier");
    assert!(after < before, "{after} vs {before}");
    assert!((calibration.apply(0.8) - 0.4).abs() < 1e-12);
}

#[test]
fn isotonic_check_rejects_bad_knots() {
    let bad = IsotonicCalibration {
        scores: vec![0.0, 1.0],
        probabilities: vec![0.6, 0.4],
    };
    assert!(bad.check().is_err());
    let uneven = IsotonicCalibration {
        scores: vec![0.0],
        probabilities: vec![],
    };
    assert!(uneven.check().is_err());
}

fn series(values: &[f64]) -> WindowedSeries {
    let points = values
        .iter()
        .enumerate()
        .map(|(index, cpu)| SeriesPoint {
            start_s: index as i64 * 300,
            cpu: *cpu,
            memory: 1.0,
            tasks: None,
            flags: PointFlags::default(),
        })
        .collect();
    WindowedSeries::from_series(&WorkloadSeries {
        workload: "w".to_owned(),
        source: "test".to_owned(),
        format: "test".to_owned(),
        window_s: 300,
        unit: UsageUnit::Normalized,
        points,
        quirks: QuirkReport::default(),
    })
}

#[test]
fn baselines_by_hand() {
    let values: Vec<f64> = (0..300).map(f64::from).collect();
    let windows = series(&values);
    let config = BaselineConfig {
        ewma_alpha: 0.5,
        p95_windows: 20,
    };
    let forecasts = BaselineForecasts::compute(&windows, &values, 1, &config);
    assert_eq!(forecasts.persistence[10], 10.0);
    // Seasonal naive for the window at row + 1 is the window 288 before it: row - 287.
    assert_eq!(forecasts.seasonal_naive[287], Some(0.0));
    assert_eq!(forecasts.seasonal_naive[286], None);
    // EWMA with alpha 0.5 over 0, 1, 2: 0, 0.5, 1.25.
    assert_eq!(forecasts.ewma[2], 1.25);
    // Nearest-rank p95 of 0..=19 is the 19th value, 18.
    assert_eq!(forecasts.moving_p95[19], 18.0);
    assert_eq!(forecasts.moving_p95[0], 0.0);
}
