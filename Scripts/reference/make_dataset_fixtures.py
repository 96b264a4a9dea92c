#!/usr/bin/env python3
"""Writes tiny dataset fixtures in every real on-disk format, plus expectations.json.

Run from the repository root:  python3 Scripts/reference/make_dataset_fixtures.py
Needs numpy and Pillow (pip install numpy Pillow). Output: Tests/DatasetsTests/Fixtures/.

The expectations are what the Swift converters must produce, computed here independently:
decoded pixels come from Pillow (Image.open(f).convert("RGB")), resizing from Pillow's
resize(BILINEAR) / resize(NEAREST) followed by torchvision's CenterCrop offsets, and boxes
from the COCO [x, y, w, h] arithmetic described in Documentation/pack-format.md.
Everything is seeded, so re-running reproduces the same files byte for byte (except JPEG
encoder differences between Pillow versions).
"""
import gzip
import io
import json
import os
import pickle
import shutil
import struct
import tarfile

import numpy as np
from PIL import Image

ROOT = os.path.join("Tests", "DatasetsTests", "Fixtures")
rng = np.random.default_rng(20240607)
expect = {}


def path(*parts):
    p = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def planar_images(n):
    return rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)


def hwc(planar):
    return planar.transpose(0, 2, 3, 1).reshape(-1).tolist()


# ---------------------------------------------------------------- CIFAR
def cifar():
    names10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    train, test = planar_images(3), planar_images(2)
    train_labels, test_labels = [3, 0, 9], [1, 7]
    # Binary release: <label><R plane><G plane><B plane>.
    d = path("cifar10-bin", "x")
    for name, imgs, labels in [("data_batch_1.bin", train, train_labels), ("test_batch.bin", test, test_labels)]:
        with open(path("cifar10-bin", name), "wb") as f:
            for img, label in zip(imgs, labels):
                f.write(bytes([label]) + img.tobytes())
    with open(path("cifar10-bin", "batches.meta.txt"), "w") as f:
        f.write("\n".join(names10) + "\n\n")
    with tarfile.open(path("cifar-10-binary.tar.gz"), "w:gz", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(os.listdir(os.path.join(ROOT, "cifar10-bin"))):
            info = tar.gettarinfo(os.path.join(ROOT, "cifar10-bin", name), arcname="cifar-10-batches-bin/" + name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(os.path.join(ROOT, "cifar10-bin", name), "rb") as f:
                tar.addfile(info, f)
    # Python release: pickled dicts with a numpy uint8 [N, 3072] array (protocol 2).
    for name, imgs, labels in [("data_batch_1", train, train_labels), ("test_batch", test, test_labels)]:
        batch = {"batch_label": "fixture " + name, "labels": labels, "data": imgs.reshape(len(imgs), 3072),
                 "filenames": ["img_%d.png" % i for i in range(len(imgs))]}
        with open(path("cifar10-py", name), "wb") as f:
            pickle.dump(batch, f, protocol=2)
    with open(path("cifar10-py", "batches.meta"), "wb") as f:
        pickle.dump({"num_cases_per_batch": 3, "label_names": names10, "num_vis": 3072}, f, protocol=2)
    expect["cifar10"] = {"class_names": names10,
                         "train": {"images": hwc(train), "labels": train_labels},
                         "test": {"images": hwc(test), "labels": test_labels}}

    fine = ["fine_%d" % i for i in range(100)]
    coarse = ["coarse_%d" % i for i in range(20)]
    train100, test100 = planar_images(2), planar_images(1)
    tf, tc, sf, sc = [99, 5], [19, 0], [42], [7]
    for name, imgs, f_labels, c_labels in [("train.bin", train100, tf, tc), ("test.bin", test100, sf, sc)]:
        with open(path("cifar100-bin", name), "wb") as f:
            for img, fl, cl in zip(imgs, f_labels, c_labels):
                f.write(bytes([cl, fl]) + img.tobytes())  # coarse first, then fine
    with open(path("cifar100-bin", "fine_label_names.txt"), "w") as f:
        f.write("\n".join(fine) + "\n")
    with open(path("cifar100-bin", "coarse_label_names.txt"), "w") as f:
        f.write("\n".join(coarse) + "\n")
    for name, imgs, f_labels, c_labels in [("train", train100, tf, tc), ("test", test100, sf, sc)]:
        with open(path("cifar100-py", name), "wb") as f:
            pickle.dump({"filenames": ["a"] * len(imgs), "batch_label": name, "fine_labels": f_labels,
                         "coarse_labels": c_labels, "data": imgs.reshape(len(imgs), 3072)}, f, protocol=2)
    with open(path("cifar100-py", "meta"), "wb") as f:
        pickle.dump({"fine_label_names": fine, "coarse_label_names": coarse}, f, protocol=2)
    expect["cifar100"] = {"train": {"images": hwc(train100), "labels": tf, "coarse_labels": tc},
                          "test": {"images": hwc(test100), "labels": sf, "coarse_labels": sc}}


# ---------------------------------------------------------------- IDX
def idx():
    def images_bytes(imgs):
        return struct.pack(">IIII", 0x803, len(imgs), 28, 28) + imgs.tobytes()

    def labels_bytes(labels):
        return struct.pack(">II", 0x801, len(labels)) + bytes(labels)

    train = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8)
    with open(path("idx", "train-images-idx3-ubyte"), "wb") as f:
        f.write(images_bytes(train))
    with open(path("idx", "train-labels-idx1-ubyte"), "wb") as f:
        f.write(labels_bytes([9, 0, 4]))
    with open(path("idx", "t10k-images-idx3-ubyte.gz"), "wb") as f:
        f.write(gzip.compress(images_bytes(test), mtime=0))
    with open(path("idx", "t10k-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(gzip.compress(labels_bytes([2, 8]), mtime=0))

    def padded(imgs):
        out = np.zeros((len(imgs), 32, 32, 3), dtype=np.uint8)
        out[:, 2:30, 2:30, :] = imgs[:, :, :, None]
        return out.reshape(-1).tolist()

    expect["idx"] = {"train": {"images": padded(train), "labels": [9, 0, 4]},
                     "test": {"images": padded(test), "labels": [2, 8]}}


# ---------------------------------------------------------------- images
def smooth_rgb(h, w):
    y, x = np.mgrid[0:h, 0:w]
    base = rng.integers(0, 256, size=3)
    img = np.stack([(base[c] + 7 * x + 5 * y * (c + 1)) % 256 for c in range(3)], axis=-1)
    return img.astype(np.uint8)


def decoded(p):
    with Image.open(p) as im:
        return np.asarray(im.convert("RGB"))


def resize_crop(img, size, nearest=False):
    """torchvision Resize(size) + CenterCrop(size) on PIL images."""
    im = Image.fromarray(img)
    w, h = im.size
    if h <= w:
        nh, nw = size, int(size * w / h)
    else:
        nh, nw = int(size * h / w), size
    im = im.resize((nw, nh), Image.NEAREST if nearest else Image.BILINEAR)
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    out = np.asarray(im)[top:top + size, left:left + size]
    return out, nh / h, nw / w, top, left


def cmyk_jpeg(p, h, w):
    cmyk = rng.integers(0, 256, size=(h, w, 4), dtype=np.uint8)
    Image.fromarray(cmyk, mode="CMYK").save(p, "JPEG", quality=95)


def imagenet():
    # ImageNet layout: train/<wnid>/*.JPEG (an RGB, a grayscale and a CMYK JPEG, and a PNG
    # named .JPEG), val/ flat with LOC_val_solution.csv.
    files = {}
    Image.fromarray(smooth_rgb(30, 40)).save(path("imagenet", "train", "n01440764", "n01440764_1.JPEG"), quality=90)
    Image.fromarray(smooth_rgb(36, 24)[:, :, 0], mode="L").save(
        path("imagenet", "train", "n02102040", "n02102040_7.JPEG"), "JPEG", quality=90)
    cmyk_jpeg(path("imagenet", "train", "n02102040", "n02102040_8.JPEG"), 20, 28)
    Image.fromarray(smooth_rgb(25, 25)).save(path("imagenet", "train", "n02979186", "n02979186_3.JPEG"), "PNG")
    Image.fromarray(smooth_rgb(20, 30)).save(path("imagenet", "train", "n03000684", "n03000684_1.JPEG"), quality=90)
    val = [("ILSVRC2012_val_00000001", "n02979186", smooth_rgb(24, 32)),
           ("ILSVRC2012_val_00000002", "n01440764", smooth_rgb(32, 24)),
           ("ILSVRC2012_val_00000003", "n03000684", smooth_rgb(16, 16))]
    rows = ["ImageId,PredictionString"]
    for image_id, wnid, img in val:
        Image.fromarray(img).save(path("imagenet", "val", image_id + ".JPEG"), quality=90)
    # Rows out of order, several boxes per row: the class is the first token.
    for image_id, wnid, img in reversed(val):
        rows.append("%s,%s 1 2 10 12 %s 0 0 5 5 " % (image_id, wnid, wnid))
    with open(path("imagenet", "LOC_val_solution.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    size = 16
    subset = ["n01440764", "n02102040", "n02979186", "n03000684"]  # sorted: label = rank
    out = {"size": size, "classes": subset, "train": [], "val": []}
    for wnid in subset:
        for name in sorted(os.listdir(os.path.join(ROOT, "imagenet", "train", wnid))):
            img = decoded(os.path.join(ROOT, "imagenet", "train", wnid, name))
            out["train"].append({"file": wnid + "/" + name, "label": subset.index(wnid),
                                 "decoded": img.reshape(-1).tolist(), "shape": list(img.shape),
                                 "pixels": resize_crop(img, size)[0].reshape(-1).tolist()})
    for image_id, wnid, _ in val:
        img = decoded(os.path.join(ROOT, "imagenet", "val", image_id + ".JPEG"))
        out["val"].append({"file": image_id + ".JPEG", "label": subset.index(wnid),
                           "decoded": img.reshape(-1).tolist(), "shape": list(img.shape),
                           "pixels": resize_crop(img, size)[0].reshape(-1).tolist()})
    expect["imagenet"] = out


# ---------------------------------------------------------------- COCO
def coco():
    size = 16
    images = [(397133, "000000397133.jpg", smooth_rgb(20, 24), "jpeg"),
              (42, "000000000042.png", smooth_rgb(30, 18), "png"),
              (7, "000000000007.png", smooth_rgb(16, 16), "png")]
    for image_id, name, img, kind in images:
        Image.fromarray(img).save(path("coco", "val", name), "JPEG" if kind == "jpeg" else "PNG", quality=92)
    categories = [{"id": 1, "name": "person", "supercategory": "person"},
                  {"id": 90, "name": "toothbrush", "supercategory": "indoor"},
                  {"id": 3, "name": "car", "supercategory": "vehicle"}]
    # Column-major uncompressed RLE for the crowd region of image 42 (30 x 18).
    crowd = np.zeros((30, 18), dtype=np.uint8)
    crowd[5:12, 2:9] = 1
    flat = crowd.flatten(order="F")
    counts, current, run = [], 0, 0
    for v in flat:
        if v != current:
            counts.append(run)
            run, current = 0, v
        run += 1
    counts.append(run)
    annotations = [
        {"id": 5, "image_id": 397133, "category_id": 3, "iscrowd": 0, "area": 60.0, "bbox": [3.0, 2.0, 10.5, 8.0],
         "segmentation": [[3, 2, 13.5, 2, 13.5, 10, 3, 10]]},
        {"id": 2, "image_id": 397133, "category_id": 1, "iscrowd": 0, "area": 20.0, "bbox": [19.0, 4.0, 5.0, 6.0],
         "segmentation": [[19, 4, 24, 4, 24, 10], [20, 5, 21, 5, 21, 6]]},
        {"id": 9, "image_id": 397133, "category_id": 90, "iscrowd": 0, "area": 4.0, "bbox": [0.0, 0.0, 2.0, 2.0],
         "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]]},
        {"id": 11, "image_id": 42, "category_id": 1, "iscrowd": 1, "area": float(crowd.sum()), "bbox": [2.0, 5.0, 7.0, 7.0],
         "segmentation": {"counts": counts, "size": [30, 18]}},
        {"id": 12, "image_id": 42, "category_id": 90, "iscrowd": 0, "area": 30.0, "bbox": [4.0, 20.0, 10.0, 9.5],
         "segmentation": [[4, 20, 14, 20, 14, 29.5, 4, 29.5]]},
    ]
    data = {"info": {"description": "PatchBench fixture"}, "licenses": [],
            "images": [{"id": i, "file_name": n, "width": int(img.shape[1]), "height": int(img.shape[0])}
                       for i, n, img, _ in images],
            "annotations": annotations, "categories": categories}
    with open(path("coco", "annotations", "instances_val.json"), "w") as f:
        json.dump(data, f, indent=1)
    min_visible = 0.25
    contiguous = {c["id"]: k for k, c in enumerate(sorted(categories, key=lambda c: c["id"]))}
    out = {"size": size, "min_visible_fraction": min_visible, "category_ids": sorted(contiguous),
           "class_names": [c["name"] for c in sorted(categories, key=lambda c: c["id"])], "images": []}
    for image_id, name, _, _ in sorted(images):
        img = decoded(os.path.join(ROOT, "coco", "val", name))
        crop, sy, sx, top, left = resize_crop(img, size)
        boxes = []
        for a in sorted((a for a in annotations if a["image_id"] == image_id), key=lambda a: a["id"]):
            x, y, w, h = a["bbox"]
            x1, y1, x2, y2 = x * sx - left, y * sy - top, (x + w) * sx - left, (y + h) * sy - top
            c = [min(max(v, 0.0), float(size)) for v in (x1, y1, x2, y2)]
            full, visible = (x2 - x1) * (y2 - y1), (c[2] - c[0]) * (c[3] - c[1])
            if c[2] > c[0] and c[3] > c[1] and full > 0 and visible >= min_visible * full:
                boxes.append({"box": c, "class": contiguous[a["category_id"]], "crowd": a["iscrowd"]})
        out["images"].append({"id": image_id, "pixels": crop.reshape(-1).tolist(), "boxes": boxes})
    expect["coco"] = out


# ---------------------------------------------------------------- ADE20K
def ade20k():
    size = 16
    base = os.path.join("ade20k", "ADEChallengeData2016")
    entries = [("training", "ADE_train_00000001", 20, 28), ("training", "ADE_train_00000002", 24, 16),
               ("validation", "ADE_val_00000001", 18, 18)]
    out = {"size": size, "train": [], "val": []}
    for folder, stem, h, w in entries:
        img = smooth_rgb(h, w)
        Image.fromarray(img).save(path(base, "images", folder, stem + ".jpg"), "JPEG", quality=92)
        mask = rng.integers(0, 151, size=(h, w), dtype=np.uint8)
        mask[:3, :] = 0
        mask[-1, -1] = 150
        Image.fromarray(mask, mode="L").save(path(base, "annotations", folder, stem + ".png"))
        pixels = resize_crop(decoded(path(base, "images", folder, stem + ".jpg")), size)[0]
        m = resize_crop(np.asarray(Image.open(path(base, "annotations", folder, stem + ".png"))), size, nearest=True)[0]
        m = m.astype(np.int32)
        reduced = np.where(m == 0, 255, m - 1)
        out["train" if folder == "training" else "val"].append(
            {"stem": stem, "pixels": pixels.reshape(-1).tolist(), "mask": reduced.reshape(-1).tolist()})
    lines = ["Idx\tRatio\tTrain\tVal\tName"]
    for i in range(1, 151):
        lines.append("%d%s\t0.01\t10\t2\tthing%d, synonym " % (i, " " if i == 22 else "", i))
    with open(path(base, "objectInfo150.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    out["class_names"] = ["thing%d" % i for i in range(1, 151)]
    expect["ade20k"] = out


if __name__ == "__main__":
    if os.path.isdir(ROOT):
        for name in os.listdir(ROOT):
            if name != "README.md":
                p = os.path.join(ROOT, name)
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    cifar()
    idx()
    imagenet()
    coco()
    ade20k()
    with open(path("expectations.json"), "w") as f:
        json.dump(expect, f, separators=(",", ":"), sort_keys=True)
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(ROOT) for n in ns)
    print("fixtures written to %s: %d bytes" % (ROOT, total))
