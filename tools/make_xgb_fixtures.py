#!/usr/bin/env python3
"""Train small XGBoost models and write them as test fixtures for crates/arbiter-model.

Fixtures were made with xgboost 3.2.0 (tools/requirements.txt) and, for the 2.x format of
base_score, with xgboost-cpu 2.1.4 in a second environment:

    pip install -r tools/requirements.txt
    python3 tools/make_xgb_fixtures.py
    pip install xgboost-cpu==2.1.4 numpy==2.2.6   # in another virtual environment
    python3 tools/make_xgb_fixtures.py

Each run writes crates/arbiter-model/tests/fixtures/xgboost-<version>/, one folder per model:
  model.json     the model as Booster.save_model writes it
  input.csv      prediction rows with a header of feature names; an empty field is missing
  expected.csv   XGBoost's predictions of those rows, one line per row, one value per output
The 3.x run also writes models that the Rust reader must reject, under unsupported/.

Every number is written with the shortest decimal that parses back to the same float64,
and every input is a float32, so the Rust tests read exactly the values XGBoost used.
"""

import json
import sys
from pathlib import Path

import numpy as np
import xgboost as xgb

FIXTURES = Path(__file__).resolve().parent.parent / "crates" / "arbiter-model" / "tests" / "fixtures"
FEATURES = [
    "cpu_mean_cores",
    "cpu_p95_cores",
    "memory_gib",
    "replicas",
    "hour_of_day",
    "requests_per_s",
]
TRAIN_ROWS = 400
RANDOM_INPUT_ROWS = 40
ROUNDS = 10
MISSING_FRACTION = 0.1


def make_features(rng, rows):
    """Workload-like features as float32, with some values missing (NaN)."""
    x = np.empty((rows, len(FEATURES)), dtype=np.float32)
    x[:, 0] = rng.gamma(2.0, 0.5, rows)
    x[:, 1] = x[:, 0] * rng.uniform(1.1, 2.0, rows)
    x[:, 2] = rng.gamma(3.0, 0.7, rows)
    x[:, 3] = rng.integers(1, 12, rows)
    x[:, 4] = rng.integers(0, 24, rows)
    x[:, 5] = rng.gamma(2.0, 40.0, rows)
    missing = rng.random(x.shape) < MISSING_FRACTION
    missing[:, 3] = False
    x[missing] = np.nan
    return x


def make_labels(rng, x):
    """Next-window CPU demand (regression) and an SLO-breach flag (classification)."""
    filled = np.nan_to_num(x, nan=0.0)
    daily = np.sin(filled[:, 4] / 24.0 * 2.0 * np.pi)
    demand = 0.8 * filled[:, 0] + 0.3 * filled[:, 1] + 0.002 * filled[:, 5] + 0.2 * daily
    demand = demand + rng.normal(0.0, 0.15, len(x))
    per_replica = demand / filled[:, 3]
    breach = (per_replica + rng.normal(0.0, 0.05, len(x)) > 0.25).astype(np.float32)
    return demand.astype(np.float32), breach


def split_thresholds(booster):
    """(feature index, threshold) of every split, from the saved JSON."""
    model = json.loads(booster.save_raw("json"))
    names = FEATURES
    pairs = set()
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for left, feature, condition in zip(
            tree["left_children"], tree["split_indices"], tree["split_conditions"]
        ):
            if left != -1:
                pairs.add((feature, condition))
    assert all(0 <= feature < len(names) for feature, _ in pairs)
    return sorted(pairs)


def make_input(rng, booster):
    """Random rows, rows with a feature exactly at a split threshold and just below it, and
    an all-missing row: the cases where float32 comparison and default_left matter."""
    rows = [make_features(rng, RANDOM_INPUT_ROWS)]
    base = make_features(rng, 1)[0]
    for feature, threshold in split_thresholds(booster)[:24]:
        for value in (np.float32(threshold), np.nextafter(np.float32(threshold), np.float32(-np.inf))):
            row = base.copy()
            row[feature] = value
            rows.append(row[None, :])
    rows.append(np.full((1, len(FEATURES)), np.nan, dtype=np.float32))
    return np.concatenate(rows).astype(np.float32)


def format_number(value):
    if np.isnan(value):
        return ""
    return repr(float(value))


def write_fixture(folder, booster, x):
    folder.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(folder / "model.json"))
    with open(folder / "input.csv", "w") as out:
        out.write(",".join(FEATURES) + "\n")
        for row in x:
            out.write(",".join(format_number(value) for value in row) + "\n")
    predictions = booster.predict(xgb.DMatrix(x, feature_names=FEATURES))
    predictions = predictions.reshape(len(x), -1)
    assert predictions.dtype == np.float32
    with open(folder / "expected.csv", "w") as out:
        for row in predictions:
            out.write(",".join(repr(float(value)) for value in row) + "\n")


def train(params, x, y, rounds=ROUNDS, **matrix_args):
    common = {"tree_method": "hist", "max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 0}
    matrix = xgb.DMatrix(x, label=y, feature_names=FEATURES, **matrix_args)
    return xgb.train({**common, **params}, matrix, rounds)


def write_unsupported(folder, rng):
    """Small models in formats and features the Rust reader rejects."""
    folder.mkdir(parents=True, exist_ok=True)
    x = make_features(rng, 200)
    demand, breach = make_labels(rng, x)

    train({"booster": "gblinear"}, x, demand, rounds=2).save_model(str(folder / "gblinear.json"))
    train({"booster": "dart"}, x, demand, rounds=2).save_model(str(folder / "dart.json"))
    classes = np.minimum(np.nan_to_num(x[:, 4]) // 8, 2).astype(np.float32)
    train({"objective": "multi:softprob", "num_class": 3}, x, classes, rounds=2).save_model(
        str(folder / "multiclass.json")
    )
    train(
        {
            "objective": "reg:quantileerror",
            "quantile_alpha": [0.5, 0.95],
            "multi_strategy": "multi_output_tree",
        },
        x,
        demand,
        rounds=2,
    ).save_model(str(folder / "multi_output_tree.json"))
    train({}, x, demand, rounds=2).save_model(str(folder / "model.ubj"))

    categorical = x.copy()
    categorical[:, 4] = np.nan_to_num(categorical[:, 4]) // 6
    peak_hours = np.isin(categorical[:, 4], [1.0, 3.0])
    matrix = xgb.DMatrix(
        categorical,
        label=demand + 3.0 * peak_hours,
        feature_names=FEATURES,
        feature_types=["q", "q", "q", "q", "c", "q"],
        enable_categorical=True,
    )
    booster = xgb.train(
        {"tree_method": "hist", "max_depth": 2, "nthread": 1, "max_cat_to_onehot": 1},
        matrix,
        2,
    )
    booster.save_model(str(folder / "categorical.json"))


def main():
    version = xgb.__version__
    major = int(version.split(".")[0])
    out = FIXTURES / f"xgboost-{version}"
    rng = np.random.default_rng(20_260_704)
    x = make_features(rng, TRAIN_ROWS)
    demand, breach = make_labels(rng, x)

    models = {
        "squarederror": train({"objective": "reg:squarederror"}, x, demand),
        "logistic": train({"objective": "binary:logistic"}, x, breach),
        "quantile_p95": train({"objective": "reg:quantileerror", "quantile_alpha": 0.95}, x, demand),
        "quantile_p50_p95": train(
            {"objective": "reg:quantileerror", "quantile_alpha": [0.5, 0.95]}, x, demand
        ),
        # tree_method exact prunes splits whose gain is below gamma after growing a tree,
        # which leaves deleted nodes in it (hist leaves none).
        "squarederror_exact_pruned": train(
            {"objective": "reg:squarederror", "tree_method": "exact", "gamma": 0.5}, x, demand
        ),
    }
    for name, booster in models.items():
        write_fixture(out / name, booster, make_input(rng, booster))
    if major >= 3:
        write_unsupported(FIXTURES / "unsupported", rng)
    print(f"wrote fixtures of xgboost {version} under {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
