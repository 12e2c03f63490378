//! Gradient-boosted tree models for Arbiter's demand and risk predictions.
//!
//! Models are stored in XGBoost's JSON model format, the file that Python XGBoost's
//! `Booster.save_model("model.json")` writes. [`XgboostModel`] reads such a file and predicts
//! with XGBoost's own `f32` arithmetic, whichever library trained the model. It supports
//! `gbtree` models with the objectives `reg:squarederror`, `binary:logistic` and
//! `reg:quantileerror` (one or several quantile levels), missing values (NaN) and feature
//! names. [`predict_csv`] predicts the rows of a CSV file.
//!
//! [`train_models`] trains demand models (CPU and memory, mean and p95, at several horizons)
//! and a calibrated risk classifier on [`WindowedSeries`] built from Borg series with
//! arbiter-core's rolling features, splits rows by time without leakage ([`SplitConfig`]) and
//! scores the models against baselines ([`evaluate`]). [`ModelPredictor`] loads the directory
//! the models are saved in and implements arbiter-core's `Predictor`.
//!
//! Training goes through the [`Engine`] trait, so the tree library can be replaced; an engine
//! only has to write XGBoost JSON. The one implementation, [`HessboostEngine`], uses hessboost
//! pinned to 0.4.6.
//!
//! # Choice of training engine
//!
//! hessboost 0.4.6 was chosen over forust-ml 0.8.0 because it writes and reads XGBoost JSON
//! and trained fastest. The measurement used synthetic data of 100,000 rows x 16 features
//! (2% NaN), 50 rounds, depth 6, 256 bins and 2 threads on a 2-core machine. Times are the
//! best of 3 runs, and the AUC is computed on the training rows:
//!
//! | engine | regressor | classifier | classifier AUC |
//! |---|---|---|---|
//! | hessboost 0.4.6 | 0.28-0.34 s | 0.29-0.31 s | 0.9061 |
//! | Python xgboost 3.2.0 | 0.63-0.67 s | 0.64 s | 0.9060 |
//! | forust-ml 0.8.0 | 0.44-0.53 s | 0.46-0.67 s | not measured |
//!
//! A model saved as XGBoost JSON by either hessboost or XGBoost 3.2.0 predicted the same
//! rows identically (maximum absolute difference 0) when loaded in the other. XGBoost 2.1.4
//! misreads hessboost's files, because it ignores the bracketed `base_score` that the 3.x
//! format uses. forust-ml cannot import or export XGBoost JSON. hessboost is young and
//! changes quickly, so its version is pinned exactly, and models are never kept in its own
//! format. hessboost needs Rust 1.93 or newer and a C compiler, which builds its zstd
//! dependency.

#![deny(missing_docs)]

mod baselines;
mod bundle;
mod calibration;
mod card;
mod csv_input;
mod dataset;
mod engine;
mod error;
mod hessboost_engine;
mod json;
pub mod metrics;
mod model;
mod predictor;
mod reader;
mod split;
mod tree;

pub use baselines::{BASELINE_NAMES, BaselineConfig, BaselineForecasts, WINDOWS_PER_DAY};
pub use bundle::{
    DemandModels, DemandTarget, LOG_RATIO_FLOOR, ModelSet, RISK_FILE, RiskModel, RowSelection,
    TrainConfig, TrainedSet, demand_file, evaluate, from_log_ratio, log_ratio, train_models,
};
pub use calibration::IsotonicCalibration;
pub use card::{
    CARD_FORMAT_VERSION, CARD_JSON, CARD_MARKDOWN, DemandEvaluation, DemandModelCard, Evaluation,
    ForecastMetrics, ModelCard, ParamsCard, RiskEvaluation, RiskModelCard, TraceCard,
};
pub use csv_input::{format_prediction_row, predict_csv, read_csv_features};
pub use dataset::{WindowedSeries, feature_names, feature_row, feature_schema_hash};
pub use engine::{Engine, Task, TrainedModel, TrainingData, TrainingParams};
pub use error::ModelError;
pub use hessboost_engine::HessboostEngine;
pub use model::{Objective, XgboostModel};
pub use predictor::ModelPredictor;
pub use split::{Part, SplitConfig, SplitTimes};
