//! `ModelPredictor` throughput in predictions per second.
//!
//! Run with `cargo bench -p arbiter-model --bench predictor`. Trains the default model set
//! (CPU and memory demand at horizons 1, 3 and 12, and the risk classifier, 200 rounds of
//! depth 4) on a generated 10-day series with a daily cycle, saves and loads it, then times
//! `Predictor::predict` on every feature vector of the series in one thread. Reports the best
//! and the median of 5 runs.

use std::hint::black_box;
use std::time::Instant;

use arbiter_core::predict::{CapacityContext, Predictor};
use arbiter_core::series::{PointFlags, QuirkReport, SeriesPoint, UsageUnit, WorkloadSeries};
use arbiter_model::{HessboostEngine, ModelPredictor, TrainConfig, WindowedSeries, train_models};

const DAYS: usize = 10;
const RUNS: usize = 5;

fn series() -> WorkloadSeries {
    let mut state = 42u64;
    let points = (0..DAYS * 288)
        .map(|window| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let noise = (state >> 40) as f64 / (1u64 << 24) as f64;
            let phase = (window % 288) as f64 / 288.0;
            let cpu = 2.0 + (phase * std::f64::consts::TAU).sin() + 0.3 * noise;
            SeriesPoint {
                start_s: window as i64 * 300,
                cpu,
                memory: 4.0 + cpu,
                tasks: Some(10),
                flags: PointFlags::default(),
            }
        })
        .collect();
    WorkloadSeries {
        workload: "bench".to_owned(),
        source: "generated".to_owned(),
        format: "generated".to_owned(),
        window_s: 300,
        unit: UsageUnit::Normalized,
        points,
        quirks: QuirkReport::default(),
    }
}

fn main() {
    let series = series();
    let labels = series.points.iter().map(|point| point.cpu > 2.9).collect();
    let windows = WindowedSeries::from_series(&series)
        .with_disruptions(labels)
        .expect("one label per window");
    let config = TrainConfig {
        risk_label_source: "generated".to_owned(),
        ..TrainConfig::default()
    };
    let trained = train_models(
        &HessboostEngine,
        std::slice::from_ref(&windows),
        &config,
        &mut |_, _, _| {},
    )
    .expect("training succeeds");
    let dir = std::env::temp_dir().join(format!("arbiter-model-bench-{}", std::process::id()));
    trained.save(&dir).expect("models are written");
    let predictor = ModelPredictor::load(&dir).expect("models load");
    let capacity = CapacityContext {
        ready_cpu_cores: 4.0,
        slo_safe_utilization: 0.8,
    };

    let mut seconds = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        for (features, history) in windows.features.iter().zip(&windows.history_windows) {
            black_box(predictor.predict(black_box(features), *history, &capacity));
        }
        seconds.push(start.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    let rows = windows.features.len() as f64;
    println!(
        "ModelPredictor::predict: {} rows, best {:.0} rows/s, median {:.0} rows/s",
        windows.features.len(),
        rows / seconds[0],
        rows / seconds[RUNS / 2]
    );
    std::fs::remove_dir_all(&dir).ok();
}
