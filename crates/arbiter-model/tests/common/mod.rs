//! Helpers shared by the integration tests: fixture paths and prediction comparison.

#![allow(dead_code)]

use std::path::PathBuf;

/// Largest absolute difference allowed between this crate's and XGBoost's predictions.
pub const TOLERANCE: f64 = 1e-6;

/// Returns the path of a file or folder under `tests/fixtures`.
pub fn fixture(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// Reads a fixture file as text.
pub fn read_fixture(relative: &str) -> String {
    let path = fixture(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Reads `expected.csv`: XGBoost's predictions, one line per row, comma-separated outputs.
pub fn read_expected(relative: &str) -> Vec<Vec<f64>> {
    read_fixture(relative)
        .lines()
        .map(|line| {
            line.split(',')
                .map(|value| value.parse::<f64>().expect("expected.csv contains numbers"))
                .collect()
        })
        .collect()
}

/// Returns the largest absolute difference between two prediction tables of equal shape.
pub fn max_abs_diff(actual: &[Vec<f32>], expected: &[Vec<f64>]) -> f64 {
    assert_eq!(actual.len(), expected.len(), "row count");
    let mut max = 0.0f64;
    for (row, (actual_row, expected_row)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(
            actual_row.len(),
            expected_row.len(),
            "output count of row {row}"
        );
        for (&actual_value, &expected_value) in actual_row.iter().zip(expected_row) {
            max = max.max((f64::from(actual_value) - expected_value).abs());
        }
    }
    max
}
