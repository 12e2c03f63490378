//! [`ModelPredictor`]: the demand and risk models of a model directory behind arbiter-core's
//! [`Predictor`] trait.

use std::path::{Path, PathBuf};

use arbiter_core::features::FeatureVector;
use arbiter_core::predict::{
    CapacityContext, Prediction, PredictionBasis, Predictor, StatisticalForecaster,
};

use crate::bundle::{DemandModels, DemandTarget, ModelSet, RiskModel};
use crate::card::{CARD_FORMAT_VERSION, CARD_JSON, ModelCard};
use crate::dataset::{feature_names, feature_row, feature_schema_hash};
use crate::error::ModelError;
use crate::model::XgboostModel;

/// Predicts with the models of a directory written by `arbiter train`: mean and upper CPU and
/// mean memory from the demand models at the one-window horizon, risk from the calibrated
/// risk model.
///
/// A row the models cannot serve (the `cpu_now` or `memory_now` feature missing, or less
/// history than the models were trained with) gets the statistical forecast, whose basis is
/// then [`PredictionBasis::Statistical`] or [`PredictionBasis::Reactive`], never `Model`.
///
/// NOTE: the risk model reads only the workload's features, not [`CapacityContext`], so it
/// estimates the disruption risk under the HPA-scaled capacity of its training replay. Without
/// a risk model in the directory the statistical heuristic risk is used.
#[derive(Debug, Clone)]
pub struct ModelPredictor {
    directory: PathBuf,
    card: ModelCard,
    models: ModelSet,
    fallback: StatisticalForecaster,
}

impl ModelPredictor {
    /// Loads the model card and every model file of `directory`.
    ///
    /// # Errors
    ///
    /// [`ModelError::ModelDirectory`] when the card is missing, invalid or of another format
    /// version, or lacks the one-window demand models; [`ModelError::SchemaMismatch`] naming
    /// both hashes when the models were trained on another feature schema; the reader's
    /// errors, wrapped in [`ModelError::File`], for a model file that cannot be used.
    pub fn load(directory: impl AsRef<Path>) -> Result<Self, ModelError> {
        let directory = directory.as_ref().to_path_buf();
        let card = read_card(&directory)?;
        let invalid = |reason: String| ModelError::ModelDirectory {
            path: directory.clone(),
            reason,
        };
        if card.format_version != CARD_FORMAT_VERSION {
            return Err(invalid(format!(
                "{CARD_JSON} has format_version {}, expected {CARD_FORMAT_VERSION}; retrain \
                 the models with `arbiter train`",
                card.format_version
            )));
        }
        let code_hash = feature_schema_hash();
        if card.feature_schema_hash != code_hash {
            return Err(ModelError::SchemaMismatch {
                path: directory.clone(),
                model_hash: card.feature_schema_hash.clone(),
                code_hash,
            });
        }
        if card.feature_names != feature_names() {
            return Err(invalid(format!(
                "{CARD_JSON} lists features {:?}, which differ from this build's",
                card.feature_names
            )));
        }

        let mut demand = Vec::new();
        for entry in &card.demand {
            demand.push(DemandModels {
                target: entry.target,
                horizon_windows: entry.horizon_windows,
                mean: load_model(&directory, &entry.mean_file, &card.feature_names)?,
                upper: load_model(&directory, &entry.upper_file, &card.feature_names)?,
                upper_quantile: entry.upper_quantile,
            });
        }
        let risk = match &card.risk {
            Some(entry) => {
                entry.calibration.check().map_err(|reason| {
                    invalid(format!(
                        "{CARD_JSON} has an invalid risk calibration: {reason}"
                    ))
                })?;
                Some(RiskModel {
                    classifier: load_model(&directory, &entry.file, &card.feature_names)?,
                    calibration: entry.calibration.clone(),
                    horizon_windows: entry.horizon_windows,
                })
            }
            None => None,
        };
        let models = ModelSet { demand, risk };
        for target in [DemandTarget::Cpu, DemandTarget::Memory] {
            if models.demand(target, 1).is_none() {
                return Err(invalid(format!(
                    "{CARD_JSON} has no {} demand model at horizon 1, which the predictor \
                     needs; train with horizon 1",
                    target.name()
                )));
            }
        }
        Ok(ModelPredictor {
            directory,
            card,
            models,
            fallback: StatisticalForecaster::default(),
        })
    }

    /// Returns the model card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Returns the loaded models.
    pub fn models(&self) -> &ModelSet {
        &self.models
    }

    /// Returns the directory the models were loaded from.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Replaces the forecaster used when the models cannot serve a row.
    pub fn with_fallback(mut self, fallback: StatisticalForecaster) -> Self {
        self.fallback = fallback;
        self
    }

    /// Predicts with the models, or returns why they cannot serve this row.
    fn predict_with_models(
        &self,
        features: &FeatureVector,
        history_windows: usize,
        capacity: &CapacityContext,
    ) -> Result<Prediction, String> {
        let min_history = self.card.split.min_history_windows;
        if history_windows < min_history {
            return Err(format!(
                "{history_windows} completed windows of history, the models need {min_history}"
            ));
        }
        let row = feature_row(features);
        let forecast = |target: DemandTarget| -> Result<(f64, f64), String> {
            let models = self
                .models
                .demand(target, 1)
                .ok_or_else(|| format!("no {} model at horizon 1", target.name()))?;
            models
                .forecast(&row)
                .map_err(|error| error.to_string())?
                .ok_or_else(|| format!("feature {} is missing", target.anchor_feature()))
        };
        let (cpu_mean, cpu_upper) = forecast(DemandTarget::Cpu)?;
        let (memory_mean, _) = forecast(DemandTarget::Memory)?;
        let cpu_mean = cpu_mean.max(0.0);
        // The two models are fitted separately, so the upper one can fall below the mean.
        let cpu_upper = cpu_upper.max(cpu_mean);
        let risk = match &self.models.risk {
            Some(risk) => risk.probability(&row).map_err(|error| error.to_string())?.1,
            None => self.fallback.risk(cpu_upper, capacity),
        };
        Ok(Prediction {
            cpu_mean_cores: cpu_mean,
            cpu_upper_cores: cpu_upper,
            memory_mean_gib: memory_mean.max(0.0),
            risk,
            basis: PredictionBasis::Model {
                source: self.directory.display().to_string(),
            },
            cpu_peak_cores: None,
        })
    }
}

impl Predictor for ModelPredictor {
    fn predict(
        &self,
        features: &FeatureVector,
        history_windows: usize,
        capacity: &CapacityContext,
    ) -> Prediction {
        match self.predict_with_models(features, history_windows, capacity) {
            Ok(prediction) => prediction,
            Err(reason) => {
                let mut prediction = self.fallback.forecast(features, history_windows, capacity);
                if let PredictionBasis::Reactive { reason: fallback } = &mut prediction.basis {
                    *fallback = format!(
                        "models in {} not used ({reason}); {fallback}",
                        self.directory.display()
                    );
                }
                prediction
            }
        }
    }
}

fn read_card(directory: &Path) -> Result<ModelCard, ModelError> {
    let path = directory.join(CARD_JSON);
    if !directory.is_dir() {
        let reason = if directory.exists() {
            "it is not a directory"
        } else {
            "it was not found"
        };
        return Err(ModelError::ModelDirectory {
            path: directory.to_path_buf(),
            reason: format!("{reason}; pass the directory `arbiter train --out` wrote"),
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Io {
        action: "read",
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|error| ModelError::ModelDirectory {
        path: directory.to_path_buf(),
        reason: format!(
            "{CARD_JSON} is not a model card (line {} column {}: {error}); pass a directory \
             written by `arbiter train`",
            error.line(),
            error.column()
        ),
    })
}

fn load_model(directory: &Path, file: &str, names: &[String]) -> Result<XgboostModel, ModelError> {
    if file.contains('/') || file.contains('\\') || file.starts_with('.') {
        return Err(ModelError::ModelDirectory {
            path: directory.to_path_buf(),
            reason: format!("{CARD_JSON} names model file {file:?}, expected a plain file name"),
        });
    }
    let path = directory.join(file);
    let model = XgboostModel::load(&path)?;
    if model.feature_names() != names {
        return Err(ModelError::File {
            path,
            error: Box::new(ModelError::InvalidField {
                field: "learner.feature_names".to_owned(),
                value: format!("{} names", model.feature_names().len()),
                reason: format!(
                    "expected the {} features of {CARD_JSON} in the same order",
                    names.len()
                ),
            }),
        });
    }
    Ok(model)
}
