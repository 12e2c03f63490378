//! Models this reader does not support, and damaged files, give errors that name the field
//! and value, never a panic.

mod common;

use arbiter_model::{ModelError, XgboostModel};
use common::{fixture, read_fixture};
use serde_json::{Value, json};

const GOOD_MODEL: &str = "xgboost-3.2.0/squarederror/model.json";

fn load_error(relative: &str) -> ModelError {
    match XgboostModel::load(fixture(relative)) {
        Ok(_) => panic!("{relative} loaded, expected an error"),
        Err(ModelError::File { path, error }) => {
            assert_eq!(path, fixture(relative));
            *error
        }
        Err(other) => panic!("{relative}: expected ModelError::File, got {other:?}"),
    }
}

/// Parses the good model, applies `edit` to it and reads the result.
fn edited_error(edit: impl FnOnce(&mut Value)) -> ModelError {
    let mut document: Value = serde_json::from_str(&read_fixture(GOOD_MODEL)).unwrap();
    edit(&mut document);
    XgboostModel::from_json_str(&document.to_string()).expect_err("edited model loaded")
}

fn first_tree(document: &mut Value) -> &mut Value {
    &mut document["learner"]["gradient_booster"]["model"]["trees"][0]
}

fn assert_invalid(error: &ModelError, expected_field: &str, expected_value: &str) {
    match error {
        ModelError::InvalidField { field, value, .. } => {
            assert_eq!(field, expected_field);
            assert_eq!(value, expected_value);
        }
        other => panic!("expected InvalidField for {expected_field}, got {other:?}"),
    }
}

#[test]
fn gblinear_booster_is_rejected() {
    let error = load_error("unsupported/gblinear.json");
    assert!(matches!(&error, ModelError::UnsupportedBooster { value } if value == "gblinear"));
    assert!(error.to_string().contains("learner.gradient_booster.name"));
}

#[test]
fn dart_booster_is_rejected() {
    let error = load_error("unsupported/dart.json");
    assert!(matches!(&error, ModelError::UnsupportedBooster { value } if value == "dart"));
}

#[test]
fn multiclass_objective_is_rejected() {
    let error = load_error("unsupported/multiclass.json");
    assert!(
        matches!(&error, ModelError::UnsupportedObjective { value } if value == "multi:softprob")
    );
    assert!(error.to_string().contains("learner.objective.name"));
}

#[test]
fn unknown_objective_is_rejected() {
    let error = edited_error(|document| {
        document["learner"]["objective"]["name"] = json!("reg:pseudohubererror");
    });
    match &error {
        ModelError::UnsupportedObjective { value } => assert_eq!(value, "reg:pseudohubererror"),
        other => panic!("expected UnsupportedObjective, got {other:?}"),
    }
}

#[test]
fn multi_output_tree_is_rejected() {
    let error = load_error("unsupported/multi_output_tree.json");
    assert_invalid(
        &error,
        "learner.gradient_booster.model.trees[0].tree_param.size_leaf_vector",
        "2",
    );
    assert!(error.to_string().contains("multi_output_tree"));
}

#[test]
fn categorical_feature_type_is_rejected() {
    let error = load_error("unsupported/categorical.json");
    assert_invalid(&error, "learner.feature_types[4]", "\"c\"");
    assert!(error.to_string().contains("categorical"));
}

#[test]
fn categorical_split_is_rejected() {
    let text = read_fixture("unsupported/categorical.json");
    let mut document: Value = serde_json::from_str(&text).unwrap();
    document["learner"]["feature_types"] = json!(["q", "q", "q", "q", "q", "q"]);
    let error = XgboostModel::from_json_str(&document.to_string()).unwrap_err();
    assert!(matches!(
        error,
        ModelError::CategoricalSplit {
            tree: 0,
            node: 0,
            split_type: 1
        }
    ));
}

#[test]
fn ubjson_is_rejected() {
    let error = load_error("unsupported/model.ubj");
    assert!(matches!(error, ModelError::Ubjson));
    assert!(error.to_string().contains("save_model(\"model.json\")"));
}

#[test]
fn malformed_json_names_line_and_column() {
    let error = XgboostModel::from_json_str("{\n  \"learner\": {\"objective\": }\n}").unwrap_err();
    match error {
        ModelError::Json { line, column, .. } => {
            assert_eq!(line, 2);
            assert_eq!(column, 28);
        }
        other => panic!("expected Json, got {other:?}"),
    }
}

#[test]
fn truncated_model_never_panics() {
    let bytes = read_fixture(GOOD_MODEL).into_bytes();
    for end in (0..bytes.len()).step_by(101) {
        let result = XgboostModel::from_json_slice(&bytes[..end]);
        assert!(result.is_err(), "model cut at byte {end} loaded");
    }
}

#[test]
fn non_utf8_bytes_are_rejected() {
    let error = XgboostModel::from_json_slice(b"{\"learner\": \"\xff\"}").unwrap_err();
    assert!(matches!(
        error,
        ModelError::Json {
            line: 1,
            column: 14,
            ..
        }
    ));
}

#[test]
fn foreign_json_object_is_rejected() {
    let error = XgboostModel::from_json_str(r#"{"apiVersion": "v1", "kind": "Pod"}"#).unwrap_err();
    match &error {
        ModelError::NotXgboostModel { found } => {
            assert_eq!(found, "an object with fields: apiVersion, kind");
        }
        other => panic!("expected NotXgboostModel, got {other:?}"),
    }
}

#[test]
fn foreign_json_array_is_rejected() {
    let error = XgboostModel::from_json_str("[1, 2, 3]").unwrap_err();
    assert!(
        matches!(&error, ModelError::NotXgboostModel { found } if found.starts_with("an array"))
    );
}

#[test]
fn missing_split_conditions_names_path() {
    let error = edited_error(|document| {
        first_tree(document)
            .as_object_mut()
            .unwrap()
            .remove("split_conditions");
    });
    assert!(matches!(
        &error,
        ModelError::MissingField { field }
            if field == "learner.gradient_booster.model.trees[0].split_conditions"
    ));
}

#[test]
fn missing_learner_field_names_path() {
    let error = edited_error(|document| {
        document["learner"]
            .as_object_mut()
            .unwrap()
            .remove("learner_model_param");
    });
    assert!(matches!(
        &error,
        ModelError::MissingField { field } if field == "learner.learner_model_param"
    ));
}

#[test]
fn text_threshold_is_rejected() {
    let error = edited_error(|document| {
        first_tree(document)["split_conditions"][2] = json!("high");
    });
    assert_invalid(
        &error,
        "learner.gradient_booster.model.trees[0].split_conditions[2]",
        "\"high\"",
    );
}

#[test]
fn child_out_of_range_is_rejected() {
    let error = edited_error(|document| {
        first_tree(document)["left_children"][0] = json!(500);
    });
    assert_invalid(
        &error,
        "learner.gradient_booster.model.trees[0].left_children[0]",
        "500",
    );
}

#[test]
fn cycle_in_tree_is_rejected() {
    let error = edited_error(|document| {
        let tree = first_tree(document);
        // Node 1 is a split; point its left child back at the root.
        assert_ne!(tree["left_children"][1], json!(-1));
        tree["left_children"][1] = json!(0);
    });
    match &error {
        ModelError::InvalidField { field, reason, .. } => {
            assert!(field.starts_with("learner.gradient_booster.model.trees[0]"));
            assert!(reason.contains("cycle"), "{reason}");
        }
        other => panic!("expected InvalidField, got {other:?}"),
    }
}

#[test]
fn split_feature_out_of_range_is_rejected() {
    let error = edited_error(|document| {
        first_tree(document)["split_indices"][0] = json!(6);
    });
    assert_invalid(
        &error,
        "learner.gradient_booster.model.trees[0].split_indices[0]",
        "6",
    );
}

#[test]
fn short_array_is_rejected() {
    let error = edited_error(|document| {
        first_tree(document)["default_left"]
            .as_array_mut()
            .unwrap()
            .pop();
    });
    match &error {
        ModelError::InvalidField { field, reason, .. } => {
            assert_eq!(
                field,
                "learner.gradient_booster.model.trees[0].default_left"
            );
            assert!(reason.contains("num_nodes"), "{reason}");
        }
        other => panic!("expected InvalidField, got {other:?}"),
    }
}

#[test]
fn logistic_base_score_of_one_is_rejected() {
    let text = read_fixture("xgboost-3.2.0/logistic/model.json");
    let mut document: Value = serde_json::from_str(&text).unwrap();
    document["learner"]["learner_model_param"]["base_score"] = json!("[1E0]");
    let error = XgboostModel::from_json_str(&document.to_string()).unwrap_err();
    assert_invalid(
        &error,
        "learner.learner_model_param.base_score",
        "\"[1E0]\"",
    );
}

#[test]
fn base_score_count_must_match_outputs() {
    let error = edited_error(|document| {
        document["learner"]["learner_model_param"]["base_score"] = json!("[1E0,2E0]");
    });
    match &error {
        ModelError::InvalidField { field, reason, .. } => {
            assert_eq!(field, "learner.learner_model_param.base_score");
            assert!(reason.contains("found 2"), "{reason}");
        }
        other => panic!("expected InvalidField, got {other:?}"),
    }
}

#[test]
fn tree_output_out_of_range_is_rejected() {
    let error = edited_error(|document| {
        document["learner"]["gradient_booster"]["model"]["tree_info"][3] = json!(1);
    });
    assert_invalid(&error, "learner.gradient_booster.model.tree_info[3]", "1");
}

#[test]
fn duplicate_feature_names_are_rejected() {
    let error = edited_error(|document| {
        document["learner"]["feature_names"][1] = json!("cpu_mean_cores");
    });
    assert_invalid(&error, "learner.feature_names", "\"cpu_mean_cores\"");
}

#[test]
fn missing_file_is_io_error() {
    let path = fixture("no-such-model.json");
    let error = XgboostModel::load(&path).unwrap_err();
    assert!(matches!(&error, ModelError::Io { action: "read", path: p, .. } if *p == path));
}
