#!/usr/bin/env python3
"""Reference fixtures for the MAE and LoMaR objectives: loss and every parameter gradient,
computed by PyTorch (CPU, float32) on tiny configs with fixed weights, masks and windows.

Usage: python3 Scripts/reference/make_objective_fixtures.py   (needs torch and numpy)
Writes Tests/ObjectivesTests/Fixtures/{mae_tiny,lomar_tiny,lomar_table_tiny}.pbfx
(format: fixture_format.py). Entries: input, mask/window indices (as floats), loss,
param.<key> (Swift/timm keys; patch_embed.proj.weight as [D, C, p, p]), grad.<key>.

MAE (facebookresearch/mae models_mae.py, norm_pix_loss=True): image 16x16x3, patch 4
(16 tokens), encoder dim 32, depth 2, heads 2, CLS, fixed 2-D sin-cos PE; decoder 24-d,
1 block, 2 heads, own fixed sin-cos PE; 4 of 16 tokens kept; batch 3.
LoMaR (junchen14/LoMaR models_lomar.py with iRPE contextual product on keys, skip=1):
image 24x24x3, patch 4 (6x6 grid), dim 32, depth 2, heads 2, CLS, no absolute PE, window 3,
2 windows, 7 of 9 tokens masked per (image, window), linear head, batch 2, rows image-major
(row = b * n_w + k, the paper's assignment). RPE tables are random (not zero) so their
gradients and the bias path are exercised. The table variant uses a per-head [H, 50] table.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from fixture_format import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "ObjectivesTests", "Fixtures")


# ---- MAE's sin-cos position embedding (models_mae.py / util/pos_embed.py) ----
def sincos_1d(dim, pos):
    omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    omega = 1.0 / 10000 ** omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(dim, g, cls):
    grid = np.meshgrid(np.arange(g, dtype=np.float64), np.arange(g, dtype=np.float64))
    grid = np.stack(grid, axis=0).reshape([2, 1, g, g])
    emb = np.concatenate([sincos_1d(dim // 2, grid[0]), sincos_1d(dim // 2, grid[1])], axis=1)
    if cls:
        emb = np.concatenate([np.zeros([1, dim]), emb], axis=0)
    return torch.tensor(emb, dtype=torch.float32).unsqueeze(0)


# ---- iRPE (microsoft/Cream iRPE irpe.py) product method, contextual, on keys ----
def piecewise_index(rp, alpha=1.9, beta=3.8, gamma=15.2):
    rp_abs = rp.abs()
    mask = rp_abs <= alpha
    not_mask = ~mask
    rp_out = rp[not_mask]
    rp_abs_out = rp_abs[not_mask]
    y_out = (torch.sign(rp_out) * (alpha + torch.log(rp_abs_out / alpha) / math.log(gamma / alpha)
                                   * (beta - alpha)).round().clip(max=beta)).to(torch.long)
    idx = rp.clone().round().to(torch.long)
    idx[not_mask] = y_out
    return idx


def product_buckets(g):
    rows, cols = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    pos = torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=1).float()
    diff = pos[:, None, :] - pos[None, :, :]          # query minus key
    r = piecewise_index(diff[..., 0]) + 3
    c = piecewise_index(diff[..., 1]) + 3
    b = r * 7 + c
    t = g * g + 1
    out = torch.full((t, t), 49, dtype=torch.long)    # skip=1: CLS pairs use the extra bucket
    out[1:, 1:] = b
    return out


class Attention(nn.Module):
    def __init__(self, d, h, rpe=None):
        super().__init__()
        self.h = h
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.rpe = rpe
        dh = d // h
        if rpe == "contextual":
            self.table = nn.Parameter(torch.randn(1, dh, 50) * 0.3)
        elif rpe == "table":
            self.table = nn.Parameter(torch.randn(h, 50) * 0.3)

    def forward(self, x, buckets=None):
        b, t, d = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q = q * (d // self.h) ** -0.5
        a = q @ k.transpose(-2, -1)
        if self.rpe == "contextual":
            lookup = q @ self.table[0]                               # [B, H, T, 50]
            a = a + torch.gather(lookup, 3, buckets.expand(b, self.h, t, t))
        elif self.rpe == "table":
            a = a + self.table[:, buckets[0, 0]].unsqueeze(0)       # [1, H, T, T]
        o = a.softmax(dim=-1) @ v
        return self.proj(o.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, d, h, rpe=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = Attention(d, h, rpe)
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = nn.Sequential()
        self.mlp.fc1 = nn.Linear(d, 4 * d)
        self.mlp.fc2 = nn.Linear(4 * d, d)

    def forward(self, x, buckets=None):
        x = x + self.attn(self.norm1(x), buckets)
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))


def norm_pix(imgs, p):
    b, c, hh, ww = imgs.shape
    h, w = hh // p, ww // p
    x = imgs.reshape(b, c, h, p, w, p)
    x = torch.einsum("nchpwq->nhwpqc", x).reshape(b, h * w, p * p * c)
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, keepdim=True)                  # unbiased, as MAE
    return (x - mean) / (var + 1.0e-6) ** 0.5


def named(module, prefix=""):
    out = []
    for k, v in module.named_parameters():
        key = prefix + k
        key = key.replace("attn.table", "attn.rpe_k.lookup_table_weight")
        out.append((key, v))
    return out


def mae_fixture():
    torch.manual_seed(0)
    IMG, P, D, DEPTH, H, DD, DH, B, KEEP = 16, 4, 32, 2, 2, 24, 2, 3, 4
    g = IMG // P
    n = g * g
    patch_embed = nn.Conv2d(3, D, P, P)
    cls = nn.Parameter(torch.randn(1, 1, D) * 0.02)
    blocks = nn.ModuleList([Block(D, H) for _ in range(DEPTH)])
    norm = nn.LayerNorm(D, eps=1e-6)
    dec_embed = nn.Linear(D, DD)
    mask_token = nn.Parameter(torch.randn(1, 1, DD) * 0.02)
    dec_blocks = nn.ModuleList([Block(DD, DH)])
    dec_norm = nn.LayerNorm(DD, eps=1e-6)
    dec_pred = nn.Linear(DD, P * P * 3)
    pos = sincos_2d(D, g, True)
    dpos = sincos_2d(DD, g, True)
    x = torch.randn(B, 3, IMG, IMG)
    gen = torch.Generator().manual_seed(1)
    shuffle = torch.stack([torch.randperm(n, generator=gen) for _ in range(B)])
    keep, drop = shuffle[:, :KEEP], shuffle[:, KEEP:]
    restore = torch.argsort(shuffle, dim=1)

    t = patch_embed(x).flatten(2).transpose(1, 2) + pos[:, 1:]
    t = torch.gather(t, 1, keep.unsqueeze(-1).expand(-1, -1, D))
    t = torch.cat([(cls + pos[:, :1]).expand(B, -1, -1), t], dim=1)
    for blk in blocks:
        t = blk(t)
    z = dec_embed(norm(t))
    fill = mask_token.expand(B, n - KEEP, -1)
    y = torch.cat([z[:, 1:], fill], dim=1)
    y = torch.gather(y, 1, restore.unsqueeze(-1).expand(-1, -1, DD))
    y = torch.cat([z[:, :1], y], dim=1) + dpos
    for blk in dec_blocks:
        y = blk(y)
    pred = dec_pred(dec_norm(y))[:, 1:]
    mask = torch.ones(B, n)
    mask[:, :KEEP] = 0
    mask = torch.gather(mask, 1, restore)
    target = norm_pix(x, P)
    loss = (((pred - target) ** 2).mean(dim=-1) * mask).sum() / mask.sum()
    loss.backward()

    params = [("cls_token", cls)]
    params += [("patch_embed.proj.weight", patch_embed.weight), ("patch_embed.proj.bias", patch_embed.bias)]
    for i, blk in enumerate(blocks):
        params += named(blk, f"blocks.{i}.")
    params += named(norm, "norm.")
    params += named(dec_embed, "decoder_embed.")
    params += [("mask_token", mask_token)]
    params += named(dec_blocks[0], "decoder_blocks.0.")
    params += named(dec_norm, "decoder_norm.")
    params += named(dec_pred, "decoder_pred.")
    entries = [("input", x.detach()), ("keep", keep.float()), ("drop", drop.float()), ("loss", loss.detach().reshape(1))]
    entries += [("param." + k, v.detach()) for k, v in params]
    entries += [("grad." + k, v.grad) for k, v in params]
    write_fixture(os.path.join(OUT, "mae_tiny.pbfx"), entries)
    print("mae loss", loss.item())


def lomar_fixture(rpe, name):
    torch.manual_seed(2)
    IMG, P, D, DEPTH, H, B, S, NW = 24, 4, 32, 2, 2, 2, 3, 2
    g = IMG // P
    n = g * g
    masked = int(S * S * 0.8)
    patch_embed = nn.Conv2d(3, D, P, P)
    cls = nn.Parameter(torch.randn(1, 1, D) * 0.02)
    blocks = nn.ModuleList([Block(D, H, rpe) for _ in range(DEPTH)])
    norm = nn.LayerNorm(D, eps=1e-6)
    mask_token = nn.Parameter(torch.randn(1, 1, D) * 0.02)
    head = nn.Linear(D, P * P * 3)
    x = torch.randn(B, 3, IMG, IMG)
    gen = torch.Generator().manual_seed(3)
    tops = torch.randperm(g - S + 1, generator=gen)[:NW]
    lefts = torch.randperm(g - S + 1, generator=gen)[:NW]
    rows = B * NW
    removed = torch.zeros(rows, S * S)
    for r in range(rows):
        removed[r, torch.randperm(S * S, generator=gen)[:masked]] = 1
    # row r = (image r // NW, window r % NW); window tokens in raster order
    idx = torch.zeros(rows, S * S, dtype=torch.long)
    for r in range(rows):
        k = r % NW
        ids = [(tops[k] + dy) * g + lefts[k] + dx for dy in range(S) for dx in range(S)]
        idx[r] = torch.tensor(ids) + (r // NW) * n

    tok = patch_embed(x).flatten(2).transpose(1, 2).reshape(B * n, D)
    w = tok[idx]                                                    # [R, S*S, D]
    m = removed.unsqueeze(-1)
    w = w * (1 - m) + mask_token * m
    t = torch.cat([cls.expand(rows, -1, -1), w], dim=1)
    buckets = product_buckets(S).view(1, 1, S * S + 1, S * S + 1)
    for blk in blocks:
        t = blk(t, buckets)
    pred = head(norm(t))[:, 1:]
    target = norm_pix(x, P).reshape(B * n, -1)[idx]
    loss = (((pred - target) ** 2).mean(dim=-1) * removed).sum() / removed.sum()
    loss.backward()

    params = [("cls_token", cls)]
    params += [("patch_embed.proj.weight", patch_embed.weight), ("patch_embed.proj.bias", patch_embed.bias)]
    for i, blk in enumerate(blocks):
        params += [(k, v) for k, v in named(blk, f"blocks.{i}.") if "rpe_k" not in k]
    params += named(norm, "norm.")
    for i, blk in enumerate(blocks):
        params += [(f"blocks.{i}.attn.rpe_k.lookup_table_weight", blk.attn.table)]
    params += [("mask_token", mask_token)]
    params += named(head, "head.")
    entries = [("input", x.detach()), ("tops", tops.float()), ("lefts", lefts.float()), ("removed", removed),
               ("buckets", product_buckets(S).float()), ("loss", loss.detach().reshape(1))]
    entries += [("param." + k, v.detach()) for k, v in params]
    entries += [("grad." + k, v.grad) for k, v in params]
    write_fixture(os.path.join(OUT, name), entries)
    print(name, "loss", loss.item())


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    mae_fixture()
    lomar_fixture("contextual", "lomar_tiny.pbfx")
    lomar_fixture("table", "lomar_table_tiny.pbfx")
