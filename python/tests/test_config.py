"""Configurations and model files: the TypeScript defaults and checks, and unknown fields refused."""
import json

import pytest

from rwkv_music_torch.config import build_run_config, default_model_config, validate_model_config
from rwkv_music_torch.errors import UserError
from rwkv_music_torch.models import build_model, save_model_file, load_model_file
from rwkv_music_torch.safetensors_io import encode, write_atomic


def test_defaults_are_the_typescript_ones():
    cfg = build_run_config("rwkv", "nottingham", 1, {}, {}, "test")
    assert cfg["model"] == {"kind": "rwkv", "nLayer": 4, "nEmbd": 256, "ffn": 1024, "dropout": 0.2,
                            "inputLags": [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64], "keyChain": 256}
    t = cfg["training"]
    assert (t["epochs"], t["batchFrames"], t["maxLength"], t["transpose"], t["clip"]) == (40, 2048, 512, 3, 1.0)
    assert t["schedule"] == {"kind": "cosine", "lr": 1.5e-3, "minLr": 1.5e-3 / 10, "warmupSteps": 100, "totalSteps": 0}
    assert t["optimizer"] == {"beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weightDecay": 0.01}
    lstm = build_run_config("lstm", "jsb-chorales", 1, {}, {"minutes": 5}, "test")
    assert lstm["model"]["dropout"] == 0.5 and lstm["training"]["epochs"] is None and lstm["training"]["maxLength"] == 256


def test_parameter_count_matches_the_typescript_formula():
    # src/models/index.ts parameterCountOf, for the bundled configurations
    for kind, count in (("lstm", 1_216_664), ("rwkv", 3_854_488)):
        model = build_model(default_model_config(kind, "nottingham"))
        assert sum(p.numel() for p in model.parameters()) == count


@pytest.mark.parametrize("field", ["startInput", "keyInput", "keyChainOrder"])
def test_an_unknown_model_field_is_refused_by_name(field):
    with pytest.raises(UserError, match=f'unknown field "{field}"'):
        validate_model_config({"kind": "lstm", "layers": 1, "hidden": 4, "embed": 4, "dropout": 0, field: 1})


def test_a_model_file_with_an_unknown_field_is_refused(tmp_path):
    path = str(tmp_path / "newer.safetensors")
    model = build_model({"kind": "lstm", "layers": 1, "hidden": 4, "embed": 4, "dropout": 0})
    save_model_file(path, model)
    assert load_model_file(path).config == model.config
    config = {**model.config, "keyChainOrder": "descending"}
    write_atomic(path, encode(list(model.named_parameters()), {"format": "rwkv-music", "config": json.dumps(config)}))
    with pytest.raises(UserError, match=r'newer\.safetensors: model config: unknown field "keyChainOrder"'):
        load_model_file(path)


def test_bad_values_are_named():
    with pytest.raises(UserError, match="inputLags"):
        validate_model_config({"kind": "rwkv", "nLayer": 1, "nEmbd": 4, "ffn": 4, "dropout": 0, "inputLags": [2, 1]})
    with pytest.raises(UserError, match='unknown training setting "lrr"'):
        build_run_config("rwkv", "nottingham", 1, {"training": {"lrr": 1}}, {}, "test")
