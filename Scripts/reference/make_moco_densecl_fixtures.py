#!/usr/bin/env python3
"""Reference fixtures for MoCo-v2 and DenseCL: two full training steps (key-encoder momentum
update, forward, loss, every gradient, AdamW step, both queues and their pointers) computed by the
AUTHORS' OFFICIAL PyTorch modules, with the ResNet replaced by a ViT, on tiny configs (CPU, float32).

Usage:
  python3 Scripts/reference/make_moco_densecl_fixtures.py --densecl PATH [--out DIR]
Needs torch, numpy, timm 0.4.9 (`pip install --no-deps timm==0.4.9`), Pillow (timm imports it)
and packaging (necks.py imports it). Tested with Python 3.11, torch 2.13.0+cpu, numpy 2.4.6,
Pillow 13.0.0, packaging 26.4. Writes into DIR (default
Tests/ObjectivesTests/Fixtures/) mocov2_tiny.pbfx and densecl_tiny.pbfx (format: fixture_format.py).

CHECKOUT (nothing official is copied here; the modules are imported from the path given)
  --densecl  a checkout of WXinlong/DenseCL at commit b64bbb6e267f729d16ca558233b0ef3028857381
             (`git clone https://github.com/WXinlong/DenseCL`; a plain export is enough). Used:
             openselfsup/models/densecl.py (`DenseCL`: forward_train, the momentum update, both
             queues), openselfsup/models/moco.py (`MOCO`, the authors' copy of facebookresearch/moco's
             builder), openselfsup/models/necks.py (`DenseCLNeck`, `NonLinearNeckV1`),
             openselfsup/models/heads/contrastive_head.py (`ContrastiveHead`),
             openselfsup/models/registry.py. The script checks their git blob ids and warns when
             they differ from that commit's.
  These files are loaded one by one under their package names; the package __init__ files are
  not run, because they import all of openselfsup (mmcv's full build, data pipelines). Import-only
  stubs stand in for: `openselfsup.utils` (`Registry` whose register_module returns the class
  unchanged, `build_from_cfg`, `print_log`), `openselfsup.models.utils` (necks.py imports
  `build_norm_layer`, used by necks these fixtures do not build), `openselfsup.models.builder`
  (see BACKBONE), and `mmcv.cnn.kaiming_init` / `normal_init` with mmcv's own definitions
  (nn.init.kaiming_normal_(w, a=0, mode, nonlinearity) then bias 0; normal_(w, 0, std) then
  bias). timm 0.4.9 imports torchvision at package level; if it is not importable (the PyPI
  wheel is a CUDA build that fails against the CPU torch) an empty module is put in its place.
  CPU: the official code calls `.cuda()` on the shuffle permutation and on the CE labels;
  `torch.Tensor.cuda` is made the identity. `concat_all_gather` and the shuffle use
  torch.distributed: a single-process gloo group (world size 1) is initialised, so the gather is
  the identity and the shuffle a permutation that the unshuffle undoes (no BN: no effect).

BACKBONE (the stand-in, say how)
  The ResNet-50 (`builder.build_backbone`) is replaced by `TokenMapBackbone`: timm 0.4.9's
  VisionTransformer(img_size 16, patch 4, embed 32, depth 2, heads 2, mlp 4, qkv_bias,
  LayerNorm eps 1e-6, num_classes 0) whose forward returns what DenseCL's ViT adaptation feeds the
  neck (spec selfpatch-densecl.md §5 a): the final-block patch tokens after the final LayerNorm,
  without CLS, as the list [tokens.transpose(1, 2).reshape(B, 32, 4, 4)] a ResNet with
  out_indices=[4] returns. So `AdaptiveAvgPool2d` is the mean over the patch tokens and the 1x1
  convs act per token. The forward re-written here is timm's own forward_features up to the norm
  (patch_embed, cat CLS, + pos_embed, blocks, norm), keeping all tokens. The position embedding
  is timm's learned one (PatchBench trains a sin-cos one in its runs; which one does not touch
  MoCo's or DenseCL's code). The stub builder calls a factory per build, so encoder_q and encoder_k
  get separate modules, and `init_weights` (the official one) copies q into k.

RE-WRITTEN LINES
  The training loop (openselfsup's runner is mmcv's): per step, forward_train(img) with img
  [B, 2, C, H, W] (view 0 the query image, view 1 the key image), loss = sum of the returned dict,
  zero_grad, backward, optimizer.step(). The optimizer is PatchBench's (AdamW as every method,
  spec §5; the authors use SGD on ResNet): torch.optim.AdamW, betas (0.9, 0.95), eps 1e-8, lr 1e-3,
  weight decay 0.05 on tensors of ndim >= 2 and 0 on the rest (the harness's groups), fixed lr.
  The backbone's token maps are captured by forward hooks (official forward unchanged) to export
  the correspondence: argmax over normalize(q_b)^T normalize(k_b), the official lines re-run, k_b
  being what encoder_k (after the step's momentum update) returned inside forward_train; the
  key map is captured in the shuffled batch order, so `_batch_shuffle_ddp` is wrapped to keep the
  permutation's inverse it returns, and the captured map is put back in batch order with it.
  Self-check (DenseCL): the same argmax on the query encoder's tokens of the key view must differ
  from the official matches in some location of every step, or the fixture could not tell which
  encoder's tokens the correspondence used (the script stops otherwise).

CONFIG
  B = 4, views 16x16 drawn from torch.randn (generator seeded per step), K = queue_len 8 (so the
  pointer wraps to 0 in step 2: 0 -> 4 -> 0), feat_dim 16, neck hidden 24, momentum 0.5 (a
  fixture value, PatchBench trains with 0.99: at 0.5 one update moves the key encoder halfway to
  the query encoder, so the order of update and key forward is visible), ContrastiveHead(
  temperature 0.2), DenseCL loss_lambda 0.5. torch.manual_seed(0) before the model is built
  (weights and the randn queues), then every query tensor + 0.05 * N(0, 1) (generator seed 7: no
  zero bias, no identity LayerNorm), the key encoder set equal (init_weights' copy, re-run), then
  every key tensor + 0.05 * N(0, 1) of its own (generator seed 8), so that the key encoder differs
  from the query encoder before step 1 (it would start as a copy, which hides which encoder
  computed the keys and whether its update ran before or after the key forward); 1 thread.

ENTRIES (float32; PatchBench keys: backbone.<timm key>, neck.mlp.{0,2}.{weight,bias},
  neck.mlp2.{0,2}.{weight,bias} with the 1x1 conv weights [out, in, 1, 1] stored as [out, in])
  init.<key>                   every query parameter before step 1
  init.key.<key>               every key-encoder tensor before step 1 (perturbed apart, see CONFIG)
  init.queue, init.queue2      [K, C] the initial queues as rows (official buffer [C, K] transposed)
  step<s>.view.{0,1}           [B, 3, 16, 16]
  step<s>.loss                 [1] the sum of the returned losses
  step<s>.loss_global          [1] loss_contra_single / (1 - lambda) (MoCo: loss_contra)
  step<s>.loss_dense           [1] loss_contra_dense / lambda (DenseCL only)
  step<s>.matches              [B, 16] the argmax correspondence, query encoder's tokens of view 0
                               against the (updated) key encoder's tokens of view 1 (DenseCL only)
  step<s>.match_gap            [1] smallest gap between the best and second-best similarity
  step<s>.grad.<key>           every query gradient after backward
  step<s>.query.<key>          every query parameter after AdamW
  step<s>.key.<key>            every key-encoder tensor after the step: its update ran first in it,
                               so this is also the encoder that computed step s's keys
  step<s>.queue[2], step<s>.queue[2]_pointer   after the step ([K, C] rows; [1])
"""
import argparse
import hashlib
import importlib.util
import os
import sys
import types

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_format import write_fixture  # noqa: E402
from make_mae_lomar_fixtures import stub_torchvision_if_unavailable  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "ObjectivesTests", "Fixtures")
B, IMG, PATCH, DIM, DEPTH, HEADS = 4, 16, 4, 32, 2, 2
HIDDEN, FEAT, QUEUE, MOMENTUM, TAU, LAMBDA = 24, 16, 8, 0.5, 0.2, 0.5
LR, WD, BETAS, EPS = 1e-3, 0.05, (0.9, 0.95), 1e-8
EXPECTED_BLOBS = {
    "openselfsup/models/densecl.py": "5a1f846037f5b57ab56286bcaf93e62981991c31",
    "openselfsup/models/moco.py": "6ce83d6f5102ef741d693d9c106b8196fadde116",
    "openselfsup/models/necks.py": "8311e8fc014c7341bd4bef7488a75bd44af1ed9c",
    "openselfsup/models/heads/contrastive_head.py": "339ab17f2c300b4c5c63d0438ec6fdbf24b5d2c0",
    "openselfsup/models/registry.py": "8e1611eee595d9d886e205c2ce27d0770ebdd26e",
}
COMMIT = "b64bbb6e267f729d16ca558233b0ef3028857381"


def git_blob_id(path):
    data = open(path, "rb").read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    parent, _, child = name.rpartition(".")
    if parent in sys.modules:
        setattr(sys.modules[parent], child, m)
    return m


def load_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    sys.modules[name] = m
    spec.loader.exec_module(m)
    return m


class Registry:
    def __init__(self, name):
        self.name = name

    def register_module(self, cls):
        return cls


def kaiming_init(module, a=0, mode="fan_out", nonlinearity="relu", bias=0, distribution="normal"):
    """mmcv.cnn.kaiming_init (mmcv 1.x), what necks.py imports."""
    if distribution == "uniform":
        nn.init.kaiming_uniform_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    else:
        nn.init.kaiming_normal_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    if hasattr(module, "bias") and module.bias is not None:
        nn.init.constant_(module.bias, bias)


def normal_init(module, mean=0, std=1, bias=0):
    nn.init.normal_(module.weight, mean, std)
    if hasattr(module, "bias") and module.bias is not None:
        nn.init.constant_(module.bias, bias)


def import_official(path):
    path = os.path.abspath(path)
    for f in EXPECTED_BLOBS:
        full = os.path.join(path, f)
        if not os.path.exists(full):
            sys.exit(f"{full} not found: --densecl must be a checkout of WXinlong/DenseCL @ {COMMIT}")
    stub_torchvision_if_unavailable()
    module("mmcv")
    module("mmcv.cnn", kaiming_init=kaiming_init, normal_init=normal_init)
    module("openselfsup").__path__ = [os.path.join(path, "openselfsup")]
    module("openselfsup.utils", Registry=Registry, print_log=lambda *a, **k: None,
           build_from_cfg=lambda cfg, registry, default_args=None: cfg())
    module("openselfsup.models").__path__ = [os.path.join(path, "openselfsup", "models")]
    module("openselfsup.models.utils", build_norm_layer=None)
    load_file("openselfsup.models.registry", os.path.join(path, "openselfsup/models/registry.py"))
    build = lambda factory: factory()  # noqa: E731
    module("openselfsup.models.builder", build_backbone=build, build_neck=build, build_head=build)
    module("openselfsup.models.heads").__path__ = [os.path.join(path, "openselfsup", "models", "heads")]
    official = types.SimpleNamespace(
        necks=load_file("openselfsup.models.necks", os.path.join(path, "openselfsup/models/necks.py")),
        head=load_file("openselfsup.models.heads.contrastive_head",
                       os.path.join(path, "openselfsup/models/heads/contrastive_head.py")),
        moco=load_file("openselfsup.models.moco", os.path.join(path, "openselfsup/models/moco.py")),
        densecl=load_file("openselfsup.models.densecl", os.path.join(path, "openselfsup/models/densecl.py")),
    )
    return official


class TokenMapBackbone(nn.Module):
    """The ResNet's stand-in: a timm ViT returning its normed patch tokens as a [B, D, g, g] map."""

    def __init__(self):
        super().__init__()
        from functools import partial
        from timm.models.vision_transformer import VisionTransformer
        self.vit = VisionTransformer(img_size=IMG, patch_size=PATCH, embed_dim=DIM, depth=DEPTH, num_heads=HEADS,
                                     mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6),
                                     num_classes=0)

    def init_weights(self, pretrained=None):
        pass

    def forward(self, x):
        v = self.vit
        tokens = v.patch_embed(x)
        tokens = torch.cat((v.cls_token.expand(x.shape[0], -1, -1), tokens), dim=1) + v.pos_embed
        tokens = v.norm(v.blocks(tokens))[:, 1:]
        g = IMG // PATCH
        return [tokens.transpose(1, 2).reshape(x.shape[0], DIM, g, g)]


def our_key(official):
    """encoder_q.0.vit.<k> -> backbone.<k>; encoder_q.1.<k> -> neck.<k>."""
    if official.startswith("encoder_q.0.vit."):
        return "backbone." + official[len("encoder_q.0.vit."):]
    if official.startswith("encoder_q.1."):
        return "neck." + official[len("encoder_q.1."):]
    raise ValueError(official)


def tensors(prefix, named, key=our_key):
    """(prefix + PatchBench key, value) for every trainable (name, tensor), conv 1x1 flattened."""
    out = []
    for k, v in named:
        v = v.detach().clone()
        if v.ndim == 4 and "mlp2" in k:
            v = v.reshape(v.shape[0], v.shape[1])
        out.append((prefix + key(k), v))
    return out


def queue_rows(buffer):
    return buffer.detach().t().contiguous().clone()


def run(official, name, out):
    torch.manual_seed(0)
    if name == "mocov2":
        neck = lambda: official.necks.NonLinearNeckV1(DIM, HIDDEN, FEAT, with_avg_pool=True)  # noqa: E731
        model = official.moco.MOCO(backbone=TokenMapBackbone, neck=neck,
                                   head=lambda: official.head.ContrastiveHead(temperature=TAU),
                                   queue_len=QUEUE, feat_dim=FEAT, momentum=MOMENTUM)
    else:
        neck = lambda: official.necks.DenseCLNeck(DIM, HIDDEN, FEAT, num_grid=None)  # noqa: E731
        model = official.densecl.DenseCL(backbone=TokenMapBackbone, neck=neck,
                                         head=lambda: official.head.ContrastiveHead(temperature=TAU),
                                         queue_len=QUEUE, feat_dim=FEAT, momentum=MOMENTUM, loss_lambda=LAMBDA)
    query = [("encoder_q." + k, p) for k, p in model.encoder_q.named_parameters()]
    # timm's head is Identity (num_classes 0); every query tensor trains.
    assert all(p.requires_grad for _, p in query) and not any(p.requires_grad for p in model.encoder_k.parameters())
    # No zero bias, no identity LayerNorm: every query tensor + 0.05 N(0, 1), then init_weights' copy
    # of q into k, re-run (its loop, re-written); then the key encoder is moved apart with noise of
    # its own, so that keys from the query encoder, or from the key encoder before its update,
    # differ from the official ones already in step 1.
    noise = torch.Generator().manual_seed(7)
    key_noise = torch.Generator().manual_seed(8)
    with torch.no_grad():
        for _, p in query:
            p.add_(0.05 * torch.randn(p.shape, generator=noise))
        for param_q, param_k in zip(model.encoder_q.parameters(), model.encoder_k.parameters()):
            param_k.data.copy_(param_q.data)
        for param_k in model.encoder_k.parameters():
            param_k.add_(0.05 * torch.randn(param_k.shape, generator=key_noise))
    decay = [p for _, p in query if p.ndim >= 2]
    no_decay = [p for _, p in query if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=LR, betas=BETAS, eps=EPS)

    captured = {}
    model.encoder_q[0].register_forward_hook(lambda m, i, o: captured.__setitem__("q_b", o[0].detach()))
    model.encoder_k[0].register_forward_hook(lambda m, i, o: captured.__setitem__("k_b", o[0].detach()))
    shuffle = model._batch_shuffle_ddp   # the key backbone sees a shuffled batch: keep its inverse

    def recording_shuffle(x):
        shuffled, unshuffle = shuffle(x)
        captured["unshuffle"] = unshuffle
        return shuffled
    model._batch_shuffle_ddp = lambda x: (recording_shuffle(x), captured["unshuffle"])

    def key_tensors(prefix):   # the key encoder under the query's names (same module structure, zip order)
        return tensors(prefix, [("encoder_q." + k, v) for k, v in model.encoder_k.named_parameters()])

    entries = tensors("init.", query) + key_tensors("init.key.") + [("init.queue", queue_rows(model.queue))]
    print(f"  {name}: key - query before step 1, largest |difference| "
          f"{max((k - q).abs().max().item() for q, k in zip(model.encoder_q.parameters(), model.encoder_k.parameters())):.3g}")
    if name == "densecl":
        entries.append(("init.queue2", queue_rows(model.queue2)))
    for s in (1, 2):
        gen = torch.Generator().manual_seed(100 + s)
        views = torch.randn(B, 2, 3, IMG, IMG, generator=gen)
        losses = model.forward_train(views)
        loss = sum(losses.values())
        p = f"step{s}."
        entries += [(p + "view.0", views[:, 0]), (p + "view.1", views[:, 1]), (p + "loss", [loss.item()])]
        if name == "mocov2":
            entries.append((p + "loss_global", [losses["loss_contra"].item()]))
        else:
            entries += [(p + "loss_global", [losses["loss_contra_single"].item() / (1 - LAMBDA)]),
                        (p + "loss_dense", [losses["loss_contra_dense"].item() / LAMBDA])]
            q_b = F.normalize(captured["q_b"].flatten(2), dim=1)   # the official lines, re-run
            k_b = F.normalize(captured["k_b"][captured["unshuffle"]].flatten(2), dim=1)
            sim = torch.matmul(q_b.permute(0, 2, 1), k_b)
            top2 = sim.topk(2, dim=2)[0]
            matches = sim.max(dim=2)[1]
            entries += [(p + "matches", matches.float()),
                        (p + "match_gap", [(top2[..., 0] - top2[..., 1]).min().item()])]
            print(f"  {name} step {s}: smallest best-vs-second similarity gap {(top2[..., 0] - top2[..., 1]).min().item():.3g}")
            with torch.no_grad():   # self-check: the query encoder's tokens of the key view give other matches
                wrong = F.normalize(model.encoder_q[0](views[:, 1].contiguous())[0].flatten(2), dim=1)
                differ = (torch.matmul(q_b.permute(0, 2, 1), wrong).max(dim=2)[1] != matches).sum().item()
            print(f"  {name} step {s}: {differ} of {matches.numel()} matches differ on the query encoder's key-view tokens")
            if differ == 0:
                sys.exit(f"{name} step {s}: the correspondence cannot tell the key encoder's tokens from the query encoder's")
        optimizer.zero_grad()
        loss.backward()
        entries += [(p + "grad." + our_key(k), v.grad.detach().clone().reshape(v.shape[0], -1) if v.ndim == 4 and "mlp2" in k
                     else v.grad.detach().clone()) for k, v in query]
        optimizer.step()
        entries += tensors(p + "query.", query)
        entries += key_tensors(p + "key.")
        entries += [(p + "queue", queue_rows(model.queue)), (p + "queue_pointer", [float(model.queue_ptr[0])])]
        if name == "densecl":
            entries += [(p + "queue2", queue_rows(model.queue2)), (p + "queue2_pointer", [float(model.queue2_ptr[0])])]
        print(f"  {name} step {s}: loss {loss.item():.6f}")
    write_fixture(os.path.join(out, f"{name}_tiny.pbfx"), entries)
    print(f"{name} keys:", [our_key(k) for k, _ in query])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--densecl", required=True, help=f"checkout of WXinlong/DenseCL @ {COMMIT[:7]}")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for f, blob in EXPECTED_BLOBS.items():
        full = os.path.join(args.densecl, f)
        if blob and os.path.exists(full) and git_blob_id(full) != blob:
            print(f"WARNING: {f} has blob {git_blob_id(full)}, expected {blob} (different commit?)")
    official = import_official(args.densecl)
    torch.Tensor.cuda = lambda self, *a, **k: self   # CPU: the official .cuda() calls are the identity
    if not dist.is_initialized():
        dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    os.makedirs(args.out, exist_ok=True)
    run(official, "mocov2", args.out)
    run(official, "densecl", args.out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
