#!/usr/bin/env python3
"""Writes test/fixtures/torch-tiny.json: a tiny RWKV-4 and a tiny LSTM computed with PyTorch, in float64,
with fixed weights (float32 values) and a fixed batch: inputs, targets, mask, logits, the summed
masked Bernoulli NLL, and the gradient of that loss for every parameter by name.

The RWKV here uses the plain WKV recurrence (no max trick; the values are small), so it checks the
project's stable kernels against the definition as PyTorch's autograd differentiates it.

Usage: python3 tools/make_torch_fixture.py   (needs python3-torch; the project itself never does)
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(1234)
DT = torch.float64
KEYS = 88


def f32(t):
    """Round to float32 values, keep float64 storage, so both sides start from identical numbers."""
    return t.float().double()


class TimeMix(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.time_decay = nn.Parameter(f32(torch.randn(C) * 0.8 - 1.0))
        self.time_first = nn.Parameter(f32(torch.randn(C) * 0.5))
        self.time_mix_k = nn.Parameter(f32(torch.rand(1, 1, C)))
        self.time_mix_v = nn.Parameter(f32(torch.rand(1, 1, C)))
        self.time_mix_r = nn.Parameter(f32(torch.rand(1, 1, C)))
        self.key = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(C, C, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.output = nn.Linear(C, C, bias=False)

    def forward(self, x):  # x [B,T,C]
        xx = F.pad(x, (0, 0, 1, -1))  # x shifted one step later in time, zeros at t = 0
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
        xv = x * self.time_mix_v + xx * (1 - self.time_mix_v)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
        k, v, r = self.key(xk), self.value(xv), torch.sigmoid(self.receptance(xr))
        w = -torch.exp(self.time_decay)
        u = self.time_first
        B, T, C = x.shape
        a = torch.zeros(B, C, dtype=DT)
        b = torch.zeros(B, C, dtype=DT)
        ys = []
        for t in range(T):
            kt, vt = k[:, t], v[:, t]
            eu = torch.exp(u + kt)
            ys.append((a + eu * vt) / (b + eu))
            ek = torch.exp(kt)
            a = torch.exp(w) * a + ek * vt
            b = torch.exp(w) * b + ek
        return self.output(r * torch.stack(ys, dim=1))


class ChannelMix(nn.Module):
    def __init__(self, C, Fd):
        super().__init__()
        self.time_mix_k = nn.Parameter(f32(torch.rand(1, 1, C)))
        self.time_mix_r = nn.Parameter(f32(torch.rand(1, 1, C)))
        self.key = nn.Linear(C, Fd, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(Fd, C, bias=False)

    def forward(self, x):
        xx = F.pad(x, (0, 0, 1, -1))
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
        k = torch.square(torch.relu(self.key(xk)))
        return torch.sigmoid(self.receptance(xr)) * self.value(k)


class Block(nn.Module):
    def __init__(self, i, C, Fd):
        super().__init__()
        if i == 0:
            self.ln0 = nn.LayerNorm(C)
        self.ln1 = nn.LayerNorm(C)
        self.ln2 = nn.LayerNorm(C)
        self.att = TimeMix(C)
        self.ffn = ChannelMix(C, Fd)


class Rwkv(nn.Module):
    def __init__(self, L, C, Fd):
        super().__init__()
        self.emb = nn.Linear(KEYS, C)
        self.blocks = nn.ModuleList([Block(i, C, Fd) for i in range(L)])
        self.ln_out = nn.LayerNorm(C)
        self.head = nn.Linear(C, KEYS)

    def forward(self, x):
        x = self.blocks[0].ln0(self.emb(x))
        for blk in self.blocks:
            x = x + blk.att(blk.ln1(x))
            x = x + blk.ffn(blk.ln2(x))
        return self.head(self.ln_out(x))


class Lstm(nn.Module):
    def __init__(self, layers, H, E):
        super().__init__()
        self.embed = nn.Linear(KEYS, E)
        self.lstm = nn.LSTM(E, H, num_layers=layers, batch_first=True)
        self.head = nn.Linear(H, KEYS)

    def forward(self, x):
        return self.head(self.lstm(self.embed(x))[0])


def randomize(model):
    """Every parameter away from its default (LayerNorms away from 1/0 too), as float32 values."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'time_' in name:
                continue
            if name.endswith('.weight') and p.dim() == 1:  # LayerNorm
                p.copy_(f32(1 + 0.2 * torch.randn_like(p)))
            elif p.dim() == 1:
                p.copy_(f32(0.2 * torch.randn_like(p)))
            else:
                p.copy_(f32(torch.randn_like(p) / p.shape[1] ** 0.5))


def case(model, config, B, T, lens):
    model = model.double()
    randomize(model)
    x = (torch.rand(B, T, KEYS) < 0.15).double()
    y = (torch.rand(B, T, KEYS) < 0.15).double()
    mask = torch.zeros(B, T, dtype=DT)
    for b, n in enumerate(lens):
        mask[b, :n] = 1
    logits = model(x)
    nll = F.binary_cross_entropy_with_logits(logits, y, reduction='none').sum(-1)
    loss = (nll * mask).sum()
    loss.backward()
    # weights are float32 values (9 significant digits are exact for them); results keep 10
    flat = lambda t, digits=10: [float(f'{float(v):.{digits}g}') for v in t.detach().reshape(-1)]
    bits = lambda t: [int(v) for v in t.reshape(-1)]
    return {
        'config': config,
        'B': B, 'T': T,
        'inputs': bits(x), 'targets': bits(y), 'mask': bits(mask),
        'weights': {n: {'shape': list(p.shape), 'data': flat(p, 9)} for n, p in model.named_parameters()},
        'logits': flat(logits),
        'loss': float(loss),
        'grads': {n: flat(p.grad) for n, p in model.named_parameters()},
    }


def main():
    out = {
        'generator': 'tools/make_torch_fixture.py, torch ' + torch.__version__,
        'rwkv': case(Rwkv(2, 8, 16), {'kind': 'rwkv', 'nLayer': 2, 'nEmbd': 8, 'ffn': 16, 'dropout': 0}, 2, 7, [7, 5]),
        'lstm': case(Lstm(2, 8, 6), {'kind': 'lstm', 'layers': 2, 'hidden': 8, 'embed': 6, 'dropout': 0}, 2, 7, [7, 5]),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch-tiny.json')
    with open(path, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', os.path.normpath(path))


if __name__ == '__main__':
    main()
