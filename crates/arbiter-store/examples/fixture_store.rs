//! Writes a store with synthetic fixture runs, for trying the dashboard without a simulation:
//! `cargo run -p arbiter-store --example fixture_store -- PATH [TICKS]`.
//! Writes two complete runs (seeds 1 and 2) and one incomplete run of TICKS ticks (default
//! 5760, one simulated day at 15 s ticks).

use std::path::PathBuf;
use std::process::ExitCode;

use arbiter_store::RunStore;
use arbiter_store::fixture::{fixture_run, record_fixture_ticks, write_fixture_run};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: fixture_store PATH [TICKS]");
        return ExitCode::FAILURE;
    };
    let ticks = match args.next().map(|text| text.parse::<u64>()) {
        None => 5760,
        Some(Ok(ticks)) if ticks > 0 => ticks,
        Some(_) => {
            eprintln!("error: TICKS must be a positive whole number");
            return ExitCode::FAILURE;
        }
    };
    match write(&path, ticks) {
        Ok(()) => {
            println!("wrote 3 fixture runs to {}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn write(path: &std::path::Path, ticks: u64) -> Result<(), arbiter_store::StoreError> {
    let store = RunStore::open(path)?;
    write_fixture_run(&store, 1, ticks)?;
    write_fixture_run(&store, 2, ticks)?;
    let run = store.begin_run(&fixture_run(3))?;
    let mut recorder = store.recorder(run)?;
    record_fixture_ticks(&mut recorder, 3, 0..ticks / 3)?;
    // Dropping the recorder without finishing marks the run incomplete.
    drop(recorder);
    Ok(())
}
