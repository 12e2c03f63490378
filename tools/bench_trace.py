#!/usr/bin/env python3
"""Compare Arbiter's 2019 instance_usage reader with pandas and polars on one generated file.

Each tool parses the same JSON-lines file and groups it by collection and 300 s window. Per
group it sums the duration-weighted CPU and memory averages and maxima, assigned memory and
page cache, and counts the records. Arbiter also sums percentiles, CPI and MAI. Every
measurement runs in its own process under /usr/bin/time -v, which gives the wall time and
the peak resident memory (max RSS).

Usage (from the repository root):
    python3 tools/bench_trace.py --size-mb 1024 --small-size-mb 256 --threads 2

The files are written under --workdir (default /tmp/arbiter-bench-trace) and are never part
of the repository. The subcommands `pandas FILE` and `polars FILE` run one Python side alone.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

WINDOW_US = 300_000_000
PANDAS_CHUNK_ROWS = 200_000
# Windows of the fixed-state files: 4,000 collections times 6 windows is 24,000 groups, fewer
# than the 256 MB file alone fills, so both sizes end with the same state.
FIXED_STATE_WINDOWS = 6


def aggregate_pandas(path):
    """Read with pandas.read_json(lines=True) in chunks and group per collection and window."""
    import pandas as pd

    partials = []
    rows = 0
    reader = pd.read_json(path, lines=True, chunksize=PANDAS_CHUNK_ROWS, dtype=False,
                          compression="infer")
    for chunk in reader:
        rows += len(chunk)
        start = chunk["start_time"].astype("int64")
        end = chunk["end_time"].astype("int64")
        weight = (end - start).clip(0, WINDOW_US) / WINDOW_US
        frame = pd.DataFrame({
            "collection_id": chunk["collection_id"].astype("int64"),
            "window": start // WINDOW_US,
            "records": 1,
            "weight": weight,
            "cpu_average": chunk["average_usage"].str.get("cpus").fillna(0.0) * weight,
            "memory_average": chunk["average_usage"].str.get("memory").fillna(0.0) * weight,
            "cpu_maximum": chunk["maximum_usage"].str.get("cpus").fillna(0.0) * weight,
            "memory_maximum": chunk["maximum_usage"].str.get("memory").fillna(0.0) * weight,
            "assigned_memory": chunk["assigned_memory"].fillna(0.0) * weight,
            "page_cache_memory": chunk["page_cache_memory"].fillna(0.0) * weight,
        })
        partials.append(frame.groupby(["collection_id", "window"]).sum())
    result = pd.concat(partials).groupby(level=[0, 1]).sum()
    return rows, len(result)


def aggregate_polars(path):
    """Read with polars.read_ndjson and group per collection and window."""
    import polars as pl

    resources = pl.Struct({"cpus": pl.Float64, "memory": pl.Float64})
    schema = {
        "start_time": pl.Utf8,
        "end_time": pl.Utf8,
        "collection_id": pl.Utf8,
        "instance_index": pl.Utf8,
        "machine_id": pl.Utf8,
        "average_usage": resources,
        "maximum_usage": resources,
        "assigned_memory": pl.Float64,
        "page_cache_memory": pl.Float64,
        "cycles_per_instruction": pl.Float64,
        "memory_accesses_per_instruction": pl.Float64,
        "cpu_usage_distribution": pl.List(pl.Float64),
        "tail_cpu_usage_distribution": pl.List(pl.Float64),
    }
    frame = pl.read_ndjson(path, schema=schema)
    start = pl.col("start_time").cast(pl.Int64)
    end = pl.col("end_time").cast(pl.Int64)
    weight = (end - start).clip(0, WINDOW_US) / WINDOW_US
    result = (
        frame.with_columns(weight.alias("weight"), (start // WINDOW_US).alias("window"),
                           pl.col("collection_id").cast(pl.Int64))
        .group_by(["collection_id", "window"])
        .agg(
            pl.len().alias("records"),
            pl.col("weight").sum(),
            (pl.col("average_usage").struct.field("cpus").fill_null(0.0) * pl.col("weight")).sum(),
            (pl.col("maximum_usage").struct.field("cpus").fill_null(0.0) * pl.col("weight"))
            .sum().alias("cpu_maximum"),
            (pl.col("average_usage").struct.field("memory").fill_null(0.0) * pl.col("weight"))
            .sum().alias("memory_average"),
            (pl.col("maximum_usage").struct.field("memory").fill_null(0.0) * pl.col("weight"))
            .sum().alias("memory_maximum"),
            (pl.col("assigned_memory").fill_null(0.0) * pl.col("weight")).sum(),
            (pl.col("page_cache_memory").fill_null(0.0) * pl.col("weight")).sum(),
        )
    )
    return frame.height, result.height


def run_python_side(tool, path):
    started = time.perf_counter()
    rows, groups = (aggregate_pandas if tool == "pandas" else aggregate_polars)(path)
    seconds = time.perf_counter() - started
    print(json.dumps({"tool": tool, "file": path, "rows": rows, "groups": groups,
                      "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)}))


def timed(command, env=None):
    """Run `command` under /usr/bin/time -v and return its last JSON line with the max RSS in
    MiB and the CPU seconds (user plus system). CPU seconds depend less on other load than the
    wall time does."""
    full = ["/usr/bin/time", "-v"] + command
    done = subprocess.run(full, capture_output=True, text=True, env=env, check=True)
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", done.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", done.stderr).group(1))
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["max_rss_mib"] = round(rss_kib / 1024, 1)
    result["cpu_seconds"] = round(user + system, 2)
    return result


def cargo_bench_executable(root, target_dir):
    env = dict(os.environ, CARGO_TARGET_DIR=target_dir)
    done = subprocess.run(
        ["cargo", "bench", "-p", "arbiter-trace", "--bench", "throughput", "--no-run",
         "--message-format=json"],
        cwd=root, env=env, capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable") \
                and message["target"]["name"] == "throughput":
            return message["executable"]
    sys.exit("cargo did not report the throughput bench executable")


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        memory_kib = int(info.readline().split()[1])
    load = os.getloadavg()
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {memory_kib / 2**20:.1f} GiB RAM, "
            f"{platform.platform()}, Python {platform.python_version()}, "
            f"load average at start {load[0]:.1f}")


def compare(args):
    import pandas
    import polars

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.makedirs(args.workdir, exist_ok=True)
    executable = cargo_bench_executable(root, args.target_dir)
    cores = ",".join(str(core) for core in range(args.threads))
    pin = ["taskset", "-c", cores]
    env = dict(os.environ, POLARS_MAX_THREADS=str(args.threads))

    print(f"machine: {machine()}")
    print(f"pandas {pandas.__version__}, polars {polars.__version__}, cores used: {cores}")
    results = []
    for size in [args.size_mb, args.small_size_mb]:
        path = os.path.join(args.workdir, f"instance_usage_{size}mb.json")
        if not os.path.exists(path) or not os.path.exists(path + ".gz"):
            subprocess.run([executable, "generate", path, str(size)], check=True,
                           stdout=subprocess.DEVNULL)
        plain_bytes = os.path.getsize(path)
        gzip_bytes = os.path.getsize(path + ".gz")
        print(f"file {path}: {plain_bytes / 1e6:.0f} MB plain, {gzip_bytes / 1e6:.0f} MB gzipped")
        runs = [
            ("arbiter", "plain", pin + [executable, "run", path, str(args.threads)]),
            ("arbiter", "gzip", pin + [executable, "run", path + ".gz", str(args.threads)]),
            ("polars", "plain", pin + [sys.executable, __file__, "polars", path]),
            ("polars", "gzip", pin + [sys.executable, __file__, "polars", path + ".gz"]),
        ]
        if size == args.size_mb or args.pandas_small:
            runs.append(("pandas", "plain", pin + [sys.executable, __file__, "pandas", path]))
        for tool, compression, command in runs:
            result = timed(command, env=env)
            result.update(tool=tool, compression=compression, size_mb=size,
                          plain_bytes=plain_bytes)
            print(json.dumps(result), flush=True)
            results.append(result)
    results.extend(fixed_state(args, executable, pin))
    with open(os.path.join(args.workdir, "results.json"), "w") as out:
        json.dump(results, out, indent=1)


def fixed_state(args, executable, pin):
    """Measure Arbiter's max RSS on two file sizes with the same aggregation state: both cycle
    through the same 300 s windows, so only the input size differs."""
    results = []
    for size in [args.small_size_mb, args.size_mb]:
        path = os.path.join(args.workdir, f"instance_usage_{size}mb_fixed_state.json")
        if not os.path.exists(path):
            subprocess.run([executable, "generate", path, str(size), str(FIXED_STATE_WINDOWS)],
                           check=True, stdout=subprocess.DEVNULL)
            os.remove(path + ".gz")
        result = timed(pin + [executable, "run", path, str(args.threads)])
        result.update(tool="arbiter", compression="plain", size_mb=size,
                      plain_bytes=os.path.getsize(path), state="fixed")
        print(json.dumps(result), flush=True)
        results.append(result)
        os.remove(path)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    for tool in ["pandas", "polars"]:
        one = sub.add_parser(tool, help=f"run the {tool} side alone on FILE")
        one.add_argument("file")
    parser.add_argument("--size-mb", type=int, default=1024,
                        help="size of the large file in MB, uncompressed (default 1024)")
    parser.add_argument("--small-size-mb", type=int, default=256,
                        help="size of the second file for the memory comparison (default 256)")
    parser.add_argument("--threads", type=int, default=2, help="cores to pin every run to")
    parser.add_argument("--workdir", default="/tmp/arbiter-bench-trace",
                        help="folder for the generated files and results.json")
    parser.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", "target"),
                        help="cargo target directory for the Rust build")
    parser.add_argument("--pandas-small", action="store_true",
                        help="also run pandas on the small file")
    parser.add_argument("--fixed-state-only", action="store_true",
                        help="only measure Arbiter's max RSS on two sizes with the same state")
    args = parser.parse_args()
    if args.command in ("pandas", "polars"):
        run_python_side(args.command, args.file)
    elif args.fixed_state_only:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        os.makedirs(args.workdir, exist_ok=True)
        executable = cargo_bench_executable(root, args.target_dir)
        cores = ",".join(str(core) for core in range(args.threads))
        fixed_state(args, executable, ["taskset", "-c", cores])
    else:
        compare(args)


if __name__ == "__main__":
    main()
