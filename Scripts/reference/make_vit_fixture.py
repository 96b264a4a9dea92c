#!/usr/bin/env python3
"""Reference fixture for the tiny ViT: outputs, loss, every parameter gradient, and the
parameters after 3 AdamW steps, computed by PyTorch (CPU, float32).

Usage: python3 Scripts/reference/make_vit_fixture.py  (needs torch; pip install torch==2.13.0)
Writes Tests/LayersTests/Fixtures/tiny_vit.pbfx (format: fixture_format.py).

Model: image 16x16x3, patch 4 (16 tokens + CLS), dim 32, depth 2, heads 2, MLP ratio 4,
pre-norm blocks, LayerNorm eps 1e-6, exact GELU, learned position embedding, final LayerNorm,
head Linear(32, 5) on the CLS token, cross-entropy. Parameter names are timm's.
AdamW(lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.05 on tensors of rank >= 2 only).
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from fixture_format import write_fixture  # noqa: E402

IMG, P, D, DEPTH, HEADS, CLASSES, BATCH = 16, 4, 32, 2, 2, 5, 3


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D, 3 * D)
        self.proj = nn.Linear(D, D)

    def forward(self, x):
        b, t, d = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, HEADS, d // HEADS).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        a = (q @ k.transpose(-2, -1)) * (d // HEADS) ** -0.5
        o = a.softmax(dim=-1) @ v
        return self.proj(o.transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(D, 4 * D)
        self.fc2 = nn.Linear(4 * D, D)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(D, eps=1e-6)
        self.attn = Attention()
        self.norm2 = nn.LayerNorm(D, eps=1e-6)
        self.mlp = Mlp()

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, D, kernel_size=P, stride=P)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        n = (IMG // P) ** 2
        self.cls_token = nn.Parameter(torch.randn(1, 1, D) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, D) * 0.02)
        self.patch_embed = PatchEmbed()
        self.blocks = nn.ModuleList([Block() for _ in range(DEPTH)])
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.head = nn.Linear(D, CLASSES)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm(x)[:, 0])


def main():
    torch.manual_seed(0)
    model = ViT()
    # Non-trivial norm parameters so their gradients are exercised.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    x = torch.randn(BATCH, 3, IMG, IMG)
    y = torch.tensor([0, 3, 4])
    names = [n for n, _ in model.named_parameters()]
    entries = [("input", x), ("labels", y.float())]
    entries += [("param." + n, p.detach().clone()) for n, p in model.named_parameters()]

    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8, foreach=False)
    for step in range(3):
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if step == 0:
            entries += [("logits", logits.detach()), ("loss", loss.detach().reshape(1))]
            entries += [("grad." + n, p.grad.detach().clone()) for n, p in model.named_parameters()]
        entries.append(("loss_step%d" % step, loss.detach().reshape(1)))
        opt.step()
    entries += [("step3." + n, p.detach().clone()) for n, p in model.named_parameters()]
    out = os.path.join(os.path.dirname(__file__), "../../Tests/LayersTests/Fixtures/tiny_vit.pbfx")
    write_fixture(os.path.normpath(out), entries)
    print("wrote", os.path.normpath(out), "with", len(entries), "entries;", "torch", torch.__version__, "params", names[:4], "...")


if __name__ == "__main__":
    main()
