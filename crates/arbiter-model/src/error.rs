//! The error type of this crate.

use std::path::PathBuf;

/// Every error of model loading, prediction, CSV input and training.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An error from a named file, wrapping the error inside it.
    #[error("{}: {error}", path.display())]
    File {
        /// The file that was read.
        path: PathBuf,
        /// The error found in it.
        error: Box<ModelError>,
    },

    /// A file could not be read or written.
    #[error("failed to {action} {}: {source}", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// The model is not valid JSON text.
    #[error(
        "invalid JSON at line {line} column {column}: {message}; \
         save the model with XGBoost's save_model to a file whose name ends in .json"
    )]
    Json {
        /// Line of the syntax error, from 1.
        line: usize,
        /// Column of the syntax error, from 1.
        column: usize,
        /// The parser's message.
        message: String,
    },

    /// The model is XGBoost's UBJSON (binary JSON) encoding, which this reader does not parse.
    #[error(
        "the model is UBJSON (XGBoost's binary JSON), not JSON text; load it in XGBoost and \
         save it again with save_model(\"model.json\")"
    )]
    Ubjson,

    /// The document is JSON but not an XGBoost model.
    #[error(
        "not an XGBoost model: expected an object with a \"learner\" field, found {found}; \
         load a file written by XGBoost's save_model"
    )]
    NotXgboostModel {
        /// Description of the document, such as `an object with fields: name, rows`.
        found: String,
    },

    /// A required field of the model is missing.
    #[error("missing field {field} in the XGBoost model")]
    MissingField {
        /// Path of the field, such as `learner.objective.name`.
        field: String,
    },

    /// A field of the model has a value this reader cannot use.
    #[error("invalid value {value} for {field} in the XGBoost model: {reason}")]
    InvalidField {
        /// Path of the field, such as `learner.gradient_booster.model.trees[3].left_children[5]`.
        field: String,
        /// The offending value, shortened if long.
        value: String,
        /// The problem and, where it applies, the expected value.
        reason: String,
    },

    /// The model uses a booster other than `gbtree`.
    #[error(
        "unsupported booster {value} in learner.gradient_booster.name; \
         only gbtree is supported, so train with booster=\"gbtree\""
    )]
    UnsupportedBooster {
        /// The booster name from the file, such as `gblinear` or `dart`.
        value: String,
    },

    /// The model's objective is not one of the supported objectives.
    #[error(
        "unsupported objective {value} in learner.objective.name; supported objectives are \
         reg:squarederror, reg:quantileerror and binary:logistic"
    )]
    UnsupportedObjective {
        /// The objective name from the file.
        value: String,
    },

    /// A tree node splits on categories.
    #[error(
        "categorical split in learner.gradient_booster.model.trees[{tree}] at node {node} \
         (split_type {split_type}); categorical features are not supported, so train with \
         numeric features only"
    )]
    CategoricalSplit {
        /// Index of the tree in `trees`.
        tree: usize,
        /// Index of the node in the tree.
        node: usize,
        /// The `split_type` value of the node.
        split_type: i64,
    },

    /// A prediction input row has the wrong number of values.
    #[error("input has {found} values, expected a multiple of the model's {expected} features")]
    RowWidth {
        /// Number of features of the model.
        expected: usize,
        /// Number of values given.
        found: usize,
    },

    /// A CSV input could not be read.
    #[error("invalid CSV at line {line}: {message}")]
    Csv {
        /// Line of the error, from 1.
        line: u64,
        /// The CSV reader's message.
        message: String,
    },

    /// A CSV header lacks a feature the model needs.
    #[error("CSV header has no column {feature}, which the model needs; the header has: {header}")]
    CsvMissingFeature {
        /// The feature name from the model.
        feature: String,
        /// The header's column names, comma-separated.
        header: String,
    },

    /// A CSV header names a column twice.
    #[error("CSV header names column {column} twice; rename one of them")]
    CsvDuplicateColumn {
        /// The repeated column name.
        column: String,
    },

    /// A CSV row has the wrong number of fields.
    #[error("CSV line {line} has {found} fields, expected {expected}{hint}")]
    CsvColumnCount {
        /// Line of the row, from 1.
        line: u64,
        /// Number of fields the row must have.
        expected: usize,
        /// Number of fields found.
        found: usize,
        /// Extra advice, empty or starting with "; ".
        hint: String,
    },

    /// A CSV field is not a number.
    #[error(
        "CSV line {line} column {column} ({feature}): invalid value {value:?}; \
         expected a finite number, or an empty field or NaN for a missing value"
    )]
    CsvValue {
        /// Line of the row, from 1.
        line: u64,
        /// Column of the field, from 1.
        column: usize,
        /// The feature the column feeds.
        feature: String,
        /// The field's text.
        value: String,
    },

    /// Training data given to an engine is inconsistent.
    #[error("invalid training data: {reason}")]
    TrainingData {
        /// What is inconsistent, with the values involved.
        reason: String,
    },

    /// The training engine failed.
    #[error("training engine {engine} failed: {message}")]
    Engine {
        /// Name of the engine.
        engine: &'static str,
        /// The engine's error message.
        message: String,
    },

    /// A model directory is missing a file or its card is invalid.
    #[error("invalid model directory {}: {reason}", path.display())]
    ModelDirectory {
        /// The directory.
        path: PathBuf,
        /// The problem and the fix.
        reason: String,
    },

    /// The models were trained on another feature schema than the code builds.
    #[error(
        "model directory {} was trained on feature schema {model_hash}, but this build \
         computes features with schema {code_hash}; retrain the models with `arbiter train`",
        path.display()
    )]
    SchemaMismatch {
        /// The directory.
        path: PathBuf,
        /// Schema hash in the model card.
        model_hash: String,
        /// Schema hash of this build.
        code_hash: String,
    },
}
