//! End-to-end tests of `arbiter compare` and `arbiter hpa check-vectors` through the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn arbiter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arbiter"))
        .args(args)
        .current_dir(repository_root())
        .env("RUST_LOG", "warn")
        .env_remove("ARBITER_STORE")
        .output()
        .expect("the arbiter binary runs")
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// A fresh directory for one test's files.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arbiter-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a short comparison and returns the JSON report and decision lines as written.
fn run_short(dir: &Path, name: &str, seed: &str) -> (Vec<u8>, Vec<u8>) {
    let json = dir.join(format!("{name}.json"));
    let decisions = dir.join(format!("{name}.jsonl"));
    let output = arbiter(&[
        "compare",
        "--days",
        "1",
        "--seed",
        seed,
        "--quiet",
        "--no-store",
        "--json",
        json.to_str().expect("utf-8 path"),
        "--decisions",
        decisions.to_str().expect("utf-8 path"),
    ]);
    assert!(
        output.status.success(),
        "compare failed: {}",
        stderr(&output)
    );
    (
        std::fs::read(&json).expect("json written"),
        std::fs::read(&decisions).expect("decisions written"),
    )
}

#[test]
fn compare_same_seed_is_byte_identical() {
    let dir = scratch_dir("same-seed");
    let (json_a, decisions_a) = run_short(&dir, "a", "7");
    let (json_b, decisions_b) = run_short(&dir, "b", "7");
    assert!(
        json_a == json_b,
        "two runs with seed 7 wrote different --json files"
    );
    assert!(
        decisions_a == decisions_b,
        "two runs with seed 7 wrote different --decisions files"
    );

    let (json_c, decisions_c) = run_short(&dir, "c", "8");
    assert!(json_a != json_c, "seeds 7 and 8 wrote the same --json file");
    assert!(
        decisions_a != decisions_c,
        "seeds 7 and 8 wrote the same --decisions file"
    );
}

#[test]
fn compare_json_has_documented_fields() {
    let dir = scratch_dir("json-fields");
    let (json, decisions) = run_short(&dir, "run", "1");
    let report: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
    assert_eq!(report["seed"], 1);
    assert_eq!(report["format"], "g2011-job-series");
    assert!(
        report["trace"]
            .as_str()
            .expect("trace")
            .ends_with("g2011_job6176858948_taskusage_sum_5min.csv")
    );
    assert!(report["configuration"].is_object());
    for cluster in ["baseline", "experimental"] {
        for field in [
            "slo_miss_minutes",
            "p95_latency_ms",
            "requested_core_hours",
            "replica_changes",
            "oom_kills",
            "pending_pod_minutes",
            "energy_kwh",
            "energy_idle_kwh",
            "energy_controlled_dynamic_kwh",
            "energy_background_dynamic_kwh",
        ] {
            assert!(
                report[cluster][field].is_number(),
                "{cluster}.{field} missing in {report}"
            );
        }
    }
    assert_eq!(report["figure_kinds"]["energy_kwh"], "estimated");
    assert_eq!(report["figure_kinds"]["slo_miss_minutes"], "simulated");
    assert_eq!(report["ticks"], 5760);

    let lines: Vec<&[u8]> = decisions
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .collect();
    assert_eq!(lines.len(), 5760, "one decision per workload per tick");
    let first: serde_json::Value = serde_json::from_slice(lines[0]).expect("decision is JSON");
    for field in [
        "tick",
        "workload",
        "proposals",
        "vetoes",
        "conflicts",
        "action",
        "execution",
        "reason",
    ] {
        assert!(
            first.get(field).is_some(),
            "decision lacks {field}: {first}"
        );
    }
}

#[test]
fn compare_prints_side_by_side_table() {
    let output = arbiter(&["compare", "--days", "0.5", "--quiet", "--no-store"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    for expected in [
        "baseline (HPA)",
        "experimental (Arbiter)",
        "SLO-miss minutes",
        "p95 latency (ms)",
        "requested core-hours",
        "replica changes",
        "OOM kills",
        "pending pod-minutes",
        "energy (kWh)",
        "simulated",
        "estimated",
        "seed 1",
    ] {
        assert!(
            table.contains(expected),
            "table lacks `{expected}`:\n{table}"
        );
    }
}

#[test]
fn compare_reads_cell_aggregate() {
    let output = arbiter(&[
        "compare",
        "--trace",
        "data/borg/g2019_instance_usage_cellagg_300s_month.csv",
        "--days",
        "0.5",
        "--quiet",
        "--no-store",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("cell-aggregate"),
        "{}",
        stdout(&output)
    );
}

/// Copies the default trace with its third line replaced, to make a damaged file.
fn damaged_trace(dir: &Path, name: &str, third_line: &str) -> PathBuf {
    let source = std::fs::read_to_string(
        repository_root().join("data/borg/g2011_job6176858948_taskusage_sum_5min.csv"),
    )
    .expect("read the shipped trace");
    let mut lines: Vec<&str> = source.lines().take(400).collect();
    lines[2] = third_line;
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write damaged trace");
    path
}

fn assert_trace_error(args: &[&str], expected_parts: &[&str]) {
    let output = arbiter(args);
    assert!(!output.status.success(), "expected a failure for {args:?}");
    let message = stderr(&output);
    assert!(
        !message.contains("panicked"),
        "panic instead of an error: {message}"
    );
    for part in expected_parts {
        assert!(message.contains(part), "error lacks `{part}`: {message}");
    }
}

#[test]
fn garbled_number_names_file_line_column() {
    let dir = scratch_dir("garbled");
    let path = damaged_trace(
        &dir,
        "garbled.csv",
        "1200.0,3089.0,3089.0,0.55x,0.16,0.36,0.019,0.033,0.19,0.0007,0.0042,4.69,0.094,194.3,0.42,0.0,3089.0,0.0",
    );
    let path_text = path.to_str().expect("utf-8 path");
    assert_trace_error(
        &["compare", "--quiet", "--no-store", "--trace", path_text],
        &["garbled.csv", ":3", "column 4", "0.55x"],
    );
}

#[test]
fn wrong_column_count_names_line() {
    let dir = scratch_dir("columns");
    let path = damaged_trace(&dir, "columns.csv", "1200.0,3089.0,3089.0,0.55,0.16");
    let path_text = path.to_str().expect("utf-8 path");
    assert_trace_error(
        &["compare", "--quiet", "--no-store", "--trace", path_text],
        &["columns.csv", ":3"],
    );
}

#[test]
fn truncated_file_names_last_line() {
    let dir = scratch_dir("truncated");
    let source = std::fs::read_to_string(
        repository_root().join("data/borg/g2011_job6176858948_taskusage_sum_5min.csv"),
    )
    .expect("read the shipped trace");
    let cut = source.lines().take(50).collect::<Vec<_>>().join("\n");
    let cut = &cut[..cut.len() - 40];
    let path = dir.join("truncated.csv");
    std::fs::write(&path, cut).expect("write truncated trace");
    assert_trace_error(
        &[
            "compare",
            "--quiet",
            "--no-store",
            "--trace",
            path.to_str().expect("utf-8 path"),
        ],
        &["truncated.csv", ":50"],
    );
}

#[test]
fn usage_errors_exit_with_message() {
    for (args, expected) in [
        (vec!["compare", "--days", "0"], "greater than 0"),
        (vec!["compare", "--days", "soon"], "number of days"),
        (vec!["compare", "--seed", "-1"], "0 or more"),
        (vec!["compare", "--seed", "one"], "whole number"),
        (
            vec!["compare", "--trace", "no/such/trace.csv"],
            "no/such/trace.csv",
        ),
        (vec!["compare", "--format", "csv"], "g2011-job-series"),
        (
            vec!["compare", "--no-store", "--models", "no/such/models"],
            "no/such/models",
        ),
    ] {
        let output = arbiter(&args);
        assert!(!output.status.success(), "{args:?} should fail");
        let message = stderr(&output);
        assert!(
            message.contains(expected),
            "{args:?}: error lacks `{expected}`: {message}"
        );
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
}

#[test]
fn check_vectors_reports_all_passed() {
    let output = arbiter(&["hpa", "check-vectors", "data/hpa/vectors.json"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", stderr(&output));
    assert!(text.trim_end().ends_with("152 passed, 0 failed"), "{text}");
}

#[test]
fn check_vectors_reports_failure() {
    let dir = scratch_dir("vectors");
    let mut document: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repository_root().join("data/hpa/vectors.json")).expect("read vectors"),
    )
    .expect("vectors are JSON");
    let vectors = document["vectors"].as_array_mut().expect("vector list");
    let index = vectors
        .iter()
        .position(|vector| vector["kind"] == "replica_calc")
        .expect("a replica_calc vector");
    let expected = vectors[index]["expected"]["replicas"]
        .as_i64()
        .expect("expected replicas");
    vectors[index]["expected"]["replicas"] = serde_json::json!(expected + 1);
    let path = dir.join("vectors.json");
    std::fs::write(&path, serde_json::to_vec(&document).expect("encode")).expect("write vectors");

    let output = arbiter(&["hpa", "check-vectors", path.to_str().expect("utf-8 path")]);
    let text = stdout(&output);
    assert!(
        !output.status.success(),
        "a changed expectation must fail: {text}"
    );
    assert!(text.trim_end().ends_with("151 passed, 1 failed"), "{text}");
}

/// Writes `settings` to a file, runs a quarter-day comparison with `flags` followed by that
/// file's path, and returns the process output and, on success, the report's `configuration`.
fn compare_with_settings(
    test: &str,
    file_name: &str,
    settings: &str,
    flags: &[&str],
) -> (Output, Option<serde_json::Value>) {
    let dir = scratch_dir(test);
    let settings_path = dir.join(file_name);
    std::fs::write(&settings_path, settings).expect("write settings file");
    let json = dir.join("report.json");
    let mut args = vec!["compare", "--days", "0.25", "--quiet", "--no-store"];
    args.extend_from_slice(flags);
    args.push(settings_path.to_str().expect("utf-8 path"));
    args.extend(["--json", json.to_str().expect("utf-8 path")]);
    let output = arbiter(&args);
    let configuration = output.status.success().then(|| {
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("json");
        report["configuration"].clone()
    });
    (output, configuration)
}

#[test]
fn controller_overrides_reach_report() {
    let (output, configuration) = compare_with_settings(
        "controller-overrides",
        "controller.toml",
        "[peak]\nquantile = 0.95\n\n[policy]\nnode_capacity_ceiling = false\n",
        &["--controller"],
    );
    let configuration = configuration.unwrap_or_else(|| panic!("{}", stderr(&output)));
    let controller = &configuration["controller"];
    assert_eq!(controller["peak"]["quantile"], 0.95);
    assert_eq!(controller["policy"]["node_capacity_ceiling"], false);
    // Settings the file leaves out keep the values the experiment ties to its cluster.
    assert_eq!(controller["policy"]["slo_p95_ms"], 200.0);
    assert_eq!(controller["referee"]["max_replicas"], 60);
}

#[test]
fn controller_unknown_key_is_rejected() {
    let (output, configuration) = compare_with_settings(
        "controller-unknown",
        "controller.toml",
        "[policy]\ntarget_utilisation = 0.5\n",
        &["--controller"],
    );
    assert!(configuration.is_none());
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("policy.target_utilisation"), "{message}");
    assert!(message.contains("controller.toml"), "{message}");
}

#[test]
fn provisioner_flag_and_cluster_file() {
    let (output, configuration) = compare_with_settings(
        "provisioner",
        "cluster.toml",
        "[nodes]\ncount = 2\n\n[provisioner]\nlaunch_delay_s = 90.0\n",
        &["--provisioner", "--cluster"],
    );
    let configuration = configuration.unwrap_or_else(|| panic!("{}", stderr(&output)));
    assert_eq!(configuration["cluster"]["nodes"]["count"], 2);
    assert_eq!(
        configuration["cluster"]["provisioner"]["launch_delay_s"],
        90.0
    );
    // Settings the file leaves out keep the provisioner's defaults.
    assert_eq!(
        configuration["cluster"]["provisioner"]["repair_after_s"],
        600.0
    );
    // Pending pods bring nodes, so the Ready nodes are no ceiling for the controller.
    assert_eq!(
        configuration["controller"]["policy"]["node_capacity_ceiling"],
        false
    );
}

#[test]
fn replay_checks_referee_settings() {
    let dir = scratch_dir("replay-referee");
    run_short(&dir, "run", "3");
    let decisions = dir.join("run.jsonl");
    let report = dir.join("run.json");
    let output = arbiter(&[
        "replay",
        "--decisions",
        decisions.to_str().expect("utf-8 path"),
        "--referee",
        report.to_str().expect("utf-8 path"),
        "--limit",
        "0",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("(the same)"), "{text}");
    assert!(
        text.contains("different action or agent                   0"),
        "{text}"
    );
    assert!(
        text.contains("same action, other record                   0"),
        "{text}"
    );

    let misspelt = dir.join("referee.toml");
    std::fs::write(&misspelt, "max_replicaz = 40\n").expect("write referee file");
    let output = arbiter(&[
        "replay",
        "--decisions",
        decisions.to_str().expect("utf-8 path"),
        "--referee",
        misspelt.to_str().expect("utf-8 path"),
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("unknown setting `max_replicaz`"),
        "{message}"
    );
    assert!(message.contains("referee.toml"), "{message}");
}
