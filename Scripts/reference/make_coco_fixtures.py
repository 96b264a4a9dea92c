#!/usr/bin/env python3
"""Writes COCO box-AP fixtures and pycocotools' 12 summary numbers for the Swift tests.

Usage: pip install pycocotools numpy && python3 Scripts/reference/make_coco_fixtures.py
Outputs (committed, so the tests need no Python):
  Tests/MetricsTests/Fixtures/coco_<name>_gt.json        COCO annotation file
  Tests/MetricsTests/Fixtures/coco_<name>_dt.json        COCO results file
  Tests/MetricsTests/Fixtures/coco_<name>_expected.json  {"stats": [12 floats], "pycocotools": version}
  Tests/MetricsTests/Fixtures/coco_<name>_<variant>_expected.json  the same under PatchBench's two
      non-default settings: `agnostic` (class-agnostic AP, pycocotools' params.useCats = 0) and
      `relative` (image-relative area bins: small below (side/4)^2, medium up to (side/2)^2,
      side = sqrt(width * height), set through params.areaRng; every fixture image is 640x480)

Each set exercises: crowd regions (with detections on them), small/medium/large areas (and an
`area` field that differs from the box's w*h), images without ground truth, detections that
match nothing, several non-contiguous category ids (one with detections but no ground truth,
one whose only ground truth is crowd), score ties within and across images, and more than
100 detections in one image (maxDets truncation).
"""
import contextlib
import importlib.metadata
import io
import json
import os

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "MetricsTests", "Fixtures")


def random_box(rng, scale):
    w = float(np.round(rng.uniform(0.5, 1.5) * scale, 2))
    h = float(np.round(rng.uniform(0.5, 1.5) * scale, 2))
    x = float(np.round(rng.uniform(0, 400), 2))
    y = float(np.round(rng.uniform(0, 400), 2))
    return [x, y, w, h]


def jitter(rng, box, amount):
    x, y, w, h = box
    return [float(np.round(x + rng.normal(0, amount * w), 2)),
            float(np.round(y + rng.normal(0, amount * h), 2)),
            float(np.round(max(1.0, w * (1 + rng.normal(0, amount))), 2)),
            float(np.round(max(1.0, h * (1 + rng.normal(0, amount))), 2))]


def make_set(seed, images, categories, with_large=True):
    rng = np.random.default_rng(seed)
    gt = {"images": [{"id": i, "width": 640, "height": 480} for i in images],
          "categories": [{"id": c, "name": "class%d" % c} for c in categories],
          "annotations": []}
    dts = []
    ann_id = 1
    scales = [12, 24, 50, 70, 130] if with_large else [12, 24, 40, 60, 80]
    gt_cats = categories[:-1]  # the last category has detections but no ground truth
    for img in images:
        if img % 5 == 0:
            # Image without ground truth: only false positives (or nothing at all).
            if img % 10 == 0:
                for _ in range(3):
                    dts.append({"image_id": img, "category_id": int(rng.choice(categories)),
                                "bbox": random_box(rng, 30), "score": float(np.round(rng.uniform(), 1))})
            continue
        for _ in range(int(rng.integers(1, 6))):
            cat = int(rng.choice(gt_cats))
            box = random_box(rng, float(rng.choice(scales)))
            crowd = 1 if rng.uniform() < 0.12 else 0
            area = box[2] * box[3]
            if rng.uniform() < 0.3:  # segmentation-like area, differs from the box area
                area = float(np.round(area * rng.uniform(0.6, 0.95), 3))
            gt["annotations"].append({"id": ann_id, "image_id": img, "category_id": cat,
                                      "bbox": box, "area": area, "iscrowd": crowd})
            ann_id += 1
            # Detections of this object: 0..3 with different quality; scores on a coarse grid
            # so that ties happen within and across images.
            for _ in range(int(rng.integers(0, 4))):
                dts.append({"image_id": img, "category_id": cat,
                            "bbox": jitter(rng, box, float(rng.choice([0.03, 0.1, 0.25]))),
                            "score": float(np.round(rng.uniform(0.05, 1.0), 1))})
        for _ in range(int(rng.integers(0, 3))):  # unmatched detections
            dts.append({"image_id": img, "category_id": int(rng.choice(categories)),
                        "bbox": random_box(rng, float(rng.choice(scales))),
                        "score": float(np.round(rng.uniform(0.0, 0.8), 1))})
    # A category whose only ground truth is a crowd region (npig == 0 -> -1 for it).
    only_crowd_cat = categories[-2]
    gt["annotations"] = [a for a in gt["annotations"] if a["category_id"] != only_crowd_cat]
    dts = [d for d in dts if d["category_id"] != only_crowd_cat]
    crowd_box = [100.0, 100.0, 200.0, 150.0]
    gt["annotations"].append({"id": ann_id, "image_id": images[1], "category_id": only_crowd_cat,
                              "bbox": crowd_box, "area": 30000.0, "iscrowd": 1})
    ann_id += 1
    for k in range(4):
        dts.append({"image_id": images[1], "category_id": only_crowd_cat,
                    "bbox": [110.0 + 10 * k, 120.0, 50.0, 40.0], "score": 0.5})
    # More than 100 detections in one image for one category (maxDets truncation), with ties.
    img = images[2]
    cat = gt_cats[0]
    for k in range(6):
        box = [20.0 + 60 * k, 300.0, 30.0 + 5 * k, 30.0 + 10 * k]
        gt["annotations"].append({"id": ann_id, "image_id": img, "category_id": cat,
                                  "bbox": box, "area": box[2] * box[3], "iscrowd": 0})
        ann_id += 1
    for k in range(115):
        base = [20.0 + 60 * (k % 6), 300.0, 30.0 + 5 * (k % 6), 30.0 + 10 * (k % 6)]
        dts.append({"image_id": img, "category_id": cat, "bbox": jitter(rng, base, 0.08),
                    "score": float(np.round(rng.uniform(0.0, 1.0), 1))})
    # Two detections on a crowd region of a normal category (they must be ignored, not FPs).
    gt["annotations"].append({"id": ann_id, "image_id": images[3], "category_id": gt_cats[0],
                              "bbox": [300.0, 50.0, 120.0, 100.0], "area": 9000.0, "iscrowd": 1})
    ann_id += 1
    dts.append({"image_id": images[3], "category_id": gt_cats[0], "bbox": [310.0, 60.0, 40.0, 40.0], "score": 0.9})
    dts.append({"image_id": images[3], "category_id": gt_cats[0], "bbox": [350.0, 70.0, 30.0, 50.0], "score": 0.9})
    return gt, dts


# PatchBench's settings beside pycocotools' defaults: each edits COCOeval.params before evaluate().
SIDE = (640 * 480) ** 0.5


def class_agnostic(params):
    params.useCats = 0


def image_relative(params):
    small, medium = (SIDE / 4) ** 2, (SIDE / 2) ** 2
    params.areaRng = [[0, 1e5 ** 2], [0, small], [small, medium], [medium, 1e5 ** 2]]


VARIANTS = {"agnostic": class_agnostic, "relative": image_relative}


def evaluate(gt_path, dt_path, variant=None):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(gt_path)
        coco_dt = coco_gt.loadRes(dt_path)
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        if variant is not None:
            VARIANTS[variant](ev.params)
        ev.evaluate()
        ev.accumulate()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ev.summarize()
    return [float(s) for s in ev.stats], buf.getvalue()


def main():
    sets = {
        "mixed": make_set(seed=11, images=list(range(1, 31)), categories=[1, 3, 7, 8, 12]),
        "nolarge": make_set(seed=23, images=[2, 4, 5, 9, 10, 13, 15, 17, 20, 21, 30, 31],
                            categories=[2, 5, 6, 9], with_large=False),
    }
    os.makedirs(OUT, exist_ok=True)
    for name, (gt, dts) in sets.items():
        gt_path = os.path.join(OUT, "coco_%s_gt.json" % name)
        dt_path = os.path.join(OUT, "coco_%s_dt.json" % name)
        with open(gt_path, "w") as f:
            json.dump(gt, f, indent=1)
        with open(dt_path, "w") as f:
            json.dump(dts, f, indent=1)
        stats, summary = evaluate(gt_path, dt_path)
        with open(os.path.join(OUT, "coco_%s_expected.json" % name), "w") as f:
            json.dump({"stats": stats, "summary": summary, "pycocotools": importlib.metadata.version("pycocotools"),
                       "numpy": np.__version__}, f, indent=1)
        print(name, len(gt["annotations"]), "gt", len(dts), "dt")
        print(summary)
        for variant in VARIANTS:
            stats, summary = evaluate(gt_path, dt_path, variant)
            with open(os.path.join(OUT, "coco_%s_%s_expected.json" % (name, variant)), "w") as f:
                json.dump({"stats": stats, "summary": summary, "pycocotools": importlib.metadata.version("pycocotools"),
                           "numpy": np.__version__}, f, indent=1)
            print(name, variant)
            print(summary)


if __name__ == "__main__":
    main()
