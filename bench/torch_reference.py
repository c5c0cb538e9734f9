#!/usr/bin/env python3
"""PyTorch reference for bench/train-speed.ts: the same two configurations, the same training step.

Step = zero_grad, forward, BCE-with-logits (summed over the 88 keys, averaged over frames), backward,
clip_grad_norm_(1.0), AdamW (lr 6e-4, betas (0.9, 0.99), eps 1e-8, weight decay 0.01). Frames per
step = batch x T; frames/s from the median of the timed steps after warm-up. Dropout 0.

  LSTM: Linear(88->512), 2x512 nn.LSTM, Linear(512->88); batch 32, T 128
  RWKV-4: 4 layers, n_embd 512, ffn 2048; batch 16, T 256; the WKV recurrence is the exact, stable
          loop over time in torch ops (autograd through the loop), as in RWKV-LM's CPU path.

usage: python3 bench/torch_reference.py [--model lstm|rwkv|both] [--threads 1,2] [--steps 5] [--warmup 2]
Prints "RESULT torch-<model>-<threads> <frames/s>" lines for bench/run.sh.

Debian's python3-torch calls whatever libblas.so.3 the system provides. With the reference BLAS
(package libblas3) its matrix products run at 1-2 GFLOP/s, ~50x slower than with OpenBLAS
(libopenblas0-pthread), which is what the figures in docs/decisions.md used. The script prints the
BLAS library it loaded and a quick sgemm rate so a wrong setup is visible.
"""
import argparse
import math
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

KEYS = 88


class LstmModel(nn.Module):
    def __init__(self, embed=512, hidden=512, layers=2):
        super().__init__()
        self.emb = nn.Linear(KEYS, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, KEYS)

    def forward(self, x):
        return self.head(self.lstm(self.emb(x))[0])


def token_shift(x):
    """xx_t = x_{t-1}, xx_0 = 0, over [B, T, C]."""
    return F.pad(x, (0, 0, 1, -1))


def wkv(w, u, k, v):
    """Exact stable WKV over time: w = -exp(time_decay), u = time_first; k, v [B, T, C]."""
    B, T, C = k.shape
    aa = torch.zeros(B, C, dtype=k.dtype)
    bb = torch.zeros(B, C, dtype=k.dtype)
    pp = torch.full((B, C), -1e38, dtype=k.dtype)
    ys = []
    for t in range(T):
        kt = k[:, t]
        vt = v[:, t]
        ww = u + kt
        p = torch.maximum(pp, ww)
        e1 = torch.exp(pp - p)
        e2 = torch.exp(ww - p)
        ys.append((e1 * aa + e2 * vt) / (e1 * bb + e2))
        ww = w + pp
        p = torch.maximum(ww, kt)
        e1 = torch.exp(ww - p)
        e2 = torch.exp(kt - p)
        aa = e1 * aa + e2 * vt
        bb = e1 * bb + e2
        pp = p
    return torch.stack(ys, dim=1)


class TimeMix(nn.Module):
    def __init__(self, C, layer, n_layer):
        super().__init__()
        r01 = layer / max(n_layer - 1, 1)
        r10 = 1 - layer / n_layer
        ddd = torch.arange(C, dtype=torch.float32) / C
        h = torch.arange(C, dtype=torch.float32)
        self.time_decay = nn.Parameter(-5 + 8 * (h / (C - 1)) ** (0.7 + 1.3 * r01))
        self.time_first = nn.Parameter(math.log(0.3) + 0.5 * (((h + 1) % 3) - 1))
        self.time_mix_k = nn.Parameter(ddd ** r10)
        self.time_mix_v = nn.Parameter(ddd ** r10 + 0.3 * r01)
        self.time_mix_r = nn.Parameter(ddd ** (0.5 * r10))
        self.key = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(C, C, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.output = nn.Linear(C, C, bias=False)

    def forward(self, x):
        xx = token_shift(x)
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
        xv = x * self.time_mix_v + xx * (1 - self.time_mix_v)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
        k = self.key(xk)
        v = self.value(xv)
        r = torch.sigmoid(self.receptance(xr))
        y = wkv(-torch.exp(self.time_decay), self.time_first, k, v)
        return self.output(r * y)


class ChannelMix(nn.Module):
    def __init__(self, C, F_, layer, n_layer):
        super().__init__()
        r10 = 1 - layer / n_layer
        ddd = torch.arange(C, dtype=torch.float32) / C
        self.time_mix_k = nn.Parameter(ddd ** r10)
        self.time_mix_r = nn.Parameter(ddd ** r10)
        self.key = nn.Linear(C, F_, bias=False)
        self.value = nn.Linear(F_, C, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)

    def forward(self, x):
        xx = token_shift(x)
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
        k = torch.square(torch.relu(self.key(xk)))
        return torch.sigmoid(self.receptance(xr)) * self.value(k)


class Block(nn.Module):
    def __init__(self, C, F_, layer, n_layer):
        super().__init__()
        self.ln1 = nn.LayerNorm(C)
        self.ln2 = nn.LayerNorm(C)
        self.att = TimeMix(C, layer, n_layer)
        self.ffn = ChannelMix(C, F_, layer, n_layer)

    def forward(self, x):
        x = x + self.att(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class RwkvModel(nn.Module):
    def __init__(self, n_layer=4, C=512, F_=2048):
        super().__init__()
        self.emb = nn.Linear(KEYS, C)
        self.ln0 = nn.LayerNorm(C)
        self.blocks = nn.ModuleList([Block(C, F_, i, n_layer) for i in range(n_layer)])
        self.ln_out = nn.LayerNorm(C)
        self.head = nn.Linear(C, KEYS, bias=False)

    def forward(self, x):
        x = self.ln0(self.emb(x))
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln_out(x))


SETUPS = {
    'lstm': (lambda: LstmModel(), 32, 128),
    'rwkv': (lambda: RwkvModel(), 16, 256),
}


def bench(name, threads, steps, warmup):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    make, B, T = SETUPS[name]
    model = make()
    frames = torch.rand(B, T + 1, KEYS) < 0.045
    x = frames[:, :-1].float()
    y = frames[:, 1:].float()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01)
    times = []
    for s in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.binary_cross_entropy_with_logits(logits, y, reduction='sum') / (B * T)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if s >= warmup:
            times.append(dt)
    step = statistics.median(times)
    fps = B * T / step
    print(f'torch {torch.__version__} {name} threads={threads}: {fps:.0f} frames/s '
          f'(median step {step * 1000:.0f} ms, min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}; '
          f'loss {loss.item():.3f})', flush=True)
    print(f'RESULT torch-{name}-{threads} {fps:.1f}', flush=True)
    return fps


def blas_check():
    """Which libblas is mapped, and a quick 1024^3 sgemm rate with the current thread setting."""
    lib = 'unknown'
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                if 'blas' in line:
                    lib = line.split()[-1]
                    break
    except OSError:
        pass
    a = torch.randn(1024, 1024)
    a @ a
    t0 = time.perf_counter()
    for _ in range(3):
        a @ a
    gf = 3 * 2 * 1024 ** 3 / (time.perf_counter() - t0) / 1e9
    warn = '  <-- reference BLAS? install libopenblas0-pthread' if gf < 20 else ''
    print(f'BLAS {lib}: 1024^3 sgemm {gf:.0f} GFLOP/s{warn}', flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='both', choices=['lstm', 'rwkv', 'both'])
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=2)
    a = ap.parse_args()
    print(f'PyTorch reference: {os.cpu_count()} cores, load {" ".join(f"{x:.2f}" for x in os.getloadavg())}, '
          f'OPENBLAS_NUM_THREADS={os.environ.get("OPENBLAS_NUM_THREADS", "unset")}', flush=True)
    blas_check()
    for name in (['lstm', 'rwkv'] if a.model == 'both' else [a.model]):
        for t in (int(s) for s in a.threads.split(',')):
            bench(name, t, a.steps, a.warmup)


if __name__ == '__main__':
    main()
