//! Runs the Kubernetes HPA test vectors in `data/hpa/vectors.json` and checks the runner's
//! handling of bad vectors files.

use std::path::{Path, PathBuf};

use arbiter_sim::hpa::{HpaError, check_vectors};

fn vectors_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/hpa/vectors.json")
}

/// Writes `contents` to a scratch file under the target directory, one directory per test.
fn scratch_file(test: &str, contents: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("hpa_vectors")
        .join(test);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    let path = dir.join("vectors.json");
    std::fs::write(&path, contents).expect("write scratch vectors file");
    path
}

#[test]
fn all_vectors_pass() {
    let report = check_vectors(&vectors_path()).expect("vectors file loads");
    let counts: Vec<String> = report
        .by_kind
        .iter()
        .map(|(kind, (passed, failed))| format!("{kind}: {} run, {failed} failed", passed + failed))
        .collect();
    let counts = counts.join("\n");
    println!("{counts}");
    assert!(
        report.failed.is_empty(),
        "vectors per kind:\n{counts}\n\n{report}"
    );
    assert_eq!(report.passed, 152, "vectors per kind:\n{counts}");
    assert_eq!(report.by_kind.len(), 10, "vectors per kind:\n{counts}");
}

/// One valid `legacy_clamp` vector, used as a base for the bad-input cases.
const CLAMP_VECTOR: &str = r#"{
  "name": "clamp/within range",
  "kind": "legacy_clamp",
  "controller": {"tolerance_scale_up": 0.1, "tolerance_scale_down": 0.1,
    "cpu_initialization_period_s": 120, "initial_readiness_delay_s": 10,
    "downscale_stabilization_s": 300, "legacy_scale_up_limit_factor": 8,
    "legacy_scale_up_limit_minimum": 4},
  "input": {"current_replicas": 5, "desired_replicas": 7, "min_replicas": 3, "max_replicas": 8},
  "expected": {"replicas": EXPECTED, "reason": "DesiredWithinRange"}
}"#;

fn file_with(vectors: &[String]) -> String {
    format!(
        r#"{{"schema": "hpa-test-vectors/v1", "count": {}, "vectors": [{}]}}"#,
        vectors.len(),
        vectors.join(",")
    )
}

#[test]
fn wrong_expectation_is_reported() {
    let vector = CLAMP_VECTOR.replace("EXPECTED", "6");
    let path = scratch_file("wrong_expectation", &file_with(&[vector]));
    let report = check_vectors(&path).expect("file loads");
    assert_eq!(report.passed, 0);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].name, "clamp/within range");
    assert_eq!(report.failed[0].expected, "replicas=6");
    assert_eq!(report.failed[0].actual, "replicas=7");
    let text = report.to_string();
    assert!(
        text.contains("FAIL [legacy_clamp] clamp/within range"),
        "{text}"
    );
    assert!(text.ends_with("0 passed, 1 failed"), "{text}");
}

#[test]
fn passing_vector_counts_by_kind() {
    let vector = CLAMP_VECTOR.replace("EXPECTED", "7");
    let path = scratch_file("passing_vector", &file_with(&[vector]));
    let report = check_vectors(&path).expect("file loads");
    assert_eq!(report.passed, 1);
    assert_eq!(report.by_kind.get("legacy_clamp"), Some(&(1, 0)));
    assert!(report.to_string().ends_with("1 passed, 0 failed"));
}

#[test]
fn unknown_kind_fails_without_error() {
    let good = CLAMP_VECTOR.replace("EXPECTED", "7");
    let unknown = CLAMP_VECTOR
        .replace("EXPECTED", "7")
        .replace("\"legacy_clamp\"", "\"quantum_scaling\"")
        .replace("clamp/within range", "mystery");
    let path = scratch_file("unknown_kind", &file_with(&[unknown, good]));
    let report = check_vectors(&path).expect("an unknown kind is not a file error");
    assert_eq!(report.passed, 1);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].kind, "quantum_scaling");
    assert!(
        report.failed[0].actual.contains("unknown kind"),
        "{:?}",
        report.failed[0]
    );
}

#[test]
fn missing_field_names_vector_and_field() {
    let vector = CLAMP_VECTOR
        .replace("EXPECTED", "7")
        .replace("\"desired_replicas\": 7, ", "");
    let path = scratch_file("missing_field", &file_with(&[vector]));
    let error = check_vectors(&path).expect_err("a missing field is an error");
    match &error {
        HpaError::InvalidVector { vector, field, .. } => {
            assert_eq!(vector, "clamp/within range");
            assert_eq!(field, "input.desired_replicas");
        }
        other => panic!("expected InvalidVector, got {other:?}"),
    }
    assert!(error.to_string().contains("is missing"), "{error}");
}

#[test]
fn mistyped_time_names_field() {
    let vector = r#"{
      "name": "group/bad time", "kind": "group_pods",
      "controller": {"tolerance_scale_up": 0.1, "tolerance_scale_down": 0.1,
        "cpu_initialization_period_s": 120, "initial_readiness_delay_s": 10,
        "downscale_stabilization_s": 300, "legacy_scale_up_limit_factor": 8,
        "legacy_scale_up_limit_minimum": 4},
      "input": {"resource": "cpu",
        "pods": [{"name": "a", "phase": "Running", "start_s": "yesterday", "ready": "True",
                  "ready_transition_s": 0, "deleting": false}],
        "metrics": []},
      "expected": {"ready_count": 0, "unready": [], "missing": ["a"], "ignored": []}
    }"#;
    let path = scratch_file("mistyped_time", &file_with(&[vector.to_string()]));
    let error = check_vectors(&path).expect_err("a bad time is an error");
    match &error {
        HpaError::InvalidVector {
            vector,
            field,
            reason,
            ..
        } => {
            assert_eq!(vector, "group/bad time");
            assert_eq!(field, "input.pods[0].start_s");
            assert!(reason.contains("epoch"), "{reason}");
        }
        other => panic!("expected InvalidVector, got {other:?}"),
    }
}

#[test]
fn count_mismatch_is_error() {
    let vector = CLAMP_VECTOR.replace("EXPECTED", "7");
    let text = file_with(&[vector]).replace("\"count\": 1", "\"count\": 2");
    let path = scratch_file("count_mismatch", &text);
    let error = check_vectors(&path).expect_err("a wrong count is an error");
    assert!(error.to_string().contains("declares 2 vectors"), "{error}");
}

#[test]
fn invalid_json_reports_line() {
    let path = scratch_file("invalid_json", "{\n  \"vectors\": [\n    {,]\n}");
    let error = check_vectors(&path).expect_err("broken JSON is an error");
    match error {
        HpaError::Json { line, .. } => assert_eq!(line, 3),
        other => panic!("expected Json, got {other:?}"),
    }
}

#[test]
fn missing_file_is_io_error() {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hpa_vectors/does-not-exist.json");
    let error = check_vectors(&path).expect_err("a missing file is an error");
    assert!(matches!(error, HpaError::Io { .. }), "{error:?}");
    assert!(error.to_string().contains("does-not-exist.json"), "{error}");
}
