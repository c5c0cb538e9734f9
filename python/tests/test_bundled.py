"""The bundled models (a start step, a key input; the harmonizer's key chain runs from the top key down)
load here, and PyTorch scores a small split to the NLL `rwkv-music eval` gives, frame for frame."""
import contextlib
import json
import os

import pytest
import torch

from conftest import REPO, run_cli
from helpers import write_small_dataset
from rwkv_music_torch.data import load_corpus
from rwkv_music_torch.distributed import Dist
from rwkv_music_torch.models import load_model_file
from rwkv_music_torch.train import evaluate


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("data") / "small.json.gz")
    write_small_dataset(path, train=2, valid=5, test=2)
    return path


@pytest.mark.parametrize("name", ["lstm", "rwkv", "harmonizer"])
def test_a_bundled_conditioned_model_scores_as_rwkv_music_eval(name, node, small):
    model = load_model_file(os.path.join(REPO, "models", name, "best.safetensors"))
    assert model.config["condition"]["start"] and model.config["condition"]["keyShifts"] > 0
    assert model.config.get("keyChainOrder", "up") == ("down" if name == "harmonizer" else "up")
    nll, frames = evaluate(model, load_corpus(small)["valid"], 4096, 10 ** 9, Dist("cpu"), torch.device("cpu"), contextlib.nullcontext)
    ours = json.loads(run_cli(node, "eval", "--checkpoint", name, "--dataset", small, "--split", "valid", "--json"))
    assert frames == ours["frames"]
    assert abs(nll / frames - ours["nll"]) <= 1e-5 * ours["nll"]
