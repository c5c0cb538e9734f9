"""Small datasets and models shared by the tests."""
import gzip
import json
import os
import random

import torch

from rwkv_music_torch.models import build_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_small_dataset(path, train=16, valid=6, test=4, seed=3):
    """The first pieces of the bundled Nottingham set, cut to at most 120 frames."""
    with open(os.path.join(REPO, "data", "nottingham.json.gz"), "rb") as f:
        full = json.loads(gzip.decompress(f.read()))
    rng = random.Random(seed)
    pick = lambda seqs, n: [s[: rng.randint(40, 120)] for s in seqs[:n]]
    ds = {"train": pick(full["train"], train), "valid": pick(full["valid"], valid), "test": pick(full["test"], test)}
    with open(path, "wb") as f:
        f.write(gzip.compress(json.dumps(ds).encode()))
    return ds


def randomized_model(config, seed=0):
    """A model with every parameter moved away from its initial value (float32 values)."""
    torch.manual_seed(seed)
    model = build_model(config)
    model.initialize()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "time_decay" in name:
                p.copy_(torch.randn_like(p) * 0.8 - 1.0)
            elif "time_" in name:
                p.copy_(torch.rand_like(p))
            elif name.endswith(".weight") and p.dim() == 1:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.2 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / p.shape[1] ** 0.5)
    return model
