//! `arbiter compare` writing to a run store: a finished run, a killed run, and the report.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arbiter_store::{RunStatus, RunStore};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arbiter-store-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

fn compare_command(store: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_arbiter"));
    command
        .args(["compare", "--quiet", "--store"])
        .arg(store)
        .args(extra)
        .current_dir(repository_root())
        .env("RUST_LOG", "warn")
        .env_remove("ARBITER_STORE");
    command
}

#[test]
fn finished_run_is_complete_with_report() {
    let dir = scratch_dir("finished");
    let store_path = dir.join("runs.sqlite");
    let report_dir = dir.join("report");
    let output = compare_command(
        &store_path,
        &[
            "--days",
            "0.5",
            "--report",
            report_dir.to_str().expect("utf-8"),
        ],
    )
    .output()
    .expect("run compare");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let store = RunStore::open(&store_path).expect("store opens");
    let runs = store.list_runs().expect("list runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Complete);
    assert_eq!(runs[0].seed, 1);
    assert_eq!(runs[0].ticks_recorded, 2880);
    let report = runs[0].report.as_ref().expect("report stored");
    assert!(
        report["baseline"]["slo_miss_minutes"].is_number(),
        "{report}"
    );

    let index =
        std::fs::read_to_string(report_dir.join("index.html")).expect("report index written");
    assert!(
        index.contains("<svg") || report_dir.join("charts").is_dir(),
        "report has no charts"
    );
}

#[test]
fn killed_run_leaves_consistent_store() {
    let dir = scratch_dir("killed");
    let store_path = dir.join("runs.sqlite");
    let mut child = compare_command(&store_path, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start compare");

    // Wait until at least one batch of ticks is committed, then kill the writer without warning.
    let started = Instant::now();
    let recorded = loop {
        std::thread::sleep(Duration::from_millis(200));
        let ticks = RunStore::open_read_only(&store_path)
            .ok()
            .and_then(|store| store.list_runs().ok())
            .and_then(|runs| runs.first().map(|run| run.ticks_recorded))
            .unwrap_or(0);
        if ticks > 0 {
            break ticks;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("compare ended before recording anything: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no ticks committed within 120 s"
        );
    };
    child.kill().expect("send SIGKILL");
    child.wait().expect("reap compare");

    let store = RunStore::open(&store_path).expect("a killed run's store still opens");
    let runs = store.list_runs().expect("list runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].status,
        RunStatus::Incomplete,
        "a killed run is listed as incomplete"
    );
    assert!(
        runs[0].ticks_recorded >= recorded,
        "committed ticks were lost"
    );
    assert!(runs[0].report.is_none());
}
