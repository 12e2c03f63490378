//! Times the default comparison (`arbiter compare` without options): the shipped 29-day Borg
//! trace at 15 s ticks, HPA against Arbiter's controller, seed 1.
//!
//! Run with `cargo bench -p arbiter-sim --bench compare`.

use std::path::Path;
use std::time::Instant;

use arbiter_core::series::SpikePolicy;
use arbiter_sim::experiment::{ExperimentConfig, NoObserver, run_experiment};
use arbiter_trace::{ReadOptions, read_series};

fn main() {
    let trace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/borg/g2011_job6176858948_taskusage_sum_5min.csv");
    let options = ReadOptions {
        spike_policy: SpikePolicy::Repair,
    };
    let series = match read_series(&trace, None, &options) {
        Ok(series) => series,
        Err(error) => {
            eprintln!("failed to read {}: {error}", trace.display());
            std::process::exit(1);
        }
    };
    let config = ExperimentConfig::with_seed(1);
    let start = Instant::now();
    let report = match run_experiment(&config, series, &mut NoObserver) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("comparison failed: {error}");
            std::process::exit(1);
        }
    };
    let wall_s = start.elapsed().as_secs_f64();
    println!(
        "default comparison: {} ticks ({:.1} simulated days) in {wall_s:.2} s, {:.0} simulated s \
         per wall s",
        report.ticks,
        report.simulated_s / 86_400.0,
        report.simulated_s / wall_s
    );
}
