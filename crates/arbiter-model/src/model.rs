//! A `gbtree` model read from XGBoost JSON, and its predictions.

use std::path::Path;

use crate::error::ModelError;
use crate::reader;
use crate::tree::Tree;

/// The learning objective of a model, which fixes how a margin becomes a prediction.
#[derive(Debug, Clone, PartialEq)]
pub enum Objective {
    /// `reg:squarederror`: the prediction is the margin.
    SquaredError,
    /// `binary:logistic`: the prediction is the sigmoid of the margin, a probability.
    BinaryLogistic,
    /// `reg:quantileerror`: one output per quantile level, each the margin of its trees.
    QuantileError {
        /// The quantile levels (`quantile_alpha`), one per output, in the file's order.
        alphas: Vec<f32>,
    },
}

impl Objective {
    /// Returns XGBoost's name of the objective.
    pub fn name(&self) -> &'static str {
        match self {
            Objective::SquaredError => "reg:squarederror",
            Objective::BinaryLogistic => "binary:logistic",
            Objective::QuantileError { .. } => "reg:quantileerror",
        }
    }

    /// Converts a margin to a prediction.
    fn transform(&self, margin: f32) -> f32 {
        match self {
            Objective::BinaryLogistic => sigmoid(margin),
            Objective::SquaredError | Objective::QuantileError { .. } => margin,
        }
    }
}

/// Computes the sigmoid in `f32`, with the exponent capped at 88.7 so that `exp` stays finite.
/// It matches the probabilities of XGBoost 2.1.4 and 3.2.0 on the test fixtures exactly.
fn sigmoid(margin: f32) -> f32 {
    const MAX_EXPONENT: f32 = 88.7;
    const EPSILON: f32 = 1e-16;
    let denominator = (-margin).min(MAX_EXPONENT).exp() + 1.0 + EPSILON;
    1.0 / denominator
}

/// A gradient-boosted tree ensemble (`gbtree`) read from XGBoost JSON.
///
/// Predictions repeat XGBoost's CPU arithmetic: each output starts at its base margin and adds
/// the leaf value of each of its trees in file order, in `f32`, before the objective's
/// transform. On the test fixtures they equal the predictions of XGBoost 2.1.4 and 3.2.0 bit
/// for bit. Every tree is used, as XGBoost's `Booster.predict` does by default, even when
/// the file records a `best_iteration` from early stopping.
#[derive(Debug, Clone, PartialEq)]
pub struct XgboostModel {
    pub(crate) objective: Objective,
    pub(crate) feature_names: Vec<String>,
    pub(crate) has_feature_names: bool,
    pub(crate) feature_types: Vec<String>,
    pub(crate) base_margins: Vec<f32>,
    pub(crate) trees: Vec<Tree>,
    pub(crate) tree_outputs: Vec<usize>,
    pub(crate) xgboost_version: Option<[u64; 3]>,
}

impl XgboostModel {
    /// Reads a model file written by XGBoost's `save_model("model.json")` or by an
    /// [`Engine`](crate::Engine).
    ///
    /// # Errors
    ///
    /// [`ModelError::File`] naming `path`, wrapping a read failure or any error of
    /// [`XgboostModel::from_json_slice`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ModelError> {
        let path = path.as_ref();
        let in_file = |error: ModelError| ModelError::File {
            path: path.to_path_buf(),
            error: Box::new(error),
        };
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_slice(&bytes).map_err(in_file)
    }

    /// Reads a model from the bytes of an XGBoost JSON document.
    ///
    /// # Errors
    ///
    /// [`ModelError::Ubjson`] for XGBoost's binary JSON, [`ModelError::Json`] for bytes that
    /// are not JSON text, and every error of [`XgboostModel::from_json_str`].
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, ModelError> {
        reader::read_slice(bytes)
    }

    /// Reads a model from XGBoost JSON text.
    ///
    /// # Errors
    ///
    /// [`ModelError::Json`] for invalid JSON, [`ModelError::NotXgboostModel`] for a JSON
    /// document without a `learner`, [`ModelError::UnsupportedBooster`],
    /// [`ModelError::UnsupportedObjective`], [`ModelError::CategoricalSplit`], and
    /// [`ModelError::MissingField`] or [`ModelError::InvalidField`] naming the field.
    pub fn from_json_str(text: &str) -> Result<Self, ModelError> {
        reader::read_str(text)
    }

    /// Returns the model's objective.
    pub fn objective(&self) -> &Objective {
        &self.objective
    }

    /// Returns the feature names in the model's column order. A file without names gets XGBoost's
    /// default names `f0`, `f1`, ...
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Returns whether the file named its features (`learner.feature_names` was not empty).
    pub fn has_feature_names(&self) -> bool {
        self.has_feature_names
    }

    /// Returns the feature types from the file (`float`, `int`, `i` or `q`), or `float` for each
    /// feature where the file lists none.
    pub fn feature_types(&self) -> &[String] {
        &self.feature_types
    }

    /// Returns the number of features a row must have (`learner_model_param.num_feature`).
    pub fn num_features(&self) -> usize {
        self.feature_names.len()
    }

    /// Returns the number of values predicted per row: 1, or one per quantile level.
    pub fn num_outputs(&self) -> usize {
        self.base_margins.len()
    }

    /// Returns the number of trees.
    pub fn num_trees(&self) -> usize {
        self.trees.len()
    }

    /// Returns the starting margin of each output, converted from the file's `base_score` by the
    /// objective (the logit of the probability for `binary:logistic`).
    pub fn base_margins(&self) -> &[f32] {
        &self.base_margins
    }

    /// Returns the XGBoost version that wrote the file (`version`), where the file records one.
    pub fn xgboost_version(&self) -> Option<[u64; 3]> {
        self.xgboost_version
    }

    /// Predicts one row of [`num_features`](Self::num_features) values, NaN for missing.
    ///
    /// # Errors
    ///
    /// [`ModelError::RowWidth`] when `row` does not have exactly one value per feature.
    pub fn predict_row(&self, row: &[f32]) -> Result<Vec<f32>, ModelError> {
        self.check_width(row.len(), row.len() == self.num_features())?;
        let mut out = vec![0.0; self.num_outputs()];
        self.predict_row_unchecked(row, &mut out);
        Ok(out)
    }

    /// Predicts rows stored one after another (row-major), NaN for missing values. The result
    /// contains [`num_outputs`](Self::num_outputs) values per row, row after row.
    ///
    /// # Errors
    ///
    /// [`ModelError::RowWidth`] when the length of `rows` is not a multiple of the feature
    /// count.
    pub fn predict(&self, rows: &[f32]) -> Result<Vec<f32>, ModelError> {
        let width = self.num_features();
        self.check_width(rows.len(), rows.len().is_multiple_of(width))?;
        let outputs = self.num_outputs();
        let mut out = vec![0.0; rows.len() / width * outputs];
        for (row, row_out) in rows.chunks_exact(width).zip(out.chunks_exact_mut(outputs)) {
            self.predict_row_unchecked(row, row_out);
        }
        Ok(out)
    }

    /// Computes the margins of one row without the objective's transform.
    ///
    /// # Errors
    ///
    /// [`ModelError::RowWidth`] when `row` does not have exactly one value per feature.
    pub fn predict_margin_row(&self, row: &[f32]) -> Result<Vec<f32>, ModelError> {
        self.check_width(row.len(), row.len() == self.num_features())?;
        let mut out = vec![0.0; self.num_outputs()];
        self.margin_row_unchecked(row, &mut out);
        Ok(out)
    }

    fn check_width(&self, found: usize, fits: bool) -> Result<(), ModelError> {
        if fits {
            Ok(())
        } else {
            Err(ModelError::RowWidth {
                expected: self.num_features(),
                found,
            })
        }
    }

    /// Computes margins into `out`, which has one slot per output. `row` has one value per
    /// feature, which the public callers check, so tree walks stay in bounds.
    fn margin_row_unchecked(&self, row: &[f32], out: &mut [f32]) {
        if let [only] = out {
            let mut margin = self.base_margins[0];
            for tree in &self.trees {
                margin += tree.leaf_value(row);
            }
            *only = margin;
        } else {
            out.copy_from_slice(&self.base_margins);
            for (tree, &output) in self.trees.iter().zip(&self.tree_outputs) {
                out[output] += tree.leaf_value(row);
            }
        }
    }

    fn predict_row_unchecked(&self, row: &[f32], out: &mut [f32]) {
        self.margin_row_unchecked(row, out);
        for value in out.iter_mut() {
            *value = self.objective.transform(*value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sigmoid;

    #[test]
    fn sigmoid_matches_closed_form() {
        for margin in [-20.0f32, -1.5, 0.0, 0.25, 3.0, 20.0] {
            let expected = 1.0 / (1.0 + f64::from(-margin).exp());
            assert!(
                (f64::from(sigmoid(margin)) - expected).abs() < 1e-7,
                "margin {margin}"
            );
        }
    }

    #[test]
    fn sigmoid_stays_finite_for_large_negative_margin() {
        let value = sigmoid(-1000.0);
        assert!(value >= 0.0);
        assert!(value < 1e-30);
    }
}
