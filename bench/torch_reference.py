#!/usr/bin/env python3
"""PyTorch reference for bench/train-speed.ts: the same two configurations, the same training step,
in the strongest form we know for a CPU.

Step = zero_grad, forward, BCE-with-logits (summed over the 88 keys, averaged over frames), backward,
clip_grad_norm_(1.0), AdamW (lr 6e-4, betas (0.9, 0.99), eps 1e-8, weight decay 0.01). Frames per
step = batch x T; frames/s from the median of the timed steps after warm-up. Dropout 0.

  LSTM: Linear(88->512), 2x512 nn.LSTM, Linear(512->88); batch 32, T 128
  RWKV-4: 4 layers, n_embd 512, ffn 2048; batch 16, T 256. WKV is a torch.autograd.Function whose
          forward and backward are each one loop over time in torch ops with the closed-form
          gradients (how RWKV-LM trains it, there with a CUDA kernel); `--wkv loop` also times the
          weak form, autograd through the loop.

Each model runs under both OpenBLAS kernel settings, each in its own process: as this machine's
environment sets OPENBLAS_CORETYPE ("machine"), and with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset
so that OpenBLAS picks its own kernels ("own"); and under each of OpenBLAS's own thread counts
(OPENBLAS_NUM_THREADS, default 1 and 2). OpenBLAS keeps a thread per core of its own unless that is
set, whatever torch.set_num_threads says, so "1 torch thread" alone does not say how many cores the
products use. The best of all runs is the reference.

usage: python3 bench/torch_reference.py [--model lstm|rwkv|both] [--wkv function|loop|both]
           [--blas machine,own] [--blas-threads 1,2] [--threads 1] [--steps 5] [--warmup 2]
       python3 bench/torch_reference.py --check      # WkvFunction's gradients against autograd
Prints "RESULT torch-<model> <frames/s> <setting>" per run and "RESULT torch-best-<model> ..." for
bench/run.sh.

Debian's python3-torch calls whatever libblas.so.3 the system provides. With the reference BLAS
(package libblas3) its matrix products run at 1-2 GFLOP/s, ~50x slower than with OpenBLAS
(libopenblas0-pthread). The script prints the BLAS library it loaded and a quick sgemm rate so a
wrong setup is visible.
"""
import argparse
import math
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# The plain WKV recurrence has one owner, the PyTorch trainer's package (python/rwkv_music_torch).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))
from rwkv_music_torch.wkv import wkv_loop  # noqa: E402  (the weak reference; autograd through it)

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


class WkvFunction(torch.autograd.Function):
    """WKV with its closed-form gradients: the forward is one loop over time that also keeps four
    factors per (b, t, c), all in [0, 1] (the same as src/engine/layers/wkv.ts keeps); the backward is
    one loop backward in time over [B, C] tensors. With pp_t the state's scale before step t and
    p_t = max(pp_t, u + k_t):
      decay_t = e^{w + pp_t - pp_{t+1}}, ek_t = e^{k_t - pp_{t+1}}, g_t = e^{pp_t} / D_t, cu_t = e^{u+k_t} / D_t.
    The backward carries, scaled by e^{pp_{t+1}} (docs/models.md, "The WKV operator"),
      P_t = sum_{s>t} e^{(s-1-t)w} gy_s / D_s, Q_t = the same with gy_s y_s, P1_t, Q1_t = the same
      weighted by (s-1-t), so that gv_t = gy_t cu_t + ek_t P_t, gk_t = gy_t cu_t (v_t - y_t)
      + ek_t (v_t P_t - Q_t), gu = sum_t gy_t cu_t (v_t - y_t), gw = sum_t ek_t (v_t P1_t - Q1_t)."""

    @staticmethod
    def forward(ctx, time_decay, time_first, k, v):
        B, T, C = k.shape
        w = -torch.exp(time_decay)
        uk = time_first + k
        aa = torch.zeros(B, C, dtype=k.dtype)
        bb = torch.zeros(B, C, dtype=k.dtype)
        pp = torch.full((B, C), -1e38, dtype=k.dtype)
        y = torch.empty_like(k)
        decay = torch.empty_like(k)
        ek = torch.empty_like(k)
        g = torch.empty_like(k)
        cu = torch.empty_like(k)
        for t in range(T):
            kt = k[:, t]
            vt = v[:, t]
            ukt = uk[:, t]
            p = torch.maximum(pp, ukt)
            o1 = torch.exp(pp - p)
            o2 = torch.exp(ukt - p)
            inv = torch.reciprocal(torch.addcmul(o2, o1, bb))
            y[:, t] = torch.addcmul(o2 * vt, o1, aa) * inv
            torch.mul(o1, inv, out=g[:, t])
            torch.mul(o2, inv, out=cu[:, t])
            wp = w + pp
            q = torch.maximum(wp, kt)
            s1 = torch.exp(wp - q)
            s2 = torch.exp(kt - q)
            decay[:, t] = s1
            ek[:, t] = s2
            aa = torch.addcmul(s2 * vt, s1, aa)
            bb = torch.addcmul(s2, s1, bb)
            pp = q
        ctx.save_for_backward(time_decay, v, y, decay, ek, g, cu)
        return y

    @staticmethod
    def backward(ctx, gy):
        time_decay, v, y, decay, ek, g, cu = ctx.saved_tensors
        B, T, C = v.shape
        gy = gy.contiguous()
        direct = gy * cu
        dd = direct * (v - y)
        gg = gy * g
        ggy = gg * y
        P = torch.zeros(B, C, dtype=v.dtype)
        Q = torch.zeros_like(P)
        P1 = torch.zeros_like(P)
        Q1 = torch.zeros_like(P)
        Ps = torch.empty_like(v)
        Qs = torch.empty_like(v)
        P1s = torch.empty_like(v)
        Q1s = torch.empty_like(v)
        for t in range(T - 1, -1, -1):
            Ps[:, t] = P
            Qs[:, t] = Q
            P1s[:, t] = P1
            Q1s[:, t] = Q1
            e = decay[:, t]
            P1 = (P1 + P) * e
            Q1 = (Q1 + Q) * e
            P = torch.addcmul(gg[:, t], e, P)
            Q = torch.addcmul(ggy[:, t], e, Q)
        gv = direct + ek * Ps
        gk = dd + ek * (v * Ps - Qs)
        gu = dd.sum((0, 1))
        gw = (ek * (v * P1s - Q1s)).sum((0, 1))
        return gw * -torch.exp(time_decay), gu, gk, gv


def wkv_function(time_decay, time_first, k, v):
    return WkvFunction.apply(time_decay, time_first, k, v)


def wkv_autograd(time_decay, time_first, k, v):
    return wkv_loop(-torch.exp(time_decay), time_first, k, v)


WKV = {'function': wkv_function, 'loop': wkv_autograd}


class TimeMix(nn.Module):
    def __init__(self, C, layer, n_layer, wkv):
        super().__init__()
        self.wkv = WKV[wkv]
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
        y = self.wkv(self.time_decay, self.time_first, k, v)
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
    def __init__(self, C, F_, layer, n_layer, wkv):
        super().__init__()
        self.ln1 = nn.LayerNorm(C)
        self.ln2 = nn.LayerNorm(C)
        self.att = TimeMix(C, layer, n_layer, wkv)
        self.ffn = ChannelMix(C, F_, layer, n_layer)

    def forward(self, x):
        x = x + self.att(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class RwkvModel(nn.Module):
    def __init__(self, n_layer=4, C=512, F_=2048, wkv='function'):
        super().__init__()
        self.emb = nn.Linear(KEYS, C)
        self.ln0 = nn.LayerNorm(C)
        self.blocks = nn.ModuleList([Block(C, F_, i, n_layer, wkv) for i in range(n_layer)])
        self.ln_out = nn.LayerNorm(C)
        self.head = nn.Linear(C, KEYS, bias=False)

    def forward(self, x):
        x = self.ln0(self.emb(x))
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln_out(x))


# name -> (model factory, batch, T)
SETUPS = {
    'lstm': (lambda: LstmModel(), 32, 128),
    'rwkv': (lambda: RwkvModel(wkv='function'), 16, 256),
    'rwkv-loop': (lambda: RwkvModel(wkv='loop'), 16, 256),
}

# OpenBLAS reads these when it loads, so each setting runs in its own process.
BLAS_SETTINGS = {
    'machine': lambda env: env,  # as this machine's environment sets OPENBLAS_CORETYPE
    'own': lambda env: {k: v for k, v in env.items() if k not in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE')},
}


def blas_env(setting, blas_threads):
    env = BLAS_SETTINGS[setting](dict(os.environ))
    env['OPENBLAS_NUM_THREADS'] = str(blas_threads)
    return env


def bench(name, threads, steps, warmup, label):
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
    print(f'torch {torch.__version__} {name} {label}: {fps:.0f} frames/s '
          f'(median step {step * 1000:.0f} ms, min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}; '
          f'loss {loss.item():.3f})', flush=True)
    model_key = 'rwkv' if name.startswith('rwkv') else name
    print(f'RESULT torch-{model_key} {fps:.1f} {label}', flush=True)
    return fps


def blas_check(setting):
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
    warn = '' if 'openblas' in lib else '  <-- not OpenBLAS: install libopenblas0-pthread or set TORCH_BLAS_DIR'
    env = ' '.join(f'{k}={os.environ.get(k, "unset")}' for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS'))
    print(f'BLAS setting {setting} ({env}), {lib}: 1024^3 sgemm {gf:.0f} GFLOP/s '
          f'({torch.get_num_threads()} thread(s)){warn}', flush=True)


def check_wkv():
    """WkvFunction against autograd through wkv_loop, float64, including keys large enough to
    overflow e^k without the max tricks. Returns the largest relative error seen."""
    torch.manual_seed(3)
    worst = 0.0
    for B, T, C, kscale in ((2, 17, 5, 1.0), (3, 40, 8, 30.0), (1, 64, 4, 400.0)):
        td = (torch.randn(C, dtype=torch.float64) * 1.5).requires_grad_()
        tf = torch.randn(C, dtype=torch.float64).requires_grad_()
        k = (torch.randn(B, T, C, dtype=torch.float64) * kscale).requires_grad_()
        v = torch.randn(B, T, C, dtype=torch.float64).requires_grad_()
        gy = torch.randn(B, T, C, dtype=torch.float64)
        grads = []
        for f in (wkv_function, wkv_autograd):
            y = f(td, tf, k, v)
            gs = torch.autograd.grad(y, (td, tf, k, v), gy)
            grads.append((y.detach(),) + gs)
        for name, a, b in zip(('y', 'time_decay', 'time_first', 'k', 'v'), grads[0], grads[1]):
            err = ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()
            worst = max(worst, err)
            print(f'  B {B} T {T} C {C} |k|~{kscale:g}: {name:10s} max relative error {err:.2e}')
    # and the derivative of a scalar against central differences, small sizes
    td = torch.randn(3, dtype=torch.float64).requires_grad_()
    tf = torch.randn(3, dtype=torch.float64).requires_grad_()
    k = torch.randn(2, 6, 3, dtype=torch.float64).requires_grad_()
    v = torch.randn(2, 6, 3, dtype=torch.float64).requires_grad_()
    ok = torch.autograd.gradcheck(wkv_function, (td, tf, k, v), eps=1e-6, atol=1e-7, rtol=1e-5)
    print(f'  torch.autograd.gradcheck (central differences): {"ok" if ok else "FAILED"}')
    return worst if ok else float('inf')


def check_model():
    """A small RWKV with WkvFunction and the same one with the autograd loop: same loss and gradients."""
    torch.manual_seed(4)
    models = [RwkvModel(n_layer=2, C=32, F_=64, wkv=w).double() for w in ('function', 'loop')]
    models[1].load_state_dict(models[0].state_dict())
    x = (torch.rand(3, 20, KEYS) < 0.1).double()
    y = (torch.rand(3, 20, KEYS) < 0.1).double()
    worst = 0.0
    for m in models:
        F.binary_cross_entropy_with_logits(m(x), y, reduction='sum').backward()
    for (name, a), b in zip(models[0].named_parameters(), models[1].parameters()):
        err = ((a.grad - b.grad).abs().max() / b.grad.abs().max().clamp_min(1e-30)).item()
        worst = max(worst, err)
    print(f'  2-layer RWKV, every parameter: max relative gradient error {worst:.2e}')
    return worst


def run_child(a):
    blas_check(a.blas_child)
    for t in (int(s) for s in a.threads.split(',')):
        torch.set_num_threads(t)
        for name in a.child_models.split(','):
            bench(name, t, a.steps, a.warmup, f'{name}/{a.blas_child}/blas{os.environ["OPENBLAS_NUM_THREADS"]}/{t}t')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='both', choices=['lstm', 'rwkv', 'both'])
    ap.add_argument('--wkv', default='function', choices=['function', 'loop', 'both'],
                    help='RWKV\'s WKV: the autograd.Function (strong), the autograd loop (weak), or both')
    ap.add_argument('--blas', default='machine,own', help='OpenBLAS settings to run: machine, own or both')
    ap.add_argument('--blas-threads', default='1,2', help='OpenBLAS thread counts to run (OPENBLAS_NUM_THREADS)')
    ap.add_argument('--threads', default='1', help='torch thread counts to run (torch.set_num_threads)')
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--check', action='store_true', help='check WkvFunction\'s gradients and exit')
    ap.add_argument('--blas-child', help=argparse.SUPPRESS)
    ap.add_argument('--child-models', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.check:
        print('WkvFunction against autograd through the loop (float64):')
        worst = max(check_wkv(), check_model())
        print(f'CHECK {"ok" if worst < 1e-9 else "FAILED"} (worst relative error {worst:.2e})')
        sys.exit(0 if worst < 1e-9 else 1)
    if a.blas_child:
        run_child(a)
        return
    print(f'PyTorch reference: {os.cpu_count()} cores, load {" ".join(f"{x:.2f}" for x in os.getloadavg())}', flush=True)
    settings = a.blas.split(',')
    for s in settings:
        if s not in BLAS_SETTINGS:
            sys.exit(f'--blas: unknown setting "{s}" (machine, own)')
    blas_threads = a.blas_threads.split(',')
    for n in blas_threads:
        if not n.isdigit() or int(n) < 1:
            sys.exit(f'--blas-threads: "{n}" is not a thread count')
    best = {}
    for model in (['lstm', 'rwkv'] if a.model == 'both' else [a.model]):
        names = [model] if model == 'lstm' else {'function': ['rwkv'], 'loop': ['rwkv-loop'], 'both': ['rwkv', 'rwkv-loop']}[a.wkv]
        for s, n in ((s, n) for s in settings for n in blas_threads):
            cmd = [sys.executable, __file__, '--blas-child', s, '--child-models', ','.join(names),
                   '--threads', a.threads, '--steps', str(a.steps), '--warmup', str(a.warmup)]
            proc = subprocess.Popen(cmd, env=blas_env(s, n), stdout=subprocess.PIPE, text=True)
            for line in proc.stdout:
                print(line, end='', flush=True)
                f = line.split()
                if len(f) == 4 and f[0] == 'RESULT' and float(f[2]) > best.get(model, (0, ''))[0]:
                    best[model] = (float(f[2]), f[3])
            if proc.wait() != 0:
                sys.exit(f'the reference run {" ".join(cmd)} failed')
    print(f'load {" ".join(f"{x:.2f}" for x in os.getloadavg())}')
    for model, (fps, label) in best.items():
        print(f'strongest PyTorch {model}: {fps:.0f} frames/s ({label})')
        print(f'RESULT torch-best-{model} {fps:.1f} {label}', flush=True)


if __name__ == '__main__':
    main()
