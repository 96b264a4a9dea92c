#!/usr/bin/env python3
"""RandSAC reference fixture: loss and every parameter gradient of a PyTorch RandSAC written
from the paper's text, NOT the authors' code. RandSAC (Hua et al., ICLR'23) has no public code,
so this is a SECOND IMPLEMENTATION of shared/specs/spatialreasoning-randsac-lomar.md §2.1 with
explicit dense masks over gathered sequences, not a reference in the sense of the other fixture
scripts, and it is not independent of PatchBench where the paper is silent. It COPIES these
answers to the spec's unknowns from PatchBench (Documentation/Objectives/RandSAC.md), so the
parity test cannot catch a wrong one:
  - the skip-mix weights are a softmax over the encoder layers of each decoder layer's row of
    skip_mix (the spec: "normalization/softmax of W unknown"), and the embedding layer is not
    mixed in (the spec: "whether the embedding layer counts" unknown);
  - the normalisation of the mixed features (unknown): each block output H^k goes through a
    LayerNorm before the mix, RandSAC's own skip_norms.k for k < L and the encoder's final
    norm for H^L (the encoder's output, which the vanilla decoder reads for every layer);
  - one decoder_embed Linear shared by every decoder layer's memory (the paper does not say
    whether each layer projects its own);
  - the norm-pix target with the UNBIASED per-patch variance and eps 1e-6, as MAE's code
    computes it (the spec says "per-patch normalized pixels as in MAE", no estimator or eps).
What the fixture does check is that PatchBench's raster layout with masks computes the same loss
and gradients as the paper's gathered-sequence formulation, given those choices. PatchBench's
correctness rests first on the properties of RandSACTests (Tests/ObjectivesTests).

Usage:
  python3 Scripts/reference/make_randsac_fixture.py [--out DIR]
Needs torch and numpy (tested with torch 2.13.0+cpu, numpy 2.4.6). Writes DIR/randsac_skip_tiny.pbfx
and DIR/randsac_vanilla_tiny.pbfx (default DIR Tests/ObjectivesTests/Fixtures/; format:
fixture_format.py).

THE PAPER'S FORMULATION, LITERALLY (what this script does)
  Per sample, the serialized segments s_1..s_K are gathered into sequences:
  - encoder input: the tokens of s_1..s_{K-1} in serialized order (the last segment is DROPPED),
    each with its 2-D sin-cos position; attention mask "rank_j <= rank_i" (block-causal);
  - decoder input: position-only queries (decoder sin-cos, no content) for the tokens of
    s_2..s_K in serialized order (the first segment is DROPPED); self-attention mask
    "rank_j <= rank_i" over these queries; cross-attention to the encoder tokens with
    "rank_j < rank_i";
  - memory of decoder layer l: decoder_embed(sum_k softmax(skip_mix[l])_k * LN_k(H^k)), H^k the
    output of encoder block k, LN_k = skip_norms.k for k < L and the encoder's final norm for
    k = L (without the skip mix: norm(H^L) for every layer);
  - loss: MAE's norm-pix MSE per token, averaged over every predicted token of the batch.
  Samples have different sequence lengths (blob segments differ in size), so each sample runs
  alone and the per-token errors are pooled.
PatchBench instead keeps every sample's N tokens in raster order and expresses the order only
through [N, N] masks (Sources/Objectives/Serialization.swift): the last segment is encoded but
seen by nothing, the first segment's query rows are computed but seen by nothing and carry no
loss. Equal losses and gradients here show the two are the same objective.

FIXED VALUES
  Config: 16 px images, patch 4 (4 x 4 grid), encoder width 16, depth 2, 2 heads, MLP 4, no CLS;
  decoder width 12, depth 2, 2 heads; LayerNorm eps 1e-6; exact GELU.
  Weights: PyTorch default initialisation (seed 0), then + 0.05 * N(0, 1) on every tensor (so
  the skip mix's norms and the encoder's final norm differ, and a norm applied to the wrong
  block shows); skip_mix ~ N(0, 1) (zero at PatchBench's init, which would not test the softmax).
  Images: N(0, 1), batch 3. Orders ("rank" [3, 16], the rank of each token's segment):
  sample 0: the four 2x2-token squares in a fixed non-raster order (flat: a 4 x 4 grid has no
  16 -> 4 hierarchy); sample 1: 5 segments of unequal sizes
  (3, 5, 1, 4, 3 tokens, not contiguous); sample 2: one token per segment, random order.

ENTRIES (one file per arm: skip, with the skip mix; vanilla, the same weights without it)
  images [3, 3, 16, 16]; rank [3, 16]; loss [1]; init.<key> and step1.grad.<key> under
  PatchBench's parameter keys.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_format import write_fixture  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "ObjectivesTests", "Fixtures")
IMG, P, C, D, DEPTH, H, DD, DDEPTH, DH = 16, 4, 3, 16, 2, 2, 12, 2, 2
G = IMG // P
N = G * G
EPS = 1e-6


def sincos_2d(dim, grid):
    """MAE's get_2d_sincos_pos_embed (no CLS), written from its definition: half the channels
    encode the column, half the row; each half sin | cos of pos * 1 / 10000^(2i/(dim/2))."""
    def one_d(d, pos):
        omega = 1.0 / 10000 ** (np.arange(d // 2, dtype=np.float64) / (d / 2.0))
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    gw, gh = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64))
    return np.concatenate([one_d(dim // 2, gw), one_d(dim // 2, gh)], axis=1)  # [grid*grid, dim], raster


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, allowed):
        n, d = x.shape
        q, k, v = self.qkv(x).reshape(n, 3, self.heads, d // self.heads).permute(1, 2, 0, 3)
        return self.proj(masked_attention(q, k, v, allowed).transpose(0, 1).reshape(n, d))


class CrossAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x, memory, allowed):
        split = lambda t: t.reshape(t.shape[0], self.heads, -1).transpose(0, 1)  # noqa: E731
        out = masked_attention(split(self.q(x)), split(self.k(memory)), split(self.v(memory)), allowed)
        return self.proj(out.transpose(0, 1).reshape(x.shape[0], -1))


def masked_attention(q, k, v, allowed):
    """q [H, Nq, dh], k, v [H, Nk, dh], allowed [Nq, Nk] bool (every row has a True)."""
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~allowed, float("-inf"))
    return scores.softmax(-1) @ v


class Mlp(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class EncoderBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.attn, self.norm2, self.mlp = nn.LayerNorm(D, eps=EPS), Attention(D, H), nn.LayerNorm(D, eps=EPS), Mlp(D)

    def forward(self, x, allowed):
        x = x + self.attn(self.norm1(x), allowed)
        return x + self.mlp(self.norm2(x))


class DecoderBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(DD, eps=EPS), Attention(DD, DH)
        self.norm2, self.cross_attn = nn.LayerNorm(DD, eps=EPS), CrossAttention(DD, DH)
        self.norm3, self.mlp = nn.LayerNorm(DD, eps=EPS), Mlp(DD)

    def forward(self, y, memory, self_allowed, memory_allowed):
        y = y + self.attn(self.norm1(y), self_allowed)
        y = y + self.cross_attn(self.norm2(y), memory, memory_allowed)
        return y + self.mlp(self.norm3(y))


class RandSAC(nn.Module):
    def __init__(self, skip_mix):
        super().__init__()
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(C, D, P, P)
        self.blocks = nn.ModuleList(EncoderBlock() for _ in range(DEPTH))
        self.norm = nn.LayerNorm(D, eps=EPS)
        self.skip_mix = nn.Parameter(torch.zeros(DDEPTH, DEPTH)) if skip_mix else None
        self.skip_norms = nn.ModuleList(nn.LayerNorm(D, eps=EPS) for _ in range(DEPTH - 1)) if skip_mix else None
        self.decoder_embed = nn.Linear(D, DD)
        self.decoder_blocks = nn.ModuleList(DecoderBlock() for _ in range(DDEPTH))
        self.decoder_norm = nn.LayerNorm(DD, eps=EPS)
        self.decoder_pred = nn.Linear(DD, P * P * C)
        self.register_buffer("pos", torch.tensor(sincos_2d(D, G), dtype=torch.float32))
        self.register_buffer("dec_pos", torch.tensor(sincos_2d(DD, G), dtype=torch.float32))

    def sample_errors(self, image, rank, target):
        """Per-token squared errors of the predicted tokens of one sample."""
        order = sorted(range(N), key=lambda t: (rank[t], t))            # serialized order
        last = max(rank)
        enc = [t for t in order if rank[t] < last]                      # s_1 .. s_{K-1}
        dec = [t for t in order if rank[t] > 0]                         # s_2 .. s_K
        r_enc, r_dec = torch.tensor([rank[t] for t in enc]), torch.tensor([rank[t] for t in dec])
        tokens = self.patch_embed.proj(image[None]).flatten(2).transpose(1, 2)[0] + self.pos
        x = tokens[enc]
        enc_allowed = r_enc[None, :] <= r_enc[:, None]
        hidden = []
        for block in self.blocks:
            x = block(x, enc_allowed)
            hidden.append(x)
        output = self.norm(hidden[-1])                                  # the encoder's output
        if self.skip_mix is None:
            memories = [output] * DDEPTH
        else:
            features = [ln(h) for ln, h in zip(self.skip_norms, hidden[:-1])] + [output]
            weights = self.skip_mix.softmax(-1)
            memories = [sum(weights[l, k] * features[k] for k in range(DEPTH)) for l in range(DDEPTH)]
        y = self.dec_pos[dec]
        self_allowed = r_dec[None, :] <= r_dec[:, None]
        memory_allowed = r_enc[None, :] < r_dec[:, None]
        for block, z in zip(self.decoder_blocks, memories):
            y = block(y, self.decoder_embed(z), self_allowed, memory_allowed)
        prediction = self.decoder_pred(self.decoder_norm(y))
        return ((prediction - target[dec]) ** 2).mean(-1)

    def forward(self, images, ranks):
        # MAE's patchify (i, j, c) and norm-pix target: per-patch mean and unbiased variance.
        b = images.shape[0]
        patches = images.reshape(b, C, G, P, G, P).permute(0, 2, 4, 3, 5, 1).reshape(b, N, P * P * C)
        mean, var = patches.mean(-1, keepdim=True), patches.var(-1, keepdim=True, unbiased=True)
        target = (patches - mean) / (var + EPS) ** 0.5
        return torch.cat([self.sample_errors(images[i], ranks[i], target[i]) for i in range(b)]).mean()

    def named_tensors(self):
        """PatchBench's keys, in its order (RandSAC.namedParameters)."""
        out = [("patch_embed.proj.weight", self.patch_embed.proj.weight), ("patch_embed.proj.bias", self.patch_embed.proj.bias)]
        out += [(f"blocks.{k}", v) for k, v in self.blocks.named_parameters()]
        out += [("norm.weight", self.norm.weight), ("norm.bias", self.norm.bias)]
        if self.skip_mix is not None:
            out.append(("skip_mix", self.skip_mix))
            out += [(f"skip_norms.{k}", v) for k, v in self.skip_norms.named_parameters()]
        out += [(f"decoder_embed.{k}", v) for k, v in self.decoder_embed.named_parameters()]
        out += [(f"decoder_blocks.{k}", v) for k, v in self.decoder_blocks.named_parameters()]
        out += [(f"decoder_norm.{k}", v) for k, v in self.decoder_norm.named_parameters()]
        out += [(f"decoder_pred.{k}", v) for k, v in self.decoder_pred.named_parameters()]
        return out


def orders(rng):
    squares = [(t // G // 2) * 2 + (t % G) // 2 for t in range(N)]          # 4 squares of 2x2
    square_rank = [[2, 0, 3, 1][s] for s in squares]
    sizes = [3, 5, 1, 4, 3]
    segment_of = np.repeat(np.arange(5), sizes)[rng.permutation(N)]            # unequal, not contiguous
    segment_rank = [[3, 1, 4, 0, 2][s] for s in segment_of]
    return [square_rank, segment_rank, list(rng.permutation(N))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    ranks = orders(rng)
    images = torch.randn(3, C, IMG, IMG)
    shared = [("images", images.numpy()), ("rank", np.array(ranks, dtype=np.float32))]
    base = RandSAC(skip_mix=True)
    with torch.no_grad():
        for _, p in base.named_tensors():
            p.add_(0.05 * torch.randn_like(p)) if p is not base.skip_mix else p.copy_(torch.randn_like(p))
    for arm, skip in (("skip", True), ("vanilla", False)):
        model = RandSAC(skip_mix=skip)
        state = {k: v for k, v in base.state_dict().items() if skip or not k.startswith("skip_")}
        model.load_state_dict(state)
        loss = model(images, ranks)
        loss.backward()
        entries = shared + [("loss", np.array([loss.item()]))]
        for key, p in model.named_tensors():
            entries.append((f"init.{key}", p.detach().numpy()))
            entries.append((f"step1.grad.{key}", p.grad.numpy()))
        path = os.path.join(args.out, f"randsac_{arm}_tiny.pbfx")
        write_fixture(path, entries)
        print(f"{arm}: loss {loss.item():.7f}; wrote {path} ({len(entries)} entries)")


if __name__ == "__main__":
    main()
