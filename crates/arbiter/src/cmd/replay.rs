//! `arbiter replay`: counterfactual replay of a run's decisions through another referee
//! configuration.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use arbiter_core::referee::{Decision, RefereeConfig};
use arbiter_core::replay::{ReplayReport, describe_action, parse_decision_line, replay};

/// Options of `arbiter replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Decisions file to replay, as `arbiter compare --decisions` writes it (JSON lines).
    #[arg(long, value_name = "PATH")]
    pub decisions: PathBuf,
    /// Referee configuration to replay with: a JSON or TOML file (by extension) with
    /// RefereeConfig fields, or the JSON report of `arbiter compare --json`, whose
    /// `configuration.controller.referee` is used. Pass the run's own report to reproduce its
    /// decisions. Fields a file leaves out take the library defaults, not the run's (no
    /// allowed namespaces, for example), so to change one setting, copy the run's
    /// `configuration.controller.referee` object and edit it. Unknown fields are an error.
    #[arg(long, value_name = "PATH")]
    pub referee: PathBuf,
    /// Differing decisions to print in full (0 prints only the summary).
    #[arg(long, value_name = "N", default_value = "20")]
    pub limit: usize,
    /// Write the whole replay report, every difference included, as JSON to this file.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

/// Runs `arbiter replay`. Exits with success whether or not decisions differ, because a
/// difference is the result, not an error.
pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let config = load_referee_config(&args.referee)?;
    let decisions = read_decisions(&args.decisions)?;
    let report = replay(&decisions, &config)
        .with_context(|| format!("failed to replay {}", args.decisions.display()))?;

    if let Some(path) = &args.json {
        let mut text =
            serde_json::to_string_pretty(&report).context("failed to encode the replay report")?;
        text.push('\n');
        std::fs::write(path, text)
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    print!("{}", render(&report, &args));
    Ok(ExitCode::SUCCESS)
}

/// Reads a referee configuration from JSON or TOML. A JSON document with a
/// `configuration.controller.referee` object (the `arbiter compare --json` report) yields
/// that object.
pub fn load_referee_config(path: &Path) -> anyhow::Result<RefereeConfig> {
    let value = super::compare::read_overrides(path, "referee")?;
    let section = value
        .pointer("/configuration/controller/referee")
        .cloned()
        .unwrap_or(value);
    let config: RefereeConfig = super::compare::overlay(
        &RefereeConfig::default(),
        &section,
        path,
        "controller.referee",
    )?;
    config
        .validate()
        .with_context(|| format!("invalid referee configuration {}", path.display()))?;
    Ok(config)
}

/// Reads a decisions file line by line, so that a long run's file is never held as one string.
pub fn read_decisions(path: &Path) -> anyhow::Result<Vec<Decision>> {
    let file = File::open(path)
        .with_context(|| format!("failed to open decisions file {}", path.display()))?;
    let source = path.display().to_string();
    let mut decisions = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line =
            line.with_context(|| format!("failed to read line {} of {source}", index + 1))?;
        if let Some(decision) = parse_decision_line(&line, index + 1, &source)? {
            decisions.push(decision);
        }
    }
    if decisions.is_empty() {
        bail!(
            "{source} contains no decision records; pass the file `arbiter compare --decisions` wrote"
        );
    }
    Ok(decisions)
}

/// Formats the summary and the first `limit` differences.
fn render(report: &ReplayReport, args: &ReplayArgs) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Replay of {} decisions from {}\n",
        report.decisions,
        args.decisions.display()
    ));
    let recorded: Vec<String> = report
        .recorded_digests
        .iter()
        .map(|(digest, count)| format!("{digest} ({count} decisions)"))
        .collect();
    let same_configuration = report.recorded_digests.len() == 1
        && report.recorded_digests.contains_key(&report.replay_digest);
    out.push_str(&format!(
        "  referee configuration: replay {}, recorded {}{}\n",
        report.replay_digest,
        recorded.join(", "),
        if same_configuration {
            " (the same)"
        } else {
            " (different)"
        }
    ));
    out.push_str(
        "  observations and proposals are the recorded ones: after the first difference they no longer\n  \
         show what this configuration would have caused, so read each difference tick by tick\n\n",
    );

    out.push_str(&format!(
        "{:<34} {:>10}\n{:<34} {:>10}\n{:<34} {:>10}\n",
        "decisions reproduced exactly",
        report.exact,
        "same action, other record",
        report.same_action,
        "different action or agent",
        report.differences.len()
    ));

    if !report.transitions.is_empty() {
        out.push_str("\nrecorded -> replayed action kinds:\n");
        for (transition, count) in &report.transitions {
            out.push_str(&format!("  {transition:<30} {count:>10}\n"));
        }
    }
    if !report.new_vetoes_by_bound.is_empty() {
        out.push_str("\nbounds behind the replay's new vetoes:\n");
        for (bound, count) in &report.new_vetoes_by_bound {
            out.push_str(&format!("  {:<30} {count:>10}\n", format!("{bound:?}")));
        }
    }

    let (recorded, replayed) = (&report.recorded_discipline, &report.replayed_discipline);
    out.push_str(&format!(
        "\n{:<34} {:>10} {:>10}\n",
        "action discipline", "recorded", "replayed"
    ));
    for (name, before, after) in [
        ("actions", recorded.actions as f64, replayed.actions as f64),
        (
            "p50 actions per workload-day",
            recorded.p50_actions_per_workload_day,
            replayed.p50_actions_per_workload_day,
        ),
        (
            "p99 actions per workload-day",
            recorded.p99_actions_per_workload_day,
            replayed.p99_actions_per_workload_day,
        ),
        (
            "workload-days without action (%)",
            recorded.share_without_action * 100.0,
            replayed.share_without_action * 100.0,
        ),
    ] {
        out.push_str(&format!("{name:<34} {before:>10.1} {after:>10.1}\n"));
    }

    if args.limit > 0 && !report.differences.is_empty() {
        out.push_str(&format!(
            "\nfirst {} of {} differences:\n",
            args.limit.min(report.differences.len()),
            report.differences.len()
        ));
        for difference in report.differences.iter().take(args.limit) {
            out.push_str(&format!(
                "  tick {} ({:.0} s) {}: recorded {}, replayed {}\n    {}\n",
                difference.tick,
                difference.time_s,
                difference.workload,
                describe_action(&difference.recorded_action),
                describe_action(&difference.replayed_action),
                difference.explanation
            ));
        }
    }
    out
}
