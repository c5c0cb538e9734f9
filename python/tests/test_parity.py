"""The PyTorch models against the TypeScript ones on the same weights and batch: logits, summed NLL and
every parameter's gradient agree to 1e-5 relative (norm of the difference over the norm, per tensor).
The TypeScript side runs in the built toolkit (node, dist/) in float32; PyTorch computes in float64."""
import json
import os
import subprocess

import pytest
import torch

from conftest import HERE
from helpers import randomized_model
from rwkv_music_torch.models import bernoulli_nll, save_model_file

CASES = {
    "rwkv-lags-chain": {"kind": "rwkv", "nLayer": 2, "nEmbd": 16, "ffn": 32, "dropout": 0, "inputLags": [1, 3], "keyChain": 12},
    "rwkv-independent": {"kind": "rwkv", "nLayer": 2, "nEmbd": 16, "ffn": 32, "dropout": 0},
    "lstm-lags-chain": {"kind": "lstm", "layers": 2, "hidden": 12, "embed": 10, "dropout": 0, "inputLags": [2], "keyChain": 12},
    "lstm-independent": {"kind": "lstm", "layers": 1, "hidden": 12, "embed": 10, "dropout": 0},
}
TOLERANCE = 1e-5


def rel(a, b):
    a, b = torch.as_tensor(a, dtype=torch.float64).reshape(-1), torch.as_tensor(b, dtype=torch.float64).reshape(-1)
    scale = b.norm()
    return float((a - b).norm() / scale) if scale > 0 else float(a.norm())


@pytest.mark.parametrize("name", list(CASES))
def test_logits_loss_and_gradients_match_typescript(name, node, tmp_path):
    config = CASES[name]
    model = randomized_model(config, seed=7)
    path = str(tmp_path / "model.safetensors")
    save_model_file(path, model)
    B, T = 3, 21  # T past one WKV chunk of 8, so the carried state is exercised
    g = torch.Generator().manual_seed(11)
    x = (torch.rand(B, T, 88, generator=g) < 0.12).double()
    y = (torch.rand(B, T, 88, generator=g) < 0.12).double()
    mask = torch.zeros(B, T, dtype=torch.float64)
    for b, n in enumerate([T, 15, 9]):
        mask[b, :n] = 1
    req = tmp_path / "request.json"
    req.write_text(json.dumps({"model": path, "B": B, "T": T, "inputs": x.reshape(-1).int().tolist(),
                               "targets": y.reshape(-1).int().tolist(), "mask": mask.reshape(-1).int().tolist()}))
    out = subprocess.run([node, os.path.join(HERE, "ts_reference.mjs"), str(req)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    ts = json.loads(out.stdout)

    model = model.double()
    if hasattr(model, "wkv_chunk"):
        model.wkv_chunk = 8
    model.eval()
    logits = model(x, y)
    loss = bernoulli_nll(logits, y, mask)
    loss.backward()
    assert rel(ts["logits"], logits.detach()) <= TOLERANCE
    assert abs(ts["loss"] - float(loss)) <= TOLERANCE * abs(float(loss))
    grads = dict(model.named_parameters())
    assert sorted(ts["grads"]) == sorted(grads), "the same parameter names on both sides"
    worst = {n: rel(ts["grads"][n], grads[n].grad) for n in grads}
    assert max(worst.values()) <= TOLERANCE, sorted(worst.items(), key=lambda kv: -kv[1])[:3]
