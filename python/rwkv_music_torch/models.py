"""RWKV-4 and the LSTM over piano rolls, with the parameter names, layouts and initialisation of
src/models (rwkv.ts, lstm.ts, key-chain.ts, input-stage.ts, input-lags.ts), so weights move between
the two sides unchanged. Both map inputs [B, T, 88] (with the conditioning columns [B, T, width] of a
model whose config has `condition`, and the target frames, which a key-chain head conditions on) to
logits [B, T, 88]."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import KEYS, condition_width, validate_model_config
from .errors import UserError
from .safetensors_io import model_file_bytes, read_model_file, write_atomic
from .wkv import wkv


def lagged_inputs(x, lags):
    """[B, T, 88] -> [B, T, 88 (1 + len(lags))]: the frame, then the frames lags[j] back (zeros before
    the start of the sequence), as src/models/input-lags.ts."""
    if not lags:
        return x
    parts = [x]
    T = x.shape[1]
    for lag in lags:
        if lag >= T:
            parts.append(torch.zeros_like(x))
        else:
            parts.append(F.pad(x[:, :T - lag], (0, 0, lag, 0)))
    return torch.cat(parts, dim=-1)


def embedding_inputs(x, lags, condition, width):
    """What the embedding reads (src/models/input-stage.ts): [frame | lagged frames | start flag | key one-hot]."""
    rows = lagged_inputs(x, lags)
    if width == 0:
        return rows
    if condition is None or condition.shape[-1] != width:
        raise ValueError(f"the model reads {width} conditioning columns per position; make the batch for this model's config")
    return torch.cat([rows, condition.to(rows.dtype)], dim=-1)


def hidden_degree(k):
    return 1 + (k % (KEYS - 1))


class KeyChainHead(nn.Module):
    """MADE-masked key-chain head (Germain et al. 2015): logit d depends on the features and on the
    keys before d in the chain's order (below d for "up", above d for "down") of the frame being
    predicted. Parameter names chain.context, chain.keys, chain.out, chain.direct as in
    src/models/key-chain.ts; the masks are built on each key's rank in the chain."""

    def __init__(self, features, hidden, order="up"):
        super().__init__()
        H = hidden
        self.hidden = H
        self.features = features
        self.order = order
        self.context = nn.Linear(features, H)
        self.keys = nn.Linear(KEYS, H, bias=False)
        self.out = nn.Linear(H, KEYS, bias=False)
        self.direct = nn.Linear(KEYS, KEYS, bias=False)
        deg = torch.tensor([hidden_degree(k) for k in range(H)])
        rank = torch.arange(KEYS) if order == "up" else KEYS - 1 - torch.arange(KEYS)
        self.register_buffer("mask_keys", (rank.view(1, KEYS) < deg.view(H, 1)).float(), persistent=False)  # [H, 88]
        self.register_buffer("mask_out", (deg.view(1, H) <= rank.view(KEYS, 1)).float(), persistent=False)  # [88, H]
        self.register_buffer("mask_direct", (rank.view(1, KEYS) < rank.view(KEYS, 1)).float(), persistent=False)  # [88, 88]

    def reset_parameters(self):
        b = 1 / math.sqrt(self.features)
        with torch.no_grad():
            self.context.weight.uniform_(-b, b)
            self.context.bias.uniform_(-b, b)
            self.keys.weight.uniform_(-1 / math.sqrt(KEYS), 1 / math.sqrt(KEYS))
            self.keys.weight.mul_(self.mask_keys)
            self.out.weight.zero_()
            self.direct.weight.zero_()

    def forward(self, base, h, y):
        y = y.to(h.dtype)
        a = self.context(h) + F.linear(y, self.keys.weight * self.mask_keys.to(h.dtype))
        z = torch.relu(a)
        return base + F.linear(z, self.out.weight * self.mask_out.to(h.dtype)) + F.linear(y, self.direct.weight * self.mask_direct.to(h.dtype))


class TimeMix(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.time_decay = nn.Parameter(torch.zeros(C))
        self.time_first = nn.Parameter(torch.zeros(C))
        self.time_mix_k = nn.Parameter(torch.zeros(1, 1, C))
        self.time_mix_v = nn.Parameter(torch.zeros(1, 1, C))
        self.time_mix_r = nn.Parameter(torch.zeros(1, 1, C))
        self.key = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(C, C, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.output = nn.Linear(C, C, bias=False)

    def forward(self, x, wkv_mode, wkv_chunk):
        xx = F.pad(x, (0, 0, 1, -1))  # token shift: the previous frame's input, zeros at t = 0
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
        xv = x * self.time_mix_v + xx * (1 - self.time_mix_v)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
        k, v, r = self.key(xk), self.value(xv), torch.sigmoid(self.receptance(xr))
        y = wkv(-torch.exp(self.time_decay), self.time_first, k, v, wkv_mode, wkv_chunk)
        return self.output(r * y.to(r.dtype))


class ChannelMix(nn.Module):
    def __init__(self, C, Fd):
        super().__init__()
        self.time_mix_k = nn.Parameter(torch.zeros(1, 1, C))
        self.time_mix_r = nn.Parameter(torch.zeros(1, 1, C))
        self.key = nn.Linear(C, Fd, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(Fd, C, bias=False)

    def forward(self, x):
        xx = F.pad(x, (0, 0, 1, -1))
        xk = x * self.time_mix_k + xx * (1 - self.time_mix_k)
        xr = x * self.time_mix_r + xx * (1 - self.time_mix_r)
        return torch.sigmoid(self.receptance(xr)) * self.value(torch.square(torch.relu(self.key(xk))))


class Block(nn.Module):
    def __init__(self, i, C, Fd):
        super().__init__()
        if i == 0:
            self.ln0 = nn.LayerNorm(C, eps=1e-5)
        self.ln1 = nn.LayerNorm(C, eps=1e-5)
        self.ln2 = nn.LayerNorm(C, eps=1e-5)
        self.att = TimeMix(C)
        self.ffn = ChannelMix(C, Fd)


class RwkvModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = dict(config)
        L, C, Fd = config["nLayer"], config["nEmbd"], config["ffn"]
        self.lags = list(config.get("inputLags") or [])
        self.condition_width = condition_width(config.get("condition"))
        self.emb = nn.Linear(KEYS * (1 + len(self.lags)) + self.condition_width, C)
        self.blocks = nn.ModuleList([Block(i, C, Fd) for i in range(L)])
        self.ln_out = nn.LayerNorm(C, eps=1e-5)
        self.head = nn.Linear(C, KEYS)
        self.chain = KeyChainHead(C, config["keyChain"], config.get("keyChainOrder", "up")) if config.get("keyChain") else None
        self.wkv_mode = "chunked"
        self.wkv_chunk = 32

    def initialize(self):
        """src/models/rwkv.ts initialize(seed, 'rwkv-lm') with torch's generator."""
        L, C = self.config["nLayer"], self.config["nEmbd"]
        with torch.no_grad():
            self.emb.reset_parameters()
            for ln in [self.blocks[0].ln0, self.ln_out] + [m for b in self.blocks for m in (b.ln1, b.ln2)]:
                ln.weight.fill_(1)
                ln.bias.zero_()
            h = torch.arange(C, dtype=torch.float64)
            ddd = h / C
            hc = h / (C - 1) if C > 1 else torch.zeros(C, dtype=torch.float64)
            for l, blk in enumerate(self.blocks):
                r01 = l / (L - 1) if L > 1 else 0.0
                r10 = 1 - l / L
                att, ffn = blk.att, blk.ffn
                att.time_decay.copy_(-5 + 8 * hc ** (0.7 + 1.3 * r01))
                att.time_first.copy_(math.log(0.3) + 0.5 * (((h + 1) % 3) - 1))
                att.time_mix_k.copy_((ddd ** r10).view(1, 1, C))
                att.time_mix_v.copy_((ddd ** r10 + 0.3 * r01).view(1, 1, C))
                att.time_mix_r.copy_((ddd ** (0.5 * r10)).view(1, 1, C))
                ffn.time_mix_k.copy_((ddd ** r10).view(1, 1, C))
                ffn.time_mix_r.copy_((ddd ** r10).view(1, 1, C))
                for m in (att.key, att.receptance, att.output, ffn.value, ffn.receptance):
                    m.weight.zero_()
                nn.init.orthogonal_(att.value.weight, gain=1.0)
                nn.init.orthogonal_(ffn.key.weight, gain=math.sqrt(max(1.0, ffn.key.weight.shape[0] / ffn.key.weight.shape[1])))
            nn.init.orthogonal_(self.head.weight, gain=0.5 * math.sqrt(max(1.0, KEYS / C)))
            self.head.bias.zero_()
            if self.chain is not None:
                self.chain.reset_parameters()

    def forward(self, inputs, targets, condition=None):
        drop = self.config["dropout"] if self.training else 0.0
        x = self.blocks[0].ln0(self.emb(embedding_inputs(inputs, self.lags, condition, self.condition_width)))
        x = F.dropout(x, drop, self.training)
        for blk in self.blocks:
            x = x + F.dropout(blk.att(blk.ln1(x), self.wkv_mode, self.wkv_chunk), drop, self.training)
            x = x + F.dropout(blk.ffn(blk.ln2(x)), drop, self.training)
        h = F.dropout(self.ln_out(x), self.config.get("outputDropout", 0.0), self.training)
        logits = self.head(h)
        return self.chain(logits, h, targets) if self.chain is not None else logits


class LstmModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = dict(config)
        self.lags = list(config.get("inputLags") or [])
        self.condition_width = condition_width(config.get("condition"))
        E, H, L = config["embed"], config["hidden"], config["layers"]
        self.embed = nn.Linear(KEYS * (1 + len(self.lags)) + self.condition_width, E)
        self.lstm = nn.LSTM(E, H, num_layers=L, batch_first=True, dropout=config["dropout"] if L > 1 else 0.0)
        self.head = nn.Linear(H, KEYS)
        self.chain = KeyChainHead(H, config["keyChain"], config.get("keyChainOrder", "up")) if config.get("keyChain") else None

    def initialize(self):
        """PyTorch's defaults (as src/models/lstm.ts), the key-chain head as key-chain.ts."""
        self.embed.reset_parameters()
        self.lstm.reset_parameters()
        self.head.reset_parameters()
        if self.chain is not None:
            self.chain.reset_parameters()

    def forward(self, inputs, targets, condition=None):
        h = self.lstm(self.embed(embedding_inputs(inputs, self.lags, condition, self.condition_width)))[0]
        h = F.dropout(h, self.config.get("outputDropout", 0.0), self.training)
        logits = self.head(h)
        return self.chain(logits, h, targets) if self.chain is not None else logits


def build_model(config):
    config = validate_model_config(config)
    return RwkvModel(config) if config["kind"] == "rwkv" else LstmModel(config)


def decay_groups(model, weight_decay):
    """AdamW groups as src/models: the matrices decay, vectors (biases, LayerNorms, time_*) do not."""
    decay, keep = [], []
    for _, p in model.named_parameters():
        (decay if p.dim() == 2 else keep).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]


def bernoulli_nll(logits, targets, mask):
    """Summed Bernoulli NLL over the 88 keys of every scored frame (nats), in float32 or better."""
    dt = torch.float64 if logits.dtype == torch.float64 else torch.float32
    per_frame = F.binary_cross_entropy_with_logits(logits.to(dt), targets.to(dt), reduction="none").sum(-1)
    return (per_frame * mask.to(dt)).sum()


def load_tensors_into(model, tensors, source):
    params = dict(model.named_parameters())
    unknown = [n for n in tensors if n not in params]
    if unknown:
        raise UserError(f"{source}: unexpected tensor(s) for this model: {', '.join(unknown[:5])}")
    with torch.no_grad():
        for name, p in params.items():
            if name not in tensors:
                raise UserError(f'{source}: missing tensor "{name}"')
            t = tensors[name]
            if tuple(t.shape) != tuple(p.shape):
                raise UserError(f'{source}: tensor "{name}" has shape {list(t.shape)}, the model expects {list(p.shape)}')
            if not torch.isfinite(t).all():
                raise UserError(f'{source}: tensor "{name}" contains a non-finite value')
            p.copy_(t)


def load_model_file(path):
    config, tensors = read_model_file(path)
    model = build_model(config)
    load_tensors_into(model, tensors, path)
    return model


def model_bytes(model):
    for name, p in model.named_parameters():
        if not torch.isfinite(p).all():
            raise UserError(f"parameter {name} is not finite; refusing to write a model file with NaN")
    return model_file_bytes([(n, p) for n, p in model.named_parameters()], model.config)


def save_model_file(path, model):
    write_atomic(path, model_bytes(model))
