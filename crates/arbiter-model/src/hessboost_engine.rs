//! The [`Engine`] on hessboost 0.4.6, a Rust gradient-boosting library that writes XGBoost
//! JSON.

use std::collections::BTreeMap;

use hessboost::config::{TrainingParams as HessboostParams, TreeMethod};
use hessboost::data::DMatrix;
use hessboost::model::ModelFormat;
use hessboost::objective::{Objective as HessboostObjective, Quantiles, RegLoss};
use serde_json::value::RawValue;

use crate::engine::{Engine, Task, TrainingData, TrainingParams};
use crate::error::ModelError;

/// Engine name and pinned version, as error messages show it.
const ENGINE_NAME: &str = "hessboost 0.4.6";

/// Trains with hessboost's histogram tree method (`tree_method="hist"`).
///
/// NOTE: hessboost writes the XGBoost 3.x format (`version` 3.4.2, bracketed `base_score`).
/// XGBoost 3.2.0 predicts its files exactly, but XGBoost 2.1.4 reads `base_score` as 0.5
/// and so predicts them wrongly.
#[derive(Debug, Clone, Copy, Default)]
pub struct HessboostEngine;

impl Engine for HessboostEngine {
    fn name(&self) -> &'static str {
        ENGINE_NAME
    }

    fn train_xgboost_json(
        &self,
        task: &Task,
        data: &TrainingData<'_>,
        params: &TrainingParams,
    ) -> Result<String, ModelError> {
        data.check_labels(task)?;
        let hessboost_params = build_params(task, params)?;
        let matrix = DMatrix::from_dense(data.features(), data.num_rows(), data.num_features())
            .and_then(|matrix| matrix.with_labels(data.labels()))
            .map_err(engine_error)?;
        let model = hessboost::training::train(&hessboost_params, &matrix, params.rounds)
            .map_err(engine_error)?;
        let bytes = model
            .encode(ModelFormat::XgboostJson)
            .map_err(engine_error)?;
        let json = String::from_utf8(bytes).map_err(|error| ModelError::Engine {
            engine: ENGINE_NAME,
            message: format!("the XGBoost JSON is not UTF-8: {error}"),
        })?;
        set_feature_names(&json, data.feature_names())
    }
}

fn build_params(task: &Task, params: &TrainingParams) -> Result<HessboostParams, ModelError> {
    let objective = match task {
        Task::Regression => HessboostObjective::SquaredError(RegLoss::default()),
        Task::BinaryClassification => HessboostObjective::BinaryLogistic(RegLoss::default()),
        Task::QuantileRegression { alphas } => HessboostObjective::Quantile(
            Quantiles::new(alphas.iter().copied()).map_err(engine_error)?,
        ),
    };
    let mut builder = HessboostParams::builder()
        .objective(objective)
        .tree_method(TreeMethod::Hist)
        .max_depth(params.max_depth)
        .eta(params.learning_rate)
        .max_bin(params.max_bin)
        .lambda(params.lambda)
        .min_child_weight(params.min_child_weight)
        .subsample(params.subsample)
        .seed(params.seed);
    if let Some(threads) = params.threads {
        builder = builder.nthread(threads);
    }
    builder.build().map_err(engine_error)
}

fn engine_error(error: hessboost::error::HessboostError) -> ModelError {
    ModelError::Engine {
        engine: ENGINE_NAME,
        message: error.to_string(),
    }
}

/// Writes the feature names into `learner.feature_names`, which hessboost leaves empty, and
/// `float` into `learner.feature_types`. Every other value keeps its text, so the split
/// thresholds stay the `f32` values hessboost wrote.
fn set_feature_names(json: &str, feature_names: &[String]) -> Result<String, ModelError> {
    let malformed = |error: serde_json::Error| ModelError::Engine {
        engine: ENGINE_NAME,
        message: format!("the XGBoost JSON it wrote is malformed: {error}"),
    };

    let mut top: BTreeMap<String, Box<RawValue>> = serde_json::from_str(json).map_err(malformed)?;
    let Some(learner_raw) = top.get("learner") else {
        return Err(ModelError::Engine {
            engine: ENGINE_NAME,
            message: "the XGBoost JSON it wrote has no learner field".to_owned(),
        });
    };
    let mut learner: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(learner_raw.get()).map_err(malformed)?;

    let feature_types = vec!["float"; feature_names.len()];
    let names_raw = serde_json::value::to_raw_value(feature_names).map_err(malformed)?;
    let types_raw = serde_json::value::to_raw_value(&feature_types).map_err(malformed)?;
    learner.insert("feature_names".to_owned(), names_raw);
    learner.insert("feature_types".to_owned(), types_raw);
    let learner_raw = serde_json::value::to_raw_value(&learner).map_err(malformed)?;
    top.insert("learner".to_owned(), learner_raw);
    serde_json::to_string(&top).map_err(malformed)
}
