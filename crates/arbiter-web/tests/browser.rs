//! Opens every dashboard page in headless Chromium against a fixture store served on
//! 127.0.0.1, checks that charts and the decision feed rendered and that the console stayed
//! empty, and keeps a screenshot of each page in docs/screenshots/.
//!
//! Needs Debian's chromium (`apt-get install -y chromium`); `CHROMIUM` names another binary.
//! Set `ARBITER_SKIP_BROWSER_TEST=1` to skip when no browser can be installed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use arbiter_store::RunStore;
use arbiter_store::fixture::{fixture_run, record_fixture_ticks, write_fixture_run};
use arbiter_web::spawn_server;

const INSTALL: &str = "apt-get update && apt-get install -y chromium";

/// Finds the browser: `$CHROMIUM`, then `chromium` and `chromium-browser` on the PATH.
fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|directory| ["chromium", "chromium-browser"].map(|name| directory.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Output of one headless Chromium run.
struct BrowserRun {
    dom: String,
    console: Vec<String>,
}

fn chromium(binary: &Path, profile: &Path, extra: &[&str], url: &str) -> BrowserRun {
    let output = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            "--timeout=15000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap_or_else(|error| panic!("failed to run {}: {error}", binary.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} exited with {} on {url}: {stderr}",
        binary.display(),
        output.status
    );
    // Chromium logs every console message and uncaught exception as INFO:CONSOLE, whatever
    // its level; the dashboard's pages log nothing when they work.
    let console = stderr
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    BrowserRun {
        dom: String::from_utf8_lossy(&output.stdout).into_owned(),
        console,
    }
}

/// Serves one page that writes to the console, to prove the console check can fail.
fn serve_probe() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind probe server");
    let url = format!("http://{}/", listener.local_addr().expect("probe address"));
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("probe connection");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("probe timeout");
        let mut request = [0u8; 2048];
        let _ = stream.read(&mut request);
        let body = r#"<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body><script>console.error("arbiter probe error");</script></body></html>"#;
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    (url, handle)
}

#[test]
fn pages_render_in_chromium() {
    let Some(binary) = find_chromium() else {
        if std::env::var("ARBITER_SKIP_BROWSER_TEST").as_deref() == Ok("1") {
            eprintln!(
                "skipping the browser test: chromium not found and ARBITER_SKIP_BROWSER_TEST=1"
            );
            return;
        }
        panic!(
            "chromium not found on the PATH; install it with `{INSTALL}`, set CHROMIUM to its path, or set ARBITER_SKIP_BROWSER_TEST=1 to skip this test"
        );
    };

    let directory = tempfile::tempdir().expect("temporary directory");
    let profile = directory.path().join("profile");
    let (probe_url, probe) = serve_probe();
    let probed = chromium(&binary, &profile, &["--dump-dom"], &probe_url);
    probe.join().expect("probe server");
    assert!(
        probed
            .console
            .iter()
            .any(|line| line.contains("arbiter probe error")),
        "the console check saw nothing on a page that logs an error; Chromium's log format may have changed"
    );

    let path = directory.path().join("runs.sqlite");
    let store = RunStore::open(&path).expect("open store");
    write_fixture_run(&store, 1, 2880).expect("run 1");
    write_fixture_run(&store, 2, 2880).expect("run 2");
    let live = store.begin_run(&fixture_run(3)).expect("run 3");
    let mut recorder = store.recorder(live).expect("recorder");
    record_fixture_ticks(&mut recorder, 3, 0..600).expect("live ticks");

    let server =
        spawn_server(path.clone(), "127.0.0.1:0".parse().expect("address")).expect("server");
    let base = server.url();
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&screenshots).expect("create docs/screenshots");

    let pages: [(&str, &str, &[&str]); 6] = [
        (
            "runs",
            "",
            &[
                r#"id="runs""#,
                "status status-complete",
                "status status-running",
            ],
        ),
        (
            "run",
            "runs/1",
            &[
                r#"data-chart="demand""#,
                r#"data-chart="nodes""#,
                r#"data-chart="energy-experimental""#,
                "estimated",
            ],
        ),
        (
            "run-live",
            "runs/3",
            &[r#"data-status="running""#, r#"data-chart="replicas""#],
        ),
        (
            "decisions",
            "runs/1/decisions",
            &[
                r#"<article class="decision""#,
                "kubectl -n arbiter-exercise",
                "Veto of agent",
            ],
        ),
        (
            "comparison",
            "runs/2/comparison",
            &[r#"id="seeds-table""#, r#"data-chart="difference-power""#],
        ),
        (
            "predictions",
            "runs/1/predictions",
            &[r#"data-chart="forecast""#, r#"class="calibration""#],
        ),
    ];
    for (name, page, expected) in pages {
        let url = format!("{base}{page}");
        let rendered = chromium(&binary, &profile, &["--dump-dom"], &url);
        for needle in expected {
            assert!(
                rendered.dom.contains(needle),
                "page {name} ({url}) lacks {needle} after rendering"
            );
        }
        assert!(
            rendered.dom.contains("<svg") || name == "runs" || name == "decisions",
            "page {name} rendered no chart"
        );
        assert!(
            rendered.console.is_empty(),
            "page {name} ({url}) wrote to the console: {:?}",
            rendered.console
        );

        let screenshot = screenshots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&screenshot);
        let shot = chromium(
            &binary,
            &profile,
            &[
                "--hide-scrollbars",
                "--window-size=1280,1600",
                &format!("--screenshot={}", screenshot.display()),
            ],
            &url,
        );
        assert!(
            shot.console.is_empty(),
            "page {name} wrote to the console while taking its screenshot: {:?}",
            shot.console
        );
        let bytes = std::fs::read(&screenshot)
            .unwrap_or_else(|error| panic!("no screenshot {}: {error}", screenshot.display()));
        assert!(
            bytes.starts_with(b"\x89PNG"),
            "{} is not a PNG",
            screenshot.display()
        );
        assert!(
            bytes.len() > 10_000,
            "{} is nearly empty",
            screenshot.display()
        );
    }

    drop(recorder);
    server.shutdown().expect("shutdown");
}
