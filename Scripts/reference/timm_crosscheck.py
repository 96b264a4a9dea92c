#!/usr/bin/env python3
"""Cross-check: a PatchBench encoder checkpoint loads into timm's VisionTransformer and gives
the same features.

Usage: python3 Scripts/reference/timm_crosscheck.py ENCODER.h5 INPUT.pbfx FEATURES.pbfx
  ENCODER.h5     written by PatchBench (Checkpoint.saveEncoder): timm key names and shapes,
                 config JSON in the attribute `vit_config_json`.
  INPUT.pbfx     images [B, 3, H, W] under the key "input".
  FEATURES.pbfx  PatchBench's final-normalised tokens [B, T, D] under the key "tokens".
Prints the max absolute difference and exits 0 when it is below 1e-4, 1 otherwise,
2 when a dependency is missing (the calling test skips then).

Strict load: since encoder.h5 also holds a fixed sin-cos table as `pos_embed`, MAE-style
encoders load without `strict=False`. Needs torch, timm and h5py (timm is imported through timm_import.py, which stubs
torchvision where no working one is installed).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))


def load_pbfx(path):
    import struct
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"PBFX", path
    version, count = struct.unpack_from("<II", data, 4)
    off, out = 12, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, off); off += 4
        name = data[off:off + n].decode(); off += n
        (rank,) = struct.unpack_from("<I", data, off); off += 4
        shape = struct.unpack_from("<%dI" % rank, data, off); off += 4 * rank
        size = int(np.prod(shape)) if rank else 1
        out[name] = np.frombuffer(data, dtype="<f4", count=size, offset=off).reshape(shape); off += 4 * size
    return out


def main():
    try:
        import h5py
        import numpy as np
        import torch
    except ImportError as e:
        print("missing dependency:", e)
        return 2
    from timm_import import import_timm
    if not import_timm():
        return 2
    from functools import partial
    from timm.models.vision_transformer import VisionTransformer

    enc_path, in_path, feat_path = sys.argv[1:4]
    # The README's loading recipe, as written there (any timm version with VisionTransformer).
    with h5py.File(enc_path, "r") as f:
        cfg = json.loads(f.attrs["vit_config_json"])
        state = {k: torch.from_numpy(f[k][()]) for k in f.keys()}
    if cfg.get("positionEmbedding", "learned") == "none" or not cfg.get("clsToken", True):
        print("timm's VisionTransformer has no relative-position tables (LoMaR) and this recipe assumes a CLS token")
        return 2
    model = VisionTransformer(
        img_size=cfg["imageSize"], patch_size=cfg["patchSize"], in_chans=cfg.get("channels", 3),
        embed_dim=cfg["dimension"], depth=cfg["depth"], num_heads=cfg["heads"], mlp_ratio=cfg.get("mlpRatio", 4),
        qkv_bias=True, num_classes=0, norm_layer=partial(torch.nn.LayerNorm, eps=cfg.get("layerNormEps", 1e-6)))
    model.load_state_dict(state)  # strict: every key of the file and of the model matches
    model.eval()
    x = torch.from_numpy(load_pbfx(in_path)["input"].copy())
    ours = load_pbfx(feat_path)["tokens"]
    with torch.no_grad():
        theirs = model.forward_features(x)
        if theirs.dim() == 2:  # timm < 0.6 returns the CLS only; the tokens are its own modules in order
            t = model.patch_embed(x)
            t = torch.cat([model.cls_token.expand(t.shape[0], -1, -1), t], dim=1) + model.pos_embed
            theirs = model.norm(model.blocks(t))
        theirs = theirs.numpy()
    diff = float(np.abs(theirs - ours).max())
    print("timm vs PatchBench tokens: shape", theirs.shape, "max abs diff %.3g" % diff)
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
