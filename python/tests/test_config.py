"""Configurations and model files: the TypeScript defaults and checks, and unknown fields refused."""
import json

import pytest
import torch

from rwkv_music_torch.config import build_run_config, default_model_config, validate_model_config
from rwkv_music_torch.errors import UserError
from rwkv_music_torch.models import build_model, save_model_file, load_model_file
from rwkv_music_torch.safetensors_io import encode, write_atomic


def test_defaults_are_the_typescript_ones():
    cfg = build_run_config("rwkv", "nottingham", 1, {}, {}, "test")
    assert cfg["model"] == {"kind": "rwkv", "nLayer": 2, "nEmbd": 256, "ffn": 512, "dropout": 0.3,
                            "inputLags": [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64], "keyChain": 256,
                            "condition": {"start": True, "keyShifts": 3}}
    t = cfg["training"]
    assert (t["epochs"], t["batchFrames"], t["maxLength"], t["transpose"], t["clip"]) == (40, 2048, 512, 3, 1.0)
    assert t["schedule"] == {"kind": "cosine", "lr": 1.5e-3, "minLr": 1.5e-3 / 10, "warmupSteps": 100, "totalSteps": 0}
    assert t["optimizer"] == {"beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weightDecay": 0.01}
    lstm = build_run_config("lstm", "jsb-chorales", 1, {}, {"minutes": 5}, "test")
    assert lstm["model"]["dropout"] == 0.5 and lstm["training"]["epochs"] is None and lstm["training"]["maxLength"] == 256


def test_parameter_count_matches_the_typescript_formula():
    # src/models/index.ts parameterCountOf, for the bundled configurations
    for kind, count in (("lstm", 1_216_664), ("rwkv", 1_620_632)):
        model = build_model(default_model_config(kind, "nottingham"))
        assert sum(p.numel() for p in model.parameters()) == count


@pytest.mark.parametrize("field", ["startInput", "keyInput", "melody"])
def test_an_unknown_model_field_is_refused_by_name(field):
    with pytest.raises(UserError, match=f'unknown field "{field}"'):
        validate_model_config({"kind": "lstm", "layers": 1, "hidden": 4, "embed": 4, "dropout": 0, field: 1})


def test_a_model_file_with_an_unknown_field_is_refused(tmp_path):
    path = str(tmp_path / "newer.safetensors")
    model = build_model({"kind": "lstm", "layers": 1, "hidden": 4, "embed": 4, "dropout": 0})
    save_model_file(path, model)
    assert load_model_file(path).config == model.config
    config = {**model.config, "melody": True}
    write_atomic(path, encode(list(model.named_parameters()), {"format": "rwkv-music", "config": json.dumps(config)}))
    with pytest.raises(UserError, match=r'newer\.safetensors: model config: unknown field "melody"'):
        load_model_file(path)


def test_bad_values_are_named():
    with pytest.raises(UserError, match="inputLags"):
        validate_model_config({"kind": "rwkv", "nLayer": 1, "nEmbd": 4, "ffn": 4, "dropout": 0, "inputLags": [2, 1]})
    with pytest.raises(UserError, match='unknown training setting "lrr"'):
        build_run_config("rwkv", "nottingham", 1, {"training": {"lrr": 1}}, {}, "test")


def test_condition_defaults_follow_the_transposition_as_in_typescript():
    # src/train/setup.ts withCondition: a start step and a key input as wide as --transpose (up to 6)
    model = lambda flags, file=None: build_run_config("lstm", "nottingham", 1, file or {}, flags, "test")["model"].get("condition")
    assert model({"transpose": 5}) == {"start": True, "keyShifts": 5}
    assert model({"transpose": 8}) == {"start": True, "keyShifts": 0}
    assert model({"transpose": 0}) == {"start": True, "keyShifts": 0}
    # a config that sets it keeps it; both off means no conditioning input at all
    assert model({}, {"model": {"condition": {"start": False, "keyShifts": 0}}}) is None
    assert model({}, {"model": {"condition": {"start": False, "keyShifts": 4}}}) == {"start": False, "keyShifts": 4}
    with pytest.raises(UserError, match=r"key input covers ±2 semitones but training transposes by up to ±3"):
        model({}, {"model": {"condition": {"start": True, "keyShifts": 2}}})


def test_condition_and_key_chain_order_are_checked():
    base = {"kind": "rwkv", "nLayer": 1, "nEmbd": 4, "ffn": 4, "dropout": 0, "keyChain": 8}
    assert validate_model_config({**base, "keyChainOrder": "down"})["keyChainOrder"] == "down"
    assert "keyChainOrder" not in validate_model_config({**base, "keyChainOrder": "up"})
    for bad in ({"start": 1, "keyShifts": 0}, {"start": True, "keyShifts": 7}, {"start": True}, {"start": True, "keyShifts": 1, "x": 0}, [1]):
        with pytest.raises(UserError, match="condition must be"):
            validate_model_config({**base, "condition": bad})
    with pytest.raises(UserError, match='keyChainOrder must be "up" or "down"'):
        validate_model_config({**base, "keyChainOrder": "sideways"})
    with pytest.raises(UserError, match="keyChainOrder needs a key-chain head"):
        validate_model_config({**base, "keyChain": 0, "keyChainOrder": "down"})


def test_output_dropout_is_checked_and_only_kept_when_on():
    base = {"kind": "lstm", "layers": 1, "hidden": 4, "embed": 6, "dropout": 0}
    assert validate_model_config({**base, "outputDropout": 0.3})["outputDropout"] == 0.3
    assert "outputDropout" not in validate_model_config({**base, "outputDropout": 0})
    for bad in (1, -0.1, True, None, "0.2"):
        with pytest.raises(UserError, match=r"outputDropout must be a number in \[0, 1\)"):
            validate_model_config({**base, "outputDropout": bad})


def test_output_dropout_acts_in_training_only():
    for config in ({"kind": "rwkv", "nLayer": 1, "nEmbd": 8, "ffn": 8, "dropout": 0, "keyChain": 8, "outputDropout": 0.5},
                   {"kind": "lstm", "layers": 1, "hidden": 8, "embed": 6, "dropout": 0, "outputDropout": 0.5}):
        torch.manual_seed(0)
        model = build_model(validate_model_config(config))
        model.initialize()
        frames = (torch.rand(2, 5, 88) < 0.1).float()
        model.eval()
        first = model(frames, frames)
        assert torch.equal(first, model(frames, frames))
        model.train()
        assert not torch.equal(first, model(frames, frames))


def test_conditioning_widens_the_embedding_only():
    # the conditioning columns come after the frame and its lags (src/models/input-stage.ts)
    plain = build_model({"kind": "lstm", "layers": 1, "hidden": 4, "embed": 6, "dropout": 0, "inputLags": [1]})
    cond = build_model({**plain.config, "condition": {"start": True, "keyShifts": 3}})
    assert tuple(cond.embed.weight.shape) == (6, 88 * 2 + 1 + 7)
    widths = lambda m: {n: tuple(p.shape) for n, p in m.named_parameters() if n != "embed.weight"}
    assert widths(plain) == widths(cond)
