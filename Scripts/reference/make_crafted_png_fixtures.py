#!/usr/bin/env python3
"""Writes the crafted PNG fixtures of Tests/DatasetsTests/Fixtures/crafted/ (issue 13).

Each file carries a gAMA chunk (gamma 1.0, which libpng's simplified API would "correct"
towards sRGB) and, for the image, an alpha channel (which that API composites onto black).
Pillow applies neither; CraftedInputTests asserts the raw values listed here. Written with
zlib only, so no Pillow is needed; where Pillow is present the script checks it agrees.
"""
import os
import struct
import zlib

HERE = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "DatasetsTests", "Fixtures", "crafted")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, bit_depth, color_type, rows, extra=()):
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    body = chunk(b"IHDR", header) + chunk(b"gAMA", struct.pack(">I", 100000))
    for kind, data in extra:
        body += chunk(kind, data)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# 2x2 RGBA: RGB 100 at half alpha, a transparent red, an opaque colour, a nearly transparent gray.
RGBA = [[100, 100, 100, 128, 255, 0, 0, 0], [10, 200, 30, 255, 77, 77, 77, 1]]
RGB_EXPECTED = [100, 100, 100, 255, 0, 0, 10, 200, 30, 77, 77, 77]
# 2x2 gray label mask (ADE20K labels 0, 3, 150, 7).
GRAY = [[0, 3], [150, 7]]
# 2x2 palette mask: indices 3, 0, 1, 2 with a palette whose colours differ from the indices.
PALETTE = [[3, 0], [1, 2]]
PALETTE_COLOURS = bytes([9, 9, 9, 50, 60, 70, 200, 100, 0, 1, 2, 3])

FILES = {
    "rgba-gamma.png": png(2, 2, 8, 6, RGBA),
    "gray-mask-gamma.png": png(2, 2, 8, 0, GRAY),
    "palette-mask-gamma.png": png(2, 2, 8, 3, PALETTE, [(b"PLTE", PALETTE_COLOURS)]),
}

if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    for name, data in FILES.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    try:
        from PIL import Image
    except ImportError:
        print("Pillow missing: fixtures written, not cross-checked")
    else:
        image = Image.open(os.path.join(HERE, "rgba-gamma.png")).convert("RGB")
        assert list(image.tobytes()) == RGB_EXPECTED, list(image.tobytes())
        for name, rows in [("gray-mask-gamma.png", GRAY), ("palette-mask-gamma.png", PALETTE)]:
            mask = Image.open(os.path.join(HERE, name))
            assert list(mask.tobytes()) == [v for row in rows for v in row], (name, list(mask.tobytes()))
        print("fixtures written and checked against Pillow", Image.__version__ if hasattr(Image, "__version__") else "")
