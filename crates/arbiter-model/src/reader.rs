//! Reading an [`XgboostModel`] from an XGBoost JSON document.
//!
//! The reader takes `learner` as XGBoost 1.x, 2.x and 3.x write it. `base_score` is in the
//! objective's output space, which is a probability for `binary:logistic`. XGBoost 2.x writes
//! it as one number (`"5E-1"`) and 3.x as a bracketed list with one entry per output
//! (`"[5E-1]"`).

use std::collections::BTreeSet;

use serde_json::value::RawValue;

use crate::error::ModelError;
use crate::json::{self, Object};
use crate::model::{Objective, XgboostModel};
use crate::tree::Tree;

/// Feature types of numeric features: XGBoost's `float` and `int`, and the `i` (indicator) and
/// `q` (quantitative) of its feature map format.
const NUMERIC_FEATURE_TYPES: [&str; 4] = ["float", "int", "i", "q"];

pub(crate) fn read_slice(bytes: &[u8]) -> Result<XgboostModel, ModelError> {
    if looks_like_ubjson(bytes) {
        return Err(ModelError::Ubjson);
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = line_and_column(bytes, error.valid_up_to());
        ModelError::Json {
            line,
            column,
            message: "the bytes are not UTF-8 text".to_owned(),
        }
    })?;
    read_str(text)
}

pub(crate) fn read_str(text: &str) -> Result<XgboostModel, ModelError> {
    let root = parse_json(text)?;
    let top: Object<'_> =
        serde_json::from_str(root.get()).map_err(|_| ModelError::NotXgboostModel {
            found: describe_non_object(root),
        })?;
    let Some(learner_raw) = top.get("learner").copied() else {
        let fields: Vec<&str> = top.keys().map(String::as_str).collect();
        return Err(ModelError::NotXgboostModel {
            found: format!("an object with fields: {}", fields.join(", ")),
        });
    };
    let xgboost_version = match top.get("version") {
        Some(raw) => Some(read_version(raw)?),
        None => None,
    };
    let learner = json::object(learner_raw, "learner")?;
    read_learner(&learner, xgboost_version)
}

/// Checks the JSON syntax of the whole document.
fn parse_json(text: &str) -> Result<&RawValue, ModelError> {
    serde_json::from_str(text).map_err(|error| {
        let (line, column) = (error.line(), error.column());
        // serde_json ends its message with the position, which the error shows already.
        let message = error.to_string();
        let position = format!(" at line {line} column {column}");
        ModelError::Json {
            line,
            column,
            message: message
                .strip_suffix(&position)
                .unwrap_or(&message)
                .to_owned(),
        }
    })
}

fn read_learner(
    learner: &Object<'_>,
    xgboost_version: Option<[u64; 3]>,
) -> Result<XgboostModel, ModelError> {
    let booster_path = "learner.gradient_booster";
    let booster = json::object(
        json::field(learner, "learner", "gradient_booster")?,
        booster_path,
    )?;
    let booster_name_path = json::join(booster_path, "name");
    let booster_name = json::string(
        json::field(&booster, booster_path, "name")?,
        &booster_name_path,
    )?;
    if booster_name != "gbtree" {
        return Err(ModelError::UnsupportedBooster {
            value: booster_name,
        });
    }

    let objective = read_objective(learner)?;
    let param_path = "learner.learner_model_param";
    let param = json::object(
        json::field(learner, "learner", "learner_model_param")?,
        param_path,
    )?;
    let num_feature = read_num_feature(&param, param_path)?;
    let num_outputs = read_num_outputs(&param, param_path, &objective)?;
    let base_margins = read_base_margins(&param, param_path, &objective, num_outputs)?;
    let (feature_names, has_feature_names) = read_feature_names(learner, num_feature)?;
    let feature_types = read_feature_types(learner, num_feature)?;

    let model_path = json::join(booster_path, "model");
    let model = json::object(json::field(&booster, booster_path, "model")?, &model_path)?;
    let trees_path = json::join(&model_path, "trees");
    let tree_values = json::array(json::field(&model, &model_path, "trees")?, &trees_path)?;
    let trees = tree_values
        .iter()
        .enumerate()
        .map(|(index, raw)| Tree::from_json(raw, index, num_feature))
        .collect::<Result<Vec<_>, _>>()?;
    check_num_trees(&model, &model_path, trees.len())?;
    let tree_outputs = read_tree_outputs(&model, &model_path, trees.len(), num_outputs)?;

    Ok(XgboostModel {
        objective,
        feature_names,
        has_feature_names,
        feature_types,
        base_margins,
        trees,
        tree_outputs,
        xgboost_version,
    })
}

fn read_num_feature(param: &Object<'_>, param_path: &str) -> Result<usize, ModelError> {
    let field = json::join(param_path, "num_feature");
    let num_feature = json::count(json::field(param, param_path, "num_feature")?, &field)?;
    if num_feature == 0 {
        return Err(ModelError::InvalidField {
            field,
            value: "0".to_owned(),
            reason: "a model needs at least one feature".to_owned(),
        });
    }
    Ok(num_feature)
}

/// Recognizes XGBoost's UBJSON: an object whose first key starts with a UBJSON length marker
/// (`i`, `U`, `I`, `l` or `L`) or a container marker (`$`, `#`) where JSON text has a quote,
/// white space or `}`.
fn looks_like_ubjson(bytes: &[u8]) -> bool {
    matches!(bytes, [b'{', second, ..] if b"iUIlL$#".contains(second))
}

fn line_and_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&byte| byte == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |newline| newline + 1);
    (line, offset - line_start + 1)
}

fn describe_non_object(root: &RawValue) -> String {
    let kind = match root.get().trim_start().chars().next() {
        Some('[') => "an array",
        Some('"') => "a string",
        Some('t' | 'f') => "a boolean",
        Some('n') => "null",
        _ => "a number",
    };
    format!("{kind} ({})", json::quote(root))
}

fn read_version(raw: &RawValue) -> Result<[u64; 3], ModelError> {
    let parts = json::integers(raw, "version")?;
    match parts.as_slice() {
        &[major, minor, patch] if major >= 0 && minor >= 0 && patch >= 0 => {
            Ok([major as u64, minor as u64, patch as u64])
        }
        _ => Err(ModelError::InvalidField {
            field: "version".to_owned(),
            value: json::quote(raw),
            reason: "expected [major, minor, patch]".to_owned(),
        }),
    }
}

fn read_objective(learner: &Object<'_>) -> Result<Objective, ModelError> {
    let path = "learner.objective";
    let objective = json::object(json::field(learner, "learner", "objective")?, path)?;
    let name = json::string(
        json::field(&objective, path, "name")?,
        &json::join(path, "name"),
    )?;
    match name.as_str() {
        "reg:squarederror" => Ok(Objective::SquaredError),
        "binary:logistic" => Ok(Objective::BinaryLogistic),
        "reg:quantileerror" => {
            let loss_path = json::join(path, "quantile_loss_param");
            let loss = json::object(
                json::field(&objective, path, "quantile_loss_param")?,
                &loss_path,
            )?;
            let alpha_path = json::join(&loss_path, "quantile_alpha");
            let alpha_raw = json::field(&loss, &loss_path, "quantile_alpha")?;
            let alphas = parse_float_list(&json::string(alpha_raw, &alpha_path)?)
                .filter(|alphas| alphas.iter().all(|alpha| (0.0..=1.0).contains(alpha)))
                .ok_or_else(|| ModelError::InvalidField {
                    field: alpha_path,
                    value: json::quote(alpha_raw),
                    reason: "expected a number or a bracketed list of numbers, each from 0 to 1"
                        .to_owned(),
                })?;
            Ok(Objective::QuantileError { alphas })
        }
        _ => Err(ModelError::UnsupportedObjective { value: name }),
    }
}

/// Parses `"0.5"`, `"[5E-1]"` or `"[5E-1,9.5E-1]"` straight to `f32`, as XGBoost parses its
/// parameter strings. Returns `None` for anything else, including an empty list.
fn parse_float_list(text: &str) -> Option<Vec<f32>> {
    let text = text.trim();
    let inner = match text.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']')?,
        None => text,
    };
    let values: Vec<f32> = inner
        .split(',')
        .map(|part| {
            part.trim()
                .parse::<f32>()
                .ok()
                .filter(|value| value.is_finite())
        })
        .collect::<Option<_>>()?;
    (!values.is_empty()).then_some(values)
}

/// Reads the number of outputs per row: `num_target`, which must match the objective (one
/// per quantile level, else 1). `num_class` must be 0 or 1 because multiclass objectives are
/// not supported.
fn read_num_outputs(
    param: &Object<'_>,
    param_path: &str,
    objective: &Objective,
) -> Result<usize, ModelError> {
    if let Some(raw) = param.get("num_class") {
        let field = json::join(param_path, "num_class");
        let num_class = json::count(raw, &field)?;
        if num_class > 1 {
            return Err(ModelError::InvalidField {
                field,
                value: num_class.to_string(),
                reason: "multiclass models are not supported".to_owned(),
            });
        }
    }
    // XGBoost before 2.0 wrote no num_target, and then there is one output.
    let num_target = match param.get("num_target") {
        Some(raw) => json::count(raw, &json::join(param_path, "num_target"))?,
        None => 1,
    };
    let expected = match objective {
        Objective::QuantileError { alphas } => alphas.len(),
        Objective::SquaredError | Objective::BinaryLogistic => 1,
    };
    if num_target != expected {
        return Err(ModelError::InvalidField {
            field: json::join(param_path, "num_target"),
            value: num_target.to_string(),
            reason: format!(
                "objective {} with these parameters has {expected} output(s); \
                 multi-target models are supported only as quantile levels",
                objective.name()
            ),
        });
    }
    Ok(num_target)
}

fn read_base_margins(
    param: &Object<'_>,
    param_path: &str,
    objective: &Objective,
    num_outputs: usize,
) -> Result<Vec<f32>, ModelError> {
    let field = json::join(param_path, "base_score");
    let raw = json::field(param, param_path, "base_score")?;
    let invalid = |reason: String| ModelError::InvalidField {
        field: field.clone(),
        value: json::quote(raw),
        reason,
    };
    let text = json::string(raw, &field)?;
    let scores = parse_float_list(&text)
        .ok_or_else(|| invalid("expected a number or a bracketed list of numbers".to_owned()))?;
    let scores = match scores.len() {
        1 => vec![scores[0]; num_outputs],
        len if len == num_outputs => scores,
        len => {
            return Err(invalid(format!(
                "expected 1 or {num_outputs} (num_target) values, found {len}"
            )));
        }
    };
    match objective {
        Objective::BinaryLogistic => scores
            .into_iter()
            .map(|probability| {
                if probability > 0.0 && probability < 1.0 {
                    // The logit in f32, as XGBoost converts base_score to a margin (the fixtures
                    // of XGBoost 2.1.4 and 3.2.0 match it exactly).
                    Ok(-(1.0f32 / probability - 1.0f32).ln())
                } else {
                    Err(invalid(
                        "binary:logistic needs a base_score strictly between 0 and 1".to_owned(),
                    ))
                }
            })
            .collect(),
        Objective::SquaredError | Objective::QuantileError { .. } => Ok(scores),
    }
}

fn read_feature_names(
    learner: &Object<'_>,
    num_feature: usize,
) -> Result<(Vec<String>, bool), ModelError> {
    let field = "learner.feature_names";
    let names = match learner.get("feature_names") {
        Some(raw) => json::strings(raw, field)?,
        None => Vec::new(),
    };
    if names.is_empty() {
        let defaults = (0..num_feature).map(|index| format!("f{index}")).collect();
        return Ok((defaults, false));
    }
    check_feature_count(field, names.len(), num_feature)?;
    let mut seen = BTreeSet::new();
    for name in &names {
        if !seen.insert(name.as_str()) {
            return Err(ModelError::InvalidField {
                field: field.to_owned(),
                value: format!("{name:?}"),
                reason: "feature names must be unique".to_owned(),
            });
        }
    }
    Ok((names, true))
}

fn read_feature_types(learner: &Object<'_>, num_feature: usize) -> Result<Vec<String>, ModelError> {
    let field = "learner.feature_types";
    let types = match learner.get("feature_types") {
        Some(raw) => json::strings(raw, field)?,
        None => Vec::new(),
    };
    if types.is_empty() {
        return Ok(vec!["float".to_owned(); num_feature]);
    }
    check_feature_count(field, types.len(), num_feature)?;
    for (index, feature_type) in types.iter().enumerate() {
        if !NUMERIC_FEATURE_TYPES.contains(&feature_type.as_str()) {
            let reason = if feature_type == "c" {
                "categorical features are not supported; train with numeric features only"
                    .to_owned()
            } else {
                format!(
                    "unknown feature type; expected one of {}",
                    NUMERIC_FEATURE_TYPES.join(", ")
                )
            };
            return Err(ModelError::InvalidField {
                field: format!("{field}[{index}]"),
                value: format!("{feature_type:?}"),
                reason,
            });
        }
    }
    Ok(types)
}

fn check_feature_count(field: &str, found: usize, num_feature: usize) -> Result<(), ModelError> {
    if found == num_feature {
        return Ok(());
    }
    Err(ModelError::InvalidField {
        field: field.to_owned(),
        value: format!("a list of {found} entries"),
        reason: format!(
            "expected one entry per feature, {num_feature} (learner_model_param.num_feature)"
        ),
    })
}

fn check_num_trees(
    model: &Object<'_>,
    model_path: &str,
    num_trees: usize,
) -> Result<(), ModelError> {
    let param_path = json::join(model_path, "gbtree_model_param");
    let Some(raw) = model.get("gbtree_model_param") else {
        return Ok(());
    };
    let param = json::object(raw, &param_path)?;
    let Some(raw_count) = param.get("num_trees") else {
        return Ok(());
    };
    let field = json::join(&param_path, "num_trees");
    let declared = json::count(raw_count, &field)?;
    if declared == num_trees {
        return Ok(());
    }
    Err(ModelError::InvalidField {
        field,
        value: declared.to_string(),
        reason: format!("the model has {num_trees} trees"),
    })
}

/// Reads `tree_info`, the output each tree adds to.
fn read_tree_outputs(
    model: &Object<'_>,
    model_path: &str,
    num_trees: usize,
    num_outputs: usize,
) -> Result<Vec<usize>, ModelError> {
    let field = json::join(model_path, "tree_info");
    let outputs = json::integers(json::field(model, model_path, "tree_info")?, &field)?;
    if outputs.len() != num_trees {
        return Err(ModelError::InvalidField {
            field,
            value: format!("a list of {} entries", outputs.len()),
            reason: format!("expected one entry per tree, {num_trees}"),
        });
    }
    outputs
        .iter()
        .enumerate()
        .map(|(tree, &output)| match usize::try_from(output) {
            Ok(index) if index < num_outputs => Ok(index),
            _ => Err(ModelError::InvalidField {
                field: format!("{field}[{tree}]"),
                value: output.to_string(),
                reason: format!("the model has {num_outputs} output(s)"),
            }),
        })
        .collect()
}
