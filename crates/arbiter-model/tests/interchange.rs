//! Models saved by Python XGBoost 2.1.4 and 3.2.0 predict here as XGBoost predicted them.
//! The fixtures come from tools/make_xgb_fixtures.py.

mod common;

use std::fs::File;

use arbiter_model::{Objective, XgboostModel, predict_csv};
use common::{TOLERANCE, fixture, max_abs_diff, read_expected};

const VERSIONS: [&str; 2] = ["xgboost-2.1.4", "xgboost-3.2.0"];

/// Predicts `input.csv` of a fixture folder and returns the maximum absolute difference from
/// XGBoost's `expected.csv`.
fn diff_from_xgboost(folder: &str) -> f64 {
    let model = XgboostModel::load(fixture(&format!("{folder}/model.json"))).unwrap();
    let input = File::open(fixture(&format!("{folder}/input.csv"))).unwrap();
    let predictions = predict_csv(&model, input).unwrap();
    let expected = read_expected(&format!("{folder}/expected.csv"));
    let diff = max_abs_diff(&predictions, &expected);
    eprintln!(
        "{folder}: {} rows, max abs diff {diff:e}",
        predictions.len()
    );
    diff
}

#[test]
fn squared_error_matches_xgboost() {
    for version in VERSIONS {
        let diff = diff_from_xgboost(&format!("{version}/squarederror"));
        assert!(diff <= TOLERANCE, "{version}: max abs diff {diff}");
    }
}

#[test]
fn binary_logistic_matches_xgboost() {
    for version in VERSIONS {
        let diff = diff_from_xgboost(&format!("{version}/logistic"));
        assert!(diff <= TOLERANCE, "{version}: max abs diff {diff}");
    }
}

#[test]
fn single_quantile_matches_xgboost() {
    for version in VERSIONS {
        let diff = diff_from_xgboost(&format!("{version}/quantile_p95"));
        assert!(diff <= TOLERANCE, "{version}: max abs diff {diff}");
    }
}

#[test]
fn two_quantiles_match_xgboost() {
    for version in VERSIONS {
        let diff = diff_from_xgboost(&format!("{version}/quantile_p50_p95"));
        assert!(diff <= TOLERANCE, "{version}: max abs diff {diff}");
    }
}

#[test]
fn pruned_exact_trees_match_xgboost() {
    for version in VERSIONS {
        let folder = format!("{version}/squarederror_exact_pruned");
        let text = common::read_fixture(&format!("{folder}/model.json"));
        let document: serde_json::Value = serde_json::from_str(&text).unwrap();
        let trees = document["learner"]["gradient_booster"]["model"]["trees"]
            .as_array()
            .unwrap();
        let deleted: usize = trees
            .iter()
            .map(|tree| {
                let count = tree["tree_param"]["num_deleted"].as_str().unwrap();
                count.parse::<usize>().unwrap()
            })
            .sum();
        assert!(deleted > 0, "{version}: the fixture has no deleted nodes");

        let diff = diff_from_xgboost(&folder);
        assert!(diff <= TOLERANCE, "{version}: max abs diff {diff}");
    }
}

#[test]
fn quantile_model_reads_alphas_and_outputs() {
    for version in VERSIONS {
        let path = fixture(&format!("{version}/quantile_p50_p95/model.json"));
        let model = XgboostModel::load(path).unwrap();
        assert_eq!(
            model.objective(),
            &Objective::QuantileError {
                alphas: vec![0.5, 0.95]
            },
            "{version}"
        );
        assert_eq!(model.num_outputs(), 2, "{version}");
        assert_eq!(model.base_margins().len(), 2, "{version}");
        assert_eq!(model.num_trees(), 20, "{version}");
    }
}

#[test]
fn model_reads_feature_names_and_version() {
    let model = XgboostModel::load(fixture("xgboost-3.2.0/squarederror/model.json")).unwrap();
    let names: Vec<&str> = model.feature_names().iter().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "cpu_mean_cores",
            "cpu_p95_cores",
            "memory_gib",
            "replicas",
            "hour_of_day",
            "requests_per_s"
        ]
    );
    assert!(model.has_feature_names());
    assert_eq!(model.feature_types(), vec!["float".to_owned(); 6]);
    assert_eq!(model.xgboost_version(), Some([3, 2, 0]));
    assert_eq!(model.objective().name(), "reg:squarederror");
}

#[test]
fn logistic_base_score_becomes_logit() {
    // XGBoost 2.1.4 writes base_score 4.1095954E-1 as a bare number, 3.2.0 writes [4.1E-1].
    let cases = [
        ("xgboost-2.1.4", 0.410_959_54f32),
        ("xgboost-3.2.0", 0.41f32),
    ];
    for (version, probability) in cases {
        let path = fixture(&format!("{version}/logistic/model.json"));
        let model = XgboostModel::load(path).unwrap();
        let expected = -(1.0f32 / probability - 1.0).ln();
        assert_eq!(model.base_margins(), [expected], "{version}");
    }
}

#[test]
fn predict_row_matches_predict_csv() {
    let folder = "xgboost-3.2.0/quantile_p50_p95";
    let model = XgboostModel::load(fixture(&format!("{folder}/model.json"))).unwrap();
    let input = File::open(fixture(&format!("{folder}/input.csv"))).unwrap();
    let rows = arbiter_model::read_csv_features(&model, input).unwrap();
    let batch = model.predict(&rows).unwrap();
    for (index, row) in rows.chunks_exact(model.num_features()).enumerate() {
        let single = model.predict_row(row).unwrap();
        assert_eq!(single, batch[index * 2..index * 2 + 2], "row {index}");
    }
}

#[test]
fn margin_of_logistic_is_before_sigmoid() {
    let model = XgboostModel::load(fixture("xgboost-3.2.0/logistic/model.json")).unwrap();
    let row = [0.5, 0.9, 2.0, 3.0, 14.0, f32::NAN];
    let margin = model.predict_margin_row(&row).unwrap()[0];
    let probability = model.predict_row(&row).unwrap()[0];
    let expected = 1.0 / (1.0 + (-f64::from(margin)).exp());
    assert!((f64::from(probability) - expected).abs() < 1e-7);
}

#[test]
fn wrong_row_width_is_rejected() {
    let model = XgboostModel::load(fixture("xgboost-3.2.0/squarederror/model.json")).unwrap();
    let error = model.predict_row(&[1.0; 5]).unwrap_err();
    assert!(matches!(
        error,
        arbiter_model::ModelError::RowWidth {
            expected: 6,
            found: 5
        }
    ));
    let error = model.predict(&[1.0; 13]).unwrap_err();
    assert!(matches!(
        error,
        arbiter_model::ModelError::RowWidth {
            expected: 6,
            found: 13
        }
    ));
    assert!(model.predict(&[]).unwrap().is_empty());
}
