"""Model and training configurations: the same fields, checks and defaults as src/models/config.ts,
src/train/config.ts and src/train/defaults.ts. Unknown fields are refused, so a model made by a newer
rwkv-music with inputs this trainer does not know is rejected instead of misread."""
import copy
import math
import os
import re

from .errors import UserError

KEYS = 88
MAX_INPUT_LAG = 1024
MAX_KEY_CHAIN = 4096
BUNDLED_DATASETS = ("nottingham", "jsb-chorales")
RUN_FORMAT_VERSION = 1

MODEL_FIELDS = {
    "rwkv": ("kind", "nLayer", "nEmbd", "ffn", "dropout", "inputLags", "keyChain", "keyChainOrder", "condition",
             "outputDropout"),
    "lstm": ("kind", "layers", "hidden", "embed", "dropout", "inputLags", "keyChain", "keyChainOrder", "condition",
             "outputDropout"),
}
MAX_KEY_SHIFTS = 6

# Nottingham default (src/train/defaults.ts, RWKV_INPUT_LAGS and KEY_CHAIN_HIDDEN).
RWKV_INPUT_LAGS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]
KEY_CHAIN_HIDDEN = 256


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _positive_int(v, what):
    if not _is_int(v) or v <= 0:
        raise UserError(f"model config: {what} must be a positive integer, got {_json(v)}")
    return v


def _json(v):
    import json
    try:
        return json.dumps(v)
    except (TypeError, ValueError):
        return repr(v)


def _input_lags(v):
    if v is None:
        return None
    bad = UserError(f"model config: inputLags must be a list of increasing integers in 1..{MAX_INPUT_LAG}, got {_json(v)}")
    if not isinstance(v, list) or len(v) > 64:
        raise bad
    prev = 0
    for lag in v:
        if not _is_int(lag) or lag <= prev or lag > MAX_INPUT_LAG:
            raise bad
        prev = lag
    return list(v) if v else None


def _key_chain(v):
    if v is None or v == 0:
        return None
    if not _is_int(v) or v < 0 or v > MAX_KEY_CHAIN:
        raise UserError(f"model config: keyChain must be a whole number of hidden units in 0..{MAX_KEY_CHAIN} (0: independent keys), got {_json(v)}")
    return v


def _key_chain_order(v, chain):
    if v is None or v == "up":
        return None
    if v != "down":
        raise UserError(f'model config: keyChainOrder must be "up" or "down", got {_json(v)}')
    if not chain:
        raise UserError("model config: keyChainOrder needs a key-chain head (keyChain > 0)")
    return v


def _condition(v):
    """src/models/config.ts condition: {start, keyShifts}; absent when it adds no input."""
    if v is None:
        return None
    bad = UserError(f'model config: condition must be {{"start": true|false, "keyShifts": 0..{MAX_KEY_SHIFTS}}}, got {_json(v)}')
    if not isinstance(v, dict) or any(k not in ("start", "keyShifts") for k in v):
        raise bad
    if not isinstance(v.get("start"), bool):
        raise bad
    k = v.get("keyShifts")
    if not _is_int(k) or not 0 <= k <= MAX_KEY_SHIFTS:
        raise bad
    return {"start": v["start"], "keyShifts": k} if v["start"] or k > 0 else None


def condition_width(condition):
    """Conditioning columns per position (src/engine/condition.ts): the start flag, then the key one-hot."""
    if not condition:
        return 0
    return (1 if condition["start"] else 0) + (2 * condition["keyShifts"] + 1 if condition["keyShifts"] > 0 else 0)


def _dropout(v, what="dropout"):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v < 1):
        raise UserError(f"model config: {what} must be a number in [0, 1), got {_json(v)}")
    return v


def validate_model_config(raw):
    """Checks an untrusted model config (e.g. from a file) and returns a clean copy."""
    if not isinstance(raw, dict):
        raise UserError("model config: not an object")
    kind = raw.get("kind")
    if kind not in MODEL_FIELDS:
        raise UserError(f'model config: unknown model kind {_json(kind)} (expected "rwkv" or "lstm")')
    for key in raw:
        if key not in MODEL_FIELDS[kind]:
            raise UserError(
                f'model config: unknown field "{key}" for a {kind} model; this trainer knows '
                f'{", ".join(MODEL_FIELDS[kind])} (a model made by a newer rwkv-music needs a newer trainer)')
    if kind == "rwkv":
        cfg = {"kind": "rwkv", "nLayer": _positive_int(raw.get("nLayer"), "nLayer"),
               "nEmbd": _positive_int(raw.get("nEmbd"), "nEmbd"), "ffn": _positive_int(raw.get("ffn"), "ffn"),
               "dropout": _dropout(raw.get("dropout"))}
    else:
        cfg = {"kind": "lstm", "layers": _positive_int(raw.get("layers"), "layers"),
               "hidden": _positive_int(raw.get("hidden"), "hidden"), "embed": _positive_int(raw.get("embed"), "embed"),
               "dropout": _dropout(raw.get("dropout"))}
    lags = _input_lags(raw.get("inputLags"))
    if lags:
        cfg["inputLags"] = lags
    chain = _key_chain(raw.get("keyChain"))
    if chain:
        cfg["keyChain"] = chain
    order = _key_chain_order(raw.get("keyChainOrder"), chain)
    if order:
        cfg["keyChainOrder"] = order
    condition = _condition(raw.get("condition"))
    if condition:
        cfg["condition"] = condition
    if "outputDropout" in raw and _dropout(raw["outputDropout"], "outputDropout") > 0:
        cfg["outputDropout"] = raw["outputDropout"]
    return cfg


def dataset_label(dataset):
    """The short name the defaults are chosen by (src/train/setup.ts, datasetLabel)."""
    base = os.path.basename(dataset.rstrip("/"))
    base = re.sub(r"\.json(\.gz)?$", "", base)
    return re.sub(r"[^A-Za-z0-9_-]+", "-", base) or "data"


def default_model_config(kind, dataset):
    label = dataset_label(dataset)
    if kind == "rwkv":
        cfg = {"kind": "rwkv", "nLayer": 2, "nEmbd": 256, "ffn": 512, "dropout": 0.3, "keyChain": KEY_CHAIN_HIDDEN}
        if label == "nottingham":
            cfg["inputLags"] = list(RWKV_INPUT_LAGS)
        return cfg
    if kind == "lstm":
        return {"kind": "lstm", "layers": 2, "hidden": 256, "embed": 256, "dropout": 0.5, "keyChain": KEY_CHAIN_HIDDEN}
    raise UserError(f'--model must be rwkv or lstm, got "{kind}"')


def _dataset_defaults(label):
    if label == "jsb-chorales":
        return {"epochs": 200, "batchFrames": 2048, "maxLength": 256, "warmupSteps": 50}
    if label == "nottingham":
        return {"epochs": 40, "batchFrames": 2048, "maxLength": 512, "warmupSteps": 100}
    return {"epochs": 40, "batchFrames": 4096, "maxLength": 512, "warmupSteps": 100}


def default_training_config(kind, dataset):
    d = _dataset_defaults(dataset_label(dataset))
    lr = 1.5e-3 if kind == "rwkv" else 3e-3
    return {
        "epochs": d["epochs"], "minutes": None, "batchFrames": d["batchFrames"], "maxLength": d["maxLength"],
        "evalMaxLength": None, "transpose": 3, "randomPhase": True,
        "schedule": {"kind": "cosine", "lr": lr, "minLr": lr / 10, "warmupSteps": d["warmupSteps"], "totalSteps": 0},
        "optimizer": {"beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weightDecay": 0.01},
        "initHeadBias": True, "clip": 1.0, "patience": None, "logEvery": 10, "checkpointMinutes": 5, "maxNonFinite": 5,
    }


TRAINING_KEYS = tuple(default_training_config("rwkv", "nottingham").keys())


def _num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _pos_int(x):
    return _is_int(x) and x > 0


def schedule_problem(s):
    def nonneg(x):
        return _num(x) and x >= 0
    kind = s.get("kind")
    if kind == "constant":
        return None if nonneg(s.get("lr")) else "schedule.lr must be a non-negative number"
    if kind == "cosine":
        if not nonneg(s.get("lr")) or not nonneg(s.get("minLr")):
            return "schedule.lr and schedule.minLr must be non-negative numbers"
        if not _is_int(s.get("warmupSteps")) or s["warmupSteps"] < 0:
            return "schedule.warmupSteps must be an integer >= 0"
        if not _is_int(s.get("totalSteps", 0)) or s.get("totalSteps", 0) < 0:
            return "schedule.totalSteps must be an integer >= 0"
        return None
    if kind == "triangular":
        if not nonneg(s.get("lo")) or not nonneg(s.get("hi")):
            return "schedule.lo and schedule.hi must be non-negative numbers"
        return None
    return f"unknown schedule kind {_json(kind)} (cosine, triangular or constant)"


def training_config_problem(t):
    """The first problem of a training configuration, or None (src/train/config.ts)."""
    for key in t:
        if key not in TRAINING_KEYS:
            return f'unknown training setting "{key}" (known: {", ".join(TRAINING_KEYS)})'
    for key in TRAINING_KEYS:
        if key not in t:
            return f'missing training setting "{key}"'
    if t["epochs"] is not None and not _pos_int(t["epochs"]):
        return "epochs must be a positive integer"
    if t["minutes"] is not None and not (_num(t["minutes"]) and t["minutes"] > 0):
        return "minutes must be a positive number"
    if not _pos_int(t["batchFrames"]):
        return "batchFrames must be a positive integer"
    if not _is_int(t["maxLength"]) or t["maxLength"] < 2:
        return "maxLength must be an integer >= 2"
    if t["evalMaxLength"] is not None and (not _is_int(t["evalMaxLength"]) or t["evalMaxLength"] < 2):
        return "evalMaxLength must be an integer >= 2 or null"
    if t["epochs"] is None and t["minutes"] is None:
        return "give a number of epochs or a time budget in minutes"
    if not _is_int(t["transpose"]) or not 0 <= t["transpose"] <= 12:
        return "transpose must be an integer in 0..12"
    if not isinstance(t["randomPhase"], bool):
        return "randomPhase must be true or false"
    if not isinstance(t["schedule"], dict):
        return "schedule must be an object"
    p = schedule_problem(t["schedule"])
    if p:
        return p
    o = t["optimizer"]
    if not isinstance(o, dict) or not all(_num(o.get(k)) for k in ("beta1", "beta2", "eps", "weightDecay")):
        return "optimizer needs numbers beta1, beta2, eps, weightDecay"
    if not (0 <= o["beta1"] < 1 and 0 <= o["beta2"] < 1):
        return "optimizer betas must be in [0, 1)"
    if o["eps"] <= 0 or o["weightDecay"] < 0:
        return "optimizer eps must be > 0 and weightDecay >= 0"
    if not isinstance(t["initHeadBias"], bool):
        return "initHeadBias must be true or false"
    if not _num(t["clip"]) or t["clip"] < 0:
        return "clip must be a number >= 0"
    if t["patience"] is not None and not _pos_int(t["patience"]):
        return "patience must be a positive integer or null"
    if not _pos_int(t["logEvery"]):
        return "logEvery must be a positive integer"
    if not _num(t["checkpointMinutes"]) or t["checkpointMinutes"] <= 0:
        return "checkpointMinutes must be a positive number"
    if not _pos_int(t["maxNonFinite"]):
        return "maxNonFinite must be a positive integer"
    return None


def read_config_file(path):
    """A --config file: {"model": {...}, "training": {...}} (partial), or a run's config.json."""
    import json
    if not os.path.exists(path):
        raise UserError(f"{path}: config file not found")
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except ValueError as e:
        raise UserError(f"{path}: not valid JSON ({e})")
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected a JSON object")
    if raw.get("format") == "rwkv-music-run":
        raw = {"model": raw.get("model"), "training": raw.get("training")}
    for key in raw:
        if key not in ("model", "training"):
            raise UserError(f'{path}: unknown section "{key}" (expected "model" and/or "training")')
    for section in ("model", "training"):
        if section in raw and not isinstance(raw[section], dict):
            raise UserError(f'{path}: "{section}" must be an object')
    for key in raw.get("training") or {}:
        if key not in TRAINING_KEYS:
            raise UserError(f'{path}: unknown training setting "{key}" (known: {", ".join(TRAINING_KEYS)})')
    return raw


def build_run_config(kind, dataset, seed, file_cfg, flags, package):
    """Defaults, then a --config file, then flags (each overriding field by field), as src/train/setup.ts."""
    file_cfg = file_cfg or {}
    merged = {**default_model_config(kind, dataset), **(file_cfg.get("model") or {})}
    if merged.get("kind") != kind:
        raise UserError(f'the config file\'s model kind "{merged.get("kind")}" differs from --model {kind}')
    model = validate_model_config(merged)
    base = default_training_config(kind, dataset)
    ft = file_cfg.get("training") or {}
    t = {**copy.deepcopy(base), **copy.deepcopy(ft)}
    fs = ft.get("schedule")
    if isinstance(fs, dict) and fs.get("kind") is not None and fs["kind"] != base["schedule"]["kind"]:
        t["schedule"] = dict(fs)
    else:
        t["schedule"] = {**base["schedule"], **(fs or {})}
    t["optimizer"] = {**base["optimizer"], **(ft.get("optimizer") or {})}
    if flags.get("epochs") is not None:
        t["epochs"] = flags["epochs"]
    if flags.get("minutes") is not None:
        t["minutes"] = flags["minutes"]
        if flags.get("epochs") is None and "epochs" not in ft:
            t["epochs"] = None
    for key in ("batchFrames", "maxLength", "transpose", "patience"):
        if flags.get(key) is not None:
            t[key] = flags[key]
    sched = flags.get("schedule")
    if sched is not None and sched != t["schedule"]["kind"]:
        s = t["schedule"]
        peak = s["hi"] if s["kind"] == "triangular" else s["lr"]
        if sched == "cosine":
            t["schedule"] = {"kind": "cosine", "lr": peak, "minLr": peak / 10, "warmupSteps": base["schedule"]["warmupSteps"], "totalSteps": 0}
        elif sched == "constant":
            t["schedule"] = {"kind": "constant", "lr": peak}
        elif sched == "triangular":
            t["schedule"] = {"kind": "triangular", "lo": peak / 10, "hi": peak}
        else:
            raise UserError(f"--schedule must be cosine, triangular or constant, got \"{sched}\"")
    if flags.get("lr") is not None:
        lr = flags["lr"]
        s = t["schedule"]
        if s["kind"] == "cosine":
            t["schedule"] = {**s, "lr": lr, "minLr": lr / 10}
        elif s["kind"] == "constant":
            t["schedule"] = {**s, "lr": lr}
        else:
            t["schedule"] = {**s, "lo": lr / 10, "hi": lr}
    where = "config" if file_cfg else "settings"
    problem = training_config_problem(t)
    if problem:
        raise UserError(f"{where}: {problem}")
    model = with_condition(model, "condition" in (file_cfg.get("model") or {}), t["transpose"], where)
    return {"format": "rwkv-music-run", "version": RUN_FORMAT_VERSION, "package": package, "model": model,
            "training": t, "dataset": dataset_reference(dataset), "seed": seed}


def with_condition(model, explicit, transpose, where):
    """src/train/setup.ts withCondition: by default a model learns how pieces start and which key they
    are in (a start step and a key input as wide as the training transposition); a config that sets
    `condition` keeps it, and its key input must cover the transposition."""
    if not explicit:
        return validate_model_config({**model, "condition": {"start": True, "keyShifts": transpose if transpose <= MAX_KEY_SHIFTS else 0}})
    k = (model.get("condition") or {}).get("keyShifts", 0)
    if 0 < k < transpose:
        raise UserError(f"{where}: the model's key input covers ±{k} semitones but training transposes by up to ±{transpose}; "
                        "raise condition.keyShifts or lower --transpose")
    return model


def dataset_reference(dataset):
    return dataset if dataset in BUNDLED_DATASETS else os.path.abspath(dataset)


def check_run_config(cfg, path):
    """Validates a run's config.json as src/train/checkpoint.ts readRunConfig does."""
    if not isinstance(cfg, dict) or cfg.get("format") != "rwkv-music-run":
        raise UserError(f"{path} is not a rwkv-music run config")
    if cfg.get("version") != RUN_FORMAT_VERSION:
        raise UserError(f"{path} has format version {cfg.get('version')}; this version reads {RUN_FORMAT_VERSION}")
    try:
        cfg["model"] = validate_model_config(cfg.get("model"))
    except UserError as e:
        raise UserError(f"{path}: {e}")
    if not isinstance(cfg.get("dataset"), str) or not _is_int(cfg.get("seed")):
        raise UserError(f"{path}: missing dataset or seed")
    if not isinstance(cfg.get("training"), dict):
        raise UserError(f"{path}: missing training section")
    problem = training_config_problem(cfg["training"])
    if problem:
        raise UserError(f"{path}: {problem}")
    return cfg
