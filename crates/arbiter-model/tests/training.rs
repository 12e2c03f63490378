//! Training, the time split, evaluation and `ModelPredictor` on small generated series.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arbiter_core::features::{Feature, FeatureVector};
use arbiter_core::predict::{CapacityContext, PredictionBasis, Predictor};
use arbiter_core::series::{PointFlags, QuirkReport, SeriesPoint, UsageUnit, WorkloadSeries};
use arbiter_model::{
    CARD_JSON, DemandTarget, HessboostEngine, ModelError, ModelPredictor, Part, SplitConfig,
    TrainConfig, TrainingParams, WindowedSeries, feature_schema_hash, train_models,
};

const WINDOW_S: i64 = 300;
const DAY_WINDOWS: usize = 288;

/// A splitmix64 stream, so the series is the same on every run.
struct Stream(u64);

impl Stream {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Generates a workload with a daily cycle, a slow random walk and noise, over `days` days.
fn generated_series(name: &str, days: usize, seed: u64) -> WorkloadSeries {
    let mut stream = Stream(seed);
    let mut level = 0.0;
    let points = (0..days * DAY_WINDOWS)
        .map(|window| {
            let phase = (window % DAY_WINDOWS) as f64 / DAY_WINDOWS as f64;
            level = 0.95 * level + 0.1 * (stream.next_unit() - 0.5);
            let cpu =
                2.0 + (phase * std::f64::consts::TAU).sin() + level + 0.1 * stream.next_unit();
            SeriesPoint {
                start_s: 600 + window as i64 * WINDOW_S,
                cpu,
                memory: 4.0 + 0.5 * cpu,
                tasks: Some(10),
                flags: PointFlags::default(),
            }
        })
        .collect();
    WorkloadSeries {
        workload: name.to_owned(),
        source: format!("generated/{name}.csv"),
        format: "generated".to_owned(),
        window_s: WINDOW_S,
        unit: UsageUnit::Normalized,
        points,
        quirks: QuirkReport::default(),
    }
}

/// Windows of a generated series, disrupted when CPU is in the top tenth of its range.
fn labeled(name: &str, days: usize, seed: u64) -> WindowedSeries {
    let series = generated_series(name, days, seed);
    let labels = series.points.iter().map(|point| point.cpu > 2.9).collect();
    WindowedSeries::from_series(&series)
        .with_disruptions(labels)
        .expect("one label per window")
}

fn small_config() -> TrainConfig {
    TrainConfig {
        horizons: vec![1, 3],
        params: TrainingParams {
            rounds: 30,
            max_depth: 3,
            learning_rate: 0.2,
            threads: Some(1),
            ..TrainingParams::default()
        },
        risk_label_source: "generated: CPU above 2.9".to_owned(),
        ..TrainConfig::default()
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arbiter-model-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Trains once per test binary and writes the same models into each test's directory.
fn train_into(dir: &Path) -> arbiter_model::TrainedSet {
    static TRAINED: OnceLock<arbiter_model::TrainedSet> = OnceLock::new();
    let trained = TRAINED.get_or_init(|| {
        let series = vec![labeled("web", 5, 7)];
        train_models(
            &HessboostEngine,
            &series,
            &small_config(),
            &mut |_, _, _| {},
        )
        .expect("training succeeds")
    });
    trained.save(dir).expect("models are written");
    trained.clone()
}

#[test]
fn training_writes_models_and_card() {
    let dir = temp_dir("train");
    let trained = train_into(&dir);
    for file in trained.files.keys() {
        assert!(dir.join(file).is_file(), "{file} is written");
    }
    assert!(dir.join("model-card.md").is_file());
    assert_eq!(trained.files.len(), 2 * 2 * 2 + 1);
    assert_eq!(trained.card.feature_schema_hash, feature_schema_hash());

    let cpu_h1 = trained
        .card
        .evaluation
        .demand
        .iter()
        .find(|entry| entry.target == DemandTarget::Cpu && entry.horizon_windows == 1)
        .expect("cpu horizon 1 is evaluated");
    let model_mae = cpu_h1.model.mae.expect("model MAE");
    let persistence_mae = cpu_h1.baselines["persistence"]
        .mae
        .expect("persistence MAE");
    assert!(cpu_h1.model.rows > 300, "{} test rows", cpu_h1.model.rows);
    assert!(
        model_mae < persistence_mae,
        "model MAE {model_mae} vs persistence {persistence_mae}"
    );
    let risk = trained
        .card
        .evaluation
        .risk
        .as_ref()
        .expect("risk is evaluated");
    let auroc = risk.auroc.expect("both classes in the test part");
    assert!(auroc > 0.8, "risk AUROC {auroc}");
    assert_eq!(risk.reliability.len(), 10);

    let markdown = std::fs::read_to_string(dir.join("model-card.md")).expect("card");
    assert!(markdown.contains(&feature_schema_hash()));
    assert!(markdown.contains("generated: CPU above 2.9"));
    assert!(markdown.contains("seasonal_naive"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn split_keeps_targets_before_test_part() {
    let series = labeled("web", 4, 3);
    let split = SplitConfig::default();
    let times = split.times(&series).expect("series has windows");
    for horizon in [1usize, 3, 12] {
        let mut parts = [0usize; 3];
        for row in 0..series.len() {
            let start = series.start_s[row];
            let target_end = start + horizon as i64 * WINDOW_S;
            match split.part(&series, row, horizon) {
                Some(Part::Train) => {
                    parts[0] += 1;
                    assert!(
                        target_end < times.calibration_start_s,
                        "row {row} h {horizon}"
                    );
                }
                Some(Part::Calibration) => {
                    parts[1] += 1;
                    assert!(start >= times.calibration_start_s);
                    assert!(target_end < times.test_start_s, "row {row} h {horizon}");
                }
                Some(Part::Test) => {
                    parts[2] += 1;
                    assert!(start >= times.test_start_s);
                }
                None => {}
            }
        }
        assert!(parts.iter().all(|count| *count > 0), "parts {parts:?}");
    }
}

#[test]
fn split_skips_rows_without_history() {
    let series = labeled("web", 2, 3);
    let split = SplitConfig::default();
    for row in 0..split.min_history_windows {
        assert_eq!(split.part(&series, row, 1), None, "row {row}");
    }
    assert_eq!(
        split.part(&series, split.min_history_windows, 1),
        Some(Part::Train)
    );
}

#[test]
fn training_features_never_see_test_windows() {
    // Changing every test window must leave the training rows' features and labels unchanged,
    // lag and rolling features included.
    let original = generated_series("web", 4, 11);
    let mut changed = original.clone();
    let split = SplitConfig::default();
    let test_start = split
        .times(&WindowedSeries::from_series(&original))
        .expect("windows")
        .test_start_s;
    for point in &mut changed.points {
        if point.start_s >= test_start {
            point.cpu *= 10.0;
            point.memory *= 10.0;
        }
    }
    let original = WindowedSeries::from_series(&original);
    let changed = WindowedSeries::from_series(&changed);
    for horizon in [1usize, 3, 12] {
        for row in 0..original.len() {
            if !matches!(
                split.part(&original, row, horizon),
                Some(Part::Train | Part::Calibration)
            ) {
                continue;
            }
            assert_eq!(original.features[row], changed.features[row], "row {row}");
            let target = original.offset_index(row, horizon as i64).expect("target");
            assert_eq!(
                original.cpu[target], changed.cpu[target],
                "row {row} h {horizon}"
            );
        }
    }
}

#[test]
fn holdout_workload_gives_test_rows_only() {
    let series = labeled("batch", 3, 5);
    let split = SplitConfig {
        holdout_workloads: ["batch".to_owned()].into_iter().collect(),
        ..SplitConfig::default()
    };
    let parts: Vec<Option<Part>> = (0..series.len())
        .map(|row| split.part(&series, row, 1))
        .collect();
    assert!(!parts.contains(&Some(Part::Train)));
    assert!(!parts.contains(&Some(Part::Calibration)));
    assert!(parts.contains(&Some(Part::Test)));
}

#[test]
fn split_rejects_bad_fractions() {
    for (test, calibration) in [(0.0, 0.1), (1.0, 0.1), (0.5, 0.45), (f64::NAN, 0.1)] {
        let split = SplitConfig {
            test_fraction: test,
            calibration_fraction: calibration,
            ..SplitConfig::default()
        };
        assert!(split.validate().is_err(), "{test} {calibration}");
    }
}

#[test]
fn training_rejects_zero_horizon() {
    let series = vec![labeled("web", 2, 1)];
    let config = TrainConfig {
        horizons: vec![0],
        ..small_config()
    };
    let error = train_models(&HessboostEngine, &series, &config, &mut |_, _, _| {})
        .expect_err("horizon 0 is invalid");
    assert!(error.to_string().contains("horizons are [0]"), "{error}");
}

#[test]
fn training_rejects_too_short_series() {
    let series = vec![labeled("web", 0, 1)];
    let error = train_models(
        &HessboostEngine,
        &series,
        &small_config(),
        &mut |_, _, _| {},
    )
    .expect_err("no rows");
    assert!(matches!(error, ModelError::TrainingData { .. }), "{error}");
}

fn capacity() -> CapacityContext {
    CapacityContext {
        ready_cpu_cores: 4.0,
        slo_safe_utilization: 0.8,
    }
}

#[test]
fn predictor_uses_models_at_horizon_one() {
    let dir = temp_dir("predict");
    let trained = train_into(&dir);
    let predictor = ModelPredictor::load(&dir).expect("models load");
    let series = labeled("web", 5, 7);
    let row = series.len() - 2;
    let prediction = predictor.predict(
        &series.features[row],
        series.history_windows[row],
        &capacity(),
    );
    assert_eq!(
        prediction.basis,
        PredictionBasis::Model {
            source: dir.display().to_string()
        }
    );
    let models = trained.models.demand(DemandTarget::Cpu, 1).expect("cpu h1");
    let (mean, upper) = models
        .forecast(&arbiter_model::feature_row(&series.features[row]))
        .expect("predicts")
        .expect("anchor present");
    assert!((prediction.cpu_mean_cores - mean).abs() < 1e-9);
    assert!((prediction.cpu_upper_cores - upper.max(mean)).abs() < 1e-9);
    assert!(prediction.cpu_upper_cores >= prediction.cpu_mean_cores);
    assert!((0.0..=1.0).contains(&prediction.risk));
    assert!((prediction.cpu_mean_cores - series.cpu[row + 1]).abs() < 0.5);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn predictor_falls_back_without_features() {
    let dir = temp_dir("fallback");
    train_into(&dir);
    let predictor = ModelPredictor::load(&dir).expect("models load");
    let series = labeled("web", 2, 7);
    let row = 200;

    let mut missing_now: FeatureVector = series.features[row].clone();
    missing_now.values[Feature::CpuNow as usize] = None;
    let prediction = predictor.predict(&missing_now, series.history_windows[row], &capacity());
    assert_eq!(prediction.basis, PredictionBasis::Statistical);

    let prediction = predictor.predict(&series.features[3], 3, &capacity());
    match prediction.basis {
        PredictionBasis::Reactive { reason } => {
            assert!(reason.contains("models in"), "{reason}");
            assert!(reason.contains("the models need 12"), "{reason}");
        }
        other => panic!("expected a reactive fallback, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn edit_card(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(CARD_JSON);
    let mut card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("card")).expect("json");
    edit(&mut card);
    std::fs::write(&path, serde_json::to_string(&card).expect("json")).expect("write");
}

#[test]
fn predictor_rejects_schema_mismatch() {
    let dir = temp_dir("schema");
    train_into(&dir);
    edit_card(&dir, |card| {
        card["feature_schema_hash"] = "00000000deadbeef".into()
    });
    let error = ModelPredictor::load(&dir).expect_err("schema differs");
    let message = error.to_string();
    assert!(
        matches!(error, ModelError::SchemaMismatch { .. }),
        "{message}"
    );
    assert!(message.contains("00000000deadbeef"), "{message}");
    assert!(message.contains(&feature_schema_hash()), "{message}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn predictor_rejects_bad_directories() {
    let missing = temp_dir("missing");
    let error = ModelPredictor::load(&missing).expect_err("no directory");
    assert!(error.to_string().contains("was not found"), "{error}");

    let empty = temp_dir("empty");
    std::fs::create_dir_all(&empty).expect("dir");
    let error = ModelPredictor::load(&empty).expect_err("no card");
    assert!(error.to_string().contains("model-card.json"), "{error}");

    std::fs::write(empty.join(CARD_JSON), "{\"name\": 1}").expect("write");
    let error = ModelPredictor::load(&empty).expect_err("foreign card");
    assert!(error.to_string().contains("not a model card"), "{error}");
    std::fs::remove_dir_all(&empty).ok();
}

#[test]
fn predictor_rejects_broken_model_files() {
    let dir = temp_dir("broken");
    train_into(&dir);
    std::fs::write(dir.join("risk.json"), "{ not json").expect("write");
    let error = ModelPredictor::load(&dir).expect_err("malformed model");
    assert!(error.to_string().contains("risk.json"), "{error}");

    std::fs::remove_file(dir.join("demand-cpu-h1-mean.json")).expect("remove");
    let error = ModelPredictor::load(&dir).expect_err("missing model");
    assert!(
        error.to_string().contains("demand-cpu-h1-mean.json"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A change to a model card's JSON.
type CardEdit = fn(&mut serde_json::Value);

#[test]
fn predictor_rejects_card_edits() {
    let cases: [(&str, CardEdit, &str); 4] = [
        (
            "version",
            |card| card["format_version"] = 99.into(),
            "format_version 99",
        ),
        (
            "escape",
            |card| card["demand"][0]["mean_file"] = "../risk.json".into(),
            "plain file name",
        ),
        (
            "calibration",
            |card| card["risk"]["calibration"]["probabilities"][0] = 2.0.into(),
            "invalid risk calibration",
        ),
        (
            "horizon",
            |card| {
                let demand = card["demand"].as_array_mut().expect("array");
                demand.retain(|entry| entry["horizon_windows"] != 1);
            },
            "horizon 1",
        ),
    ];
    for (name, edit, expected) in cases {
        let dir = temp_dir(&format!("card-{name}"));
        train_into(&dir);
        edit_card(&dir, edit);
        let error = ModelPredictor::load(&dir).expect_err(name);
        assert!(error.to_string().contains(expected), "{name}: {error}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
