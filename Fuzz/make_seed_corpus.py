#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets under Fuzz/Corpus/<target>/ (Documentation/fuzzing.md).

Seeds are small valid files (from the test fixtures, or made here) plus the crafted inputs of
issue 13, so every run starts from both sides of each check. Needs numpy and Pillow only for
the pickle and JPEG seeds; the rest is written byte by byte. Regression seeds found by the
fuzzers live beside these as `crash-*` files and are never rewritten by this script.
"""
import gzip
import io
import json
import os
import pickle
import struct
import tarfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "Tests", "DatasetsTests", "Fixtures")
CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")


def fixture(relative):
    with open(os.path.join(FIXTURES, relative), "rb") as f:
        return f.read()


def put(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def idx(sizes, payload):
    return bytes([0, 0, 8, len(sizes)]) + b"".join(struct.pack(">I", s) for s in sizes) + bytes(payload)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, bit_depth, color_type, raw, extra=(), interlace=0):
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    body = png_chunk(b"IHDR", header) + b"".join(png_chunk(k, d) for k, d in extra)
    return b"\x89PNG\r\n\x1a\n" + body + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def main():
    # IDX: fixtures, a tiny rank-3 file, and the overflowing header of issue 13.
    put("idx", "train-labels", fixture("idx/train-labels-idx1-ubyte"))
    put("idx", "images-2x3x3", idx([2, 3, 3], range(18)))
    put("idx", "overflowing-sizes", idx([0xFFFFFFFF] * 3, [1, 2, 3]))

    # CIFAR binary: one CIFAR-10 record, one CIFAR-100 record.
    put("cifar-binary", "cifar10-record", fixture("cifar10-bin/test_batch.bin")[:3073])
    put("cifar-binary", "cifar100-record", fixture("cifar100-bin/test.bin"))

    # Pickle: a one-image batch in protocols 2 and 4, the meta file, and crafted ones.
    import numpy as np
    data = np.arange(3072, dtype=np.uint8).reshape(1, 3072)
    put("pickle", "batch-protocol2", pickle.dumps({"data": data, "labels": [3]}, protocol=2))
    put("pickle", "batch100-protocol4", pickle.dumps({"data": data, "fine_labels": [3], "coarse_labels": [1]}, protocol=4))
    put("pickle", "batches-meta", fixture("cifar10-py/batches.meta"))
    put("pickle", "label-above-int32", pickle.dumps({"data": data, "labels": [2**32 + 3]}, protocol=2))
    put("pickle", "nested-lists", b"\x80\x02" + b"]" * 200 + b"a" * 199 + b".")

    # Tar: two members (one with a ustar prefix), a duplicate basename, a negative size.
    def tar(members):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
            for name, payload in members:
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                info.mtime = 0
                archive.addfile(info, io.BytesIO(payload))
        # tarfile pads to 10 KB records; keep the members and the two zero end blocks only.
        used = len(buffer.getvalue().rstrip(b"\0"))
        return buffer.getvalue()[: (used + 511) // 512 * 512 + 1024]
    put("tar", "two-members", tar([("cifar/batches.meta.txt", b"cat\ndog\n"), ("cifar/test_batch.bin", b"\x01" * 40)]))
    put("tar", "duplicate-basename", tar([("a/x.bin", b"1"), ("b/x.bin", b"2")]))
    negative = bytearray(tar([("x.bin", b"1")]))
    negative[124:136] = b"-0000000012\x00"
    put("tar", "negative-size", bytes(negative))

    # gzip: fixture, concatenated members, a zlib stream.
    put("gzip", "idx-labels", fixture("idx/t10k-labels-idx1-ubyte.gz"))
    put("gzip", "concatenated", gzip.compress(b"first ", mtime=0) + gzip.compress(b"second", mtime=0))
    put("gzip", "zlib", zlib.compress(b"plain zlib stream " * 4))

    # COCO JSON: the fixture, polygons and RLE, and the crafted RLE / id / NaN cases.
    put("coco-json", "instances-val", fixture("coco/annotations/instances_val.json"))
    image = [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 3}]
    def coco(annotations, categories=({"id": 1, "name": "thing"},)):
        return json.dumps({"images": image, "annotations": annotations, "categories": list(categories)}).encode()
    put("coco-json", "rle", coco([{"id": 7, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "iscrowd": 1,
                                   "segmentation": {"size": [3, 4], "counts": [5, 7]}}]))
    put("coco-json", "rle-overflow", coco([{"id": 7, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "iscrowd": 1,
                                            "segmentation": {"size": [2**32, 2**32], "counts": [1]}}]))
    put("coco-json", "category-above-int32", coco([], [{"id": 2**31 + 3, "name": "big"}]))
    put("coco-json", "nan", b'{"images": [], "annotations": [], "categories": [], "x": NaN}')

    # PNG: the crafted gamma/alpha fixtures, mask and image fixtures, and more colour types.
    for name in ["rgba-gamma.png", "gray-mask-gamma.png", "palette-mask-gamma.png"]:
        put("png", name, fixture("crafted/" + name))
    put("png", "ade-mask.png", fixture("ade20k/ADEChallengeData2016/annotations/validation/ADE_val_00000001.png"))
    put("png", "coco-image.png", fixture("coco/val/000000000007.png"))
    put("png", "gray16.png", png(2, 2, 16, 0, b"\x00" + b"\x01\x00\x00\x05" + b"\x00" + b"\xff\xff\x00\xff"))
    put("png", "gray2-interlaced.png", png(3, 3, 2, 0, b"".join(b"\x00" + bytes([0b11100100]) for _ in range(3)), interlace=0))
    put("png", "rgb16-interlaced.png", png(2, 2, 16, 2, bytes(1 + 12) * 2, interlace=1))
    put("png", "palette-trns.png", png(2, 1, 4, 3, b"\x00\x12", [(b"PLTE", bytes(range(6))), (b"tRNS", b"\x00")]))

    # JPEG: fixtures, plus gray and CMYK made by Pillow.
    put("jpeg", "imagenet.jpeg", fixture("imagenet/train/n02979186/n02979186_3.JPEG"))
    put("jpeg", "coco.jpg", fixture("coco/val/000000397133.jpg"))
    from PIL import Image
    for mode in ["L", "CMYK"]:
        buffer = io.BytesIO()
        Image.new(mode, (8, 8), 90 if mode == "L" else (10, 20, 30, 40)).save(buffer, format="JPEG", quality=50)
        put("jpeg", f"{mode.lower()}.jpg", buffer.getvalue())

    # Budget JSON: the smallest shipped budget.
    with open(os.path.join(ROOT, "configs", "budgets", "smoke.json"), "rb") as f:
        put("budget-json", "smoke.json", f.read())

    # Claims JSON: results/claims.json cut to a few entries (the whole file is 130 KB).
    with open(os.path.join(ROOT, "results", "claims.json")) as f:
        claims = json.load(f)
    claims["claims"] = claims["claims"][:2]
    put("claims-json", "claims-two.json", json.dumps(claims, indent=1, sort_keys=True).encode())


if __name__ == "__main__":
    main()
