#!/usr/bin/env python3
"""Writes segmentation-metric fixtures and mmsegmentation's mIoU/aAcc for the Swift tests.

Usage: python3 Scripts/reference/make_miou_fixtures.py   (numpy only)

The reference is mmsegmentation's `intersect_and_union` + `total_area_to_metrics`
(mmseg/evaluation/metrics/iou_metric.py, v1.x) transcribed to numpy:
  mask = label != ignore_index; pred, label = pred[mask], label[mask]
  intersect = pred[pred == label]
  area_* = torch.histc(x.float(), bins=C, min=0, max=C-1)   (== bincount for integer labels in range)
  union = area_pred + area_label - area_intersect                (summed over the dataset)
  IoU = intersect / union (NaN when union == 0), aAcc = sum(intersect) / sum(area_label)
  mIoU = nanmean(IoU) * 100  (mmseg then rounds to 2 decimals for its log; we keep full precision)

Outputs in Tests/MetricsTests/Fixtures/: seg_pred.u8 and seg_label.u8 ([N, H, W] uint8, C order)
and seg_expected.json.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "Tests", "MetricsTests", "Fixtures")
IGNORE = 255


def histc(values, classes):
    """torch.histc(values.float(), bins=classes, min=0, max=classes-1) for integer values."""
    values = values[(values >= 0) & (values <= classes - 1)]
    return np.bincount(values.astype(np.int64), minlength=classes).astype(np.float64)


def intersect_and_union(pred, label, classes, ignore_index=IGNORE):
    mask = label != ignore_index
    pred = pred[mask].astype(np.int64)
    label = label[mask].astype(np.int64)
    intersect = pred[pred == label]
    area_intersect = histc(intersect, classes)
    area_pred = histc(pred, classes)
    area_label = histc(label, classes)
    return area_intersect, area_pred + area_label - area_intersect, area_pred, area_label


def main():
    rng = np.random.default_rng(5)
    classes, count, height, width = 6, 7, 24, 20
    # Class 4 is absent from labels but predicted a little; class 5 is absent from both.
    label = rng.choice([0, 1, 2, 3], size=(count, height, width), p=[0.4, 0.3, 0.2, 0.1]).astype(np.uint8)
    label[rng.uniform(size=label.shape) < 0.08] = IGNORE
    label[2, :5, :] = IGNORE
    pred = label.copy()
    noise = rng.uniform(size=label.shape) < 0.3
    pred[noise] = rng.choice([0, 1, 2, 3, 4], size=int(noise.sum()), p=[0.3, 0.3, 0.2, 0.15, 0.05])
    pred[pred == IGNORE] = rng.integers(0, 4, size=int((pred == IGNORE).sum()))
    totals = [np.zeros(classes) for _ in range(4)]
    for i in range(count):
        for t, part in zip(totals, intersect_and_union(pred[i], label[i], classes)):
            t += part
    intersect, union, _, area_label = totals
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = intersect / union
        acc = intersect / area_label
    all_acc = intersect.sum() / area_label.sum()
    os.makedirs(OUT, exist_ok=True)
    pred.tofile(os.path.join(OUT, "seg_pred.u8"))
    label.tofile(os.path.join(OUT, "seg_label.u8"))
    expected = {
        "classes": classes, "count": count, "height": height, "width": width, "ignore_index": IGNORE,
        "iou": [None if np.isnan(v) else float(v) for v in iou],
        "acc": [None if np.isnan(v) else float(v) for v in acc],
        "area_intersect": intersect.tolist(), "area_union": union.tolist(),
        "mIoU": float(np.nanmean(iou) * 100), "mAcc": float(np.nanmean(acc) * 100),
        "aAcc": float(all_acc * 100),
        "mmseg_rounded": {"mIoU": float(np.round(np.nanmean(iou) * 100, 2)),
                          "aAcc": float(np.round(all_acc * 100, 2))},
    }
    with open(os.path.join(OUT, "seg_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
