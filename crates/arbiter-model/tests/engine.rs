//! The hessboost engine trains the three model kinds, and the XGBoost JSON it saves reloads
//! through this crate's reader with the predictions hessboost itself makes.

use std::path::PathBuf;

use arbiter_model::{
    Engine, HessboostEngine, ModelError, Task, TrainedModel, TrainingData, TrainingParams,
    XgboostModel,
};
use hessboost::data::DMatrix;
use hessboost::model::{BoostedModel, Iterations, ModelFormat};

const ROWS: usize = 3000;
const NAMES: [&str; 4] = ["cpu_mean_cores", "memory_gib", "replicas", "hour_of_day"];

/// A splitmix64 stream, so the data is the same on every run without a random crate.
struct Stream(u64);

impl Stream {
    fn next_unit(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32
    }
}

struct Dataset {
    features: Vec<f32>,
    names: Vec<String>,
    demand: Vec<f32>,
    breach: Vec<f32>,
}

/// Builds rows of workload features with 5% missing values. Demand grows with CPU and the
/// hour's load, and a breach happens when demand per replica is high.
fn dataset() -> Dataset {
    let mut stream = Stream(42);
    let mut features = Vec::with_capacity(ROWS * NAMES.len());
    let mut demand = Vec::with_capacity(ROWS);
    let mut breach = Vec::with_capacity(ROWS);
    for _ in 0..ROWS {
        let cpu = 4.0 * stream.next_unit();
        let memory = 8.0 * stream.next_unit();
        let replicas = (1.0 + 9.0 * stream.next_unit()).floor();
        let hour = (24.0 * stream.next_unit()).floor();
        let noise = stream.next_unit() - 0.5;
        let daily = if (9.0..18.0).contains(&hour) {
            1.0
        } else {
            0.0
        };
        let value = cpu + 0.1 * memory + daily + noise;
        demand.push(value);
        breach.push(if value / replicas > 0.6 { 1.0 } else { 0.0 });
        for feature in [cpu, memory, replicas, hour] {
            let missing = stream.next_unit() < 0.05;
            features.push(if missing { f32::NAN } else { feature });
        }
    }
    Dataset {
        features,
        names: NAMES.iter().map(|&name| name.to_owned()).collect(),
        demand,
        breach,
    }
}

fn params() -> TrainingParams {
    TrainingParams {
        rounds: 30,
        max_depth: 4,
        threads: Some(2),
        ..TrainingParams::default()
    }
}

fn train(task: &Task, data: &Dataset, labels: &[f32]) -> TrainedModel {
    let training = TrainingData::new(&data.features, &data.names, labels).unwrap();
    HessboostEngine.train(task, &training, &params()).unwrap()
}

/// Saves the model to a file, reads it back and removes the file.
fn reload(trained: &TrainedModel, name: &str) -> XgboostModel {
    let path: PathBuf =
        std::env::temp_dir().join(format!("arbiter-model-{}-{name}.json", std::process::id()));
    trained.save(&path).unwrap();
    let model = XgboostModel::load(&path);
    std::fs::remove_file(&path).unwrap();
    model.unwrap()
}

/// Predicts the rows with hessboost from the same XGBoost JSON.
fn hessboost_predictions(json: &str, features: &[f32]) -> Vec<f32> {
    let model = BoostedModel::decode(json.as_bytes(), ModelFormat::XgboostJson).unwrap();
    let matrix = DMatrix::from_dense(features, ROWS, NAMES.len()).unwrap();
    let predictions = model.predict(&matrix, Iterations::Best).unwrap();
    predictions.as_slice().to_vec()
}

fn assert_reload_identical(trained: &TrainedModel, name: &str, features: &[f32]) {
    let reloaded = reload(trained, name);
    assert_eq!(reloaded, trained.model, "{name}: reloaded model differs");
    let ours = reloaded.predict(features).unwrap();
    let theirs = hessboost_predictions(&trained.json, features);
    assert_eq!(ours.len(), theirs.len(), "{name}: prediction count");
    let mismatches = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(
        mismatches, 0,
        "{name}: predictions that differ from hessboost's"
    );
}

#[test]
fn regression_reloads_with_identical_predictions() {
    let data = dataset();
    let trained = train(&Task::Regression, &data, &data.demand);
    assert_eq!(trained.model.objective().name(), "reg:squarederror");
    assert_eq!(trained.model.feature_names(), data.names.as_slice());
    assert_reload_identical(&trained, "regression", &data.features);

    let predictions = trained.model.predict(&data.features).unwrap();
    let mean = data.demand.iter().sum::<f32>() / ROWS as f32;
    let total: f32 = data.demand.iter().map(|y| (y - mean).powi(2)).sum();
    let residual: f32 = data
        .demand
        .iter()
        .zip(&predictions)
        .map(|(y, p)| (y - p).powi(2))
        .sum();
    let r_squared = 1.0 - residual / total;
    assert!(r_squared > 0.8, "R^2 {r_squared}");
}

#[test]
fn quantile_regression_reloads_with_identical_predictions() {
    let data = dataset();
    let task = Task::QuantileRegression {
        alphas: vec![0.5, 0.95],
    };
    let trained = train(&task, &data, &data.demand);
    assert_eq!(trained.model.num_outputs(), 2);
    assert_reload_identical(&trained, "quantile", &data.features);

    let predictions = trained.model.predict(&data.features).unwrap();
    let coverage = |output: usize| {
        let below = data
            .demand
            .iter()
            .enumerate()
            .filter(|&(row, &y)| y <= predictions[row * 2 + output])
            .count();
        below as f64 / ROWS as f64
    };
    let median = coverage(0);
    let p95 = coverage(1);
    assert!((0.4..=0.6).contains(&median), "p50 coverage {median}");
    assert!((0.9..=0.99).contains(&p95), "p95 coverage {p95}");
}

#[test]
fn classification_reloads_with_identical_predictions() {
    let data = dataset();
    let trained = train(&Task::BinaryClassification, &data, &data.breach);
    assert_eq!(trained.model.objective().name(), "binary:logistic");
    assert_reload_identical(&trained, "classification", &data.features);

    let predictions = trained.model.predict(&data.features).unwrap();
    assert!(predictions.iter().all(|p| *p > 0.0 && *p < 1.0));
    let correct = predictions
        .iter()
        .zip(&data.breach)
        .filter(|&(p, y)| (*p > 0.5) == (*y == 1.0))
        .count();
    let accuracy = correct as f64 / ROWS as f64;
    assert!(accuracy > 0.85, "accuracy {accuracy}");
}

#[test]
fn training_is_same_on_one_and_two_threads() {
    let data = dataset();
    let training = TrainingData::new(&data.features, &data.names, &data.demand).unwrap();
    let one = TrainingParams {
        threads: Some(1),
        ..params()
    };
    let json_one = HessboostEngine
        .train_xgboost_json(&Task::Regression, &training, &one)
        .unwrap();
    let json_two = HessboostEngine
        .train_xgboost_json(&Task::Regression, &training, &params())
        .unwrap();
    assert_eq!(json_one, json_two);
}

#[test]
fn classification_rejects_non_binary_labels() {
    let data = dataset();
    let training = TrainingData::new(&data.features, &data.names, &data.demand).unwrap();
    let error = HessboostEngine
        .train(&Task::BinaryClassification, &training, &params())
        .unwrap_err();
    match error {
        ModelError::TrainingData { reason } => assert!(reason.contains("row 0"), "{reason}"),
        other => panic!("expected TrainingData, got {other:?}"),
    }
}

#[test]
fn engine_error_names_engine() {
    let data = dataset();
    let training = TrainingData::new(&data.features, &data.names, &data.demand).unwrap();
    let bad = TrainingParams {
        max_depth: 0,
        ..params()
    };
    let error = HessboostEngine
        .train(&Task::Regression, &training, &bad)
        .unwrap_err();
    assert!(matches!(
        error,
        ModelError::Engine {
            engine: "hessboost 0.4.6",
            ..
        }
    ));
    assert!(error.to_string().contains("max_depth"), "{error}");
}

#[test]
fn training_data_rejects_bad_shapes() {
    let names: Vec<String> = vec!["cpu".to_owned(), "memory".to_owned()];
    let repeated: Vec<String> = vec!["cpu".to_owned(), "cpu".to_owned()];
    /// Features, feature names, labels, and a part of the expected reason.
    type Case<'a> = (&'a [f32], &'a [String], &'a [f32], &'a str);
    let cases: [Case<'_>; 5] = [
        (&[1.0, 2.0, 3.0], &names, &[1.0, 2.0], "3 values"),
        (&[1.0, 2.0], &repeated, &[1.0], "appears twice"),
        (&[1.0, 2.0], &names, &[f32::NAN], "label of row 0"),
        (&[], &names, &[], "no labels"),
        (&[1.0], &[], &[1.0], "no feature names"),
    ];
    for (features, feature_names, labels, expected) in cases {
        match TrainingData::new(features, feature_names, labels) {
            Err(ModelError::TrainingData { reason }) => {
                assert!(reason.contains(expected), "{reason} lacks {expected}");
            }
            other => panic!("expected TrainingData error with {expected}, got {other:?}"),
        }
    }
}
