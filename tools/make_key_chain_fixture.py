#!/usr/bin/env python3
"""Writes test/fixtures/torch-key-chain.json.gz: a tiny LSTM and a tiny RWKV-4 with the key-chain output head,
computed with PyTorch in float64 from fixed weights and a fixed batch (same layout as torch-tiny.json:
inputs, targets, mask, weights, logits, the summed masked Bernoulli NLL and every parameter's gradient).

The head is written here from its definition (docs/models.md; masks as in MADE, Germain et al. 2015):
  a = Wc h + bc + (Wk * Mk) y,  logits = head(h) + (Wo * Mo) relu(a) + (Wd * Md) y
with hidden unit k of degree m_k = 1 + (k mod 87), Mk[k, j] = j < m_k, Mo[d, k] = m_k <= d, Md[d, j] = j < d,
and y the target frame. The LSTM's head has 89 hidden units, so the degrees wrap around (units 87 and 88 have
degrees 1 and 2) as they do in the bundled models' 256-unit heads. Masked-out weights are random, not zero:
the project must ignore them.

Weights are drawn on a grid of 1/100 and written as those short decimals; both sides round them to float32.
The three chain matrices make the file large, so it is gzipped (with a fixed time stamp, so a rerun gives the same bytes).

Usage: /usr/bin/python3 tools/make_key_chain_fixture.py   (needs python3-torch; the project itself never does)
"""
import gzip
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_torch_fixture import DT, KEYS, Lstm, Rwkv  # noqa: E402

torch.manual_seed(4321)


class KeyChain(nn.Module):
    def __init__(self, features, hidden):
        super().__init__()
        self.context = nn.Linear(features, hidden)
        self.keys = nn.Linear(KEYS, hidden, bias=False)
        self.out = nn.Linear(hidden, KEYS, bias=False)
        self.direct = nn.Linear(KEYS, KEYS, bias=False)
        degree = 1 + torch.arange(hidden) % (KEYS - 1)
        key = torch.arange(KEYS)
        self.register_buffer('mask_keys', (key[None, :] < degree[:, None]).to(DT))  # [H, 88]
        self.register_buffer('mask_out', (degree[None, :] <= key[:, None]).to(DT))  # [88, H]
        self.register_buffer('mask_direct', torch.tril(torch.ones(KEYS, KEYS, dtype=DT), diagonal=-1))  # [88, 88]

    def forward(self, h, y, base):
        a = self.context(h) + F.linear(y, self.keys.weight * self.mask_keys)
        return base + F.linear(torch.relu(a), self.out.weight * self.mask_out) + F.linear(y, self.direct.weight * self.mask_direct)


class ChainLstm(Lstm):
    def __init__(self, layers, H, E, chain):
        super().__init__(layers, H, E)
        self.chain = KeyChain(H, chain)

    def forward(self, x, y):
        h = self.lstm(self.embed(x))[0]
        return self.chain(h, y, self.head(h))


class ChainRwkv(Rwkv):
    def __init__(self, L, C, Fd, chain):
        super().__init__(L, C, Fd)
        self.chain = KeyChain(C, chain)

    def forward(self, x, y):
        x = self.blocks[0].ln0(self.emb(x))
        for blk in self.blocks:
            x = x + blk.att(blk.ln1(x))
            x = x + blk.ffn(blk.ln2(x))
        h = self.ln_out(x)
        return self.chain(h, y, self.head(h))


def on_grid(t):
    return torch.round(t * 100) / 100


def randomize(model):
    """Every parameter away from its default, on the 1/100 grid; RWKV's time_* too (decay kept negative enough)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('time_decay'):
                value = torch.randn_like(p) * 0.8 - 1.0
            elif name.endswith('time_first'):
                value = torch.randn_like(p) * 0.5
            elif 'time_mix' in name:
                value = torch.rand_like(p)
            elif name.endswith('.weight') and p.dim() == 1:  # LayerNorm
                value = 1 + 0.2 * torch.randn_like(p)
            elif p.dim() == 1:
                value = 0.2 * torch.randn_like(p)
            else:
                value = torch.randn_like(p) / p.shape[1] ** 0.5
            p.copy_(on_grid(value).float().double())


def case(model, config, B, T, lens):
    model = model.double()
    randomize(model)
    x = (torch.rand(B, T, KEYS) < 0.15).double()
    y = (torch.rand(B, T, KEYS) < 0.15).double()
    mask = torch.zeros(B, T, dtype=DT)
    for b, n in enumerate(lens):
        mask[b, :n] = 1
    logits = model(x, y)
    nll = F.binary_cross_entropy_with_logits(logits, y, reduction='none').sum(-1)
    loss = (nll * mask).sum()
    loss.backward()
    flat = lambda t, digits=6: [float(f'{float(v):.{digits}g}') for v in t.detach().reshape(-1)]
    grid = lambda t: [round(float(v), 2) for v in t.detach().reshape(-1)]
    bits = lambda t: [int(v) for v in t.reshape(-1)]
    return {
        'config': config,
        'B': B, 'T': T,
        'inputs': bits(x), 'targets': bits(y), 'mask': bits(mask),
        'weights': {n: {'shape': list(p.shape), 'data': grid(p)} for n, p in model.named_parameters()},
        'logits': flat(logits),
        'loss': float(loss),
        'grads': {n: flat(p.grad, 5) for n, p in model.named_parameters()},
    }


def main():
    out = {
        'generator': 'tools/make_key_chain_fixture.py, torch ' + torch.__version__,
        'lstm': case(ChainLstm(1, 8, 6, 89), {'kind': 'lstm', 'layers': 1, 'hidden': 8, 'embed': 6, 'dropout': 0, 'keyChain': 89}, 2, 5, [5, 3]),
        'rwkv': case(ChainRwkv(1, 8, 16, 6), {'kind': 'rwkv', 'nLayer': 1, 'nEmbd': 8, 'ffn': 16, 'dropout': 0, 'keyChain': 6}, 2, 5, [5, 4]),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch-key-chain.json.gz')
    text = json.dumps(out, separators=(',', ':')) + '\n'
    with open(path, 'wb') as f, gzip.GzipFile(filename='', mode='wb', fileobj=f, compresslevel=9, mtime=0) as z:
        z.write(text.encode())
    print('wrote', os.path.normpath(path))


if __name__ == '__main__':
    main()
