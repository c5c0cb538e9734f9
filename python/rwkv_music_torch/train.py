"""The PyTorch trainer: `torchrun --nproc_per_node N -m rwkv_music_torch.train ...` (or plain
`python3 -m rwkv_music_torch.train ...` for one process).

It reads the run folder format of src/train (config.json, best.safetensors, model.safetensors,
metrics.jsonl), so `rwkv-music eval`, `generate`, `compare --runs` and the studio use its runs
unchanged; its own resumable state is torch-checkpoint.pt in the same folder. The loop is that of
src/train/loop.ts: per batch, the mean NLL per trained frame (the scored frames and, for a model with a
start step, its predictions of first frames; over all processes), backward, global
gradient-norm clip, AdamW at the scheduled rate, a skipped step on a non-finite gradient; per epoch,
validation, the best weights kept, a checkpoint. Each process trains on its share of the epoch's
batches (a DistributedSampler over the batch plan), so one step covers world-size batches.
Everything that decides the next update is in the checkpoint or a pure function of (seed, epoch,
step, rank), so a resumed run repeats exactly what an uninterrupted one would have done.
"""
import argparse
import contextlib
import json
import math
import os
import re
import signal
import sys
import time

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data.distributed import DistributedSampler

from . import __version__
from .config import KEYS, build_run_config, check_run_config, read_config_file
from .data import evaluation_plan, load_corpus, make_batch, training_plan
from .distributed import Dist
from .errors import UserError
from .models import bernoulli_nll, build_model, decay_groups, load_tensors_into, model_bytes
from .safetensors_io import read_model_file, write_atomic
from .schedule import learning_rate

FILES = {"config": "config.json", "model": "model.safetensors", "best": "best.safetensors",
         "metrics": "metrics.jsonl", "checkpoint": "torch-checkpoint.pt"}
CHECKPOINT_FORMAT = "rwkv-music-torch-checkpoint"
BIAS_CLAMP = 1e-4


def step_seed(seed, step, rank):
    """The dropout stream of one step on one process: no generator state to carry across a resume."""
    return (seed * 0x9E3779B1 + step * 0x85EBCA77 + rank * 0xC2B2AE3D + 1) % (2 ** 63 - 1)


def init_head_bias(model, corpus, transpose):
    """head.bias = log-odds of each key's training frequency, averaged over the transpositions
    training will apply (src/train/loop.ts initHeadBiasFromData)."""
    counts, frames = corpus["train"].key_counts()
    if frames == 0:
        return
    shifted = np.zeros(KEYS)
    for shift in range(-transpose, transpose + 1):
        for k in range(KEYS):
            j = k - shift
            if 0 <= j < KEYS:
                shifted[k] += counts[j] / (2 * transpose + 1)
    p = np.clip(shifted / frames, BIAS_CLAMP, 1 - BIAS_CLAMP)
    with torch.no_grad():
        model.head.bias.copy_(torch.from_numpy(np.log(p / (1 - p))))


def evaluate(model, split, batch_frames, max_length, dist_, device, autocast):
    """Summed NLL and scored frames over a split; each process scores its share of the batches."""
    condition = model.config.get("condition")
    plan = evaluation_plan(split, batch_frames, max_length, bool(condition and condition["start"]))
    model.eval()
    nll, frames = 0.0, 0.0
    with torch.no_grad():
        for i in range(dist_.rank, len(plan), dist_.world):
            b = make_batch(split, plan[i], condition).to(device)
            with autocast():
                logits = model(b.inputs, b.targets, b.condition)
            nll += float(bernoulli_nll(logits, b.targets, b.mask).double())
            frames += float(b.mask.sum())
    model.train()
    nll, frames = dist_.all_sum([nll, frames])
    return nll, frames


class Metrics:
    """metrics.jsonl as src/train/metrics.ts writes it (rewritten atomically on each append)."""

    def __init__(self, path, max_step=None):
        self.path = path
        self.lines = []
        if max_step is not None and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(rec.get("step"), (int, float)) and rec["step"] <= max_step:
                        self.lines.append(line.rstrip("\n"))

    def append(self, record):
        self.lines.append(json.dumps(record, separators=(",", ":")))
        write_atomic(self.path, ("\n".join(self.lines) + "\n").encode("utf-8"))

    def records(self):
        return [json.loads(line) for line in self.lines]


class Progress:
    def __init__(self, enabled):
        self.enabled = enabled and sys.stderr.isatty()

    def update(self, epoch, done, total, loss, fps):
        if self.enabled:
            width = 30
            filled = int(width * done / max(1, total))
            sys.stderr.write(f"\repoch {epoch + 1} [{'#' * filled}{'-' * (width - filled)}] {done}/{total} | loss {loss:.3f} | {fps:,.0f} frames/s ")
            sys.stderr.flush()

    def done(self):
        if self.enabled:
            sys.stderr.write("\r\033[K")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m rwkv_music_torch.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=["rwkv", "lstm"], help="model kind (new runs)")
    p.add_argument("--dataset", help="nottingham, jsb-chorales, a .json.gz dataset file or a sharded dataset folder")
    p.add_argument("--config", help='JSON with "model" and/or "training" settings overriding the defaults')
    p.add_argument("--epochs", type=int)
    p.add_argument("--minutes", type=float)
    p.add_argument("--steps", type=int, help="stop after this many optimizer steps in total (checkpoints first)")
    p.add_argument("--lr", type=float)
    p.add_argument("--batch-frames", type=int, help="frames per batch and process (B x T upper bound)")
    p.add_argument("--max-length", type=int)
    p.add_argument("--transpose", type=int)
    p.add_argument("--patience", type=int)
    p.add_argument("--schedule", choices=["cosine", "triangular", "constant"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", help="run folder (new runs)")
    p.add_argument("--resume", help="continue the PyTorch run in this folder exactly where it stopped")
    p.add_argument("--init-from", help="start from the weights of a model file or run folder (e.g. one trained by `rwkv-music train`)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto",
                   help="auto: bf16 (or fp16) autocast on GPU, fp32 on CPU")
    p.add_argument("--wkv", choices=["chunked", "loop"], default="chunked", help="WKV formulation (same result)")
    p.add_argument("--wkv-chunk", type=int, default=16)
    p.add_argument("--threads", type=int, help="CPU threads per process (torch.set_num_threads)")
    return p.parse_args(argv)


def latest_weights(run_dir):
    """A run folder's newest weights: model.safetensors at the top (this trainer's layout), else the
    newest complete checkpoint folder checkpoints/<n>-step-<step>/ (rwkv-music train's), else None."""
    top = os.path.join(run_dir, FILES["model"])
    if os.path.exists(top):
        return top
    root = os.path.join(run_dir, "checkpoints")
    if os.path.isdir(root):
        found = []
        for name in os.listdir(root):
            m = re.fullmatch(r"(\d+)-step-(\d+)", name)
            if m and os.path.exists(os.path.join(root, name, FILES["model"])):
                found.append((int(m.group(1)), os.path.join(root, name, FILES["model"])))
        if found:
            return max(found)[1]
    return None


def _init_weights(args):
    """(model config, tensors, source) of --init-from: a model file or a run folder's weights."""
    path = args.init_from
    if os.path.isdir(path):
        latest = latest_weights(path)
        best = os.path.join(path, FILES["best"])
        if latest is not None:
            path = latest
        elif os.path.exists(best):
            path = best
        else:
            raise UserError(f"{args.init_from}: this folder has no {FILES['model']} or {FILES['best']}")
    config, tensors = read_model_file(path)
    return config, tensors, path


def _main_rank_stamp(dist_):
    """The main rank's clock as YYYYmmdd-HHMMSS, the same on every rank (ranks may start across a second)."""
    started = dist_.all_max([time.time() if dist_.main else 0.0])[0]
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(started))


def prepare_run(args, dist_):
    """The run's config (new or resumed) and the checkpoint to continue from (or None)."""
    if args.resume:
        run_dir = args.resume
        cfg_path = os.path.join(run_dir, FILES["config"])
        if not os.path.exists(cfg_path):
            raise UserError(f"{cfg_path} not found: not a run folder")
        with open(cfg_path, encoding="utf-8") as f:
            try:
                cfg = json.load(f)
            except ValueError as e:
                raise UserError(f"{cfg_path} is damaged: {e}")
        cfg = check_run_config(cfg, cfg_path)
        ck_path = os.path.join(run_dir, FILES["checkpoint"])
        if not os.path.exists(ck_path):
            raise UserError(f"{ck_path} not found: the run has no PyTorch checkpoint to resume")
        ck = torch.load(ck_path, map_location="cpu")
        if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT or ck.get("version") != 1:
            raise UserError(f"{ck_path} is not a {CHECKPOINT_FORMAT} of version 1")
        if ck["world"] != dist_.world:
            raise UserError(f"{ck_path} was written by {ck['world']} processes; resume with --nproc_per_node {ck['world']} to continue exactly")
        return run_dir, cfg, ck, None
    if not args.dataset:
        raise UserError("--dataset is required for a new run")
    init = _init_weights(args) if args.init_from else None
    kind = args.model or (init[0]["kind"] if init else None)
    if kind is None:
        raise UserError("--model is required (rwkv or lstm)")
    file_cfg = read_config_file(args.config) if args.config else {}
    if init:
        if init[0]["kind"] != kind:
            raise UserError(f"{init[2]} holds a {init[0]['kind']} model, not --model {kind}")
        # the source's inputs as they are (absent conditioning stays absent), so its weights fit
        file_cfg = {**file_cfg, "model": {**init[0], "condition": init[0].get("condition") or {"start": False, "keyShifts": 0}}}
    flags = {"epochs": args.epochs, "minutes": args.minutes, "lr": args.lr, "batchFrames": args.batch_frames,
             "maxLength": args.max_length, "transpose": args.transpose, "patience": args.patience, "schedule": args.schedule}
    cfg = build_run_config(kind, args.dataset, args.seed, file_cfg, flags, f"rwkv-music-torch {__version__}")
    run_dir = args.out or os.path.join("runs", f"{kind}-{os.path.basename(args.dataset).split('.')[0]}-torch-{_main_rank_stamp(dist_)}")
    if os.path.exists(os.path.join(run_dir, FILES["config"])):
        raise UserError(f"{run_dir} already holds a run; pick another --out or continue it with --resume")
    return run_dir, cfg, None, init


def train(args):
    dist_ = Dist(args.device)
    try:
        return _train(args, dist_)
    finally:
        dist_.close()


def _train(args, dist_):
    if args.threads:
        torch.set_num_threads(args.threads)
    run_dir, cfg, ck, init = prepare_run(args, dist_)
    # every rank has checked that the folder holds no run before the main rank writes one into it
    dist_.barrier()
    t = cfg["training"]
    device = dist_.device
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if dist_.main else (lambda line: None)
    corpus = load_corpus(cfg["dataset"])
    if corpus["train"].predicted_frames() == 0:
        raise UserError("the training split has no sequence of 2 or more frames to learn from")
    if corpus["valid"].predicted_frames() == 0:
        raise UserError("the validation split has no sequence of 2 or more frames to score")

    torch.manual_seed(cfg["seed"])
    model = build_model(cfg["model"])
    model.initialize()
    if hasattr(model, "wkv_mode"):
        model.wkv_mode, model.wkv_chunk = args.wkv, args.wkv_chunk
    if init:
        load_tensors_into(model, init[1], init[2])
    elif ck is None and t["initHeadBias"]:
        init_head_bias(model, corpus, t["transpose"])
    model.to(device)
    opt = torch.optim.AdamW(decay_groups(model, t["optimizer"]["weightDecay"]), lr=0.0,
                            betas=(t["optimizer"]["beta1"], t["optimizer"]["beta2"]), eps=t["optimizer"]["eps"])

    precision = args.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if device.type == "cuda" else "fp32"
    if precision != "fp32" and device.type != "cuda":
        raise UserError(f"--precision {precision} needs a GPU; on CPU the trainer computes in fp32")
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    autocast = (lambda: torch.autocast("cuda", dtype=amp_dtype)) if amp_dtype else contextlib.nullcontext
    scaler = torch.cuda.amp.GradScaler() if precision == "fp16" else None

    st = {"epoch": 0, "batchInEpoch": 0, "step": 0, "totalSteps": 0, "bestValid": None, "bestEpoch": None,
          "bestStep": None, "epochsWithoutImprovement": 0, "epochNllSum": 0.0, "epochFrames": 0.0, "nonFinite": 0,
          "elapsedMs": 0.0, "stopped": None}
    metrics_path = os.path.join(run_dir, FILES["metrics"])
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        if scaler is not None and ck.get("scaler"):
            scaler.load_state_dict(ck["scaler"])
        st.update(ck["state"])
        st["stopped"] = None
        metrics = Metrics(metrics_path, max_step=st["step"])
        log(f"resuming {run_dir} at epoch {st['epoch'] + 1}, batch {st['batchInEpoch']}, step {st['step']}")
    else:
        metrics = Metrics(metrics_path)
        if dist_.main:
            os.makedirs(run_dir, exist_ok=True)
            write_atomic(os.path.join(run_dir, FILES["config"]), (json.dumps(cfg, indent=2) + "\n").encode("utf-8"))
    dist_.barrier()
    ddp = DDP(model, device_ids=[device.index] if device.type == "cuda" else None) if dist_.active else model
    params = [p for p in model.parameters()]

    max_epochs = args.epochs if (args.resume and args.epochs is not None) else t["epochs"]
    minutes = args.minutes if (args.resume and args.minutes is not None) else t["minutes"]
    budget_s = minutes * 60 if minutes is not None else math.inf
    max_steps = args.steps
    train_split, valid_split = corpus["train"], corpus["valid"]
    eval_len = t["evalMaxLength"] or sys.maxsize

    condition = cfg["model"].get("condition")
    start_step = bool(condition and condition["start"])

    def plan_for(epoch):
        batches = training_plan(train_split, t["batchFrames"], t["maxLength"], t["transpose"], t["randomPhase"], cfg["seed"], epoch, start_step)
        sampler = DistributedSampler(range(len(batches)), num_replicas=dist_.world, rank=dist_.rank, shuffle=False, drop_last=False)
        return batches, list(sampler)

    refine_horizon = False
    if t["schedule"]["kind"] == "cosine" and st["totalSteps"] == 0:
        if t["schedule"].get("totalSteps", 0) > 0:
            st["totalSteps"] = t["schedule"]["totalSteps"]
        else:
            if t["epochs"] is not None:
                st["totalSteps"] = t["epochs"] * len(plan_for(0)[1])
            refine_horizon = t["minutes"] is not None
    epoch_horizon = st["totalSteps"] if st["totalSteps"] > 0 else math.inf

    stop_signal = {"flag": False}

    def on_signal(signum, frame):
        stop_signal["flag"] = True
        log("stopping after the current step...")
    old_handlers = [(s, signal.signal(s, on_signal)) for s in (signal.SIGINT, signal.SIGTERM)]

    start = time.monotonic()
    elapsed_before = st["elapsedMs"]
    last_checkpoint = start
    valid_frames_total = valid_split.predicted_frames()
    timing = []
    train_s, train_frames, validation_s = 0.0, 0.0, None
    log_nll = log_frames = log_s = 0.0
    validated_at = -1
    steps_run = 0

    def elapsed_ms():
        return elapsed_before + (time.monotonic() - start) * 1000

    def checkpoint():
        st["elapsedMs"] = elapsed_ms()
        if dist_.main:
            ckpt = {"format": CHECKPOINT_FORMAT, "version": 1, "world": dist_.world, "model": model.state_dict(),
                    "optimizer": opt.state_dict(), "scaler": scaler.state_dict() if scaler else None, "state": dict(st)}
            tmp = os.path.join(run_dir, f"{FILES['checkpoint']}.tmp-{os.getpid()}")
            torch.save(ckpt, tmp)
            os.replace(tmp, os.path.join(run_dir, FILES["checkpoint"]))
            write_atomic(os.path.join(run_dir, FILES["model"]), model_bytes(model))
        dist_.barrier()

    def validate():
        nonlocal validation_s, validated_at
        t0 = time.monotonic()
        nll, frames = evaluate(model, valid_split, t["batchFrames"], eval_len, dist_, device, autocast)
        validation_s = time.monotonic() - t0
        validated_at = st["step"]
        v = nll / frames
        improved = st["bestValid"] is None or v < st["bestValid"]
        if improved:
            st["bestValid"], st["bestEpoch"], st["bestStep"] = v, st["epoch"], st["step"]
            if dist_.main:
                write_atomic(os.path.join(run_dir, FILES["best"]), model_bytes(model))
        return v, frames, improved

    def reserve_s():
        if validation_s is not None:
            return validation_s
        return 0.4 * valid_frames_total * train_s / train_frames if train_frames > 0 else 0.0

    def set_time_horizon(per_step_s, at):
        left = budget_s - (at - start)
        fit = max(0, math.floor(0.95 * left / max(1e-9, per_step_s)))
        st["totalSteps"] = max(1, min(epoch_horizon, st["step"] + fit))

    progress = Progress(dist_.main)
    stopped = None
    try:
        while stopped is None:
            if max_epochs is not None and st["epoch"] >= max_epochs:
                stopped = "epochs"
                break
            batches, mine = plan_for(st["epoch"])
            nb = len(mine)
            epoch_start = time.monotonic()
            epoch_frames = 0.0
            while st["batchInEpoch"] < nb:
                pieces = batches[mine[st["batchInEpoch"]]]
                b = make_batch(train_split, pieces, condition).to(device)
                # trained positions: the scored ones and the start steps' predictions of first frames
                local_frames = float(b.train_mask.sum())
                want_stop = stop_signal["flag"] or (max_steps is not None and st["step"] >= max_steps) or \
                    (time.monotonic() - start + reserve_s() >= budget_s)
                frames, stops = dist_.all_sum([local_frames, 1.0 if want_stop else 0.0])
                if stops > 0:
                    stopped = "interrupted" if stop_signal["flag"] else ("steps" if max_steps is not None and st["step"] >= max_steps else "time")
                    break
                step_start = time.monotonic()
                lr = learning_rate(t["schedule"], st["step"], st["batchInEpoch"], nb, st["totalSteps"])
                for g in opt.param_groups:
                    g["lr"] = lr
                torch.manual_seed(step_seed(cfg["seed"], st["step"], dist_.rank))
                opt.zero_grad(set_to_none=False)
                with autocast():
                    logits = ddp(b.inputs, b.targets, b.condition)
                nll = bernoulli_nll(logits, b.targets, b.train_mask)
                loss = nll * (dist_.world / frames)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(opt)
                else:
                    loss.backward()
                norm = float(torch.nn.utils.clip_grad_norm_(params, t["clip"] if t["clip"] > 0 else math.inf))
                nll_sum = dist_.all_sum([float(nll.detach())])[0]
                if not math.isfinite(norm) or not math.isfinite(nll_sum):
                    opt.zero_grad(set_to_none=False)
                    if scaler is not None:
                        scaler.update()  # lowers the loss scale; not a model failure
                    else:
                        st["nonFinite"] += 1
                        what = "gradient" if math.isfinite(nll_sum) else "loss"
                        if dist_.main:
                            metrics.append({"type": "skip", "step": st["step"], "epoch": st["epoch"], "reason": f"non-finite {what}", "lr": lr})
                        log(f"step {st['step']}: non-finite {what}, step skipped ({st['nonFinite']} in a row)")
                        if st["nonFinite"] >= t["maxNonFinite"]:
                            st["step"] += 1
                            st["batchInEpoch"] += 1
                            checkpoint()
                            if dist_.main:
                                metrics.append({"type": "stop", "step": st["step"], "epoch": st["epoch"], "reason": "non-finite"})
                            raise UserError(f"training stopped: {st['nonFinite']} steps in a row had a non-finite loss or gradient; "
                                            f"the last good weights are checkpointed in {run_dir}; try a lower learning rate")
                else:
                    st["nonFinite"] = 0
                    if scaler is not None:
                        scaler.step(opt)
                        scaler.update()
                    else:
                        opt.step()
                    st["epochNllSum"] += nll_sum
                    st["epochFrames"] += frames
                    log_nll += nll_sum
                    log_frames += frames
                st["step"] += 1
                st["batchInEpoch"] += 1
                steps_run += 1
                step_end = time.monotonic()
                train_s += step_end - step_start
                log_s += step_end - step_start
                train_frames += frames
                epoch_frames += frames
                if refine_horizon and len(timing) < 13:
                    timing.append(step_end - step_start)
                    if len(timing) == 13:
                        per_step = dist_.all_max([sum(timing[3:]) / 10])[0]
                        set_time_horizon(per_step + reserve_s() / max(1, nb), step_end)
                fps = epoch_frames / max(1e-9, step_end - epoch_start)
                progress.update(st["epoch"], st["batchInEpoch"], nb, nll_sum / max(1.0, frames), fps)
                if st["step"] % t["logEvery"] == 0 and log_frames > 0:
                    if dist_.main:
                        metrics.append({"type": "step", "step": st["step"], "epoch": st["epoch"], "lr": lr,
                                        "trainLoss": log_nll / log_frames, "framesPerSec": log_frames / max(1e-9, log_s),
                                        "wallSeconds": elapsed_ms() / 1000})
                    log_nll = log_frames = log_s = 0.0
                if (step_end - last_checkpoint) >= t["checkpointMinutes"] * 60:
                    checkpoint()
                    last_checkpoint = time.monotonic()
            progress.done()
            fps = epoch_frames / max(1e-9, time.monotonic() - epoch_start)
            if stopped is not None:
                if stopped == "time" and validated_at != st["step"]:
                    v, _, _ = validate()
                    if dist_.main:
                        metrics.append({"type": "final", "step": st["step"], "epoch": st["epoch"],
                                        "trainLoss": st["epochNllSum"] / st["epochFrames"] if st["epochFrames"] > 0 else None,
                                        "validNll": v, "validBce": v / KEYS, "framesPerSec": fps, "wallSeconds": elapsed_ms() / 1000})
                    log(f"time budget reached at epoch {st['epoch'] + 1}, step {st['step']}: valid {v:.4f} nats/frame")
                break
            train_loss = st["epochNllSum"] / st["epochFrames"] if st["epochFrames"] > 0 else float("nan")
            lr = learning_rate(t["schedule"], max(0, st["step"] - 1), nb - 1, nb, st["totalSteps"])
            v, vframes, improved = validate()
            if refine_horizon and train_s > 0:
                set_time_horizon(dist_.all_max([train_s / max(1, steps_run)])[0] + (validation_s or 0) / max(1, nb), time.monotonic())
            st["epochsWithoutImprovement"] = 0 if improved else st["epochsWithoutImprovement"] + 1
            if dist_.main:
                metrics.append({"type": "epoch", "step": st["step"], "epoch": st["epoch"], "lr": lr, "trainLoss": train_loss,
                                "validNll": v, "validBce": v / KEYS, "validFrames": int(vframes), "framesPerSec": fps,
                                "wallSeconds": elapsed_ms() / 1000, "best": improved})
            log(f"epoch {st['epoch'] + 1}{'/' + str(max_epochs) if max_epochs else ''}: train {train_loss:.4f}, valid {v:.4f} nats/frame"
                f"{' (best)' if improved else ''}, {fps:,.0f} frames/s, step {st['step']}, {elapsed_ms() / 60000:.1f} min")
            st["epoch"] += 1
            st["batchInEpoch"] = 0
            st["epochNllSum"] = 0.0
            st["epochFrames"] = 0.0
            if t["patience"] is not None and st["epochsWithoutImprovement"] >= t["patience"]:
                stopped = "early-stopping"
            checkpoint()
            last_checkpoint = time.monotonic()
        st["stopped"] = stopped
        checkpoint()
        if dist_.main:
            metrics.append({"type": "stop", "step": st["step"], "epoch": st["epoch"], "reason": stopped, "wallSeconds": elapsed_ms() / 1000})
    finally:
        progress.done()
        for s, h in old_handlers:
            signal.signal(s, h)
    return {"stopped": stopped, "step": st["step"], "epoch": st["epoch"], "bestValid": st["bestValid"], "runDir": run_dir}


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        result = train(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
