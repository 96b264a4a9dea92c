#!/usr/bin/env python3
"""Writes DINO's own k-NN top-1 on the linear-probe fixture, for NearestNeighbourTests.

Usage: pip install torch==2.13.0 numpy
       python3 Scripts/reference/make_knn_fixture.py --dino PATH

PATH is a checkout of facebookresearch/dino (git clone https://github.com/facebookresearch/dino;
the fixture was made at 7c446df). The script imports `eval_knn.knn_classifier` from it and
runs it as `eval_knn.py`'s main does: features L2-normalised with
`nn.functional.normalize(dim=1, p=2)`, then `knn_classifier(train, train_labels, test,
test_labels, k, T, num_classes)`. torchvision is not needed by that function; where it is not
installed the script gives `eval_knn`'s imports empty stand-ins (nothing of it is called).

Data: Tests/MetricsTests/Fixtures/probe_features.f32 and probe_labels.i32 (make_probe_fixtures.py):
3000 x 32 features, 5 classes; rows 0..1999 train, 2000..2999 test (1,000, a multiple of
eval_knn's 100 chunks). Output: Tests/MetricsTests/Fixtures/knn_expected.json.
"""
import argparse
import json
import os
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "Tests", "MetricsTests", "Fixtures")
# DINO's settings (T = 0.07 for every k) and the (200, 0.1) setting PatchBench also reports.
SETTINGS = [(10, 0.07), (20, 0.07), (100, 0.07), (200, 0.07), (200, 0.1)]


def import_eval_knn(dino):
    try:
        import torchvision  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("torchvision")
        for name in ["datasets", "transforms", "models"]:
            module = types.ModuleType("torchvision." + name)
            setattr(stand_in, name, module)
            sys.modules["torchvision." + name] = module
        stand_in.datasets.ImageFolder = type("ImageFolder", (), {})
        sys.modules["torchvision"] = stand_in
    sys.path.insert(0, os.path.abspath(dino))
    import eval_knn
    return eval_knn


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dino", required=True, help="checkout of facebookresearch/dino")
    args = parser.parse_args()
    eval_knn = import_eval_knn(args.dino)
    features = np.fromfile(os.path.join(FIXTURES, "probe_features.f32"), dtype="<f4").reshape(3000, 32)
    labels = np.fromfile(os.path.join(FIXTURES, "probe_labels.i32"), dtype="<i4").astype(np.int64)
    train = torch.nn.functional.normalize(torch.from_numpy(features[:2000].copy()), dim=1, p=2)
    test = torch.nn.functional.normalize(torch.from_numpy(features[2000:].copy()), dim=1, p=2)
    train_labels, test_labels = torch.from_numpy(labels[:2000]), torch.from_numpy(labels[2000:])
    results = []
    for k, t in SETTINGS:
        top1, _ = eval_knn.knn_classifier(train, train_labels, test, test_labels, k, t, num_classes=5)
        results.append({"k": k, "temperature": t, "top1": float(top1)})
    expected = {"train_rows": 2000, "test_rows": 1000, "classes": 5, "results": results,
                "torch": torch.__version__, "dino_function": "eval_knn.knn_classifier"}
    with open(os.path.join(FIXTURES, "knn_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
