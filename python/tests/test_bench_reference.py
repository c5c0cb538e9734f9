"""The speed reference (bench/torch_reference.py) times RWKV with WKV as an autograd.Function whose
backward is written out by hand; its output and gradients must equal autograd through the plain loop,
or the speed it reports would be for a different computation."""
import importlib.util
import pathlib

import pytest

REFERENCE = pathlib.Path(__file__).resolve().parents[2] / "bench" / "torch_reference.py"


@pytest.fixture(scope="module")
def reference():
    spec = importlib.util.spec_from_file_location("torch_reference", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wkv_function_matches_autograd_and_central_differences(reference):
    assert reference.check_wkv() < 1e-9


def test_small_rwkv_gradients_match_with_either_wkv(reference):
    assert reference.check_model() < 1e-9


def test_blas_env_pins_openblas_threads(reference, monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    own = reference.blas_env("own", "2")
    assert own["OPENBLAS_NUM_THREADS"] == "2" and "OPENBLAS_CORETYPE" not in own
    machine = reference.blas_env("machine", "1")
    assert machine["OPENBLAS_NUM_THREADS"] == "1" and machine["OPENBLAS_CORETYPE"] == "Haswell"
