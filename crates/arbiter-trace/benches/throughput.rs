//! Throughput of parsing plus aggregation on a generated 2019 `instance_usage` file.
//!
//! `tools/bench_trace.py` drives it and compares it with pandas and polars on the same file:
//! - `throughput generate PATH MEGABYTES [WINDOWS]` writes a reproducible file of at least that
//!   size (uncompressed) to PATH and a gzipped copy to PATH.gz. With WINDOWS, the times cycle
//!   through that many 300 s windows, so the aggregation state stops growing with the size;
//! - `throughput run PATH THREADS` reads PATH with `ingest` and prints one JSON object with the
//!   rows, seconds and rows per second.
//!
//! Run without arguments (as `cargo bench` does), it measures a small generated file.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use arbiter_trace::{IngestOptions, TraceFormat, ingest};

/// A xorshift64* generator, so the file is the same on every machine and run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Returns a float in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

const COLLECTIONS: u64 = 4_000;
const INSTANCES_PER_COLLECTION: u64 = 8;
const WINDOW_US: i64 = 300_000_000;

/// Writes lines like the BigQuery export of `instance_usage`: string integers, fields absent
/// when zero or unmeasured, 11 and 9 percentiles (empty on 5 % of lines).
fn generate(path: &Path, megabytes: u64, max_windows: Option<i64>) -> std::io::Result<u64> {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let target = megabytes * 1_000_000;
    let (mut written, mut rows, mut window) = (0_u64, 0_u64, 2_i64);
    while written < target {
        for collection in 0..COLLECTIONS {
            for instance in 0..INSTANCES_PER_COLLECTION {
                let line = usage_line(&mut random, 100_000 + collection * 7, instance, window);
                out.write_all(line.as_bytes())?;
                written += line.len() as u64;
                rows += 1;
            }
        }
        window += 1;
        if max_windows.is_some_and(|max| window >= 2 + max) {
            window = 2;
        }
    }
    out.flush()?;
    Ok(rows)
}

fn usage_line(random: &mut Random, collection: u64, instance: u64, window: i64) -> String {
    let start = window * WINDOW_US + (random.next() % 5) as i64 * 1_000_000;
    let end = if random.unit() < 0.1 {
        start + WINDOW_US / 2
    } else {
        window * WINDOW_US + WINDOW_US
    };
    let cpu = random.unit() * 0.05;
    let memory = random.unit() * 0.02;
    let mut line =
        format!(r#"{{"start_time":"{start}","end_time":"{end}","collection_id":"{collection}","#);
    if instance > 0 {
        line.push_str(&format!(r#""instance_index":"{instance}","#));
    }
    line.push_str(&format!(
        r#""machine_id":"{}","alloc_collection_id":"0","collection_type":"0","average_usage":{{"cpus":{cpu:.8},"memory":{memory:.8}}},"maximum_usage":{{"cpus":{:.8},"memory":{:.8}}},"random_sample_usage":{{"cpus":{:.8}}},"assigned_memory":{:.8},"page_cache_memory":{:.8},"#,
        1_000_000 + random.next() % 12_000,
        cpu * 2.0,
        memory * 1.1,
        cpu * random.unit() * 2.0,
        memory * 1.5,
        memory * 0.05,
    ));
    if random.unit() < 0.7 {
        line.push_str(&format!(
            r#""cycles_per_instruction":{:.6},"memory_accesses_per_instruction":{:.6},"#,
            0.8 + random.unit(),
            random.unit() * 0.01
        ));
    }
    line.push_str(r#""sample_rate":1,"#);
    if random.unit() < 0.95 {
        let percentiles: Vec<String> = (0..11)
            .map(|index| format!("{:.8}", cpu * f64::from(index) / 5.0))
            .collect();
        let tail: Vec<String> = (91..100)
            .map(|index| format!("{:.8}", cpu * 2.0 * f64::from(index) / 100.0))
            .collect();
        line.push_str(&format!(
            r#""cpu_usage_distribution":[{}],"tail_cpu_usage_distribution":[{}]}}"#,
            percentiles.join(","),
            tail.join(",")
        ));
    } else {
        line.push_str(r#""cpu_usage_distribution":[],"tail_cpu_usage_distribution":[]}"#);
    }
    line.push('\n');
    line
}

fn gzip_copy(path: &Path) -> std::io::Result<PathBuf> {
    let gz = PathBuf::from(format!("{}.gz", path.display()));
    let mut input = std::fs::File::open(path)?;
    let output = BufWriter::new(std::fs::File::create(&gz)?);
    let mut encoder = flate2::write::GzEncoder::new(output, flate2::Compression::default());
    std::io::copy(&mut input, &mut encoder)?;
    encoder.finish()?.flush()?;
    Ok(gz)
}

fn run(path: &Path, threads: usize) -> String {
    let options = IngestOptions {
        format: Some(TraceFormat::InstanceUsage2019),
        threads,
        ..IngestOptions::default()
    };
    let started = Instant::now();
    let ingested = ingest(&[path.to_path_buf()], &options).expect("the generated file reads");
    let seconds = started.elapsed().as_secs_f64();
    let windows: usize = ingested
        .series
        .iter()
        .map(|series| series.points.len())
        .sum();
    format!(
        r#"{{"tool":"arbiter","file":"{}","threads":{threads},"rows":{},"groups":{windows},"seconds":{seconds:.3},"rows_per_s":{:.0}}}"#,
        path.display(),
        ingested.report.rows,
        ingested.report.rows as f64 / seconds
    )
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", path, megabytes, rest @ ..] => {
            let path = Path::new(path);
            let megabytes = megabytes.parse().expect("MEGABYTES is a whole number");
            let windows = rest
                .first()
                .map(|windows| windows.parse().expect("WINDOWS is a whole number"));
            let rows = generate(path, megabytes, windows).expect("write the file");
            let gz = gzip_copy(path).expect("write the gzipped copy");
            println!(
                r#"{{"rows":{rows},"path":"{}","gzip":"{}"}}"#,
                path.display(),
                gz.display()
            );
        }
        ["run", path, threads] => {
            println!(
                "{}",
                run(
                    Path::new(path),
                    threads.parse().expect("THREADS is a whole number")
                )
            );
        }
        _ => {
            let path =
                std::env::temp_dir().join(format!("arbiter-bench-{}.json", std::process::id()));
            generate(&path, 20, None).expect("write the file");
            let gz = gzip_copy(&path).expect("write the gzipped copy");
            println!("{}", run(&path, 0));
            println!("{}", run(&gz, 0));
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(&gz);
        }
    }
}
