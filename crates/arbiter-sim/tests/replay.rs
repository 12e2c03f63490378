//! Replays the shipped Borg trace through the lockstep comparison: byte-identical reports for
//! the same seed, the energy sweep and node-hours in the report, and the power calibrations in
//! `data/power/`.

use std::path::{Path, PathBuf};

use arbiter_core::energy::CpuCurve;
use arbiter_sim::SimError;
use arbiter_sim::config::load_power_calibration;
use arbiter_sim::experiment::{
    DEFAULT_IDLE_FRACTIONS, ExperimentConfig, FigureKind, NoObserver, run_experiment,
};
use arbiter_trace::{ReadOptions, read_series};

fn repository_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn replay(config: &ExperimentConfig) -> String {
    let trace = repository_file("data/borg/g2011_job6176858948_taskusage_sum_5min.csv");
    let series = read_series(&trace, None, &ReadOptions::default()).expect("shipped trace reads");
    let report = run_experiment(config, series, &mut NoObserver).expect("replay runs");
    serde_json::to_string(&report).expect("report encodes")
}

#[test]
fn same_seed_gives_identical_report() {
    let mut config = ExperimentConfig::with_seed(5);
    config.days = Some(0.5);
    let first = replay(&config);
    let second = replay(&config);
    assert_eq!(first, second);

    let mut other = config.clone();
    other.seed = 6;
    assert_ne!(first, replay(&other), "the seed reaches the results");
}

#[test]
fn report_has_energy_sweep_and_node_hours() {
    let mut config = ExperimentConfig::with_seed(1);
    config.days = Some(0.5);
    let report: serde_json::Value = serde_json::from_str(&replay(&config)).expect("report parses");
    let sweep = report["energy_sweep"]
        .as_array()
        .expect("energy_sweep list");
    assert_eq!(sweep.len(), DEFAULT_IDLE_FRACTIONS.len());
    assert_eq!(sweep[0]["idle_fraction"], 0.27);
    assert_eq!(sweep[0]["kind"], "estimated");
    let idle = |point: &serde_json::Value| point["baseline"]["idle_kwh"].as_f64().expect("f64");
    assert!(idle(&sweep[4]) > idle(&sweep[0]));
    // Five static nodes for 12 hours.
    let node_hours = report["baseline"]["node_hours"]
        .as_f64()
        .expect("node_hours");
    assert!((node_hours - 5.0 * 12.0).abs() < 0.1, "{node_hours}");
    let kinds: std::collections::BTreeMap<_, _> = arbiter_sim::experiment::ClusterFigures::kinds()
        .into_iter()
        .collect();
    assert_eq!(kinds.get("energy_sweep"), Some(&FigureKind::Estimated));
    assert_eq!(kinds.get("node_hours"), Some(&FigureKind::Simulated));
}

#[test]
fn shipped_calibrations_load() {
    let directory = repository_file("data/power");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&directory).expect("data/power exists") {
        let path = entry.expect("directory entry").path();
        if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            let calibration = load_power_calibration(&path)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            let peak = calibration.model.peak_w();
            let idle = calibration.model.effective_idle_w();
            assert!(
                idle > 0.0 && idle < peak,
                "{}: {idle} W of {peak} W",
                path.display()
            );
            names.push(calibration.name);
        }
    }
    names.sort();
    assert_eq!(
        names,
        vec![
            "linear-default",
            "nonlinear-r1.4",
            "specpower-table-example"
        ]
    );
}

#[test]
fn calibration_errors_name_file() {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("calibrations");
    std::fs::create_dir_all(&directory).expect("scratch directory");
    let bad = directory.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"name": "bad", "description": "", "model": {"idle_w": 50, "cpu_full_scale_w": 100,
           "memory_full_scale_w": 0, "cpu_curve": {"kind": "nonlinear", "exponent": 3.0}}}"#,
    )
    .expect("write fixture");
    let error = load_power_calibration(&bad).expect_err("exponent out of range");
    let message = error.to_string();
    assert!(message.contains("bad.json"), "{message}");
    assert!(message.contains("cpu_curve.exponent"), "{message}");

    let missing = directory.join("absent.json");
    assert!(matches!(
        load_power_calibration(&missing),
        Err(SimError::CalibrationIo { .. })
    ));

    let table = directory.join("table.json");
    std::fs::write(
        &table,
        r#"{"name": "t", "description": "", "model": {"idle_w": 0, "cpu_full_scale_w": 0,
           "memory_full_scale_w": 0, "cpu_curve": {"kind": "table",
           "watts": [50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150]}}}"#,
    )
    .expect("write fixture");
    let calibration = load_power_calibration(&table).expect("valid table");
    assert!(matches!(
        calibration.model.cpu_curve,
        CpuCurve::Table { .. }
    ));
    assert_eq!(calibration.model.effective_idle_w(), 50.0);
}

#[test]
fn shorter_replay_keeps_demand_scale() {
    let mapping = |days: f64| {
        let mut config = ExperimentConfig::with_seed(1);
        config.days = Some(days);
        let report: serde_json::Value =
            serde_json::from_str(&replay(&config)).expect("report parses");
        report["workloads"][0]["mapping"].clone()
    };
    let quarter_day = mapping(0.25);
    assert!(
        quarter_day["cores_per_unit"].as_f64().is_some(),
        "{quarter_day}"
    );
    // The scale comes from the whole trace, so the replayed length does not change it.
    assert_eq!(quarter_day, mapping(1.5));
}
