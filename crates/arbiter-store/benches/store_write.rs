//! Write throughput of the run store for a run the size of the default `arbiter compare`:
//! 29 days of 15 s ticks (167,040), two clusters, one workload, one decision per tick.
//!
//! Run with `cargo bench -p arbiter-store --bench store_write`; `ARBITER_BENCH_TICKS` changes
//! the number of ticks. In the fixture one decision in 20 has proposals and is stored in full;
//! `ARBITER_BENCH_ALL_PROPOSALS=1` gives every decision proposals, the worst case for size.
//! Prints the elapsed time, records per second and the file size.

use std::time::Instant;

use arbiter_store::RunStore;
use arbiter_store::fixture::{fixture_decision, fixture_report, fixture_run, fixture_ticks};

fn main() {
    let ticks: u64 = std::env::var("ARBITER_BENCH_TICKS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(167_040);
    let directory =
        std::env::temp_dir().join(format!("arbiter-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("create the benchmark directory");
    let path = directory.join("bench.sqlite");
    let store = RunStore::open(&path).expect("open the benchmark store");
    let run = store.begin_run(&fixture_run(1)).expect("begin the run");
    let mut recorder = store.recorder(run).expect("create the recorder");

    // The records are built before timing so that only the store's work is measured.
    let all_proposals = std::env::var("ARBITER_BENCH_ALL_PROPOSALS").as_deref() == Ok("1");
    let decisions: Vec<_> = (0..ticks)
        .map(|tick| {
            if !all_proposals {
                return fixture_decision(tick, 1);
            }
            // The fixture's decision with proposals nearest to this tick, moved to it.
            let mut decision = fixture_decision(tick - tick % 20 + 10, 1);
            decision.tick = tick;
            decision.time_s = (tick + 1) as f64 * 15.0;
            decision
        })
        .collect();
    let tick_records: Vec<_> = (0..ticks).map(|tick| fixture_ticks(tick, 1)).collect();
    let started = Instant::now();
    for (records, decision) in tick_records.iter().zip(&decisions) {
        for record in records {
            recorder.record_tick(record).expect("record a tick");
        }
        recorder
            .record_decision(decision)
            .expect("record a decision");
    }
    recorder
        .finish(&fixture_report(1, ticks))
        .expect("finish the run");
    let elapsed = started.elapsed().as_secs_f64();
    drop(store);

    let size: u64 = std::fs::read_dir(&directory)
        .expect("list the benchmark directory")
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|metadata| metadata.len())
        .sum();
    let records = ticks * 3;
    println!("ticks: {ticks}");
    println!("every decision has proposals: {all_proposals}");
    println!("records (2 tick rows and 1 decision per tick): {records}");
    println!("elapsed: {elapsed:.2} s");
    println!("records per second: {:.0}", records as f64 / elapsed);
    println!("store size: {:.1} MB", size as f64 / 1e6);
    std::fs::remove_dir_all(&directory).expect("remove the benchmark directory");
}
