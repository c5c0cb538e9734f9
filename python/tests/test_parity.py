"""The PyTorch models against the TypeScript ones on the same weights and batch: logits, summed NLL and
every parameter's gradient agree to 1e-5 relative (norm of the difference over the norm, per tensor).
The TypeScript side runs in the built toolkit (node, dist/) in float32; PyTorch computes in float64.
Conditioned models get a batch as src/data/batching.ts makes it: rows that begin at a piece's start
read a start step first (trained, not scored), every position carries its row's key one-hot."""
import json
import os
import subprocess

import pytest
import torch

from conftest import HERE
from helpers import randomized_model
from rwkv_music_torch.config import condition_width
from rwkv_music_torch.models import bernoulli_nll, save_model_file

CASES = {
    "rwkv-lags-chain": {"kind": "rwkv", "nLayer": 2, "nEmbd": 16, "ffn": 32, "dropout": 0, "inputLags": [1, 3], "keyChain": 12},
    "rwkv-independent": {"kind": "rwkv", "nLayer": 2, "nEmbd": 16, "ffn": 32, "dropout": 0},
    "lstm-lags-chain": {"kind": "lstm", "layers": 2, "hidden": 12, "embed": 10, "dropout": 0, "inputLags": [2], "keyChain": 12},
    "lstm-independent": {"kind": "lstm", "layers": 1, "hidden": 12, "embed": 10, "dropout": 0},
    "rwkv-start-key-down": {"kind": "rwkv", "nLayer": 2, "nEmbd": 16, "ffn": 32, "dropout": 0, "inputLags": [1, 3], "keyChain": 12,
                            "keyChainOrder": "down", "condition": {"start": True, "keyShifts": 2}},
    "rwkv-start-only": {"kind": "rwkv", "nLayer": 1, "nEmbd": 16, "ffn": 32, "dropout": 0, "keyChain": 12,
                        "condition": {"start": True, "keyShifts": 0}},
    "lstm-start-key-down": {"kind": "lstm", "layers": 2, "hidden": 12, "embed": 10, "dropout": 0, "keyChain": 12,
                            "keyChainOrder": "down", "condition": {"start": True, "keyShifts": 3}},
    "lstm-key-only": {"kind": "lstm", "layers": 1, "hidden": 12, "embed": 10, "dropout": 0, "inputLags": [2], "keyChain": 12,
                      "condition": {"start": False, "keyShifts": 1}},
}
TOLERANCE = 1e-5


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64).reshape(-1), torch.as_tensor(b, dtype=torch.float64).reshape(-1)
    scale = b.norm()
    return float((a - b).norm() / scale) if scale > 0 else float(a.norm())


def random_batch(config, B, T, g):
    """Random frames with rows of different lengths; for a conditioned model, rows 0 and 1 begin with a
    start step (an empty input frame, the flag on, trained but not scored) and each row has a key."""
    x = (torch.rand(B, T, 88, generator=g) < 0.12).double()
    y = (torch.rand(B, T, 88, generator=g) < 0.12).double()
    lengths = [T, 15, 9]
    mask = torch.zeros(B, T, dtype=torch.float64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
    train_mask = mask.clone()
    c = config.get("condition")
    if not c:
        return x, y, mask, train_mask, None
    W = condition_width(c)
    cond = torch.zeros(B, T, W, dtype=torch.float64)
    K = c["keyShifts"]
    for b, n in enumerate(lengths):
        if c["start"] and b < 2:
            x[b, 0] = 0
            mask[b, 0] = 0
            cond[b, 0, 0] = 1
        if K > 0:
            shift = int(torch.randint(-K, K + 1, (1,), generator=g))
            cond[b, :n, (1 if c["start"] else 0) + K + shift] = 1
    return x, y, mask, train_mask, cond


@pytest.mark.parametrize("name", list(CASES))
def test_logits_loss_and_gradients_match_typescript(name, node, tmp_path):
    config = CASES[name]
    model = randomized_model(config, seed=7)
    path = str(tmp_path / "model.safetensors")
    save_model_file(path, model)
    B, T = 3, 21  # T past one WKV chunk of 8, so the carried state is exercised
    g = torch.Generator().manual_seed(11)
    x, y, mask, train_mask, cond = random_batch(config, B, T, g)
    flat = lambda t: t.reshape(-1).int().tolist()
    request = {"model": path, "B": B, "T": T, "inputs": flat(x), "targets": flat(y), "mask": flat(mask)}
    if cond is not None:
        request.update(condition=flat(cond), trainMask=flat(train_mask))
    req = tmp_path / "request.json"
    req.write_text(json.dumps(request))
    out = subprocess.run([node, os.path.join(HERE, "ts_reference.mjs"), str(req)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    ts = json.loads(out.stdout)

    model = model.double()
    if hasattr(model, "wkv_chunk"):
        model.wkv_chunk = 8
    model.eval()
    logits = model(x, y, cond)
    scored = float(bernoulli_nll(logits, y, mask))
    loss = bernoulli_nll(logits, y, train_mask)
    loss.backward()
    assert rel(ts["logits"], logits.detach()) <= TOLERANCE
    assert abs(ts["loss"] - float(loss)) <= TOLERANCE * abs(float(loss))
    assert abs(ts["scored"] - scored) <= TOLERANCE * scored
    if cond is not None and config["condition"]["start"]:
        assert float(loss) > scored, "the start steps' predictions are trained, not scored"
    grads = dict(model.named_parameters())
    assert sorted(ts["grads"]) == sorted(grads), "the same parameter names on both sides"
    worst = {n: rel(ts["grads"][n], grads[n].grad) for n in grads}
    assert max(worst.values()) <= TOLERANCE, sorted(worst.items(), key=lambda kv: -kv[1])[:3]
