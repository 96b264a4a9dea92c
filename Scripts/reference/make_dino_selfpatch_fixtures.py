#!/usr/bin/env python3
"""Reference fixtures for DINO and SelfPatch: two full training steps (forward, loss, centre
update, raw and clipped gradients, AdamW step, teacher EMA) computed by the AUTHORS' OFFICIAL
PyTorch modules on tiny configs, CPU, float32.

Usage:
  python3 Scripts/reference/make_dino_selfpatch_fixtures.py --dino PATH --selfpatch PATH [--out DIR]
Needs torch and numpy (tested with torch 2.13.0+cpu, numpy 2.4.6). Writes into DIR (default
Tests/ObjectivesTests/Fixtures/) dino_tiny.pbfx and selfpatch_tiny.pbfx (format: fixture_format.py).

CHECKOUTS (nothing official is copied here; the modules are imported from the paths given)
  --dino       a checkout of facebookresearch/dino at commit 7c446df5b9f45747937fb0d72314eb9f7b66930a
               (uses vision_transformer.py, utils.py, main_dino.py)
  --selfpatch  a checkout of alinlab/SelfPatch at commit 81aef149fa984a32bdbb2cf5a98aa0e072591535
               (uses selfpatch_vision_transformer.py, utils.py, main_selfpatch.py)
  A plain export of those trees is enough (no .git needed). The script checks the git blob ids of
  the six files it imports and warns if they differ from the ones of those commits.
  Both checkouts define a top-level `utils`; each checkout is imported in turn and its modules are
  removed from sys.modules afterwards, so DINO runs on dino's utils and SelfPatch on SelfPatch's.
  Import-only stubs: the official files import torchvision, PIL (dino utils.py, main_*.py) and
  timm.data.constants (selfpatch_vision_transformer.py) at module level, but only the data
  augmentation uses them. If one of these is not importable (torchvision's CPU build matching torch
  2.13 was not installable here: the PyPI wheel is a CUDA build whose ops fail to load against the
  CPU torch), an empty stub module is put into sys.modules for that import only. No stubbed name is
  reached by anything this script runs. A single-process gloo group (world size 1) is initialised
  because both DINOLoss.update_center call dist.all_reduce / dist.get_world_size.

RE-WRITTEN LINES (they live inside functions that cannot be imported)
  * main_dino.py:train_one_epoch / main_selfpatch.py:train_one_epoch: the per-step schedule lines
    (set every group's lr, the first group's weight_decay), the call order, and the teacher EMA
    `param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)` over zip(student.parameters(),
    teacher.parameters()) (`set_step_hyperparameters`, `update_student`, `ema_teacher`).
  * main_dino.py:train_dino / main_selfpatch.py:train_dino: model/loss/optimizer construction with
    the tiny config below, `teacher.load_state_dict(student.state_dict())`, teacher requires_grad
    False, `torch.optim.AdamW(utils.get_params_groups(student))`, the three cosine_scheduler calls.
  * main_selfpatch.py has no hook for the teacher's top-k positives (a local `top_idx` in
    selfpatch_vision_transformer.py:SelfPatchHead.forward). `teacher_positives` recomputes them from
    the official teacher backbone output, the official neighbour table (`ca_head.loc224/loc96` =
    SelfPatchHead.get_local_index) and the same normalise/matmul/topk; a forward pre-hook on the
    official `ca_head.cls_blocks[0]` captures the gathered neighbour tokens the official forward
    really used, and the script asserts the recomputed positives gather exactly those tokens.
  Differences from the official loops, on purpose: no DistributedDataParallel (world size 1: a DDP
  all-reduce of one replica is the identity), no fp16 / GradScaler (float32 throughout), no
  data loader (fixed seeded normal tensors as crops), drop_path_rate 0 for student AND teacher
  (official student uses 0.1; stochastic depth draws torch's RNG, which another framework cannot
  replay), torch.set_num_threads(1).

CONFIG (shared)
  B crops/images per view; 2 global + 2 local crops (ncrops 4), crops = torch.randn from a
  Generator seeded per fixture, fresh crops for each step. EPOCHS 4, one iteration per epoch, so
  step 1 is iteration 0 / epoch 0 and step 2 is iteration 1 / epoch 1.
  Teacher temperature: warmup_teacher_temp 0.04 -> teacher_temp 0.07 over
  warmup_teacher_temp_epochs 2, nepochs 4: the official schedule np.linspace(0.04, 0.07, 2) ++
  [0.07]*2 = [0.04, 0.07, 0.07, 0.07] (linspace INCLUDES its end point, so the last warm-up epoch
  already has 0.07). Step 1 uses 0.04, step 2 uses 0.07. student_temp 0.1, center_momentum 0.9.
  Schedules from utils.cosine_scheduler(base, final, epochs=4, niter_per_ep=1, warmup_epochs):
    lr:       base 1e-3 -> final 1e-5, warmup_epochs 0 (see below) -> [1e-3, 8.550179e-4, 5.05e-4, 1.549821e-4]
    wd:       0.04 -> 0.4                                  -> [0.04, 0.09272078, 0.22, 0.34727922]
    momentum: 0.996 -> 1                                   -> [0.996, 0.99658579, 0.998, 0.99941421]
  Why no lr warm-up in the loop: cosine_scheduler's warm-up is np.linspace(start_warmup_value=0,
  base, warmup_iters), so with any warm-up the first iteration has lr exactly 0 and step 1 would
  be an identity update. The warm-up branch is instead exercised by the separate entry
  `schedule.lr_warmup` = cosine_scheduler(1e-3, 1e-5, epochs 4, niter_per_ep 3, warmup_epochs 1)
  (12 values: linspace(0, 1e-3, 3) = [0, 5e-4, 1e-3], then the cosine starting AGAIN at 1e-3, i.e.
  1e-3 appears twice; a warm-up written as start + (base-start)*i/warmup_iters does not match).
  The scalars are stored as float32 (e.g. momentum 0.996 reads back as 0.99599999); the official
  loop uses the float64 numpy values, recompute them in double rather than reading them back.
  Optimizer: torch.optim.AdamW(utils.get_params_groups(student)), defaults betas (0.9, 0.999),
  eps 1e-8; group 0 = regularised, group 1 = not regularised (weight_decay 0). Per step: group lr =
  lr[it] for both groups, group 0 weight_decay = wd[it]. clip_grad 3.0 (utils.clip_gradients),
  freeze_last_layer 1 (utils.cancel_gradients_last_layer).
  Step order (train_one_epoch): set lr/wd -> teacher forward (globals only for DINO; globals and
  locals for SelfPatch) -> student forward (all crops) -> official loss (updates the centre(s)
  AFTER computing the loss with the old centre) -> zero_grad -> backward -> clip_gradients(3.0)
  -> cancel_gradients_last_layer(epoch, 1) -> optimizer.step() -> EMA with momentum[it].

DINO (dino_tiny.pbfx)
  vision_transformer.VisionTransformer(img_size=[16], patch_size=4, embed_dim=32, depth=2,
  num_heads=2, mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6),
  drop_path_rate=0) (the kwargs of the official vit_* constructors) + vision_transformer.DINOHead(32,
  64, use_bn=False, norm_last_layer=True, nlayers=3, hidden_dim=48, bottleneck_dim=16) in
  utils.MultiCropWrapper, for student and teacher. B = 3, globals 16x16 (4x4 grid, 16 tokens +
  CLS), locals 8x8 (2x2 grid). main_dino.DINOLoss(64, 4, 0.04, 0.07, 2, 4, 0.1, 0.9). torch seed 0
  (weights), crop generator seed 2.
SELFPATCH (selfpatch_tiny.pbfx)
  selfpatch_vision_transformer.VisionTransformer(img_size=[28], patch_size=2, embed_dim=32, depth=2,
  num_heads=2, mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6),
  drop_path_rate=0) (no CLS token, no final norm, pos_embed over 196 patches), SelfPatchHead(32,
  num_heads 2, k_num 4), CLS head DINOHead(32, 64, ...) and patch head DINOHead(32, 32, ...) (both
  use_bn False, norm_last_layer True, nlayers 3, hidden 48, bottleneck 16, SelfPatch's own DINOHead
  copy), in main_selfpatch.MultiCropWrapper. get_local_index only knows 196 and 36 tokens, hence
  patch 2 with globals 28x28 (14x14 grid) and locals 12x12 (6x6 grid). B = 2.
  main_selfpatch.DINOLoss(64, 32, 4, 0.04, 0.07, 2, 4, 0.1, 0.9); lambda = 0.1 is hard-coded in
  its forward. torch seed 0 (weights), crop generator seed 10. Smallest gap between the 4th and
  5th cosine similarity over all teacher rows of both steps: 2.2e-4 (seed chosen for it).

ENTRIES (all float32; scalars and integer indices as float arrays of shape [1] / their shape)
  Parameter keys are the official state_dict keys of the wrapper (listed by the script when run):
  DINO: backbone.{cls_token [1,1,32], pos_embed [1,17,32], patch_embed.proj.weight [32,3,4,4],
    patch_embed.proj.bias, blocks.<i>.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.{weight,bias},
    norm.weight, norm.bias}, head.mlp.{0,2,4}.{weight,bias} (Linear 32->48, GELU, 48->48, GELU,
    48->16), head.last_layer.weight_g [64,1], head.last_layer.weight_v [64,16].
  SelfPatch: backbone.{pos_embed [1,196,32], patch_embed.proj.*, blocks.<i>.*} (no cls_token, no
    norm), ca_head.cls_token [1,1,32], ca_head.cls_blocks.<j>.{norm1, attn.q, attn.k, attn.v,
    attn.proj, norm2, mlp.fc1, mlp.fc2}.{weight,bias} (j = 0, 1), ca_head.norm.{weight,bias},
    c_head.mlp.{0,2,4}.*, c_head.last_layer.weight_{g,v} [64,1]/[64,16], p_head.mlp.{0,2,4}.*,
    p_head.last_layer.weight_{g,v} [32,1]/[32,16].
  Both files:
    init.<key>                 every student parameter before step 1 (the teacher starts equal)
    schedule.lr|wd|momentum    [4] the loop's schedules (index = iteration)
    schedule.teacher_temp      [4] DINOLoss.teacher_temp_schedule (index = epoch)
    schedule.lr_warmup         [12] warm-up exercise, see above (not used by the loop)
    pos_embed_local            official interpolate_pos_encoding of the INITIAL student pos_embed
                               for a local crop: DINO [1,5,32] (CLS row first, unchanged; then 2x2
                               patches row-major), SelfPatch [1,36,32] (6x6, no CLS)
    step<s>.crop.<v>           [B,3,H,W], v = 0,1 global, 2,3 local
    step<s>.teacher_temp|lr|wd|momentum   [1]
    step<s>.loss               [1]
    step<s>.grad.<key>         raw gradient after backward (trainable parameters only: the
                               head.last_layer.weight_g tensors have requires_grad False, so no grad)
    step<s>.clipped_grad.<key> after clip_gradients and cancel_gradients_last_layer; in step 1
                               (epoch 0 < freeze_last_layer 1) the last layers' grads are None,
                               written as zeros (AdamW then SKIPS those tensors: no update, no
                               weight decay, no moment update, their step counter does not advance)
    step<s>.student.<key>      every student parameter after optimizer.step()
    step<s>.teacher.<key>      every teacher parameter after the EMA
  DINO only:
    step<s>.teacher_output     [2B,64] head logits for the 2 global crops, crop-major
                               (row = crop*B + b), as MultiCropWrapper returns them
    step<s>.student_output     [4B,64] head logits for crops 0..3, crop-major
    step<s>.center             [1,64] DINOLoss.center after the loss call
  SelfPatch only (the wrapper returns [cls_logits, patch_logits] per call; the loop calls it once
  on cat(globals) and once on cat(locals), rows crop-major inside each call: row = (v%2)*B + b):
    step<s>.teacher_output.global.cls  [2B,1,64]    step<s>.teacher_output.global.patch [2B,196,32]
    step<s>.teacher_output.local.cls   [2B,1,64]    step<s>.teacher_output.local.patch  [2B,36,32]
    step<s>.student_output.{global,local}.{cls,patch}  same shapes (student: loc=False)
    step<s>.loss_cls, step<s>.loss_patch  [1] the two terms returned by the official loss
                               (loss = loss_cls + 0.1 * loss_patch)
    step<s>.center             [1,1,64] (official buffer shape) after the loss
    step<s>.patch_center       [1,32] after the loss
    neighbours.14 [196,8], neighbours.6 [36,8]   SelfPatchHead.get_local_index(N, 3) (sorted)
    step<s>.positives.<v>      [B,N,4] teacher top-k neighbour SLOTS (0..7, columns of
                               neighbours.<grid>) in topk order (descending cosine similarity)
    step<s>.positive_patches.<v>  [B,N,4] the same as patch indices (neighbours[n, slot])

OFFICIAL BEHAVIOUR A RE-IMPLEMENTATION CAN EASILY GET WRONG
  * interpolate_pos_encoding (both repos) calls F.interpolate(mode='bicubic', align_corners False)
    with scale_factor = ((g+0.1)/sqrt(N), (g+0.1)/sqrt(N)) and no size: PyTorch then maps output
    pixel d to source (d + 0.5) * sqrt(N)/(g+0.1) - 0.5 (it uses 1/scale_factor, NOT in/out),
    cubic A = -0.75, taps clamped to the border. For 4x4 -> 2x2 the sources are 0.4524 and 2.3571,
    not 0.5 and 2.5. Globals whose grid equals pos_embed's are returned unchanged (no interpolation).
  * utils.get_params_groups regularises every tensor with ndim >= 2 that is not named *.bias: this
    includes cls_token [1,1,D], pos_embed, the patch-embedding conv weight and
    head.last_layer.weight_v; 1-D tensors (LayerNorm, biases) get 0. weight_g (frozen) is in neither.
  * utils.clip_gradients is per tensor: g *= 3/(||g|| + 1e-6) only if that factor is < 1. It runs
    BEFORE the last-layer cancel. cancel sets grad = None (not zero), see clipped_grad above: in
    step 2 the last layer's AdamW update is its first (bias correction with t = 1) while all other
    tensors are at t = 2.
  * torch AdamW: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)  (eps added after the bias correction).
  * DINOHead: nn.utils.weight_norm(dim 0): weight = weight_g * weight_v / ||row of weight_v||,
    weight_g fixed at 1 (norm_last_layer True), so every output row has unit norm; the bottleneck
    output is L2-normalised (F.normalize, eps 1e-12) before it.
  * DINO centre: mean over the 2B teacher rows (globals only), EMA 0.9, updated after the loss.
    DINO loss: 2*(ncrops-1) = 6 (teacher global iq, student v != iq) terms, each a batch mean.
  * SelfPatch teacher runs on ALL crops (globals and locals, loc=True); its CLS centre is updated
    from the teacher CLS logits of all 4 crops ([4B,1,64] -> mean); the CLS loss still only uses
    teacher crops 0,1 against every other student crop (6 terms). The patch loss is SAME-view only
    (teacher crop v vs student crop v, 4 terms, each a mean over B*N), so global and local crops
    weigh equally in it, whereas the patch centre is the mean over all B*(2*196+2*36) patch rows
    (weighted by patch count).
  * SelfPatch student (loc=False): cls = CA2(CA1(cls_token; X)); output = ca_head.norm([cls; X]),
    i.e. the patch head sees ca_head.norm(backbone token), the backbone itself has no final norm.
    Teacher (loc=True): CLS the same; patch i -> CA2(CA1(cls_token; X[top-k of i])) with the SAME
    two CA blocks and cls_token, keys/values = LN([cls; k tokens]) (cls included); then
    ca_head.norm. The query of a CA block is the cls only; X is not updated; no layer scale and
    no drop-path despite the class name LayerScale_Block_CA.
  * Positives: cosine similarity of the raw (un-normed) teacher backbone tokens of the same crop,
    top-4 of the 8 neighbours of get_local_index: a 3x3 window minus the centre with TOROIDAL
    wrap-around (indices modulo the grid), listed in ascending patch-index order.
  * DINO MultiCropWrapper runs the backbone once per run of equal-width crops (cat of the globals,
    then cat of the locals), concatenates the CLS features (crop-major) and runs the head once.
    The DINO backbone output is norm(tokens)[:, 0] (CLS after the final LayerNorm).
  * optimizer.zero_grad() (torch >= 2.0: set_to_none) comes after the forward, before backward;
    every trainable tensor receives a gradient in both steps, so zero vs None makes no difference here.
  * DINOLoss.update_center divides by len(teacher_output) * world_size after an all_reduce sum.

CHECKS DONE ON THE WRITTEN FILES (an independent numpy read-back, not part of this script): both
files parse and are finite; DINO loss, SelfPatch loss_cls/loss_patch/loss and all centres
recomputed from the *_output entries to float32 precision (this pins the orders documented
above); EMA, the clip rule and the first AdamW step recomputed from the entries (<= 2e-7);
last-layer clipped grads zero and last layer unchanged in step 1; weight_g all ones; the
pos_embed_local entries reproduced by a hand-written bicubic with source scale sqrt(N)/(g+0.1)
(error 6e-8; with in/out instead the error is 1e-2). Running the script twice gives identical bytes.
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
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from fixture_format import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ObjectivesTests", "Fixtures")

# ---- shared protocol (main_dino.py / main_selfpatch.py argparse values, tiny) ----
EPOCHS = 4                 # one iteration per epoch
WARMUP_TEACHER_TEMP, TEACHER_TEMP, WARMUP_TEACHER_TEMP_EPOCHS = 0.04, 0.07, 2
STUDENT_TEMP, CENTER_MOMENTUM = 0.1, 0.9
LR, MIN_LR, LR_WARMUP_EPOCHS = 1e-3, 1e-5, 0
WD, WD_END = 0.04, 0.4
MOMENTUM_TEACHER = 0.996
CLIP_GRAD, FREEZE_LAST_LAYER = 3.0, 1
EMBED_DIM, DEPTH, HEADS, HIDDEN, BOTTLENECK = 32, 2, 2, 48, 16
STEPS = ((1, 0), (2, 1))   # (fixture step, global iteration == epoch)
# torch.Generator seeds of the crops (weights: manual_seed 0), chosen among 1..30 for margin: DINO's
# per-tensor grad norms stay >= 8% from the clip threshold, and SelfPatch's smallest gap between the
# 4th and 5th neighbour similarity (a top-k tie would be discontinuous) is 2.2e-4
DINO_CROP_SEED, SELFPATCH_CROP_SEED = 2, 10

# git blob ids of the imported files at the documented commits (content check, works without .git)
EXPECTED_BLOBS = {
    "dino": {"main_dino.py": "cade9873dcb1d1c6c69ddba61dbdcf3f01dd7540",
             "utils.py": "9586250123a125a83ea2679e121b1b0ef8089916",
             "vision_transformer.py": "f69a7ad0522500ca2a85305a789be5ca6ac474d0"},
    "selfpatch": {"main_selfpatch.py": "ad74bd97211a19568848a1cc5453e8bef0edc43c",
                  "utils.py": "978d79d6ae2986419422b285a464b9a599d6d84d",
                  "selfpatch_vision_transformer.py": "a92aa20d300c5be516f210d430cc40150de5eafd"},
}
OFFICIAL_NAMES = ("utils", "vision_transformer", "main_dino", "selfpatch_vision_transformer", "main_selfpatch")


# ---- importing the official code ----
def stub_unavailable_imports():
    """Empty modules for the augmentation-only imports of the official files, if not importable."""
    families = {
        "PIL": ["PIL", "PIL.Image", "PIL.ImageFilter", "PIL.ImageOps"],
        "torchvision": ["torchvision", "torchvision.datasets", "torchvision.transforms", "torchvision.models"],
        "timm": ["timm", "timm.data", "timm.data.constants"],
    }
    for top, names in families.items():
        try:
            for n in names:
                importlib.import_module(n)
            continue
        except Exception:
            for n in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
                del sys.modules[n]
        for n in names:
            sys.modules[n] = types.ModuleType(n)
            parent, _, child = n.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, sys.modules[n])
        if top == "timm":  # selfpatch_vision_transformer imports these two names (never uses them)
            sys.modules["timm.data.constants"].IMAGENET_DEFAULT_MEAN = (0.485, 0.456, 0.406)
            sys.modules["timm.data.constants"].IMAGENET_DEFAULT_STD = (0.229, 0.224, 0.225)
        print(f"note: {top} not importable, import-only stub installed")


def git_blob_id(path):
    data = open(path, "rb").read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def import_checkout(path, which, names):
    """Imports top-level modules from one checkout, isolated from the other (both have `utils`)."""
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
        assert os.path.dirname(os.path.abspath(m.__file__)) == path, f"{n} imported from {m.__file__}"
    return types.SimpleNamespace(**mods)


# ---- the protocol shared by both methods (train_dino / train_one_epoch, re-written) ----
def schedules(utils):
    return {
        "lr": utils.cosine_scheduler(LR, MIN_LR, EPOCHS, 1, warmup_epochs=LR_WARMUP_EPOCHS),
        "wd": utils.cosine_scheduler(WD, WD_END, EPOCHS, 1),
        "momentum": utils.cosine_scheduler(MOMENTUM_TEACHER, 1, EPOCHS, 1),
        # not used by the loop: exercises the linear warm-up branch (see the docstring)
        "lr_warmup": utils.cosine_scheduler(LR, MIN_LR, EPOCHS, 3, warmup_epochs=1),
    }


def make_teacher(student, build):
    """train_dino: same architecture, initialised from the student's state_dict, no gradients."""
    teacher = build(student=False)
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad = False
    return teacher


def set_step_hyperparameters(optimizer, sched, it):
    """train_one_epoch: every group gets the lr; only the first (regularised) group gets the wd."""
    for i, group in enumerate(optimizer.param_groups):
        group["lr"] = sched["lr"][it]
        if i == 0:
            group["weight_decay"] = sched["wd"][it]


def update_student(utils, student, optimizer, loss, epoch, prefix):
    """train_one_epoch (fp16_scaler None): backward, per-tensor clip, last-layer cancel, step."""
    optimizer.zero_grad()
    loss.backward()
    trainable = [(k, p) for k, p in student.named_parameters() if p.requires_grad]
    entries = [(f"{prefix}grad.{k}", p.grad.detach().clone()) for k, p in trainable]
    norms = utils.clip_gradients(student, CLIP_GRAD)
    utils.cancel_gradients_last_layer(epoch, student, FREEZE_LAST_LAYER)
    for k, p in trainable:  # None after the cancel: written as zeros
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        entries.append((f"{prefix}clipped_grad.{k}", g.detach().clone()))
    optimizer.step()
    clipped = sum(CLIP_GRAD / (n + 1e-6) < 1 for n in norms)
    margin = min(abs(n - CLIP_GRAD) for n in norms) / CLIP_GRAD
    print(f"  {prefix}: {clipped} of {len(norms)} gradient tensors clipped (max norm {max(norms):.4g}, "
          f"closest norm to the threshold {margin:.2%} away)")
    return entries


def ema_teacher(student, teacher, m):
    """train_one_epoch's EMA line, re-written verbatim (same zip over parameters)."""
    with torch.no_grad():
        for param_q, param_k in zip(student.parameters(), teacher.parameters()):
            param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)


def make_crops(gen, sizes, batch):
    return [torch.randn(batch, 3, s, s, generator=gen) for s in sizes]


def params(prefix, model):
    return [(prefix + k, v.detach().clone()) for k, v in model.state_dict().items()]


def step_scalars(prefix, sched, teacher_temp, it, epoch):
    return [(prefix + "teacher_temp", [teacher_temp[epoch]]), (prefix + "lr", [sched["lr"][it]]),
            (prefix + "wd", [sched["wd"][it]]), (prefix + "momentum", [sched["momentum"][it]])]


def schedule_entries(sched, teacher_temp):
    return [("schedule.lr", sched["lr"]), ("schedule.wd", sched["wd"]),
            ("schedule.momentum", sched["momentum"]), ("schedule.teacher_temp", teacher_temp),
            ("schedule.lr_warmup", sched["lr_warmup"])]


def vit_kwargs(img, patch):
    """The keyword arguments of the official vit_tiny/small/base constructors, tiny sizes."""
    return dict(img_size=[img], patch_size=patch, embed_dim=EMBED_DIM, depth=DEPTH, num_heads=HEADS,
                mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6), drop_path_rate=0.0)


# ---- DINO ----
def dino_fixture(D, out):
    vits, utils, main = D.vision_transformer, D.utils, D.main_dino
    B, OUT_DIM, NCROPS = 3, 64, 4
    torch.manual_seed(0)

    def build(student=True):
        backbone = vits.VisionTransformer(**vit_kwargs(16, 4))
        if student:
            head = vits.DINOHead(EMBED_DIM, OUT_DIM, use_bn=False, norm_last_layer=True, nlayers=3,
                                 hidden_dim=HIDDEN, bottleneck_dim=BOTTLENECK)
        else:  # train_dino builds the teacher head with the defaults after use_bn
            head = vits.DINOHead(EMBED_DIM, OUT_DIM, False, hidden_dim=HIDDEN, bottleneck_dim=BOTTLENECK)
        return utils.MultiCropWrapper(backbone, head)

    student = build()
    teacher = make_teacher(student, build)
    dino_loss = main.DINOLoss(OUT_DIM, NCROPS, WARMUP_TEACHER_TEMP, TEACHER_TEMP, WARMUP_TEACHER_TEMP_EPOCHS,
                              EPOCHS, student_temp=STUDENT_TEMP, center_momentum=CENTER_MOMENTUM)
    optimizer = torch.optim.AdamW(utils.get_params_groups(student))
    sched = schedules(utils)
    gen = torch.Generator().manual_seed(DINO_CROP_SEED)

    with torch.no_grad():
        pos_local = student.backbone.interpolate_pos_encoding(torch.zeros(1, 1 + 2 * 2, EMBED_DIM), 8, 8)
    entries = params("init.", student) + schedule_entries(sched, dino_loss.teacher_temp_schedule)
    entries.append(("pos_embed_local", pos_local))
    for s, it in STEPS:
        epoch, p = it, f"step{s}."
        images = make_crops(gen, [16, 16, 8, 8], B)
        set_step_hyperparameters(optimizer, sched, it)
        teacher_output = teacher(images[:2])       # only the 2 global views through the teacher
        student_output = student(images)
        loss = dino_loss(student_output, teacher_output, epoch)
        entries += [(f"{p}crop.{v}", x) for v, x in enumerate(images)]
        entries += step_scalars(p, sched, dino_loss.teacher_temp_schedule, it, epoch)
        entries += [(p + "teacher_output", teacher_output.detach()), (p + "student_output", student_output.detach()),
                    (p + "loss", [loss.item()]), (p + "center", dino_loss.center.clone())]
        entries += update_student(utils, student, optimizer, loss, epoch, p)
        entries += params(p + "student.", student)
        ema_teacher(student, teacher, sched["momentum"][it])
        entries += params(p + "teacher.", teacher)
        print(f"  dino step {s}: loss {loss.item():.6f}")
    write_fixture(os.path.join(out, "dino_tiny.pbfx"), entries)
    print("dino keys:", [k for k, _ in student.state_dict().items()])


# ---- SelfPatch ----
def teacher_positives(teacher, images):
    """SelfPatchHead.forward(loc=True)'s top-k neighbour choice, which the official code keeps local."""
    with torch.no_grad():
        x = teacher.backbone(images)
        head = teacher.ca_head
        idx = head.loc224 if x.shape[1] == 196 else head.loc96
        x_norm = F.normalize(x, dim=-1)
        sim = (x_norm[:, idx] @ x_norm.unsqueeze(2).transpose(-2, -1)).squeeze(-1)   # [B, N, 8]
        top = sim.topk(k=head.k_num, dim=-1)[1]                                        # [B, N, k]
        gathered = torch.gather(x[:, idx].reshape(-1, idx.shape[1], x.shape[-1]), 1,
                                top.reshape(-1, head.k_num, 1).expand(-1, -1, x.shape[-1]))
        ordered = sim.sort(dim=-1, descending=True)[0]
        gap = (ordered[..., head.k_num - 1] - ordered[..., head.k_num]).min().item()
    return top, idx, gathered, gap


def selfpatch_fixture(S, out):
    vits, utils, main = S.selfpatch_vision_transformer, S.utils, S.main_selfpatch
    B, OUT_DIM, OUT_DIM_PATCH, NCROPS, K_NUM = 2, 64, 32, 4, 4
    torch.manual_seed(0)

    def build(student=True):
        backbone = vits.VisionTransformer(**vit_kwargs(28, 2))
        if student:
            c_head = vits.DINOHead(EMBED_DIM, OUT_DIM, use_bn=False, norm_last_layer=True,
                                   hidden_dim=HIDDEN, bottleneck_dim=BOTTLENECK)
            p_head = vits.DINOHead(EMBED_DIM, OUT_DIM_PATCH, use_bn=False, norm_last_layer=True,
                                   hidden_dim=HIDDEN, bottleneck_dim=BOTTLENECK)
        else:
            c_head = vits.DINOHead(EMBED_DIM, OUT_DIM, False, hidden_dim=HIDDEN, bottleneck_dim=BOTTLENECK)
            p_head = vits.DINOHead(EMBED_DIM, OUT_DIM_PATCH, False, hidden_dim=HIDDEN, bottleneck_dim=BOTTLENECK)
        return main.MultiCropWrapper(backbone, vits.SelfPatchHead(EMBED_DIM, HEADS, K_NUM), c_head, p_head)

    student = build()
    teacher = make_teacher(student, build)
    sp_loss = main.DINOLoss(OUT_DIM, OUT_DIM_PATCH, NCROPS, WARMUP_TEACHER_TEMP, TEACHER_TEMP,
                            WARMUP_TEACHER_TEMP_EPOCHS, EPOCHS, student_temp=STUDENT_TEMP,
                            center_momentum=CENTER_MOMENTUM)
    optimizer = torch.optim.AdamW(utils.get_params_groups(student))
    sched = schedules(utils)
    gen = torch.Generator().manual_seed(SELFPATCH_CROP_SEED)

    # capture the neighbour tokens the official teacher forward gathers (input of the first CA block)
    captured = []
    def capture(module, args):
        if args[0].shape[1] == K_NUM:
            captured.append(args[0].detach().clone())
    teacher.ca_head.cls_blocks[0].register_forward_pre_hook(capture)

    with torch.no_grad():
        pos_local = student.backbone.interpolate_pos_encoding(torch.zeros(1, 36, EMBED_DIM), 12, 12)
    entries = params("init.", student) + schedule_entries(sched, sp_loss.teacher_temp_schedule)
    entries += [("pos_embed_local", pos_local),
                ("neighbours.14", vits.SelfPatchHead.get_local_index(196, 3).float()),
                ("neighbours.6", vits.SelfPatchHead.get_local_index(36, 3).float())]
    for s, it in STEPS:
        epoch, p = it, f"step{s}."
        images = make_crops(gen, [28, 28, 12, 12], B)
        set_step_hyperparameters(optimizer, sched, it)
        captured.clear()
        with torch.no_grad():   # every crop goes through the teacher (loc=True aggregates neighbours)
            teacher_output = [teacher(torch.cat(images[:2]), head_only=True, loc=True),
                              teacher(torch.cat(images[2:]), head_only=True, loc=True)]
        # the teacher is unchanged until the EMA, so its positives can be recomputed now
        for call, views in enumerate((images[:2], images[2:])):
            top, idx, gathered, gap = teacher_positives(teacher, torch.cat(views))
            assert torch.equal(gathered, captured[call]), "recomputed positives differ from the official forward"
            print(f"  selfpatch step {s} {'global' if call == 0 else 'local'}: "
                  f"min gap between 4th and 5th neighbour similarity {gap:.3g}")
            for j in range(2):
                sl = top[j * B:(j + 1) * B]
                entries += [(f"{p}positives.{2 * call + j}", sl.float()),
                            (f"{p}positive_patches.{2 * call + j}", idx[torch.arange(idx.shape[0])[:, None], sl].float())]
        student_output = [student(torch.cat(images[:2]), head_only=True, loc=False),
                          student(torch.cat(images[2:]), head_only=True, loc=False)]
        loss, c_loss, p_loss = sp_loss(teacher, student, student_output, teacher_output, epoch, it)
        entries += [(f"{p}crop.{v}", x) for v, x in enumerate(images)]
        entries += step_scalars(p, sched, sp_loss.teacher_temp_schedule, it, epoch)
        for who, outs in (("teacher", teacher_output), ("student", student_output)):
            for res, (cls, patch) in zip(("global", "local"), outs):
                entries += [(f"{p}{who}_output.{res}.cls", cls.detach()),
                            (f"{p}{who}_output.{res}.patch", patch.detach())]
        entries += [(p + "loss", [loss.item()]), (p + "loss_cls", [c_loss]), (p + "loss_patch", [p_loss]),
                    (p + "center", sp_loss.center.clone()), (p + "patch_center", sp_loss.patch_center.clone())]
        entries += update_student(utils, student, optimizer, loss, epoch, p)
        entries += params(p + "student.", student)
        ema_teacher(student, teacher, sched["momentum"][it])
        entries += params(p + "teacher.", teacher)
        print(f"  selfpatch step {s}: loss {loss.item():.6f} (cls {c_loss:.6f}, patch {p_loss:.6f})")
    write_fixture(os.path.join(out, "selfpatch_tiny.pbfx"), entries)
    print("selfpatch keys:", [k for k, _ in student.state_dict().items()])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dino", required=True, help="checkout of facebookresearch/dino @ 7c446df")
    ap.add_argument("--selfpatch", required=True, help="checkout of alinlab/SelfPatch @ 81aef14")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    stub_unavailable_imports()
    if not dist.is_initialized():  # DINOLoss.update_center all-reduces; world size 1
        dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    D = import_checkout(args.dino, "dino", ["utils", "vision_transformer", "main_dino"])
    S = import_checkout(args.selfpatch, "selfpatch", ["utils", "selfpatch_vision_transformer", "main_selfpatch"])
    os.makedirs(args.out, exist_ok=True)
    dino_fixture(D, args.out)
    selfpatch_fixture(S, args.out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
