//! Gradient-boosted tree models for Arbiter's demand and risk predictions.
//!
//! Models are stored in XGBoost's JSON model format, the file that Python XGBoost's
//! `Booster.save_model("model.json")` writes. [`XgboostModel`] reads such a file and predicts
//! with XGBoost's own `f32` arithmetic, whichever library trained the model. It supports
//! `gbtree` models with the objectives `reg:squarederror`, `binary:logistic` and
//! `reg:quantileerror` (one or several quantile levels), missing values (NaN) and feature
//! names. [`predict_csv`] predicts the rows of a CSV file.
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

mod csv_input;
mod engine;
mod error;
mod hessboost_engine;
mod json;
mod model;
mod reader;
mod tree;

pub use csv_input::{format_prediction_row, predict_csv, read_csv_features};
pub use engine::{Engine, Task, TrainedModel, TrainingData, TrainingParams};
pub use error::ModelError;
pub use hessboost_engine::HessboostEngine;
pub use model::{Objective, XgboostModel};
