//! The model card: what a model directory contains, how it was trained and how it scored.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::baselines::BaselineConfig;
use crate::bundle::DemandTarget;
use crate::calibration::IsotonicCalibration;
use crate::dataset::WindowedSeries;
use crate::engine::TrainingParams;
use crate::metrics::{self, ReliabilityBin};
use crate::split::SplitConfig;

/// File name of the machine-readable model card.
pub const CARD_JSON: &str = "model-card.json";
/// File name of the readable model card.
pub const CARD_MARKDOWN: &str = "model-card.md";
/// Version of the model card format; a card of another version is rejected on load.
pub const CARD_FORMAT_VERSION: u32 = 1;

/// Contents of `model-card.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// Card format version, [`CARD_FORMAT_VERSION`].
    pub format_version: u32,
    /// Hash of the feature schema the models were trained on, 16 hex digits.
    pub feature_schema_hash: String,
    /// Feature names in model input order.
    pub feature_names: Vec<String>,
    /// Window length in seconds.
    pub window_s: i64,
    /// Training engine and version.
    pub engine: String,
    /// Tree-boosting parameters.
    pub params: ParamsCard,
    /// The split of rows into parts.
    pub split: SplitConfig,
    /// Settings of the baselines in the evaluation.
    pub baselines: BaselineConfig,
    /// The training series.
    pub traces: Vec<TraceCard>,
    /// Demand models, by target and horizon.
    pub demand: Vec<DemandModelCard>,
    /// The risk model, absent when the series had no disruption labels.
    pub risk: Option<RiskModelCard>,
    /// Source of the demand labels.
    pub demand_label_source: String,
    /// Metrics on the test part.
    pub evaluation: Evaluation,
}

/// [`TrainingParams`] as stored in the card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamsCard {
    /// Boosting rounds.
    pub rounds: usize,
    /// Maximum tree depth.
    pub max_depth: usize,
    /// Learning rate (`eta`).
    pub learning_rate: f64,
    /// Maximum histogram bins per feature.
    pub max_bin: usize,
    /// L2 regularization of leaf weights (`lambda`).
    pub lambda: f64,
    /// Minimum sum of hessians in a child.
    pub min_child_weight: f64,
    /// Fraction of rows sampled per tree.
    pub subsample: f64,
    /// Random seed.
    pub seed: u64,
    /// Worker threads, `None` for the engine's default.
    pub threads: Option<usize>,
}

impl From<&TrainingParams> for ParamsCard {
    fn from(params: &TrainingParams) -> Self {
        ParamsCard {
            rounds: params.rounds,
            max_depth: params.max_depth,
            learning_rate: params.learning_rate,
            max_bin: params.max_bin,
            lambda: params.lambda,
            min_child_weight: params.min_child_weight,
            subsample: params.subsample,
            seed: params.seed,
            threads: params.threads,
        }
    }
}

/// One training series and its split times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceCard {
    /// Workload name.
    pub workload: String,
    /// Trace file.
    pub source: String,
    /// Windows in the series.
    pub windows: usize,
    /// First window start, in seconds.
    pub first_start_s: Option<i64>,
    /// Last window start, in seconds.
    pub last_start_s: Option<i64>,
    /// First window of the calibration part.
    pub calibration_start_s: Option<i64>,
    /// First window of the test part.
    pub test_start_s: Option<i64>,
    /// Whether the workload was held out of training.
    pub held_out: bool,
}

impl TraceCard {
    /// Describes `series` under `split`.
    pub fn new(series: &WindowedSeries, split: &SplitConfig) -> Self {
        let times = split.times(series);
        TraceCard {
            workload: series.workload.clone(),
            source: series.source.clone(),
            windows: series.len(),
            first_start_s: series.start_s.first().copied(),
            last_start_s: series.start_s.last().copied(),
            calibration_start_s: times.map(|times| times.calibration_start_s),
            test_start_s: times.map(|times| times.test_start_s),
            held_out: split.holdout_workloads.contains(&series.workload),
        }
    }
}

/// The files and setup of one target and horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandModelCard {
    /// Forecast quantity.
    pub target: DemandTarget,
    /// Horizon in 300 s windows.
    pub horizon_windows: usize,
    /// File of the mean model.
    pub mean_file: String,
    /// File of the upper-quantile model.
    pub upper_file: String,
    /// Quantile level of the upper model.
    pub upper_quantile: f64,
    /// Feature the models forecast relative to: a model output `r` means a level of
    /// `max(anchor, log_ratio_floor) * exp(r)`.
    pub anchor_feature: String,
    /// Floor of the log ratio, in the series unit.
    pub log_ratio_floor: f64,
    /// Rows the models were trained on.
    pub training_rows: usize,
}

/// The file, labels and calibration of the risk model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskModelCard {
    /// File of the classifier.
    pub file: String,
    /// Windows after the row in which a disruption makes the label positive.
    pub horizon_windows: usize,
    /// Source of the disruption labels.
    pub label_source: String,
    /// Rows the classifier was trained on.
    pub training_rows: usize,
    /// Share of positive training rows.
    pub training_positive_rate: f64,
    /// Rows the calibration was fitted on.
    pub calibration_rows: usize,
    /// Isotonic map from classifier probability to calibrated probability.
    pub calibration: IsotonicCalibration,
}

/// Forecast metrics of one forecaster on one set of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastMetrics {
    /// Rows scored.
    pub rows: usize,
    /// Mean absolute error of the mean forecast.
    pub mae: Option<f64>,
    /// Weighted MAPE of the mean forecast, as a fraction.
    pub wmape: Option<f64>,
    /// Pinball loss of the upper forecast at the upper quantile.
    pub pinball_upper: Option<f64>,
    /// Share of rows at or below the upper forecast.
    pub upper_coverage: Option<f64>,
}

impl ForecastMetrics {
    /// Scores a mean and an upper forecast against actual values.
    pub fn of(actual: &[f64], mean: &[f64], upper: &[f64], quantile: f64) -> Self {
        ForecastMetrics {
            rows: actual.len(),
            mae: metrics::mean_absolute_error(actual, mean),
            wmape: metrics::weighted_mape(actual, mean),
            pinball_upper: metrics::pinball_loss(actual, upper, quantile),
            upper_coverage: metrics::coverage(actual, upper),
        }
    }
}

/// Metrics of the demand models of one target and horizon and of each baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandEvaluation {
    /// Forecast quantity.
    pub target: DemandTarget,
    /// Horizon in 300 s windows.
    pub horizon_windows: usize,
    /// The models' metrics.
    pub model: ForecastMetrics,
    /// Each baseline's metrics, its point forecast standing for both mean and upper.
    pub baselines: BTreeMap<String, ForecastMetrics>,
}

/// Metrics of the risk model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskEvaluation {
    /// Windows after the row in which a disruption counts.
    pub horizon_windows: usize,
    /// Rows scored.
    pub rows: usize,
    /// Share of positive rows.
    pub positive_rate: Option<f64>,
    /// AUROC of the calibrated probability.
    pub auroc: Option<f64>,
    /// AUROC of the classifier's own probability.
    pub auroc_uncalibrated: Option<f64>,
    /// Brier score of the calibrated probability.
    pub brier: Option<f64>,
    /// Brier score of the classifier's own probability.
    pub brier_uncalibrated: Option<f64>,
    /// Accuracy of the calibrated probability at threshold 0.5.
    pub accuracy: Option<f64>,
    /// AUROC of persistence: a disruption in the row's own window predicts one ahead.
    pub persistence_auroc: Option<f64>,
    /// Reliability table of the calibrated probability, ten bins.
    pub reliability: Vec<ReliabilityBin>,
}

/// Metrics of every model on one set of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Demand metrics, by target and horizon.
    pub demand: Vec<DemandEvaluation>,
    /// Risk metrics, absent without a risk model or labels.
    pub risk: Option<RiskEvaluation>,
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |value| format!("{value:.4}"))
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(
        || "n/a".to_owned(),
        |value| format!("{:.1}%", value * 100.0),
    )
}

impl Evaluation {
    /// Returns one sentence per model that should not be trusted as it is: a demand model
    /// whose MAE is worse than persistence on the test rows, and a risk model whose labels
    /// had no positive or no negative row.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for demand in &self.demand {
            let persistence = demand
                .baselines
                .get("persistence")
                .and_then(|metrics| metrics.mae);
            if let (Some(model), Some(persistence)) = (demand.model.mae, persistence)
                && model > persistence
            {
                let target = match demand.target {
                    DemandTarget::Cpu => "CPU",
                    DemandTarget::Memory => "memory",
                };
                warnings.push(format!(
                    "the {target} demand model at {} window{} has an MAE of {model:.4} on the test rows, worse than persistence ({persistence:.4}); do not use it for that horizon",
                    demand.horizon_windows,
                    if demand.horizon_windows == 1 { "" } else { "s" }
                ));
            }
        }
        if let Some(risk) = &self.risk
            && let Some(rate) = risk.positive_rate
            && (rate <= 0.0 || rate >= 1.0)
        {
            warnings.push(format!(
                "the risk model's test rows are {:.0}% positive, so its AUROC is undefined and its probabilities are untested; label a trace with both disrupted and calm windows",
                rate * 100.0
            ));
        }
        warnings
    }

    /// Writes the metrics as Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        for demand in &self.demand {
            let _ = writeln!(
                out,
                "### {} demand, horizon {} windows ({} test rows)\n",
                demand.target.name(),
                demand.horizon_windows,
                demand.model.rows
            );
            out.push_str(
                "| forecaster | rows | MAE | wMAPE | pinball (upper) | upper coverage |\n",
            );
            out.push_str("|---|---|---|---|---|---|\n");
            let rows = std::iter::once(("model", &demand.model))
                .chain(demand.baselines.iter().map(|(name, m)| (name.as_str(), m)));
            for (name, metrics) in rows {
                let _ = writeln!(
                    out,
                    "| {name} | {} | {} | {} | {} | {} |",
                    metrics.rows,
                    number(metrics.mae),
                    percent(metrics.wmape),
                    number(metrics.pinball_upper),
                    percent(metrics.upper_coverage)
                );
            }
            out.push('\n');
        }
        if let Some(risk) = &self.risk {
            let _ = writeln!(
                out,
                "### Risk, disruption within {} windows ({} test rows, {} positive)\n",
                risk.horizon_windows,
                risk.rows,
                percent(risk.positive_rate)
            );
            out.push_str("| metric | calibrated | uncalibrated |\n|---|---|---|\n");
            let _ = writeln!(
                out,
                "| AUROC | {} | {} |",
                number(risk.auroc),
                number(risk.auroc_uncalibrated)
            );
            let _ = writeln!(
                out,
                "| Brier score | {} | {} |",
                number(risk.brier),
                number(risk.brier_uncalibrated)
            );
            let _ = writeln!(out, "| accuracy at 0.5 | {} | |", percent(risk.accuracy));
            let _ = writeln!(
                out,
                "| persistence AUROC | {} | |\n",
                number(risk.persistence_auroc)
            );
            out.push_str("Reliability of the calibrated probability:\n\n");
            out.push_str("| bin | rows | mean predicted | observed rate |\n|---|---|---|---|\n");
            for bin in &risk.reliability {
                let _ = writeln!(
                    out,
                    "| {:.1}-{:.1} | {} | {} | {} |",
                    bin.lower,
                    bin.upper,
                    bin.rows,
                    number(bin.mean_predicted),
                    number(bin.observed_rate)
                );
            }
            out.push('\n');
        }
        out
    }
}

impl ModelCard {
    /// Writes the card as a readable Markdown document.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Model card: Arbiter demand and risk models\n\n");
        let _ = writeln!(
            out,
            "Feature schema hash `{}`, {} features of {} s windows, trained with {}.\n",
            self.feature_schema_hash,
            self.feature_names.len(),
            self.window_s,
            self.engine
        );
        out.push_str("## Training data\n\n| workload | source | windows | first start (s) | calibration from (s) | test from (s) | held out |\n|---|---|---|---|---|---|---|\n");
        let optional =
            |value: Option<i64>| value.map_or_else(|| "n/a".to_owned(), |v| v.to_string());
        for trace in &self.traces {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                trace.workload,
                trace.source,
                trace.windows,
                optional(trace.first_start_s),
                optional(trace.calibration_start_s),
                optional(trace.test_start_s),
                if trace.held_out { "yes" } else { "no" }
            );
        }
        let _ = writeln!(
            out,
            "\nSplit by time within each workload: the last {:.0}% of the time span is the test \
             part and the {:.0}% before it calibrates the risk probabilities. Rows need {} \
             completed windows of history. A row trains only when every window its label reads \
             starts before the next part.\n",
            self.split.test_fraction * 100.0,
            self.split.calibration_fraction * 100.0,
            self.split.min_history_windows
        );
        out.push_str("## Labels\n\n");
        let _ = writeln!(out, "- Demand: {}.", self.demand_label_source);
        match &self.risk {
            Some(risk) => {
                let _ = writeln!(
                    out,
                    "- Risk: a disruption within {} windows; {}. Training rows {}, positive \
                     rate {}. Calibration: isotonic, fitted on {} rows of the calibration \
                     part ({} knots).\n",
                    risk.horizon_windows,
                    risk.label_source,
                    risk.training_rows,
                    percent(Some(risk.training_positive_rate)),
                    risk.calibration_rows,
                    risk.calibration.scores.len()
                );
            }
            None => {
                out.push_str("- Risk: no model, because the series had no disruption labels.\n\n")
            }
        }
        let p = &self.params;
        let _ = writeln!(
            out,
            "## Parameters\n\nrounds {}, max_depth {}, eta {}, max_bin {}, lambda {}, \
             min_child_weight {}, subsample {}, seed {}, threads {}. Demand models predict the \
             log ratio of the target window to `cpu_now` or `memory_now` (squared error for \
             the mean, quantile regression for the upper model). \
             Baselines: persistence, seasonal naive (one day earlier), EWMA (alpha {}), \
             moving-window p95 of the last {} windows.\n",
            p.rounds,
            p.max_depth,
            p.learning_rate,
            p.max_bin,
            p.lambda,
            p.min_child_weight,
            p.subsample,
            p.seed,
            p.threads
                .map_or_else(|| "engine default".to_owned(), |t| t.to_string()),
            self.baselines.ewma_alpha,
            self.baselines.p95_windows
        );
        out.push_str("## Metrics on the test part\n\n");
        out.push_str(&self.evaluation.to_markdown());
        out.push_str("## Features\n\n");
        for (index, name) in self.feature_names.iter().enumerate() {
            let _ = writeln!(out, "{}. `{name}`", index + 1);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(mae: f64) -> ForecastMetrics {
        ForecastMetrics {
            rows: 10,
            mae: Some(mae),
            wmape: None,
            pinball_upper: None,
            upper_coverage: None,
        }
    }

    fn demand(horizon_windows: usize, model: f64, persistence: f64) -> DemandEvaluation {
        DemandEvaluation {
            target: DemandTarget::Cpu,
            horizon_windows,
            model: metrics(model),
            baselines: BTreeMap::from([("persistence".to_owned(), metrics(persistence))]),
        }
    }

    #[test]
    fn warnings_name_models_worse_than_persistence() {
        let evaluation = Evaluation {
            demand: vec![demand(1, 0.3, 0.4), demand(12, 0.9, 0.5)],
            risk: None,
        };
        let warnings = evaluation.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("CPU demand model at 12 windows"),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("0.5000"), "{}", warnings[0]);
    }
}
