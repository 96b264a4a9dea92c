#!/usr/bin/env python3
"""Writes the linear-probe fixture and scikit-learn's reference accuracies for the Swift tests.

Usage: pip install scikit-learn numpy && python3 Scripts/reference/make_probe_fixtures.py

Data: 3000 x 32 float32 features, 5 classes, overlapping Gaussians with a shared random
covariance and very different column scales (so standardisation matters); rows 0..1999 are
train, 2000..2999 test. Reference: StandardScaler fitted on train, then
LogisticRegression(C, l1_ratio=0 / L2, lbfgs, multinomial, tol=1e-10, max_iter=10000) so that
sklearn reaches the optimum of its objective
    f(W, b) = mean_i CE_i + ||W||^2 / (2 C n)
which is also reported (`objective`) so the Swift fit can be checked to reach the same minimum.

Outputs in Tests/MetricsTests/Fixtures/: probe_features.f32 ([3000, 32] little-endian float32),
probe_labels.i32 ([3000] int32), probe_expected.json.
"""
import importlib.metadata
import json
import os

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "MetricsTests", "Fixtures")


def objective(model, x, y, C):
    z = x @ model.coef_.T + model.intercept_
    z -= z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = x.shape[0]
    return float(-log_p[np.arange(n), y].mean() + (model.coef_ ** 2).sum() / (2 * C * n))


def main():
    rng = np.random.default_rng(2024)
    n, d, k = 3000, 32, 5
    means = rng.normal(0, 0.12, size=(k, d))
    mixing = rng.normal(0, 1, size=(d, d)) / np.sqrt(d)
    labels = rng.integers(0, k, size=n)
    noise = rng.normal(0, 1, size=(n, d)) @ mixing
    scales = np.exp(rng.uniform(-2, 3, size=d))
    features = ((means[labels] + noise) * scales + rng.normal(0, 5, size=d)).astype(np.float32)
    train, test = slice(0, 2000), slice(2000, 3000)
    scaler = StandardScaler().fit(features[train].astype(np.float64))
    x_train = scaler.transform(features[train].astype(np.float64))
    x_test = scaler.transform(features[test].astype(np.float64))
    results = []
    for C in [0.001, 0.01, 0.1, 1.0]:
        model = LogisticRegression(C=C, solver="lbfgs", tol=1e-10, max_iter=10000).fit(x_train, labels[train])
        results.append({"C": C, "test_top1": float(100 * (model.predict(x_test) == labels[test]).mean()),
                        "train_top1": float(100 * (model.predict(x_train) == labels[train]).mean()),
                        "objective": objective(model, x_train, labels[train], C)})
    os.makedirs(OUT, exist_ok=True)
    features.astype("<f4").tofile(os.path.join(OUT, "probe_features.f32"))
    labels.astype("<i4").tofile(os.path.join(OUT, "probe_labels.i32"))
    expected = {"rows": n, "dimension": d, "classes": k, "train_rows": 2000, "results": results,
                "sklearn": importlib.metadata.version("scikit-learn")}
    with open(os.path.join(OUT, "probe_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
