#!/usr/bin/env python3
"""Cross-checks a finished `patchbench eval linear` against scikit-learn on the same features.

Usage: pip install scikit-learn numpy h5py
       python3 Scripts/reference/crosscheck_linear_probe.py runs/tiny/mae/seed0 [--pack PACK]

Reads the run's eval/linear.json (chosen C, top-1, feature kind), its cached features of that kind
(features/*-train-<kind>-*.h5, *-test-<kind>-*.h5, written by the eval; `lastk:4` is cached as
`lastk4`) and the labels of the pack (default: the eval's dataset,
datasets/default/fashion-mnist.h5). Refits exactly what the Swift probe refits at the chosen C:
StandardScaler on all train rows, LogisticRegression(C, L2, lbfgs, multinomial) to a tight
tolerance, then scores the test split. Prints one JSON line with both top-1 values and sklearn's
objective value at its solution; exits 1 when the top-1 values differ by more than 0.5 points
(the issue's bar).

The C sweep itself is not repeated here (its validation split comes from PatchBench's own
RandomStream); only the refit at the chosen C, which is what the reported number is.
"""
import argparse
import glob
import json
import os
import sys
import time

import h5py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from make_probe_fixtures import objective  # sklearn's objective at a fitted model (same folder)


def one(pattern):
    matches = sorted(glob.glob(pattern))
    if len(matches) != 1:
        sys.exit(f"expected one file matching {pattern}, found {matches}")
    return matches[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run directory with eval/linear.json and features/")
    parser.add_argument("--pack", default="datasets/default/fashion-mnist.h5")
    args = parser.parse_args()
    with open(os.path.join(args.run, "eval", "linear.json")) as f:
        record = json.load(f)
    C = record["metrics"]["C"]
    digest = record["protocol"]["encoder_digest"][:12]
    # The kind the eval read (the method table's readout: cls, mean, lastk:4, ...), named as the cache names it.
    kind = record["protocol"].get("feature_kind", "cls").replace(":", "")
    train = h5py.File(one(os.path.join(args.run, "features", f"*-train-{kind}-{digest}.h5")), "r")["features"][:]
    test = h5py.File(one(os.path.join(args.run, "features", f"*-test-{kind}-{digest}.h5")), "r")["features"][:]
    with h5py.File(args.pack, "r") as pack:
        y_train, y_test = pack["train/labels"][:], pack["test/labels"][:]
    scaler = StandardScaler().fit(train.astype(np.float64))
    x_train, x_test = scaler.transform(train.astype(np.float64)), scaler.transform(test.astype(np.float64))
    start = time.time()
    model = LogisticRegression(C=C, solver="lbfgs", tol=1e-8, max_iter=20000).fit(x_train, y_train)
    top1 = float(100 * (model.predict(x_test) == y_test).mean())
    result = {"run": args.run, "C": C, "patchbench_top1": record["metrics"]["top1"], "sklearn_top1": top1,
              "difference": round(record["metrics"]["top1"] - top1, 4),
              "sklearn_objective": objective(model, x_train, y_train, C),
              "sklearn_iterations": int(model.n_iter_.max()), "sklearn_seconds": round(time.time() - start, 1)}
    print(json.dumps(result))
    sys.exit(0 if abs(result["difference"]) <= 0.5 else 1)


if __name__ == "__main__":
    main()
