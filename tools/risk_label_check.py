#!/usr/bin/env python3
"""Checks how predictable the risk model's labels are from the cluster's own state.

Reads the per-tick CSV of `arbiter compare --ticks PATH`, takes the baseline (HPA) cluster,
and prints:
  * how breached ticks (p95 latency over the SLO) depend on demand over ready capacity;
  * the lengths of breach episodes, in ticks;
  * the AUROC, on the last 25% of 300 s windows, of three scores for "a breach within the
    next k windows": the demand-to-capacity ratio at the window's last tick, its maximum
    over the window, and whether the window itself was breached.

Usage: tools/risk_label_check.py TICKS.csv [--slo-ms 200] [--tick-s 15]
Only the Python standard library is needed.
"""

import argparse
import collections
import csv
import sys


def auroc(labels, scores):
    """Area under the ROC curve by the rank-sum formula, with ties given their mean rank."""
    pairs = sorted(zip(scores, labels))
    ranks = [0.0] * len(pairs)
    start = 0
    while start < len(pairs):
        end = start
        while end < len(pairs) and pairs[end][0] == pairs[start][0]:
            end += 1
        for index in range(start, end):
            ranks[index] = (start + end + 1) / 2.0
        start = end
    positives = sum(1 for _, label in pairs if label)
    negatives = len(pairs) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    rank_sum = sum(rank for rank, (_, label) in zip(ranks, pairs) if label)
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ticks", help="CSV written by arbiter compare --ticks")
    parser.add_argument("--slo-ms", type=float, default=200.0)
    parser.add_argument("--tick-s", type=float, default=15.0)
    args = parser.parse_args()

    try:
        with open(args.ticks, newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row.get("cluster") == "baseline"]
    except OSError as error:
        sys.exit(f"cannot read {args.ticks}: {error}")
    if not rows:
        sys.exit(f"{args.ticks} has no baseline rows; pass the file arbiter compare --ticks wrote")

    ratios, breached = [], []
    for line, row in enumerate(rows, start=2):
        try:
            capacity = float(row["ready_capacity_cores"])
            demand = float(row["demand_cores"])
            p95 = float(row["p95_ms"])
        except (KeyError, ValueError) as error:
            sys.exit(f"{args.ticks}: bad baseline row near line {line}: {error}")
        ratios.append(min(demand / capacity, 1.0) if capacity > 0 else 1.0)
        breached.append(p95 > args.slo_ms)

    by_ratio = collections.defaultdict(lambda: [0, 0])
    for ratio, breach in zip(ratios, breached):
        bucket = by_ratio[min(int(ratio * 10), 10)]
        bucket[0] += 1
        bucket[1] += breach
    print("demand/capacity   ticks  breached")
    for bucket in sorted(by_ratio):
        ticks, hits = by_ratio[bucket]
        print(f"  >= {bucket / 10:.1f}       {ticks:7d}  {hits / ticks:8.1%}")

    episodes, run = [], 0
    for breach in breached + [False]:
        if breach:
            run += 1
        elif run:
            episodes.append(run)
            run = 0
    single = sum(1 for length in episodes if length == 1)
    print(f"breach episodes: {len(episodes)}, breached ticks: {sum(breached)}, "
          f"single-tick episodes: {single}")

    per_window = max(1, round(300.0 / args.tick_s))
    windows = len(rows) // per_window
    last_ratio, max_ratio, window_breach = [], [], []
    for window in range(windows):
        span = slice(window * per_window, (window + 1) * per_window)
        last_ratio.append(ratios[span][-1])
        max_ratio.append(max(ratios[span]))
        window_breach.append(float(any(breached[span])))
    for k in (1, 3):
        labels = [any(window_breach[t + 1:t + 1 + k]) for t in range(windows - k)]
        test = slice(int(0.75 * len(labels)), len(labels))
        rate = sum(labels[test]) / max(1, len(labels[test]))
        print(f"breach within {k} window(s): test positive rate {rate:.3f}")
        for name, scores in (("ratio at window end", last_ratio),
                             ("max ratio in window", max_ratio),
                             ("window breached", window_breach)):
            print(f"  AUROC of {name:20s} {auroc(labels[test], scores[:len(labels)][test]):.3f}")


if __name__ == "__main__":
    main()
