//! Replays a generated cluster of 1,000 nodes and 10,000 pods in 500 Deployments, each scaled
//! by its own HPA, for 24 simulated hours at the 15 s tick, single-threaded and with every
//! core. Prints pod-ticks per second, simulated seconds per wall second and resident memory.
//!
//! Run with `cargo bench -p arbiter-sim --bench sim`; `-- --hours H` shortens the replay,
//! `-- --threads N` sets the thread count of the second run, and `-- --no-hpa` keeps
//! `spec.replicas` fixed to time the simulator alone.
//!
//! Besides wall time it reports the process's CPU time (user plus system, all threads, from
//! `/proc/self/stat`), which other load on a shared machine inflates less.

use std::time::Instant;

use arbiter_sim::baseline::{BaselineConfig, BaselineHpa};
use arbiter_sim::cluster::Cluster;
use arbiter_sim::config::{ClusterConfig, NodePoolConfig, WorkloadConfig};
use arbiter_sim::load::Demand;

const NODES: usize = 1_000;
const DEPLOYMENTS: usize = 500;
const PODS_PER_DEPLOYMENT: i32 = 20;
const TICK_S: f64 = 15.0;

/// Figures of one replay.
struct Measurement {
    threads: usize,
    ticks: u64,
    pod_ticks: u64,
    wall_s: f64,
    cpu_s: f64,
    step_s: f64,
    hpa_s: f64,
    final_pods: usize,
    /// Rescales the HPAs applied.
    rescales: u64,
    /// `spec.replicas` summed over Deployments and ticks, a check that runs agree.
    spec_replica_ticks: u64,
}

fn cluster_config() -> ClusterConfig {
    ClusterConfig {
        nodes: NodePoolConfig {
            count: NODES,
            ..NodePoolConfig::default()
        },
        workload: WorkloadConfig {
            initial_replicas: PODS_PER_DEPLOYMENT,
            min_replicas: 2,
            max_replicas: 60,
            ..WorkloadConfig::default()
        },
        ..ClusterConfig::default()
    }
}

/// Demand of Deployment `index` at `time_s`: a daily sine around 7 cores with a phase and
/// amplitude per Deployment. At the HPA's 70% target of 500m requests that is 20 pods on
/// average, between about 10 and 30.
fn demand(index: usize, time_s: f64) -> Demand {
    let phase = index as f64 * 0.37;
    let amplitude = 0.3 + 0.2 * ((index % 7) as f64 / 6.0);
    let day = 2.0 * std::f64::consts::PI * time_s / 86_400.0;
    Demand {
        cpu_cores: 7.0 * (1.0 + amplitude * (day + phase).sin()),
        memory_gib: 2.0,
    }
}

fn replay(hours: f64, threads: usize, with_hpa: bool) -> Measurement {
    let names: Vec<String> = (0..DEPLOYMENTS)
        .map(|index| format!("svc-{index:03}"))
        .collect();
    let config = cluster_config();
    let mut cluster = Cluster::new("bench", config.clone(), 1, &names).expect("valid config");
    let keys: Vec<String> = names
        .iter()
        .map(|name| format!("{}/{name}", config.workload.namespace))
        .collect();
    let mut hpa = BaselineHpa::new(
        &BaselineConfig::default(),
        &keys,
        config.workload.min_replicas,
        config.workload.max_replicas,
    );
    cluster.set_threads(threads);
    hpa.set_threads(threads);
    let ticks = (hours * 3600.0 / TICK_S) as u64;
    let mut demands = vec![Demand::default(); DEPLOYMENTS];
    let mut pod_ticks = 0u64;
    let (mut rescale_count, mut spec_replica_ticks) = (0u64, 0u64);
    let (mut step_s, mut hpa_s) = (0.0, 0.0);
    let cpu_start = cpu_seconds().unwrap_or(0.0);
    let start = Instant::now();
    for tick in 0..ticks {
        let time_s = tick as f64 * TICK_S;
        for (index, slot) in demands.iter_mut().enumerate() {
            *slot = demand(index, time_s);
        }
        let before_step = Instant::now();
        cluster.step(TICK_S, &demands);
        let after_step = Instant::now();
        pod_ticks += cluster.pod_count() as u64;
        let rescales = if with_hpa {
            hpa.reconcile_cluster(&cluster)
        } else {
            Vec::new()
        };
        rescale_count += rescales.len() as u64;
        for rescale in rescales {
            cluster
                .scale(&rescale.workload, rescale.replicas)
                .expect("known workload");
        }
        step_s += (after_step - before_step).as_secs_f64();
        hpa_s += after_step.elapsed().as_secs_f64();
        spec_replica_ticks += (0..DEPLOYMENTS)
            .map(|index| cluster.spec_replicas_at(index) as u64)
            .sum::<u64>();
    }
    Measurement {
        threads,
        ticks,
        pod_ticks,
        wall_s: start.elapsed().as_secs_f64(),
        cpu_s: cpu_seconds().unwrap_or(0.0) - cpu_start,
        step_s,
        hpa_s,
        final_pods: cluster.pod_count(),
        rescales: rescale_count,
        spec_replica_ticks,
    }
}

/// Returns the CPU time of this process so far in seconds (Linux only), or `None`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // utime and stime are the 14th and 15th fields of the line, counted with the command name
    // in parentheses as the 2nd. Both are in clock ticks of 1/100 s on Linux.
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Returns a field of /proc/self/status in KiB (Linux only), or `None`.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn parse_flag(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|arg| arg == flag)
        .and_then(|position| args.get(position + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hours = match parse_flag(&args, "--hours").map(|text| text.parse::<f64>()) {
        None => 24.0,
        Some(Ok(hours)) if hours > 0.0 => hours,
        Some(_) => {
            eprintln!("--hours must be a positive number of simulated hours");
            std::process::exit(2);
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = match parse_flag(&args, "--threads").map(|text| text.parse::<usize>()) {
        None => cores,
        Some(Ok(threads)) if threads > 0 => threads,
        Some(_) => {
            eprintln!("--threads must be a whole number of threads, 1 or more");
            std::process::exit(2);
        }
    };
    let with_hpa = !args.iter().any(|arg| arg == "--no-hpa");
    let rss_before = status_kib("VmRSS:");
    println!(
        "cluster: {NODES} nodes, {DEPLOYMENTS} Deployments x {PODS_PER_DEPLOYMENT} pods, \
         {}, {hours} h at {TICK_S} s ticks; {cores} cores available",
        if with_hpa {
            "one HPA each"
        } else {
            "fixed spec.replicas (no HPA)"
        }
    );
    println!(
        "threads  ticks  pod-ticks     wall s   cpu s  step s  hpa s  pod-ticks/s  \
         pod-ticks/cpu s  sim s/wall s  pods at end"
    );
    let mut runs = vec![1];
    if threads > 1 {
        runs.push(threads);
    }
    for threads in runs {
        let run = replay(hours, threads, with_hpa);
        println!(
            "{:>7}  {:>5}  {:>10}  {:>8.2}  {:>6.2}  {:>6.2}  {:>5.2}  {:>11.0}  {:>15.0}  \
             {:>12.0}  {:>11}",
            run.threads,
            run.ticks,
            run.pod_ticks,
            run.wall_s,
            run.cpu_s,
            run.step_s,
            run.hpa_s,
            run.pod_ticks as f64 / run.wall_s,
            run.pod_ticks as f64 / run.cpu_s.max(0.01),
            run.ticks as f64 * TICK_S / run.wall_s,
            run.final_pods,
        );
        println!(
            "         {} rescales, {} spec.replicas summed over ticks",
            run.rescales, run.spec_replica_ticks
        );
        if let (Some(before), Some(peak)) = (rss_before, status_kib("VmHWM:")) {
            let pods = f64::from(PODS_PER_DEPLOYMENT) * DEPLOYMENTS as f64;
            println!(
                "         peak resident memory so far {peak} KiB: {:.0} bytes per initial pod \
                 above the {before} KiB at start",
                (peak.saturating_sub(before) * 1024) as f64 / pods,
            );
        }
    }
}
