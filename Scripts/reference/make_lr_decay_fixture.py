#!/usr/bin/env python3
"""Writes MAE's layer-wise lr decay table for a tiny ViT, which
FineTuningTests.layerGroupsMatchMAEsParamGroupsLRD compares with PatchBench's `Optim.LayerDecay`
applied to `FineTuneModel`'s parameters.

Usage: python3 Scripts/reference/make_lr_decay_fixture.py MAE_CHECKOUT [OUT.json]
  MAE_CHECKOUT  a checkout of https://github.com/facebookresearch/mae (the fixture was made at
                efb2a80, "Fix typos in instructions"): `git clone
                https://github.com/facebookresearch/mae`. Its util/lr_decay.py and models_vit.py
                are imported from there, never copied into this repository.
  OUT.json      default Tests/LayersTests/Fixtures/mae_lr_decay.json
Needs torch and timm (`pip install --no-deps timm`; torchvision is stubbed where missing,
see timm_import.py). Exit 2 when a dependency or the checkout is missing.

The model is MAE's fine-tuning ViT (`models_vit.VisionTransformer`, global_pool=True, so fc_norm
replaces the final norm) at 32 px, patch 4, width 24, depth 3, 2 heads, 10 classes; the groups
come from `param_groups_lrd(model, 0.05, model.no_weight_decay(), 0.65)` exactly as
main_finetune.py calls it, plus `get_layer_id_for_vit` per name. Written per parameter, in
`named_parameters()` order: name, shape, layer id, lr scale, weight decay and group name.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
OUT = os.path.join(HERE, "..", "..", "Tests", "LayersTests", "Fixtures", "mae_lr_decay.json")

DEPTH, WIDTH, HEADS, LAYER_DECAY, WEIGHT_DECAY = 3, 24, 2, 0.65, 0.05


def main():
    if len(sys.argv) < 2 or not os.path.isfile(os.path.join(sys.argv[1], "util", "lr_decay.py")):
        print("usage: make_lr_decay_fixture.py MAE_CHECKOUT [OUT.json] (a checkout with util/lr_decay.py)")
        return 2
    try:
        import torch  # noqa: F401
    except ImportError as e:
        print("missing dependency:", e)
        return 2
    from timm_import import import_timm
    if not import_timm():
        return 2
    from functools import partial

    import torch.nn as nn
    sys.path.insert(0, os.path.abspath(sys.argv[1]))
    import models_vit
    import util.lr_decay as lrd

    model = models_vit.VisionTransformer(
        global_pool=True, img_size=32, patch_size=4, embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS, mlp_ratio=4,
        qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), num_classes=10)
    groups = lrd.param_groups_lrd(model, WEIGHT_DECAY, no_weight_decay_list=model.no_weight_decay(),
                                  layer_decay=LAYER_DECAY)
    by_param = {}
    for group in groups:
        for p in group["params"]:
            by_param[id(p)] = group
    num_layers = len(model.blocks) + 1
    rows = []
    for name, p in model.named_parameters():
        group = by_param[id(p)]
        layer = lrd.get_layer_id_for_vit(name, num_layers)
        rows.append({"name": name, "shape": list(p.shape), "layer_id": layer, "lr_scale": group["lr_scale"],
                     "weight_decay": group["weight_decay"],
                     "group": "layer_%d_%s" % (layer, "decay" if group["weight_decay"] > 0 else "no_decay")})
    out = {"source": "facebookresearch/mae util/lr_decay.py param_groups_lrd + models_vit.VisionTransformer",
           "depth": DEPTH, "width": WIDTH, "heads": HEADS, "layer_decay": LAYER_DECAY,
           "weight_decay": WEIGHT_DECAY, "global_pool": True, "parameters": rows}
    path = sys.argv[2] if len(sys.argv) > 2 else OUT
    with open(path, "w") as f:
        f.write(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print("wrote %s (%d parameters, %d groups)" % (path, len(rows), len(groups)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
