#!/usr/bin/env python3
"""Reference fixtures for Relational Reasoning and Spatial Reasoning: one training step (pair
construction, relation head in training mode with its BatchNorm1d, loss, every gradient, the BN's
running statistics, Adam's update) computed by the AUTHORS' OFFICIAL PyTorch modules on given
features, and Spatial Reasoning's patch targets and patches for fixed positions in both modes
(additive: canvases; standard: zoomed crops of the resized image).

Usage:
  python3 Scripts/reference/make_rr_sr_fixtures.py --rr PATH --sr PATH [--out DIR]
Needs torch and numpy (tested with torch 2.13.0+cpu, numpy 2.4.6); the standard-mode fixture also
needs Pillow (tested with 13.0.0, `pip install pillow`), since the code resizes a PIL image.
Writes into DIR (default Tests/ObjectivesTests/Fixtures/) rr_tiny.pbfx, sr_tiny.pbfx and
sr_standard.pbfx (format: fixture_format.py).

CHECKOUTS (nothing official is copied here; the modules are imported from the paths given)
  --rr  a checkout of mpatacchiola/self-supervised-relational-reasoning at commit
        70bf129ee7e857528ed3f83814e82c62902221df
        (`git clone https://github.com/mpatacchiola/self-supervised-relational-reasoning`).
        Used: methods/relationnet.py (`Model.aggregate`, `Model.relation_module`, `FocalLoss`,
        `Model.optimizer`) and utils.py (imported by it).
  --sr  a checkout of mad-lab-fau/Spatial-Reasoning at commit
        27282498a391daa80ebae0ad30015bff8c276b1c
        (`git clone https://github.com/mad-lab-fau/Spatial-Reasoning`). Used: methods/patchnet.py
        (`Model.aggregate`, `Model.patch_aggregate`, `relation_module`, `bce`, `mse`,
        `mse_weight`, `optimizer`), datamanager.py (`PatchTinyImageFolder.patch_transform`,
        additive mode) and utils.py.
  Both repositories have a top-level utils.py; each method module is loaded with its own
  checkout first on sys.path and `utils` dropped from sys.modules in between. torchvision is
  imported by both for the data pipeline only; when it is missing, an import-only stub (every
  attribute a placeholder class, so `dset.ImageFolder` can be subclassed) takes its place.

BACKBONE (the stand-in, say how)
  The ResNet (`feature_extractor`) is replaced by `GivenFeatures`: an nn.Module with
  `feature_size = F` whose forward returns its input. The "images" fed to `self.net` are
  therefore the features themselves, [K*B, F] (SR: images then patches, [(K+P)*B, F]), a leaf
  with requires_grad, and their gradient is what the ViT would receive (PatchBench's backbone
  gradients follow by its own, separately tested autograd). It has no parameters, so Adam's
  `net` group is empty and only the relation module is updated.

RE-WRITTEN LINES (the bodies of `Model.train`, without the loader, meters and prints)
  RR:  features = model.net(x); pairs, y, _, _ = model.aggregate(features, K, type="cat");
       z = model.relation_module(pairs).squeeze(); loss = model.fl(z, y);
       optimizer.zero_grad(); loss.backward(); optimizer.step()
  SR:  features = model.net(cat(images, patches)); split at K*B;
       relation_pairs, targets = model.aggregate(image_features, K)[:2];
       patch_pairs = model.aggregate(patch_features, P)[0];
       labels = model.patch_aggregate(cat(patch_targets, 0), P);
       z = model.relation_module(cat(relation_pairs, patch_pairs));
       loss_ce, loss_mse and loss exactly as the three lines of `train`; backward; step.
  Standard mode: `patch_transform` the same way with mode "not_additive", patch_size 24 (so
  size = int((64/24)*64) = 170) on a PIL image of random bytes, the patch transformations the
  identity, and `random.sample` returning fixed positions that pass both the code's check and the
  pairwise one (extent 64). The code's `resizing` is Compose([Resize((170, 170)), ToTensor()]);
  on a PIL image torchvision's Resize is `img.resize((170, 170), Image.BILINEAR)`
  (torchvision/transforms/_functional_pil.py) and ToTensor is bytes / 255 in CHW order, so the
  stand-in `self.resizing` runs exactly those two PIL/numpy lines (re-written: torchvision's
  PyPI wheel is built for CUDA torch and does not import beside torch 2.13.0+cpu).
  Patch targets: `patch_transform(self, image)` is called unbound on a stand-in `self`
  (mode "additive", patch_size 24, patch_count P, to_tensor and patch_transformations the
  identity, so the canvases hold the raw patch) with `random.sample` replaced by a function that
  returns fixed draws in order: the 2P positions, then each patch's 2 canvas coordinates. Side
  64 as the code hard-codes; the positions pass both the code's check and the pairwise one.

CONFIG
  F = 8 features; RR: K = 4 views, B = 3 (6 view pairs: the shift runs 1, 2, 1, 2, 1, 2, its
  reset exercised), hidden 256 (the authors'). SR: K = 3, P = 3, B = 4, alpha (mse_weight) 1.
  Inputs from torch.randn with torch.manual_seed(0); head weights as the official constructor
  draws them under that seed.

ENTRIES
  rr_tiny: features, init.<head key>, loss, grad.features, grad.<head key>, running_mean,
           running_var, after.<head key> (after one Adam step).
  sr_tiny: the same, plus loss_ce, loss_mse, positions [B, 2P], canvas_positions [B, P, 2],
           patch_targets [P, B, 3] (the code's), image [3, 64, 64] and canvases [P, 3, 64, 64]
           of sample 0 (the canvases the code builds from that image).
  sr_standard: image_bytes [B, 3, 64, 64] (the uint8 images as floats 0..255), positions [B, 2P],
           patch_targets [P, B, 3] and crops [B, P, 3, 64, 64] (the code's, values in [0, 1]).
  Head keys: linear1.weight, linear1.bias, bn1.weight, bn1.bias, linear2.weight, linear2.bias.
"""
import argparse
import importlib.util
import os
import random
import sys
import types

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_format import write_fixture  # noqa: E402

HEAD_KEYS = ["linear1.weight", "linear1.bias", "bn1.weight", "bn1.bias", "linear2.weight", "linear2.bias"]


def stub_torchvision():
    try:
        import torchvision  # noqa: F401
        return
    except Exception:
        pass

    class Placeholder:
        def __init__(self, *args, **kwargs):
            pass

    def module(name):
        m = types.ModuleType(name)
        def attribute(attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            return Placeholder
        m.__getattr__ = attribute
        return m

    tv = module("torchvision")
    tv.datasets = module("torchvision.datasets")
    tv.transforms = module("torchvision.transforms")
    sys.modules.update({"torchvision": tv, "torchvision.datasets": tv.datasets, "torchvision.transforms": tv.transforms})


def load(checkout, relative, name):
    sys.modules.pop("utils", None)
    sys.path.insert(0, checkout)
    try:
        spec = importlib.util.spec_from_file_location(name, os.path.join(checkout, relative))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(checkout)
    return mod


class GivenFeatures(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.feature_size = features

    def forward(self, x):
        return x


def head_entries(model, prefix):
    sd = model.relation_module.state_dict()
    return [(prefix + k, sd[k].detach().numpy().copy()) for k in HEAD_KEYS]


def grad_entries(model):
    params = dict(model.relation_module.named_parameters())
    return [("grad." + k, params[k].grad.detach().numpy().copy()) for k in HEAD_KEYS]


def rr_fixture(rr_checkout):
    relationnet = load(rr_checkout, "methods/relationnet.py", "rr_relationnet")
    F, K, B = 8, 4, 3
    torch.manual_seed(0)
    model = relationnet.Model(GivenFeatures(F), device="cpu", aggregation="cat")
    features = torch.randn(K * B, F, requires_grad=True)
    entries = [("features", features.detach().numpy().copy())] + head_entries(model, "init.")
    model.net.train()
    model.relation_module.train()
    model.optimizer.zero_grad()
    out = model.net(features)
    pairs, y, _, _ = model.aggregate(out, K, type=model.aggregation)
    z = model.relation_module(pairs).squeeze()
    loss = model.fl(z, y)
    loss.backward()
    entries += [("loss", np.array([loss.item()])), ("grad.features", features.grad.numpy().copy())] + grad_entries(model)
    bn = model.relation_module.bn1
    entries += [("running_mean", bn.running_mean.numpy().copy()), ("running_var", bn.running_var.numpy().copy())]
    model.optimizer.step()
    entries += head_entries(model, "after.")
    print("rr: loss %.6f, %d pairs" % (loss.item(), pairs.shape[0]))
    return entries


def sr_targets(datamanager, P, B):
    """The code's additive-mode targets and canvases for fixed draws (see the header)."""
    ps, side = 24, 64
    rng = np.random.RandomState(1)
    positions, canvas_positions = [], []
    for _ in range(B):
        while True:
            pos = [int(v) for v in rng.choice(side - ps, 2 * P, replace=False)]
            code_ok = not (abs(pos[0] - pos[1]) < ps and abs(pos[2] - pos[3]) < ps)
            pairwise_ok = all(abs(pos[2 * a] - pos[2 * b]) >= ps or abs(pos[2 * a + 1] - pos[2 * b + 1]) >= ps
                              for a in range(P) for b in range(a + 1, P))
            if code_ok and pairwise_ok:
                break
        positions.append(pos)
        canvas_positions.append([[int(v) for v in rng.choice(side - ps, 2, replace=False)] for _ in range(P)])
    stand_in = types.SimpleNamespace(mode="additive", patch_size=ps, patch_count=P,
                                     to_tensor=lambda image: image, patch_transformations=lambda patch: patch)
    torch.manual_seed(1)
    images = torch.rand(B, 3, side, side)
    targets = [[None] * B for _ in range(P)]
    canvases0 = None
    original_sample = datamanager.random.sample
    try:
        for b in range(B):
            draws = [list(positions[b])] + [list(c) for c in canvas_positions[b]]
            datamanager.random.sample = lambda population, k, draws=draws: draws.pop(0)
            res_images, target_list = datamanager.PatchTinyImageFolder.patch_transform(stand_in, images[b])
            assert not draws, "patch_transform drew %d times fewer than expected" % len(draws)
            for p in range(P):
                targets[p][b] = np.asarray(target_list[p], dtype=np.float32)
            if b == 0:
                canvases0 = torch.stack(res_images).numpy().copy()
    finally:
        datamanager.random.sample = original_sample
    patch_targets = [torch.tensor(np.stack(targets[p])) for p in range(P)]   # the collated list
    entries = [("positions", np.array(positions, dtype=np.float32)),
               ("canvas_positions", np.array(canvas_positions, dtype=np.float32)),
               ("patch_targets", np.stack([t.numpy() for t in patch_targets])),
               ("image", images[0].numpy().copy()), ("canvases", canvases0)]
    return patch_targets, entries


def sr_standard_fixture(sr_checkout):
    """The code's standard-mode targets and crops for fixed draws (see the header)."""
    try:
        from PIL import Image
    except Exception as error:
        sys.exit("sr_standard.pbfx needs Pillow (pip install pillow): %s" % error)
    datamanager = load(sr_checkout, "datamanager.py", "sr_datamanager_standard")
    P, side, ps = 3, 64, 24
    size = int((64 / ps) * 64)
    positions = [[0, 2, 70, 5, 8, 75], [40, 105, 100, 33, 1, 0]]
    for pos in positions:
        assert len(set(pos)) == 2 * P and all(0 <= v < size - side for v in pos)
        assert not (abs(pos[0] - pos[1]) < side and abs(pos[2] - pos[3]) < side), "the code's check"
        assert all(abs(pos[2 * a] - pos[2 * b]) >= side or abs(pos[2 * a + 1] - pos[2 * b + 1]) >= side
                   for a in range(P) for b in range(a + 1, P)), "pairwise"
    stand_in = types.SimpleNamespace(mode="not_additive", patch_size=ps, patch_count=P, size=size,
                                     resizing=lambda image: torch.from_numpy(
                                         np.array(image.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255).permute(2, 0, 1),
                                     patch_transformations=lambda patch: patch)
    rng = np.random.RandomState(2)
    images = rng.randint(0, 256, size=(len(positions), side, side, 3)).astype(np.uint8)
    targets, crops = [[None] * len(positions) for _ in range(P)], []
    original_sample = datamanager.random.sample
    try:
        for b, pos in enumerate(positions):
            draws = [list(pos)]
            datamanager.random.sample = lambda population, k, draws=draws: draws.pop(0)
            res_images, target_list = datamanager.PatchTinyImageFolder.patch_transform(stand_in, Image.fromarray(images[b]))
            assert not draws, "patch_transform drew %d times fewer than expected" % len(draws)
            crops.append(torch.stack(res_images).numpy().copy())
            for p in range(P):
                targets[p][b] = np.asarray(target_list[p], dtype=np.float32)
    finally:
        datamanager.random.sample = original_sample
    print("sr standard: size %d, crops %s" % (size, crops[0].shape))
    return [("image_bytes", images.transpose(0, 3, 1, 2).astype(np.float32)),
            ("positions", np.array(positions, dtype=np.float32)),
            ("patch_targets", np.stack([np.stack(t) for t in targets])), ("crops", np.stack(crops))]


def sr_fixture(sr_checkout):
    patchnet = load(sr_checkout, "methods/patchnet.py", "sr_patchnet")
    datamanager = load(sr_checkout, "datamanager.py", "sr_datamanager")
    F, K, P, B = 8, 3, 3, 4
    patch_targets, target_entries = sr_targets(datamanager, P, B)
    torch.manual_seed(0)
    model = patchnet.Model(GivenFeatures(F), device="cpu", aggregation="cat", mse_weight=1)
    features = torch.randn((K + P) * B, F, requires_grad=True)   # images then patches
    entries = [("features", features.detach().numpy().copy())] + head_entries(model, "init.")
    model.net.train()
    model.relation_module.train()
    model.optimizer.zero_grad(set_to_none=True)
    out = model.net(features)
    n_images = K * B
    image_features, patch_features = out[:n_images], out[n_images:]
    relation_pairs, targets, _, _ = model.aggregate(image_features, K)
    patch_pairs, _, _, _ = model.aggregate(patch_features, P)
    labels = model.patch_aggregate(torch.cat(patch_targets, 0), P)
    features_total = torch.cat((relation_pairs, patch_pairs))
    labels_total = torch.cat((targets, labels))
    prediction = model.relation_module(features_total)
    loss_ce = model.bce(prediction[:, 2].unsqueeze(0), labels_total[:, 2].unsqueeze(0).type(torch.float32))
    loss_mse = model.mse(prediction[:, :2], labels_total[:, :2].type(torch.float32))
    loss = loss_ce + model.mse_weight * loss_mse
    loss.backward()
    entries += [("loss", np.array([loss.item()])), ("loss_ce", np.array([loss_ce.item()])),
                ("loss_mse", np.array([loss_mse.item()])), ("grad.features", features.grad.numpy().copy())]
    entries += grad_entries(model)
    bn = model.relation_module.bn1
    entries += [("running_mean", bn.running_mean.numpy().copy()), ("running_var", bn.running_var.numpy().copy()),
                ("labels", labels_total.numpy().copy())]
    model.optimizer.step()
    entries += head_entries(model, "after.") + target_entries
    print("sr: loss %.6f (ce %.6f, mse %.6f), %d pairs" % (loss.item(), loss_ce.item(), loss_mse.item(), prediction.shape[0]))
    return entries


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rr", required=True, help="checkout of mpatacchiola/self-supervised-relational-reasoning")
    parser.add_argument("--sr", required=True, help="checkout of mad-lab-fau/Spatial-Reasoning")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "../../Tests/ObjectivesTests/Fixtures"))
    args = parser.parse_args()
    stub_torchvision()
    torch.set_num_threads(1)
    write_fixture(os.path.join(args.out, "rr_tiny.pbfx"), rr_fixture(os.path.abspath(args.rr)))
    write_fixture(os.path.join(args.out, "sr_tiny.pbfx"), sr_fixture(os.path.abspath(args.sr)))
    write_fixture(os.path.join(args.out, "sr_standard.pbfx"), sr_standard_fixture(os.path.abspath(args.sr)))


if __name__ == "__main__":
    main()
