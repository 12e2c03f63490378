//! CSV prediction input: header matching by name, headerless input in model order, and the
//! errors for rows and headers that do not fit the model.

mod common;

use arbiter_model::{ModelError, XgboostModel, predict_csv};
use common::{TOLERANCE, fixture, max_abs_diff, read_expected, read_fixture};

const FOLDER: &str = "xgboost-3.2.0/quantile_p50_p95";

fn model() -> XgboostModel {
    XgboostModel::load(fixture(&format!("{FOLDER}/model.json"))).unwrap()
}

/// Splits the fixture's input into header names and rows of fields.
fn input_table() -> (Vec<String>, Vec<Vec<String>>) {
    let text = read_fixture(&format!("{FOLDER}/input.csv"));
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn to_csv(header: Option<&[String]>, rows: &[Vec<String>]) -> String {
    let mut text = String::new();
    if let Some(header) = header {
        text.push_str(&header.join(","));
        text.push('\n');
    }
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

#[test]
fn reordered_header_with_extra_column_matches_xgboost() {
    let (header, rows) = input_table();
    // Reverse the columns and put an unused workload column first.
    let mut new_header = vec!["workload".to_owned()];
    new_header.extend(header.iter().rev().cloned());
    let new_rows: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            let mut fields = vec![format!("deployment-{index}")];
            fields.extend(row.iter().rev().cloned());
            fields
        })
        .collect();
    let csv = to_csv(Some(&new_header), &new_rows);

    let predictions = predict_csv(&model(), csv.as_bytes()).unwrap();
    let expected = read_expected(&format!("{FOLDER}/expected.csv"));
    assert!(max_abs_diff(&predictions, &expected) <= TOLERANCE);
}

#[test]
fn headerless_input_matches_xgboost() {
    let (_, rows) = input_table();
    let csv = to_csv(None, &rows);
    let predictions = predict_csv(&model(), csv.as_bytes()).unwrap();
    let expected = read_expected(&format!("{FOLDER}/expected.csv"));
    assert!(max_abs_diff(&predictions, &expected) <= TOLERANCE);
}

#[test]
fn nan_text_equals_empty_field() {
    let csv_empty = "cpu_mean_cores,cpu_p95_cores,memory_gib,replicas,hour_of_day,requests_per_s\n\
                     0.4,,2.5,3,,80\n";
    let csv_nan = "cpu_mean_cores,cpu_p95_cores,memory_gib,replicas,hour_of_day,requests_per_s\n\
                   0.4,NaN,2.5,3,nan,80\n";
    let model = model();
    let from_empty = predict_csv(&model, csv_empty.as_bytes()).unwrap();
    let from_nan = predict_csv(&model, csv_nan.as_bytes()).unwrap();
    assert_eq!(from_empty, from_nan);
    assert_eq!(from_empty.len(), 1);
    assert_eq!(from_empty[0].len(), 2);
}

#[test]
fn missing_header_feature_is_named() {
    let csv = "cpu_mean_cores,cpu_p95_cores,memory_gib,hour_of_day,requests_per_s\n\
               0.4,0.6,2.5,10,80\n";
    let error = predict_csv(&model(), csv.as_bytes()).unwrap_err();
    match &error {
        ModelError::CsvMissingFeature { feature, .. } => assert_eq!(feature, "replicas"),
        other => panic!("expected CsvMissingFeature, got {other:?}"),
    }
    assert!(error.to_string().contains("replicas"));
}

#[test]
fn duplicate_header_column_is_rejected() {
    let csv =
        "cpu_mean_cores,cpu_p95_cores,memory_gib,replicas,replicas,hour_of_day,requests_per_s\n";
    let error = predict_csv(&model(), csv.as_bytes()).unwrap_err();
    assert!(matches!(&error, ModelError::CsvDuplicateColumn { column } if column == "replicas"));
}

#[test]
fn headerless_wrong_column_count_names_line() {
    let csv = "0.4,0.6,2.5,3,10,80\n0.5,0.7,2.0,3,11,90\n0.5,0.7,2.0,3,11\n";
    let error = predict_csv(&model(), csv.as_bytes()).unwrap_err();
    match &error {
        ModelError::CsvColumnCount {
            line,
            expected,
            found,
            ..
        } => {
            assert_eq!(*line, 3);
            assert_eq!(*expected, 6);
            assert_eq!(*found, 5);
        }
        other => panic!("expected CsvColumnCount, got {other:?}"),
    }
    assert!(error.to_string().contains("cpu_mean_cores, cpu_p95_cores"));
}

#[test]
fn header_row_short_line_is_rejected() {
    let csv = "cpu_mean_cores,cpu_p95_cores,memory_gib,replicas,hour_of_day,requests_per_s\n\
               0.4,0.6,2.5,3,10,80\n\
               0.4,0.6\n";
    let error = predict_csv(&model(), csv.as_bytes()).unwrap_err();
    assert!(matches!(
        error,
        ModelError::CsvColumnCount {
            line: 3,
            expected: 6,
            found: 2,
            ..
        }
    ));
}

#[test]
fn invalid_value_names_line_and_column() {
    let csv = "cpu_mean_cores,cpu_p95_cores,memory_gib,replicas,hour_of_day,requests_per_s\n\
               0.4,0.6,2.5,3,10,80\n\
               0.4,0.6,2.5,three,10,80\n";
    let error = predict_csv(&model(), csv.as_bytes()).unwrap_err();
    match &error {
        ModelError::CsvValue {
            line,
            column,
            feature,
            value,
        } => {
            assert_eq!(*line, 3);
            assert_eq!(*column, 4);
            assert_eq!(feature, "replicas");
            assert_eq!(value, "three");
        }
        other => panic!("expected CsvValue, got {other:?}"),
    }
}

#[test]
fn first_row_typo_is_value_error() {
    let csv = "0.4,0.6,2.5,3,1O,80\n";
    let error = predict_csv(&model(), csv.as_bytes()).unwrap_err();
    assert!(matches!(
        error,
        ModelError::CsvValue {
            line: 1,
            column: 5,
            ..
        }
    ));
}

#[test]
fn infinite_value_is_rejected() {
    let csv = "0.4,0.6,2.5,3,10,inf\n";
    let error = predict_csv(&model(), csv.as_bytes()).unwrap_err();
    assert!(matches!(error, ModelError::CsvValue { column: 6, .. }));
}

#[test]
fn empty_input_predicts_nothing() {
    assert!(predict_csv(&model(), &b""[..]).unwrap().is_empty());
    let header_only =
        "cpu_mean_cores,cpu_p95_cores,memory_gib,replicas,hour_of_day,requests_per_s\n";
    assert!(
        predict_csv(&model(), header_only.as_bytes())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn unnamed_model_uses_default_names() {
    let text = read_fixture(&format!("{FOLDER}/model.json"));
    let names = concat!(
        r#""feature_names":["cpu_mean_cores","cpu_p95_cores","memory_gib","#,
        r#""replicas","hour_of_day","requests_per_s"]"#
    );
    let unnamed = text.replace(names, r#""feature_names":[]"#);
    assert_ne!(unnamed, text, "the fixture's feature_names text changed");
    let model = XgboostModel::from_json_str(&unnamed).unwrap();
    assert!(!model.has_feature_names());
    assert_eq!(model.feature_names()[5], "f5");

    let named = "f5,f4,f3,f2,f1,f0\n80,10,3,2.5,0.6,0.4\n";
    let positional = "0.4,0.6,2.5,3,10,80\n";
    assert_eq!(
        predict_csv(&model, named.as_bytes()).unwrap(),
        predict_csv(&model, positional.as_bytes()).unwrap()
    );
}
