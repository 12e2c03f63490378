//! Demand and risk models as one set: training, evaluation against baselines and the model
//! directory (XGBoost JSON files and the model card).

use std::collections::BTreeMap;
use std::path::Path;

use arbiter_core::features::FEATURE_NAMES;
use serde::{Deserialize, Serialize};

use crate::baselines::{BASELINE_NAMES, BaselineConfig, BaselineForecasts};
use crate::calibration::IsotonicCalibration;
use crate::card::{
    DemandEvaluation, DemandModelCard, Evaluation, ForecastMetrics, ModelCard, ParamsCard,
    RiskEvaluation, RiskModelCard, TraceCard,
};
use crate::dataset::{WindowedSeries, feature_names, feature_row, feature_schema_hash};
use crate::engine::{Engine, Task, TrainingData, TrainingParams};
use crate::error::ModelError;
use crate::metrics;
use crate::model::XgboostModel;
use crate::split::{Part, SplitConfig};

/// The quantity a demand model forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandTarget {
    /// Mean CPU of the target window, in the series unit (cores).
    Cpu,
    /// Mean memory of the target window, in the series unit (GiB).
    Memory,
}

impl DemandTarget {
    /// Returns the feature the target is forecast relative to. Models learn the log ratio of
    /// the target to this feature's value (see [`log_ratio`]), so trees need not extrapolate
    /// levels and 5-minute bursts do not dominate the squared error.
    pub fn anchor_feature(self) -> &'static str {
        match self {
            DemandTarget::Cpu => "cpu_now",
            DemandTarget::Memory => "memory_now",
        }
    }

    /// Returns the name used in file names and reports.
    pub fn name(self) -> &'static str {
        match self {
            DemandTarget::Cpu => "cpu",
            DemandTarget::Memory => "memory",
        }
    }

    fn values(self, series: &WindowedSeries) -> &[f64] {
        match self {
            DemandTarget::Cpu => &series.cpu,
            DemandTarget::Memory => &series.memory,
        }
    }
}

/// Settings of [`train_models`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Forecast horizons in 300 s windows. Default 1, 3 and 12.
    pub horizons: Vec<usize>,
    /// Quantile level of the upper demand models. Default 0.95.
    pub upper_quantile: f64,
    /// Windows after the row in which a disruption counts for the risk label. Default 3.
    pub risk_horizon_windows: usize,
    /// Split of rows into training, calibration and test parts.
    pub split: SplitConfig,
    /// Tree-boosting parameters of every model.
    pub params: TrainingParams,
    /// Settings of the baselines.
    pub baselines: BaselineConfig,
    /// Source of the risk labels, as the model card states it.
    pub risk_label_source: String,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            horizons: vec![1, 3, 12],
            upper_quantile: 0.95,
            risk_horizon_windows: 3,
            split: SplitConfig::default(),
            params: TrainingParams {
                rounds: 200,
                max_depth: 4,
                learning_rate: 0.05,
                subsample: 0.8,
                min_child_weight: 5.0,
                ..TrainingParams::default()
            },
            baselines: BaselineConfig::default(),
            risk_label_source: "none".to_owned(),
        }
    }
}

/// The mean and upper models of one target and horizon.
///
/// NOTE: the mean model minimizes squared error of the log ratio, so its forecast is closer to
/// a geometric mean (a median for symmetric noise) than to the arithmetic mean of the demand.
#[derive(Debug, Clone)]
pub struct DemandModels {
    /// Forecast quantity.
    pub target: DemandTarget,
    /// Horizon in 300 s windows.
    pub horizon_windows: usize,
    /// Mean model of the log ratio to the anchor feature.
    pub mean: XgboostModel,
    /// Upper-quantile model of the log ratio to the anchor feature.
    pub upper: XgboostModel,
    /// Quantile level of the upper model.
    pub upper_quantile: f64,
}

impl DemandModels {
    /// Forecasts (mean, upper) from a feature row, or `None` when the anchor feature is
    /// missing from the row.
    pub fn forecast(&self, row: &[f32]) -> Result<Option<(f64, f64)>, ModelError> {
        let anchor_index = anchor_index(self.target);
        let anchor = row.get(anchor_index).copied().unwrap_or(f32::NAN);
        if anchor.is_nan() {
            return Ok(None);
        }
        let mean = self.mean.predict_row(row)?[0];
        let upper = self.upper.predict_row(row)?[0];
        Ok(Some((
            from_log_ratio(f64::from(anchor), f64::from(mean)),
            from_log_ratio(f64::from(anchor), f64::from(upper)),
        )))
    }
}

/// Floor applied to the target and the anchor before the log ratio, in the series unit, so a
/// window with zero usage gives a finite label.
pub const LOG_RATIO_FLOOR: f64 = 1e-3;

/// Returns the training label of a demand model: `ln(max(target, floor) / max(anchor, floor))`
/// with [`LOG_RATIO_FLOOR`].
pub fn log_ratio(target: f64, anchor: f64) -> f64 {
    (target.max(LOG_RATIO_FLOOR) / anchor.max(LOG_RATIO_FLOOR)).ln()
}

/// Inverts [`log_ratio`]: the forecast level from the anchor and a model output.
pub fn from_log_ratio(anchor: f64, output: f64) -> f64 {
    anchor.max(LOG_RATIO_FLOOR) * output.exp()
}

fn anchor_index(target: DemandTarget) -> usize {
    FEATURE_NAMES
        .iter()
        .position(|name| *name == target.anchor_feature())
        .unwrap_or(0)
}

/// The calibrated risk model.
#[derive(Debug, Clone)]
pub struct RiskModel {
    /// Classifier of a disruption within `horizon_windows`.
    pub classifier: XgboostModel,
    /// Map from the classifier's probability to a calibrated probability.
    pub calibration: IsotonicCalibration,
    /// Windows after the row in which a disruption counts.
    pub horizon_windows: usize,
}

impl RiskModel {
    /// Returns the raw and the calibrated probability of a feature row.
    pub fn probability(&self, row: &[f32]) -> Result<(f64, f64), ModelError> {
        let raw = f64::from(self.classifier.predict_row(row)?[0]);
        Ok((raw, self.calibration.apply(raw)))
    }
}

/// Demand models of every target and horizon, and the risk model when labels were known.
#[derive(Debug, Clone)]
pub struct ModelSet {
    /// One entry per target and horizon, ordered by target then horizon.
    pub demand: Vec<DemandModels>,
    /// The risk model.
    pub risk: Option<RiskModel>,
}

impl ModelSet {
    /// Returns the demand models of `target` at `horizon_windows`.
    pub fn demand(&self, target: DemandTarget, horizon_windows: usize) -> Option<&DemandModels> {
        self.demand
            .iter()
            .find(|models| models.target == target && models.horizon_windows == horizon_windows)
    }
}

/// A trained model set with its card and the XGBoost JSON of each file.
#[derive(Debug, Clone)]
pub struct TrainedSet {
    /// The models, ready to predict.
    pub models: ModelSet,
    /// XGBoost JSON of each model, by file name.
    pub files: BTreeMap<String, String>,
    /// The model card, with the held-out metrics.
    pub card: ModelCard,
}

impl TrainedSet {
    /// Writes every model file, `model-card.json` and `model-card.md` into `dir`, creating it.
    ///
    /// # Errors
    ///
    /// [`ModelError::Io`] naming the file that could not be written.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        std::fs::create_dir_all(dir).map_err(|source| ModelError::Io {
            action: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| ModelError::Io {
                action: "write",
                path,
                source,
            })
        };
        for (name, json) in &self.files {
            write(name, json)?;
        }
        let card_json =
            serde_json::to_string_pretty(&self.card).map_err(|error| ModelError::TrainingData {
                reason: format!("the model card cannot be serialized: {error}"),
            })?;
        write(crate::card::CARD_JSON, &card_json)?;
        write(crate::card::CARD_MARKDOWN, &self.card.to_markdown())?;
        Ok(())
    }
}

/// A dense matrix with labels, built row by row.
#[derive(Default)]
struct Matrix {
    features: Vec<f32>,
    labels: Vec<f32>,
}

impl Matrix {
    fn push(&mut self, row: &[f32], label: f32) {
        self.features.extend_from_slice(row);
        self.labels.push(label);
    }
}

/// Returns the file name of a demand model.
pub fn demand_file(target: DemandTarget, horizon_windows: usize, kind: &str) -> String {
    format!("demand-{}-h{horizon_windows}-{kind}.json", target.name())
}

/// File name of the risk model.
pub const RISK_FILE: &str = "risk.json";

/// Trains the demand models (and the risk model when every series has disruption labels) on
/// the training rows of `series`, calibrates the risk model on the calibration rows and
/// evaluates everything on the test rows. `progress` is called before each model with the
/// model's number from 1, the total and a description.
///
/// # Errors
///
/// [`ModelError::TrainingData`] when the configuration is invalid or a part has no rows, and
/// the engine's errors.
pub fn train_models(
    engine: &dyn Engine,
    series: &[WindowedSeries],
    config: &TrainConfig,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<TrainedSet, ModelError> {
    config.split.validate()?;
    if config.horizons.is_empty() || config.horizons.contains(&0) {
        return Err(ModelError::TrainingData {
            reason: format!(
                "horizons are {:?}, expected one or more positive numbers of windows",
                config.horizons
            ),
        });
    }
    if !(config.upper_quantile > 0.0 && config.upper_quantile < 1.0) {
        return Err(ModelError::TrainingData {
            reason: format!(
                "upper quantile is {}, expected a number in (0, 1)",
                config.upper_quantile
            ),
        });
    }
    let names = feature_names();
    let with_risk = !series.is_empty() && series.iter().all(|one| one.disruption.is_some());
    let targets = [DemandTarget::Cpu, DemandTarget::Memory];
    let total = targets.len() * config.horizons.len() * 2 + usize::from(with_risk);
    let mut step = 0;
    let mut files = BTreeMap::new();
    let mut demand = Vec::new();
    let mut demand_cards = Vec::new();

    for target in targets {
        for &horizon in &config.horizons {
            let matrix = demand_matrix(series, &config.split, target, horizon)?;
            let data = TrainingData::new(&matrix.features, &names, &matrix.labels)?;

            step += 1;
            progress(
                step,
                total,
                &format!("{} mean, horizon {horizon}", target.name()),
            );
            let mean = engine.train(&Task::Regression, &data, &config.params)?;
            step += 1;
            progress(
                step,
                total,
                &format!("{} upper, horizon {horizon}", target.name()),
            );
            let upper_task = Task::QuantileRegression {
                alphas: vec![config.upper_quantile],
            };
            let upper = engine.train(&upper_task, &data, &config.params)?;

            let mean_file = demand_file(target, horizon, "mean");
            let upper_file = demand_file(target, horizon, "upper");
            files.insert(mean_file.clone(), mean.json);
            files.insert(upper_file.clone(), upper.json);
            demand_cards.push(DemandModelCard {
                target,
                horizon_windows: horizon,
                mean_file,
                upper_file,
                upper_quantile: config.upper_quantile,
                anchor_feature: target.anchor_feature().to_owned(),
                log_ratio_floor: LOG_RATIO_FLOOR,
                training_rows: data.num_rows(),
            });
            demand.push(DemandModels {
                target,
                horizon_windows: horizon,
                mean: mean.model,
                upper: upper.model,
                upper_quantile: config.upper_quantile,
            });
        }
    }

    let mut risk = None;
    let mut risk_card = None;
    if with_risk {
        step += 1;
        progress(step, total, "risk classifier");
        let k = config.risk_horizon_windows;
        let train = risk_matrix(series, &config.split, k, Part::Train);
        let data = TrainingData::new(&train.features, &names, &train.labels)?;
        let classifier = engine.train(&Task::BinaryClassification, &data, &config.params)?;

        let calibration_rows = risk_matrix(series, &config.split, k, Part::Calibration);
        let width = names.len();
        let mut raw = Vec::with_capacity(calibration_rows.labels.len());
        for row in calibration_rows.features.chunks(width) {
            raw.push(f64::from(classifier.model.predict_row(row)?[0]));
        }
        let labels: Vec<bool> = calibration_rows.labels.iter().map(|l| *l > 0.5).collect();
        let calibration = IsotonicCalibration::fit(&raw, &labels);
        files.insert(RISK_FILE.to_owned(), classifier.json);
        let positives = train.labels.iter().filter(|label| **label > 0.5).count();
        risk_card = Some(RiskModelCard {
            file: RISK_FILE.to_owned(),
            horizon_windows: k,
            label_source: config.risk_label_source.clone(),
            training_rows: data.num_rows(),
            training_positive_rate: positives as f64 / data.num_rows() as f64,
            calibration_rows: labels.len(),
            calibration: calibration.clone(),
        });
        risk = Some(RiskModel {
            classifier: classifier.model,
            calibration,
            horizon_windows: k,
        });
    }

    let models = ModelSet { demand, risk };
    let evaluation = evaluate(
        &models,
        series,
        &RowSelection::TestPart(config.split.clone()),
        &config.baselines,
    )?;
    let card = ModelCard {
        format_version: crate::card::CARD_FORMAT_VERSION,
        feature_schema_hash: feature_schema_hash(),
        feature_names: names,
        window_s: arbiter_core::series::BORG_WINDOW_S,
        engine: engine.name().to_owned(),
        params: ParamsCard::from(&config.params),
        split: config.split.clone(),
        baselines: config.baselines.clone(),
        traces: series
            .iter()
            .map(|one| TraceCard::new(one, &config.split))
            .collect(),
        demand: demand_cards,
        risk: risk_card,
        demand_label_source: "trace usage: the mean CPU or memory of the window `horizon` \
                              windows after the row"
            .to_owned(),
        evaluation,
    };
    Ok(TrainedSet {
        models,
        files,
        card,
    })
}

fn demand_matrix(
    series: &[WindowedSeries],
    split: &SplitConfig,
    target: DemandTarget,
    horizon: usize,
) -> Result<Matrix, ModelError> {
    let mut matrix = Matrix::default();
    for one in series {
        let values = target.values(one);
        for row in 0..one.len() {
            let part = split.part(one, row, horizon);
            if !matches!(part, Some(Part::Train | Part::Calibration)) {
                continue;
            }
            let Some(target_index) = one.offset_index(row, horizon as i64) else {
                continue;
            };
            let features = feature_row(&one.features[row]);
            matrix.push(
                &features,
                log_ratio(values[target_index], values[row]) as f32,
            );
        }
    }
    if matrix.labels.is_empty() {
        return Err(ModelError::TrainingData {
            reason: format!(
                "no training rows for {} at horizon {horizon}: the series are shorter than \
                 the warm-up of {} windows plus the horizon and the held-out parts",
                target.name(),
                split.min_history_windows
            ),
        });
    }
    Ok(matrix)
}

fn risk_matrix(series: &[WindowedSeries], split: &SplitConfig, k: usize, wanted: Part) -> Matrix {
    let mut matrix = Matrix::default();
    for one in series {
        for row in 0..one.len() {
            if split.part(one, row, k) != Some(wanted) {
                continue;
            }
            let Some(label) = one.disruption_within(row, k) else {
                continue;
            };
            matrix.push(&feature_row(&one.features[row]), f32::from(u8::from(label)));
        }
    }
    matrix
}

/// Selection of the rows an evaluation scores.
#[derive(Debug, Clone, PartialEq)]
pub enum RowSelection {
    /// The test part of the split, as in training.
    TestPart(SplitConfig),
    /// Every row with at least this many completed windows of history, for series the models
    /// never saw.
    AllWindows {
        /// Completed windows of history a row needs.
        min_history_windows: usize,
    },
}

impl RowSelection {
    fn includes(&self, series: &WindowedSeries, row: usize, horizon: usize) -> bool {
        match self {
            RowSelection::TestPart(split) => split.part(series, row, horizon) == Some(Part::Test),
            RowSelection::AllWindows {
                min_history_windows,
            } => series.history_windows[row] >= *min_history_windows,
        }
    }
}

/// Evaluates `models` and the baselines on the selected rows of `series`.
///
/// # Errors
///
/// [`ModelError::RowWidth`] when a model was trained on another number of features.
pub fn evaluate(
    models: &ModelSet,
    series: &[WindowedSeries],
    rows: &RowSelection,
    baselines: &BaselineConfig,
) -> Result<Evaluation, ModelError> {
    let mut demand = Vec::new();
    for models_of in &models.demand {
        demand.push(evaluate_demand(models_of, series, rows, baselines)?);
    }
    let risk = match &models.risk {
        Some(risk) if series.iter().all(|one| one.disruption.is_some()) => {
            Some(evaluate_risk(risk, series, rows)?)
        }
        _ => None,
    };
    Ok(Evaluation { demand, risk })
}

fn evaluate_demand(
    models: &DemandModels,
    series: &[WindowedSeries],
    rows: &RowSelection,
    baselines: &BaselineConfig,
) -> Result<DemandEvaluation, ModelError> {
    let horizon = models.horizon_windows;
    let mut actual = Vec::new();
    let mut mean = Vec::new();
    let mut upper = Vec::new();
    // For each baseline: the rows it forecasts (seasonal naive lacks the first day).
    let mut baseline_pairs: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for one in series {
        let values = models.target.values(one);
        let forecasts = BaselineForecasts::compute(one, values, horizon, baselines);
        for row in 0..one.len() {
            if !rows.includes(one, row, horizon) {
                continue;
            }
            let Some(target_index) = one.offset_index(row, horizon as i64) else {
                continue;
            };
            let Some((row_mean, row_upper)) = models.forecast(&feature_row(&one.features[row]))?
            else {
                continue;
            };
            let value = values[target_index];
            actual.push(value);
            mean.push(row_mean);
            upper.push(row_upper);
            for name in BASELINE_NAMES {
                if let Some(forecast) = forecasts.forecast(name, row) {
                    let pairs = baseline_pairs.entry(name).or_default();
                    pairs.0.push(value);
                    pairs.1.push(forecast);
                }
            }
        }
    }
    let quantile = models.upper_quantile;
    let model = ForecastMetrics::of(&actual, &mean, &upper, quantile);
    let baselines = baseline_pairs
        .iter()
        .map(|(name, (actual, forecast))| {
            (
                (*name).to_owned(),
                ForecastMetrics::of(actual, forecast, forecast, quantile),
            )
        })
        .collect();
    Ok(DemandEvaluation {
        target: models.target,
        horizon_windows: horizon,
        model,
        baselines,
    })
}

fn evaluate_risk(
    risk: &RiskModel,
    series: &[WindowedSeries],
    rows: &RowSelection,
) -> Result<RiskEvaluation, ModelError> {
    let k = risk.horizon_windows;
    let mut labels = Vec::new();
    let mut raw = Vec::new();
    let mut calibrated = Vec::new();
    let mut persistence = Vec::new();
    for one in series {
        let Some(disruption) = &one.disruption else {
            continue;
        };
        for (row, disrupted_now) in disruption.iter().enumerate() {
            if !rows.includes(one, row, k) {
                continue;
            }
            let Some(label) = one.disruption_within(row, k) else {
                continue;
            };
            let (row_raw, row_calibrated) = risk.probability(&feature_row(&one.features[row]))?;
            labels.push(label);
            raw.push(row_raw);
            calibrated.push(row_calibrated);
            persistence.push(f64::from(u8::from(*disrupted_now)));
        }
    }
    Ok(RiskEvaluation {
        horizon_windows: k,
        rows: labels.len(),
        positive_rate: (!labels.is_empty())
            .then(|| labels.iter().filter(|label| **label).count() as f64 / labels.len() as f64),
        auroc: metrics::auroc(&labels, &calibrated),
        auroc_uncalibrated: metrics::auroc(&labels, &raw),
        brier: metrics::brier_score(&labels, &calibrated),
        brier_uncalibrated: metrics::brier_score(&labels, &raw),
        accuracy: metrics::accuracy(&labels, &calibrated, 0.5),
        persistence_auroc: metrics::auroc(&labels, &persistence),
        reliability: metrics::reliability_table(&labels, &calibrated, 10),
    })
}
