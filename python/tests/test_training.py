"""Training runs: exact resume, a 2-process torchrun (gloo) run scored by `rwkv-music eval`, and a model
trained by the TypeScript trainer continued here."""
import contextlib
import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from conftest import PYTHON_DIR, run_cli
from helpers import write_small_dataset
from rwkv_music_torch.data import load_corpus, training_plan
from rwkv_music_torch.models import load_model_file
from rwkv_music_torch.train import evaluate, latest_weights, main
from rwkv_music_torch.distributed import Dist

TINY = {
    "rwkv": {"model": {"nLayer": 2, "nEmbd": 16, "ffn": 32, "dropout": 0.1, "inputLags": [1, 2], "keyChain": 8},
             "training": {"batchFrames": 512, "maxLength": 64, "logEvery": 2}},
    "lstm": {"model": {"layers": 2, "hidden": 16, "embed": 12, "dropout": 0.2, "keyChain": 8},
             "training": {"batchFrames": 512, "maxLength": 64, "logEvery": 2}},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    write_small_dataset(str(d / "small.json.gz"))
    for kind, cfg in TINY.items():
        (d / f"{kind}.json").write_text(json.dumps(cfg))
    return d


def train(*args):
    assert main([*map(str, args), "--threads", "1"]) == 0


def metrics(run):
    with open(os.path.join(run, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize("kind", ["rwkv", "lstm"])
def test_resume_repeats_the_uninterrupted_run_exactly(kind, data, tmp_path):
    common = ["--model", kind, "--dataset", data / "small.json.gz", "--config", data / f"{kind}.json", "--epochs", 2]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(*common, "--out", whole)
    train(*common, "--out", parts, "--steps", 3)  # stops mid-epoch
    train("--resume", parts, "--steps", 7)  # into the second epoch
    train("--resume", parts)
    for name in ("model.safetensors", "best.safetensors"):
        assert (whole / name).read_bytes() == (parts / name).read_bytes(), name
    # the epoch records (losses, validation, learning rate) are the same; timings differ
    epochs = lambda run: [{k: v for k, v in r.items() if k not in ("wallSeconds", "framesPerSec")} for r in metrics(run) if r["type"] == "epoch"]
    assert len(epochs(whole)) == 2
    assert epochs(whole) == epochs(parts)


def test_torchrun_two_processes_and_rwkv_music_eval_agree(node, data, tmp_path):
    run = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": PYTHON_DIR, "OMP_NUM_THREADS": "1"}
    # a free port rather than --standalone's fixed 29400, so parallel runs on one machine do not meet
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "rwkv_music_torch.torchrun", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(port),
           "-m", "rwkv_music_torch.train", "--model", "rwkv", "--dataset", str(data / "small.json.gz"),
           "--config", str(data / "rwkv.json"), "--epochs", "2", "--out", str(run), "--threads", "1"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    epochs = [rec for rec in metrics(run) if rec["type"] == "epoch"]
    assert len(epochs) == 2
    # each process did its half of the batches: two batches per step
    n_batches = len(training_plan(load_corpus(str(data / "small.json.gz"))["train"], 512, 64, 3, True, 1, 0))
    assert epochs[0]["step"] == (n_batches + 1) // 2
    best = min(e["validNll"] for e in epochs)
    ours = json.loads(run_cli(node, "eval", "--checkpoint", str(run), "--split", "valid", "--json"))
    assert abs(ours["nll"] - best) <= 1e-5 * best
    assert ours["frames"] == epochs[-1]["validFrames"]
    # the latest weights as well: the last validation ran on them
    latest = json.loads(run_cli(node, "eval", "--checkpoint", str(run), "--split", "valid", "--weights", "latest", "--json"))
    assert abs(latest["nll"] - epochs[-1]["validNll"]) <= 1e-5 * latest["nll"]


def test_a_typescript_run_continues_here(node, data, tmp_path):
    ts_run = tmp_path / "ts"
    # the TypeScript defaults: a start step and a key input, the key chain from the top key down
    cfg = json.loads((data / "lstm.json").read_text())
    cfg["model"] = {**cfg["model"], "keyChainOrder": "down"}
    (tmp_path / "lstm-down.json").write_text(json.dumps(cfg))
    run_cli(node, "train", "--model", "lstm", "--dataset", str(data / "small.json.gz"), "--config", str(tmp_path / "lstm-down.json"),
            "--epochs", "1", "--out", str(ts_run), "--threads", "1")
    ts_score = json.loads(run_cli(node, "eval", "--checkpoint", str(ts_run), "--split", "valid", "--weights", "latest", "--json"))
    model = load_model_file(latest_weights(str(ts_run)))
    assert model.config["condition"] == {"start": True, "keyShifts": 3} and model.config["keyChainOrder"] == "down"
    nll, frames = evaluate(model, load_corpus(str(data / "small.json.gz"))["valid"], 4096, 10 ** 9, Dist("cpu"), torch.device("cpu"),
                           contextlib.nullcontext)
    assert frames == ts_score["frames"]
    assert abs(nll / frames - ts_score["nll"]) <= 1e-5 * ts_score["nll"]
    run = tmp_path / "continued"
    train("--init-from", ts_run, "--dataset", data / "small.json.gz", "--epochs", 1, "--out", run,
          "--batch-frames", 512, "--max-length", 64)
    with open(run / "config.json") as f:
        assert json.load(f)["model"] == model.config
    first = [r for r in metrics(run) if r["type"] == "epoch"][0]
    assert first["validNll"] < 1.05 * ts_score["nll"], "training continued from the TypeScript weights, not from scratch"


def test_default_run_folder_name_comes_from_the_main_rank_clock():
    from rwkv_music_torch.train import _main_rank_stamp
    import time

    class OtherRank:
        main = False
        sent = None

        def all_max(self, values):
            self.sent = values
            return [1_700_000_000.0]  # what the main rank contributed

    rank = OtherRank()
    assert _main_rank_stamp(rank) == time.strftime("%Y%m%d-%H%M%S", time.localtime(1_700_000_000.0))
    assert rank.sent == [0.0]
