//! Prediction throughput in rows per second.
//!
//! Run with `cargo bench -p arbiter-model --bench predict`. Trains models with
//! [`HessboostEngine`] on synthetic rows (16 features, 2% missing), then times
//! [`XgboostModel::predict`] on 100,000 rows in one thread, and [`predict_csv`] on the same
//! rows as CSV text. Each case reports the best and the median of 5 runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use arbiter_model::{
    Engine, HessboostEngine, Task, TrainingData, TrainingParams, XgboostModel,
    format_prediction_row, predict_csv,
};

const FEATURES: usize = 16;
const TRAIN_ROWS: usize = 20_000;
const PREDICT_ROWS: usize = 100_000;
const RUNS: usize = 5;

/// A splitmix64 stream for reproducible synthetic data.
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

fn rows(stream: &mut Stream, count: usize) -> Vec<f32> {
    (0..count * FEATURES)
        .map(|_| {
            if stream.next_unit() < 0.02 {
                f32::NAN
            } else {
                stream.next_unit() * 4.0 - 1.0
            }
        })
        .collect()
}

fn labels(features: &[f32]) -> Vec<f32> {
    features
        .chunks_exact(FEATURES)
        .map(|row| {
            let value = |index: usize| if row[index].is_nan() { 0.0 } else { row[index] };
            value(0) * 2.0 - value(1) * value(2) + (3.0 * value(3)).sin() + 0.5 * value(4)
        })
        .collect()
}

/// Runs `work` [`RUNS`] times and prints the best and median rows per second.
fn report(name: &str, rows: usize, mut work: impl FnMut()) {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    times.sort();
    let rate = |time: Duration| rows as f64 / time.as_secs_f64();
    println!(
        "{name:<44} best {:>12.0} rows/s   median {:>12.0} rows/s",
        rate(times[0]),
        rate(times[RUNS / 2])
    );
}

fn train(
    task: &Task,
    features: &[f32],
    names: &[String],
    labels: &[f32],
    rounds: usize,
) -> XgboostModel {
    let data = TrainingData::new(features, names, labels).expect("valid training data");
    let params = TrainingParams {
        rounds,
        max_depth: 6,
        ..TrainingParams::default()
    };
    HessboostEngine
        .train(task, &data, &params)
        .expect("training succeeds")
        .model
}

fn main() {
    let mut stream = Stream(7);
    let names: Vec<String> = (0..FEATURES)
        .map(|index| format!("feature_{index}"))
        .collect();
    let train_rows = rows(&mut stream, TRAIN_ROWS);
    let train_labels = labels(&train_rows);
    let predict_rows = rows(&mut stream, PREDICT_ROWS);

    let regression = train(&Task::Regression, &train_rows, &names, &train_labels, 100);
    let quantiles = train(
        &Task::QuantileRegression {
            alphas: vec![0.5, 0.95],
        },
        &train_rows,
        &names,
        &train_labels,
        100,
    );
    let median = train_labels[TRAIN_ROWS / 2];
    let breach: Vec<f32> = train_labels
        .iter()
        .map(|&label| if label > median { 1.0 } else { 0.0 })
        .collect();
    let classifier = train(
        &Task::BinaryClassification,
        &train_rows,
        &names,
        &breach,
        100,
    );

    println!("{PREDICT_ROWS} rows x {FEATURES} features, trees of depth up to 6, one thread");
    for (name, model) in [
        ("regression, 100 trees", &regression),
        ("classification, 100 trees", &classifier),
        ("quantiles 0.5 and 0.95, 2 x 100 trees", &quantiles),
    ] {
        report(name, PREDICT_ROWS, || {
            black_box(model.predict(black_box(&predict_rows)).expect("rows fit"));
        });
    }

    let header = names.join(",");
    let mut csv = header + "\n";
    for row in predict_rows.chunks_exact(FEATURES) {
        csv.push_str(&format_prediction_row(row).replace("NaN", ""));
        csv.push('\n');
    }
    report("CSV parse and predict, regression", PREDICT_ROWS, || {
        black_box(predict_csv(&regression, black_box(csv.as_bytes())).expect("valid CSV"));
    });
}
