"""Train Python XGBoost on the rows `arbiter train --export-rows` wrote and compare it with
the Rust training run on the same rows, parameters and threads.

Usage:
    python3 tools/bench_model.py --rows DIR --threads 2 [--rust-command "CMD ..."]

DIR is the `--out` directory of `arbiter train --export-rows`; it contains rows-cpu-h1.csv (and
rows-risk.csv when risk labels exist). Parameters default to the ones `arbiter train` uses.
With --rust-command the command is run first and its "trained ... in N s" lines are printed
next to XGBoost's times, so both sides are measured in one run on one machine.
"""

import argparse
import csv
import subprocess
import time

import numpy as np
import xgboost as xgb


def read_rows(path):
    """Return (parts, labels, features, names) from a rows CSV; empty fields become NaN."""
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        parts, labels, rows = [], [], []
        for record in reader:
            parts.append(record[0])
            labels.append(float(record[1]))
            rows.append([float(value) if value else np.nan for value in record[2:]])
    return np.array(parts), np.array(labels), np.array(rows, dtype=np.float32), header[2:]


def auroc(labels, scores):
    """Return the AUROC with ties counted as one half (Mann-Whitney U)."""
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    start = 0
    while start < len(scores):
        end = start
        while end < len(scores) and sorted_scores[end] == sorted_scores[start]:
            end += 1
        ranks[order[start:end]] = (start + 1 + end) / 2.0
        start = end
    positives = labels.sum()
    negatives = len(labels) - positives
    return (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)


def train(params, matrix, rounds):
    """Train and return (booster, seconds)."""
    start = time.perf_counter()
    booster = xgb.train(params, matrix, num_boost_round=rounds)
    return booster, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", required=True, help="directory with rows-cpu-h1.csv")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--max-depth", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rust-command", help="arbiter train command to time in the same run")
    args = parser.parse_args()

    if args.rust_command:
        start = time.perf_counter()
        done = subprocess.run(args.rust_command, shell=True, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        for line in done.stderr.splitlines():
            if line.startswith("trained"):
                print("rust:", line)
        print(f"rust: whole command (trace read, replay, training, evaluation) {wall:.2f} s")

    base = {
        "tree_method": "hist",
        "max_depth": args.max_depth,
        "eta": args.learning_rate,
        "max_bin": 256,
        "lambda": 1.0,
        "min_child_weight": 5.0,
        "subsample": 0.8,
        "seed": args.seed,
        "nthread": args.threads,
    }
    parts, labels, features, names = read_rows(f"{args.rows}/rows-cpu-h1.csv")
    fit = (parts == "train") | (parts == "calibration")
    test = parts == "test"
    train_matrix = xgb.DMatrix(features[fit], label=labels[fit], feature_names=names)
    test_matrix = xgb.DMatrix(features[test], feature_names=names)

    mean, mean_s = train(dict(base, objective="reg:squarederror"), train_matrix, args.rounds)
    upper, upper_s = train(
        dict(base, objective="reg:quantileerror", quantile_alpha=0.95), train_matrix, args.rounds
    )
    mean_prediction = mean.predict(test_matrix)
    upper_prediction = upper.predict(test_matrix)
    # Labels are ln(max(next, 0.001) / max(cpu_now, 0.001)); the MAE is taken on CPU levels,
    # as arbiter's model card takes it. Coverage is the same on either scale.
    anchor = np.maximum(features[test, names.index("cpu_now")].astype(np.float64), 0.001)
    actual = anchor * np.exp(labels[test])
    mae = np.abs(actual - anchor * np.exp(mean_prediction)).mean()
    covered = (labels[test] <= upper_prediction).mean()
    print(f"xgboost {xgb.__version__}: cpu mean, horizon 1: {mean_s:.3f} s, "
          f"{fit.sum()} rows; test MAE {mae:.4f} on {test.sum()} rows")
    print(f"xgboost {xgb.__version__}: cpu upper, horizon 1: {upper_s:.3f} s; "
          f"test p95 coverage {covered * 100:.1f}%")

    start = time.perf_counter()
    repeats = 20
    for _ in range(repeats):
        mean.inplace_predict(features[test])
    seconds = time.perf_counter() - start
    print(f"xgboost {xgb.__version__}: prediction {repeats * test.sum() / seconds:,.0f} rows/s "
          f"(inplace_predict, {args.threads} threads)")

    try:
        parts, labels, features, names = read_rows(f"{args.rows}/rows-risk.csv")
    except FileNotFoundError:
        return
    fit = parts == "train"
    test = parts == "test"
    matrix = xgb.DMatrix(features[fit], label=labels[fit], feature_names=names)
    risk, risk_s = train(dict(base, objective="binary:logistic"), matrix, args.rounds)
    scores = risk.predict(xgb.DMatrix(features[test], feature_names=names))
    print(f"xgboost {xgb.__version__}: risk classifier: {risk_s:.3f} s, {fit.sum()} rows; "
          f"test AUROC (uncalibrated) {auroc(labels[test], scores):.4f}")


if __name__ == "__main__":
    main()
