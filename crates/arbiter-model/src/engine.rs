//! The training engine interface, so that the tree library can be replaced.
//!
//! An engine trains on a dense `f32` matrix and returns the model as XGBoost JSON. The JSON is
//! the only thing kept: predictions always go through [`XgboostModel`], so a model predicts the
//! same whichever engine trained it.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::ModelError;
use crate::model::XgboostModel;

/// The kind of model to train.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// Mean regression with squared error (`reg:squarederror`).
    Regression,
    /// Quantile regression with the pinball loss (`reg:quantileerror`), one output per level.
    QuantileRegression {
        /// The quantile levels, ascending, each from 0 to 1 (0.95 for a p95).
        alphas: Vec<f64>,
    },
    /// Probability of the label 1 with the logistic loss (`binary:logistic`).
    BinaryClassification,
}

/// Tree-boosting parameters, named and defaulted as in XGBoost.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingParams {
    /// Boosting rounds; each round adds one tree per output.
    pub rounds: usize,
    /// Maximum tree depth (`max_depth`).
    pub max_depth: usize,
    /// Learning rate (`eta`).
    pub learning_rate: f64,
    /// Maximum histogram bins per feature (`max_bin`).
    pub max_bin: usize,
    /// L2 regularization of leaf weights (`lambda`).
    pub lambda: f64,
    /// Minimum sum of hessians in a child (`min_child_weight`).
    pub min_child_weight: f64,
    /// Fraction of rows sampled for each tree (`subsample`), in (0, 1].
    pub subsample: f64,
    /// Random seed.
    pub seed: u64,
    /// Worker threads, or `None` for the engine's default pool.
    pub threads: Option<usize>,
}

impl Default for TrainingParams {
    /// XGBoost's defaults with 100 rounds.
    fn default() -> Self {
        TrainingParams {
            rounds: 100,
            max_depth: 6,
            learning_rate: 0.3,
            max_bin: 256,
            lambda: 1.0,
            min_child_weight: 1.0,
            subsample: 1.0,
            seed: 0,
            threads: None,
        }
    }
}

/// A dense training matrix with feature names and labels, checked for consistent shapes.
#[derive(Debug, Clone, Copy)]
pub struct TrainingData<'a> {
    features: &'a [f32],
    feature_names: &'a [String],
    labels: &'a [f32],
}

impl<'a> TrainingData<'a> {
    /// Wraps row-major `features` (one row per label, NaN for missing) with their column
    /// names and the labels.
    ///
    /// # Errors
    ///
    /// [`ModelError::TrainingData`] when there are no rows or no features, names are empty or
    /// repeated, the matrix length is not rows times features, or a label is not finite.
    pub fn new(
        features: &'a [f32],
        feature_names: &'a [String],
        labels: &'a [f32],
    ) -> Result<Self, ModelError> {
        let invalid = |reason: String| Err(ModelError::TrainingData { reason });
        if labels.is_empty() {
            return invalid("there are no labels, so no rows".to_owned());
        }
        if feature_names.is_empty() {
            return invalid("there are no feature names, so no features".to_owned());
        }
        let mut seen = BTreeSet::new();
        for name in feature_names {
            if name.is_empty() {
                return invalid("a feature name is empty".to_owned());
            }
            if !seen.insert(name.as_str()) {
                return invalid(format!("feature name {name:?} appears twice"));
            }
        }
        let expected = labels.len() * feature_names.len();
        if features.len() != expected {
            return invalid(format!(
                "the matrix has {} values, expected {} rows x {} features = {expected}",
                features.len(),
                labels.len(),
                feature_names.len()
            ));
        }
        if let Some(row) = labels.iter().position(|label| !label.is_finite()) {
            return invalid(format!("label of row {row} is {}", labels[row]));
        }
        Ok(TrainingData {
            features,
            feature_names,
            labels,
        })
    }

    /// Returns the feature values, row after row.
    pub fn features(&self) -> &'a [f32] {
        self.features
    }

    /// Returns the feature names, one per column.
    pub fn feature_names(&self) -> &'a [String] {
        self.feature_names
    }

    /// Returns the labels, one per row.
    pub fn labels(&self) -> &'a [f32] {
        self.labels
    }

    /// Returns the number of rows.
    pub fn num_rows(&self) -> usize {
        self.labels.len()
    }

    /// Returns the number of features.
    pub fn num_features(&self) -> usize {
        self.feature_names.len()
    }

    /// Checks that the labels suit `task`: 0 or 1 for binary classification.
    ///
    /// # Errors
    ///
    /// [`ModelError::TrainingData`] naming the first row whose label does not suit.
    pub fn check_labels(&self, task: &Task) -> Result<(), ModelError> {
        if *task != Task::BinaryClassification {
            return Ok(());
        }
        match self
            .labels
            .iter()
            .position(|&label| label != 0.0 && label != 1.0)
        {
            Some(row) => Err(ModelError::TrainingData {
                reason: format!(
                    "binary classification needs labels 0 or 1, row {row} has {}",
                    self.labels[row]
                ),
            }),
            None => Ok(()),
        }
    }
}

/// A trained model: its XGBoost JSON and the model read back from that JSON.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    /// The XGBoost JSON document, as [`TrainedModel::save`] writes it.
    pub json: String,
    /// The model read from `json`, ready to predict.
    pub model: XgboostModel,
}

impl TrainedModel {
    /// Writes the XGBoost JSON to `path`, which XGBoost's `Booster.load_model` also reads.
    ///
    /// # Errors
    ///
    /// [`ModelError::Io`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let path = path.as_ref();
        std::fs::write(path, &self.json).map_err(|source| ModelError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A gradient-boosting library that trains tree ensembles and writes them as XGBoost JSON.
pub trait Engine {
    /// Returns a short name of the engine and its version, for error messages and logs.
    fn name(&self) -> &'static str;

    /// Trains a model for `task` and returns its XGBoost JSON, with the feature names of
    /// `data` in `learner.feature_names`.
    ///
    /// # Errors
    ///
    /// [`ModelError::TrainingData`] for labels that do not suit `task`, and
    /// [`ModelError::Engine`] when the library rejects the parameters or fails.
    fn train_xgboost_json(
        &self,
        task: &Task,
        data: &TrainingData<'_>,
        params: &TrainingParams,
    ) -> Result<String, ModelError>;

    /// Trains a model and reads its XGBoost JSON back with [`XgboostModel`].
    ///
    /// # Errors
    ///
    /// The errors of [`Engine::train_xgboost_json`], and any error reading the JSON back,
    /// which means the engine wrote JSON that XGBoost's format does not allow.
    fn train(
        &self,
        task: &Task,
        data: &TrainingData<'_>,
        params: &TrainingParams,
    ) -> Result<TrainedModel, ModelError> {
        let json = self.train_xgboost_json(task, data, params)?;
        let model = XgboostModel::from_json_str(&json)?;
        Ok(TrainedModel { json, model })
    }
}
