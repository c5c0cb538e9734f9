"""A sharded dataset written by `rwkv-music data import --shard-frames` trains here one shard at a time,
and the run is scored by `rwkv-music eval` on the same sharded folder."""
import json

from conftest import run_cli
from rwkv_music_torch.data import evaluation_plan, load_corpus, make_batch, training_plan
from rwkv_music_torch.train import main


def test_train_on_shards_written_by_the_typescript_import(node, tmp_path):
    midi = tmp_path / "midi"
    run_cli(node, "generate", "--checkpoint", "lstm", "--count", "12", "--length", "40", "--seed", "3",
            "--format", "mid", "--out", str(midi))
    corpus_dir = tmp_path / "corpus"
    run_cli(node, "data", "import", str(midi), "--out", str(corpus_dir), "--shard-frames", "90", "--split", "0.5,0.25,0.25")
    corpus = load_corpus(str(corpus_dir))
    train = corpus["train"]
    assert len(train.shards) >= 2
    # every batch of a plan reads one shard; the cache never holds more than two
    plan = training_plan(train, 256, 32, 2, True, 1, 0)
    assert all(len({p[0] for p in batch}) == 1 for batch in plan)
    for batch in plan:
        make_batch(train, batch)
        assert len(train._cache) <= 2
    assert sum(float(make_batch(train, b).mask.sum()) for b in plan) == train.predicted_frames()
    assert len(evaluation_plan(corpus["valid"], 4096, 10 ** 9)) >= 1

    run = tmp_path / "run"
    assert main(["--model", "lstm", "--dataset", str(corpus_dir), "--epochs", "1", "--out", str(run),
                 "--batch-frames", "256", "--max-length", "32", "--threads", "1"]) == 0
    with open(run / "metrics.jsonl") as f:
        epoch = [r for r in map(json.loads, f) if r["type"] == "epoch"][0]
    scored = json.loads(run_cli(node, "eval", "--checkpoint", str(run), "--split", "valid", "--json"))
    assert abs(scored["nll"] - epoch["validNll"]) <= 1e-5 * scored["nll"]
