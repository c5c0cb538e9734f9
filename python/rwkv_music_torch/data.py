"""Datasets as src/data reads them, and batches as src/data/batching.ts makes them.

A dataset is a gzip JSON file {"train": [...], "valid": [...], "test": [...], "timing"?: {...}} (each
split a list of sequences, each sequence a list of frames, each frame the sorted MIDI notes 21..108
that sound), or a sharded dataset written by `rwkv-music data import --shard-frames N`: a folder with
manifest.json listing, per split, shard files of the same sequences with their lengths and key counts.
A split is a list of shards; an unsharded file is one shard per split. Batches never mix shards, so a
trainer holds at most a couple of shards in memory at a time.

For a model with conditioning inputs (config `condition`) a batch also carries its conditioning
columns and a training mask, as src/data/batching.ts makes them: a chunk that begins at a piece's
first frame is read after a start step (an empty input frame with the start flag on), whose prediction
of the first frame is trained but not scored; every position carries the one-hot of the piece's
transposition over -keyShifts..keyShifts.
"""
import gzip
import json
import os
import random
from collections import OrderedDict

import numpy as np
import torch

from .config import BUNDLED_DATASETS, KEYS, condition_width
from .errors import UserError

LOWEST_NOTE = 21
HIGHEST_NOTE = 108
SPLITS = ("train", "valid", "test")
SHARD_FORMAT = "rwkv-music-shards"
REPO_DATA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data"))


def _read_json_gz(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise UserError(f"{path}: cannot read file ({e.strerror})")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise UserError(f"{path}: corrupt gzip data ({e})")
    elif path.endswith(".gz"):
        raise UserError(f"{path}: not gzip data (a .gz dataset must be gzip-compressed JSON)")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise UserError(f"{path}: not JSON ({e})")


def check_sequences(seqs, where):
    if not isinstance(seqs, list):
        raise UserError(f"{where}: not a list of sequences")
    for s, seq in enumerate(seqs):
        if not isinstance(seq, list) or not seq:
            raise UserError(f"{where}, sequence {s}: not a non-empty list of frames")
        for t, frame in enumerate(seq):
            prev = LOWEST_NOTE - 1
            if not isinstance(frame, list):
                raise UserError(f"{where}, sequence {s}, frame {t}: not a list of notes")
            for n in frame:
                if not isinstance(n, int) or isinstance(n, bool) or n <= prev or n > HIGHEST_NOTE:
                    raise UserError(f"{where}, sequence {s}, frame {t}: notes must be increasing integers in {LOWEST_NOTE}..{HIGHEST_NOTE}")
                prev = n
    return seqs


def key_counts(seqs):
    counts = np.zeros(KEYS, dtype=np.float64)
    for seq in seqs:
        for frame in seq:
            for n in frame:
                counts[n - LOWEST_NOTE] += 1
    return counts


class Shard:
    """Sequences of one split held in memory, or a file read when first needed."""

    def __init__(self, lengths, key_counts_, path=None, sequences=None):
        self.lengths = lengths
        self.key_counts = key_counts_
        self.path = path
        self.sequences = sequences


class Split:
    def __init__(self, name, shards, cache=2):
        self.name = name
        self.shards = shards
        self._cache = OrderedDict()
        self._cache_size = cache

    def sequences(self, i):
        shard = self.shards[i]
        if shard.sequences is not None:
            return shard.sequences
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        raw = _read_json_gz(shard.path)
        if not isinstance(raw, dict) or raw.get("split") != self.name:
            raise UserError(f'{shard.path}: not a shard of split "{self.name}"')
        seqs = check_sequences(raw.get("sequences"), f"{shard.path}")
        if [len(s) for s in seqs] != shard.lengths:
            raise UserError(f"{shard.path}: its sequences do not match the lengths in the manifest")
        self._cache[i] = seqs
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return seqs

    def predicted_frames(self):
        return sum(n - 1 for sh in self.shards for n in sh.lengths if n >= 2)

    def key_counts(self):
        total = np.zeros(KEYS, dtype=np.float64)
        frames = 0
        for i, sh in enumerate(self.shards):
            total += sh.key_counts if sh.key_counts is not None else key_counts(self.sequences(i))
            frames += sum(sh.lengths)
        return total, frames


class Corpus:
    def __init__(self, name, splits):
        self.name = name
        self.splits = splits

    def __getitem__(self, split):
        return self.splits[split]


def resolve_dataset_path(name):
    if name in BUNDLED_DATASETS:
        return os.path.join(REPO_DATA, f"{name}.json.gz")
    return name


def load_corpus(name):
    """A bundled name, a dataset file, or a sharded dataset (its folder or its manifest.json)."""
    path = resolve_dataset_path(name)
    if not os.path.exists(path):
        raise UserError(f"{name}: no such file or folder (bundled datasets: {', '.join(BUNDLED_DATASETS)})")
    if os.path.isdir(path):
        manifest = os.path.join(path, "manifest.json")
        if not os.path.exists(manifest):
            raise UserError(f"{path}: a folder that is not a sharded dataset (no manifest.json); import MIDI folders first with `rwkv-music data import`")
        return _load_sharded(manifest)
    if os.path.basename(path) == "manifest.json":
        return _load_sharded(path)
    raw = _read_json_gz(path)
    if not isinstance(raw, dict):
        raise UserError(f'{path}: expected a JSON object with "train", "valid" and "test" lists')
    splits = {}
    for split in SPLITS:
        if split not in raw:
            raise UserError(f'{path}: missing split "{split}"')
        seqs = check_sequences(raw[split], f"{path}: split {split}")
        splits[split] = Split(split, [Shard([len(s) for s in seqs], None, sequences=seqs)])
    if not raw["train"]:
        raise UserError(f"{path}: split train has no sequences")
    return Corpus(name, splits)


def _load_sharded(manifest):
    raw = _read_json_gz(manifest)
    folder = os.path.dirname(manifest)
    if not isinstance(raw, dict) or raw.get("format") != SHARD_FORMAT or raw.get("version") != 1:
        raise UserError(f"{manifest}: not a {SHARD_FORMAT} manifest of version 1")
    splits = {}
    for split in SPLITS:
        entries = (raw.get("splits") or {}).get(split)
        if not isinstance(entries, list):
            raise UserError(f'{manifest}: missing split "{split}"')
        shards = []
        for e in entries:
            if not isinstance(e, dict) or not isinstance(e.get("file"), str) or not isinstance(e.get("lengths"), list):
                raise UserError(f"{manifest}: bad shard entry in split {split}")
            if os.path.basename(e["file"]) != e["file"]:
                raise UserError(f'{manifest}: shard file "{e["file"]}" must be a plain file name in the same folder')
            counts = e.get("keyCounts")
            counts = np.asarray(counts, dtype=np.float64) if isinstance(counts, list) and len(counts) == KEYS else None
            shards.append(Shard([int(n) for n in e["lengths"]], counts, path=os.path.join(folder, e["file"])))
        splits[split] = Split(split, shards)
    if not any(splits["train"].shards):
        raise UserError(f"{manifest}: split train has no shards")
    return Corpus(manifest, splits)


def chunk_bounds(length, max_length, phase=0):
    """src/data/batching.ts chunkBounds: chunks of at most max_length frames overlapping by one."""
    out = []
    if length < 2:
        return out
    stride = max_length - 1
    start = 0
    end = min(length, max_length - phase)
    if end < 2:
        end = min(length, max_length)
    while True:
        out.append((start, end))
        if end >= length:
            break
        start = end - 1
        end = min(length, start + 1 + stride)
    return out


def piece_positions(piece, start_step):
    """Positions of a piece in a batch: its predictions, plus the start step when it has one."""
    return piece[3] - piece[2] - 1 + (1 if start_step and piece[2] == 0 else 0)


def _group(pieces, batch_frames, start_step):
    batches, current, longest = [], [], 0
    for p in pieces:
        t = piece_positions(p, start_step)
        if current and max(longest, t) * (len(current) + 1) > batch_frames:
            batches.append(current)
            current, longest = [], 0
        current.append(p)
        longest = max(longest, t)
    if current:
        batches.append(current)
    return batches


def evaluation_plan(split, batch_frames, max_length, start_step=False):
    """Every sequence chunked without phase or shift, sorted by length within its shard, grouped.
    A piece is (shard, seq, start, end, shift)."""
    batches = []
    for i, sh in enumerate(split.shards):
        pieces = [(i, s, a, b, 0) for s, n in enumerate(sh.lengths) for a, b in chunk_bounds(n, max_length)]
        pieces.sort(key=lambda p: (-(p[3] - p[2]), p[1], p[2]))
        batches += _group(pieces, batch_frames, start_step)
    return batches


def training_plan(split, batch_frames, max_length, transpose, random_phase, seed, epoch, start_step=False):
    """One epoch's batches, fully determined by (seed, epoch): random shifts and chunk phases, pieces
    sorted by length with random ties and grouped within each shard; the shards' order and the
    batches' order within each shard shuffled."""
    rng = random.Random((seed * 1_000_003 + epoch * 7919 + 17) & 0xFFFFFFFFFFFF)
    order = list(range(len(split.shards)))
    rng.shuffle(order)
    batches = []
    for i in order:
        pieces = []
        for s, n in enumerate(split.shards[i].lengths):
            shift = rng.randint(-transpose, transpose) if transpose > 0 else 0
            phase = rng.randrange(max_length - 1) if random_phase and n > max_length else 0
            for a, b in chunk_bounds(n, max_length, phase):
                pieces.append((rng.random(), (i, s, a, b, shift)))
        pieces.sort(key=lambda kp: (-(kp[1][3] - kp[1][2]), kp[0]))
        group = _group([p for _, p in pieces], batch_frames, start_step)
        rng.shuffle(group)
        batches += group
    return batches


class Batch:
    """inputs, targets [B, T, 88], mask [B, T] (scored), train_mask [B, T] (trained: the scored positions
    and the start steps) and, for a conditioned model, condition [B, T, width]; float32 tensors."""

    def __init__(self, inputs, targets, mask, train_mask, condition):
        self.inputs, self.targets, self.mask, self.train_mask, self.condition = inputs, targets, mask, train_mask, condition

    def to(self, device):
        move = lambda t: None if t is None else t.to(device, non_blocking=True)
        return Batch(move(self.inputs), move(self.targets), move(self.mask), move(self.train_mask), move(self.condition))


def make_batch(split, pieces, condition=None):
    """The pieces of one batch padded at the end (src/data/batching.ts makeBatch)."""
    start_step = bool(condition and condition["start"])
    K = condition["keyShifts"] if condition else 0
    W = condition_width(condition)
    B = len(pieces)
    T = max(piece_positions(p, start_step) for p in pieces)
    inputs = np.zeros((B, T, KEYS), dtype=np.float32)
    targets = np.zeros((B, T, KEYS), dtype=np.float32)
    mask = np.zeros((B, T), dtype=np.float32)
    train_mask = np.zeros((B, T), dtype=np.float32)
    cond = np.zeros((B, T, W), dtype=np.float32) if W else None
    for b, (shard, s, start, end, shift) in enumerate(pieces):
        if K > 0 and abs(shift) > K:
            raise ValueError(f"a piece transposed by {shift} semitones is outside the model's key input (-{K}..{K})")
        seq = split.sequences(shard)[s]
        n = end - start
        roll = np.zeros((n, KEYS), dtype=np.float32)
        rows, cols = [], []
        for t in range(n):
            for note in seq[start + t]:
                k = note + shift - LOWEST_NOTE
                if 0 <= k < KEYS:
                    rows.append(t)
                    cols.append(k)
        roll[rows, cols] = 1
        lead = 1 if start_step and start == 0 else 0  # the start step reads an empty frame
        length = n - 1 + lead
        inputs[b, lead:length] = roll[:n - 1]
        targets[b, :length] = roll[1 - lead:]
        mask[b, lead:length] = 1
        train_mask[b, :length] = 1
        if W:
            if start_step:
                cond[b, 0, 0] = lead
            if K > 0:
                cond[b, :length, (1 if start_step else 0) + K + shift] = 1
    t = torch.from_numpy
    return Batch(t(inputs), t(targets), t(mask), t(train_mask), t(cond) if W else None)
