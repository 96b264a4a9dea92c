#!/usr/bin/env python3
"""Reference fixtures for MAE and LoMaR: the loss and every parameter gradient computed by the
AUTHORS' OFFICIAL PyTorch models on tiny configs (CPU, float32), with weights, masks and windows
fixed and exported, plus the official iRPE bucket tables.

Usage:
  python3 Scripts/reference/make_mae_lomar_fixtures.py --mae PATH --lomar PATH [--out DIR]
Needs torch, numpy, timm 0.4.9 (`pip install --no-deps timm==0.4.9`: models_mae.py calls timm's
`Block(..., qk_scale=None)`, which 0.4.12 no longer takes, and 0.3.2, MAE's pin, imports torch._six,
gone from torch 2), easydict (irpe.py) and Pillow (timm imports it).
Tested with torch 2.13.0+cpu, numpy 2.4.6. Writes into DIR (default Tests/ObjectivesTests/Fixtures/)
mae_tiny.pbfx and lomar_tiny.pbfx (format: fixture_format.py).

CHECKOUTS (nothing official is copied here; the modules are imported from the paths given)
  --mae    a checkout of facebookresearch/mae at commit efb2a8062c206524e35e47d04501ed4f544c0ae8
           (uses models_mae.py, util/pos_embed.py)
  --lomar  a checkout of junchen14/LoMaR at commit d9ca9c8ee8ac0d012128149ed10165ab947ecdaf
           (uses models_lomar.py, vision_transformer_irpe.py, irpe.py, util/pos_embed.py)
  A plain export of those trees is enough (no .git). The script checks the git blob ids of the
  files it imports and warns if they differ. Both checkouts have a top-level `util`; each is
  imported in turn and its modules are removed from sys.modules afterwards.
  Import-only stub: timm 0.4.9 imports torchvision at package level (its data pipeline); the
  PyPI torchvision wheel is a CUDA build whose ops fail to load against the CPU torch, so if it
  is not importable an empty module is put into sys.modules. Nothing this script runs reaches it.
  numpy >= 1.24 removed `np.float`, which util/pos_embed.py uses when the models build their
  (fixed) sin-cos tables; the alias `np.float = float` is restored for that.

WHAT IS FIXED AND HOW
  Weights: the official initialisation, then every trainable tensor + 0.05 * N(0, 1) (seeded), so
  no bias is zero and no LayerNorm is the identity; LoMaR's iRPE tables (zero at init) get
  0.3 * N(0, 1), so their gradient and the bias path are exercised.
  Masks and windows: the official forward draws them from torch's global RNG. The script seeds
  it, runs the official `forward`, then re-seeds and replays the same draws in the same order
  (MAE: torch.rand(N, L) in random_masking; LoMaR: randperm(tops), randperm(lefts),
  torch.rand(N, n_w, s*s) in sample_patch_index) and asserts the replayed masks equal the mask the
  official forward returned. Those draws are exported; PatchBench is given them.

CONFIG
  MAE   models_mae.MaskedAutoencoderViT(img_size 16, patch 4, embed 32, depth 2, heads 2,
        decoder 24 / depth 1 / heads 2, mlp 4, LayerNorm eps 1e-6, norm_pix_loss True),
        batch 3, mask_ratio 0.75 (4 of 16 tokens kept).
  LoMaR models_lomar.MaskedAutoencoderViT(img_size 24, patch 4 (6x6 grid), embed 32, depth 2,
        heads 2, mlp 4, LayerNorm eps 1e-6, norm_pix_loss True), forward(window_size 3,
        num_window 2, mask_ratio 0.8): int(9 * 0.8) = 7 of 9 tokens masked per row; batch 3, so
        the official row order pairs image r mod 3 with window r mod 2 (every pair occurs).
  Buckets: irpe.get_bucket_ids_2d(product, skip 1, alpha 1.9, beta 3.8, gamma 15.2) on 3x3, 4x4,
        8x8 and 16x16 grids ("buckets.<g>").

ENTRIES
  input; MAE: keep, drop (token ids, as floats); LoMaR: tops, lefts, removed [rows, s*s] (0/1,
  rows in the official order), buckets.<g>; loss; param.<key> and grad.<key> for every trainable
  tensor under the official state-dict key (patch_embed.proj.weight as [D, C, p, p]).
"""
import argparse
import hashlib
import importlib
import os
import sys
import types
from functools import partial

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from fixture_format import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ObjectivesTests", "Fixtures")
EXPECTED_BLOBS = {
    "mae": {"models_mae.py": "880e28f8225fa9b56d7ba2963c2cb2c9d6f3d896",
            "util/pos_embed.py": "6acf8bd3b3af48702648792cc84bdbc9472b94fd"},
    "lomar": {"models_lomar.py": "50ac8b0fd6d0d157cd131b2762f640b58d488ed0",
              "vision_transformer_irpe.py": "8d0d33154dadfa57cc26eeb10f9be934b1011494",
              "irpe.py": "66ed3f5ce1ec2744cb6dbfc8a8229b5bd9190324",
              "util/pos_embed.py": "6acf8bd3b3af48702648792cc84bdbc9472b94fd"},
}
OFFICIAL_NAMES = ("util", "util.pos_embed", "models_mae", "models_lomar", "vision_transformer_irpe", "irpe")


# ---- importing the official code ----
def stub_torchvision_if_unavailable():
    try:
        importlib.import_module("torchvision.transforms")
        return
    except Exception:
        for n in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[n]
    for n in ["torchvision", "torchvision.transforms", "torchvision.transforms.functional", "torchvision.datasets",
              "torchvision.models", "torchvision.ops"]:
        sys.modules[n] = types.ModuleType(n)
        parent, _, child = n.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, sys.modules[n])
    print("note: torchvision not importable, import-only stub installed")


def git_blob_id(path):
    data = open(path, "rb").read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def import_checkout(path, which, names):
    path = os.path.abspath(path)
    for f, blob in EXPECTED_BLOBS[which].items():
        got = git_blob_id(os.path.join(path, f))
        if got != blob:
            print(f"WARNING: {which}/{f} has blob {got}, expected {blob} (different commit?)")
    for n in OFFICIAL_NAMES:
        sys.modules.pop(n, None)
    sys.path.insert(0, path)
    try:
        mods = {n: importlib.import_module(n) for n in names}
    finally:
        sys.path.remove(path)
        for n in OFFICIAL_NAMES:
            sys.modules.pop(n, None)
    for n, m in mods.items():
        assert os.path.abspath(m.__file__).startswith(path + os.sep), f"{n} imported from {m.__file__}"
    return types.SimpleNamespace(**mods)


# ---- shared ----
def perturb(model, seed, rpe_scale=0.3):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, p in model.named_parameters():
            if not p.requires_grad:
                continue
            scale = rpe_scale if "rpe_k" in key else 0.05
            p.add_(scale * torch.randn(p.shape, generator=gen))


def parameters(model):
    return [(k, p) for k, p in model.named_parameters() if p.requires_grad]


def mae_fixture(M, out):
    torch.manual_seed(0)
    model = M.models_mae.MaskedAutoencoderViT(
        img_size=16, patch_size=4, in_chans=3, embed_dim=32, depth=2, num_heads=2, decoder_embed_dim=24,
        decoder_depth=1, decoder_num_heads=2, mlp_ratio=4, norm_layer=partial(nn.LayerNorm, eps=1e-6),
        norm_pix_loss=True)
    perturb(model, 1)
    x = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    torch.manual_seed(3)
    loss, _, mask = model(x, mask_ratio=0.75)
    loss.backward()
    # Replay random_masking's one draw.
    torch.manual_seed(3)
    ids_shuffle = torch.argsort(torch.rand(3, 16), dim=1)
    keep, drop = ids_shuffle[:, :4], ids_shuffle[:, 4:]
    replayed = torch.ones(3, 16)
    replayed.scatter_(1, keep, 0)
    assert torch.equal(replayed, mask), "replayed MAE mask differs from the official forward's"
    params = parameters(model)
    entries = [("input", x), ("keep", keep.float()), ("drop", drop.float()), ("loss", loss.detach().reshape(1))]
    entries += [("param." + k, p.detach()) for k, p in params]
    entries += [("grad." + k, p.grad) for k, p in params]
    write_fixture(os.path.join(out, "mae_tiny.pbfx"), entries)
    print(f"mae loss {loss.item():.7f}; keys: {[k for k, _ in params]}")


def lomar_fixture(L, out):
    torch.manual_seed(0)
    model = L.models_lomar.MaskedAutoencoderViT(
        img_size=24, patch_size=4, in_chans=3, embed_dim=32, depth=2, num_heads=2, mlp_ratio=4,
        norm_layer=partial(nn.LayerNorm, eps=1e-6), norm_pix_loss=True)
    perturb(model, 4)
    batch, g, s, nw, ratio = 3, 6, 3, 2, 0.8
    masked = int(s * s * ratio)
    x = torch.randn(batch, 3, 24, 24, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(6)
    loss, _, mask_indices = model(x, window_size=s, num_window=nw, mask_ratio=ratio)
    loss.backward()
    # Replay forward_encoder's draws in their order: tops, lefts, then sample_patch_index's noise.
    torch.manual_seed(6)
    tops = torch.randperm(g - s + 1)[:nw]
    lefts = torch.randperm(g - s + 1)[:nw]
    ids = torch.argsort(torch.rand(batch, nw, s * s), dim=-1)[:, :, :masked]   # window-local raster ids
    removed = torch.zeros(batch * nw, s * s)
    for n in range(batch):
        for w in range(nw):
            removed[n * nw + w, ids[n, w]] = 1                  # row n * nw + w, as ids_mask_in_window.view
    assert torch.equal(removed.bool(), mask_indices), "replayed LoMaR masks differ from the official forward's"
    entries = [("input", x), ("tops", tops.float()), ("lefts", lefts.float()), ("removed", removed)]
    for grid in (3, 4, 8, 16):
        buckets, count = L.irpe.get_bucket_ids_2d(method=L.irpe.METHOD.PRODUCT, height=grid, width=grid, skip=1,
                                                  alpha=1.9, beta=3.8, gamma=15.2, dtype=torch.long, device="cpu")
        assert count == 50
        entries.append((f"buckets.{grid}", buckets.float()))
    params = parameters(model)
    entries += [("loss", loss.detach().reshape(1))]
    entries += [("param." + k, p.detach()) for k, p in params]
    entries += [("grad." + k, p.grad) for k, p in params]
    write_fixture(os.path.join(out, "lomar_tiny.pbfx"), entries)
    print(f"lomar loss {loss.item():.7f}; tops {tops.tolist()} lefts {lefts.tolist()}; keys: {[k for k, _ in params]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mae", required=True, help="checkout of facebookresearch/mae @ efb2a80")
    ap.add_argument("--lomar", required=True, help="checkout of junchen14/LoMaR @ d9ca9c8")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    stub_torchvision_if_unavailable()
    if not hasattr(np, "float"):
        np.float = float  # util/pos_embed.py (both checkouts) predates numpy 1.24
    M = import_checkout(args.mae, "mae", ["models_mae"])
    L = import_checkout(args.lomar, "lomar", ["models_lomar", "irpe"])
    os.makedirs(args.out, exist_ok=True)
    mae_fixture(M, args.out)
    lomar_fixture(L, args.out)


if __name__ == "__main__":
    main()
