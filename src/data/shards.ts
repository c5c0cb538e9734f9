/**
 * Sharded datasets, for MIDI collections bigger than memory. `rwkv-music data import --shard-frames N`
 * writes a folder:
 *   manifest.json          {"format": "rwkv-music-shards", "version": 1, "timing", "seed", "split",
 *                           "splits": {"train": [entry, ...], "valid": [...], "test": [...]}}
 *                          entry = {"file", "sequences", "frames", "lengths": [...], "keyCounts": [88 counts]}
 *   train-00000.json.gz    {"split": "train", "sequences": [...]}: sequences of frames as in a dataset file
 *   valid-00000.json.gz, test-00000.json.gz, ...
 * Each file's split is drawn before any file is read (a seeded shuffle of the paths cut by the split
 * shares), and each split's pieces are written out whenever they reach N frames, so memory holds at
 * most three unfinished shards and one MIDI file. The lengths and key counts let a trainer plan its
 * batches and start its output bias without reading the shards.
 *
 * Both trainers stream a sharded dataset (ShardedSplit here, the PyTorch trainer's data.py the same
 * way): an epoch visits the shards in a seeded random order, every batch is made of pieces of one
 * shard (sorted by length with random ties and grouped within the frame budget, the batch order
 * shuffled within the shard), so a shard is read once per epoch and at most two are resident.
 * readShardedDataset, which loads a whole sharded dataset, is for the commands that score or sample.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../atomic-write.js';
import { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import { readMidiFile } from '../midi/read-file.js';
import { epochRng, trainingPlan, type Piece, type TrainBatchingOptions } from './batching.js';
import { SPLITS, type Dataset, type SplitName } from './dataset.js';
import { commonTiming, DEFAULT_SEED, DEFAULT_SPLIT, findMidiFiles, normalizeSplit, splitCounts, type ImportOptions } from './import.js';
import { frameProblem, KEY_COUNT, LOWEST_NOTE, type Frame, type FrameTiming } from './pianoroll.js';

export const SHARD_FORMAT = 'rwkv-music-shards';
export const MANIFEST = 'manifest.json';

export interface ShardEntry {
  file: string;
  sequences: number;
  frames: number;
  lengths: number[];
  keyCounts: number[];
}

export interface ShardManifest {
  format: typeof SHARD_FORMAT;
  version: 1;
  timing: FrameTiming;
  seed: number;
  split: [number, number, number];
  splits: Record<SplitName, ShardEntry[]>;
}

export interface ShardedImportResult {
  manifest: ShardManifest;
  files: number;
  converted: number;
  frames: number;
  failures: { file: string; reason: string }[];
  dropped: number;
}

/** True if `path` is a folder holding a shard manifest. */
export function isShardedDataset(path: string): boolean {
  return existsSync(join(path, MANIFEST)) && statSync(path).isDirectory();
}

/** Pieces of one split waiting to be written as a shard. */
class ShardWriter {
  private sequences: Frame[][] = [];
  private frames = 0;
  private counts = new Array<number>(KEY_COUNT).fill(0);
  readonly entries: ShardEntry[] = [];

  constructor(private readonly dir: string, private readonly split: SplitName, private readonly shardFrames: number) {}

  add(frames: Frame[]): void {
    this.sequences.push(frames);
    this.frames += frames.length;
    for (const f of frames) for (const n of f) this.counts[n - LOWEST_NOTE]++;
    if (this.frames >= this.shardFrames) this.flush();
  }

  flush(): void {
    if (this.sequences.length === 0) return;
    const file = `${this.split}-${String(this.entries.length).padStart(5, '0')}.json.gz`;
    const json = JSON.stringify({ split: this.split, sequences: this.sequences });
    writeFileAtomic(join(this.dir, file), gzipSync(Buffer.from(json, 'utf8'), { level: 6 }));
    this.entries.push({ file, sequences: this.sequences.length, frames: this.frames, lengths: this.sequences.map((s) => s.length), keyCounts: this.counts });
    this.sequences = [];
    this.frames = 0;
    this.counts = new Array<number>(KEY_COUNT).fill(0);
  }
}

/**
 * Converts every MIDI file under `folder` into a sharded dataset in `outDir` (created; must not hold a
 * dataset already). Files that fail are skipped with their reason, as importMidiFolder does.
 */
export function importMidiFolderSharded(folder: string, outDir: string, options: ImportOptions & { shardFrames: number }): ShardedImportResult {
  const shares = normalizeSplit(options.split ?? DEFAULT_SPLIT);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(options.shardFrames) || options.shardFrames < 1) throw new UserError(`shard size must be a positive number of frames, got ${options.shardFrames}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`seed must be an integer in 0..4294967295, got ${seed}`);
  if (existsSync(outDir) && (!statSync(outDir).isDirectory() || readdirSync(outDir).length > 0)) {
    throw new UserError(`${outDir}: already exists and is not an empty folder; a sharded dataset needs a new folder`);
  }
  const files = findMidiFiles(folder, options.recursive ?? true);
  if (files.length === 0) throw new UserError(`${folder}: no .mid or .midi files found`);
  mkdirSync(outDir, { recursive: true });

  // each file's split, decided from the paths alone
  const order = new Rng(seed).shuffle(files.map((_, i) => i));
  const [nTrain, nValid] = splitCounts(files.length, shares);
  const splitOf = new Array<SplitName>(files.length);
  order.forEach((fileIndex, rank) => (splitOf[fileIndex] = rank < nTrain ? 'train' : rank < nTrain + nValid ? 'valid' : 'test'));

  const writers = Object.fromEntries(SPLITS.map((s) => [s, new ShardWriter(outDir, s, options.shardFrames)])) as Record<SplitName, ShardWriter>;
  const timings: FrameTiming[] = [];
  const failures: { file: string; reason: string }[] = [];
  let converted = 0;
  let frames = 0;
  let dropped = 0;
  files.forEach((file, i) => {
    const name = relative(folder, file) || file;
    try {
      const r = readMidiFile(file, { ...options, trimLeadingSilence: !options.keepLeadingSilence });
      writers[splitOf[i]].add(r.roll.frames);
      timings.push(r.roll.timing);
      converted++;
      frames += r.roll.frames.length;
      dropped += r.dropped;
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      failures.push({ file: name, reason: err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message });
    }
    options.onProgress?.(i + 1, files.length, name);
  });
  for (const w of Object.values(writers)) w.flush();
  if (converted === 0) {
    const first = failures[0];
    throw new UserError(`${folder}: none of the ${files.length} MIDI files converted (first failure: ${first.file}: ${first.reason})`);
  }
  if (writers.train.entries.length === 0) throw new UserError(`${folder}: no file of the training split converted`);
  const manifest: ShardManifest = {
    format: SHARD_FORMAT,
    version: 1,
    timing: commonTiming(timings),
    seed,
    split: shares,
    splits: { train: writers.train.entries, valid: writers.valid.entries, test: writers.test.entries },
  };
  writeFileAtomic(join(outDir, MANIFEST), JSON.stringify(manifest) + '\n');
  return { manifest, files: files.length, converted, frames, failures, dropped };
}

/** Reads and checks a manifest; every problem is a UserError naming the file. */
export function readShardManifest(dir: string): ShardManifest {
  const path = join(dir, MANIFEST);
  let m: ShardManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as ShardManifest;
  } catch (err) {
    throw new UserError(`${path}: cannot read the shard manifest (${(err as Error).message})`);
  }
  if (!m || m.format !== SHARD_FORMAT || m.version !== 1 || !m.splits || !m.timing) {
    throw new UserError(`${path}: not a ${SHARD_FORMAT} manifest of version 1`);
  }
  for (const split of SPLITS) {
    const entries = m.splits[split];
    if (!Array.isArray(entries)) throw new UserError(`${path}: missing split "${split}"`);
    for (const e of entries) {
      if (!e || typeof e.file !== 'string' || basename(e.file) !== e.file || !Array.isArray(e.lengths) ||
        !e.lengths.every((n) => Number.isInteger(n) && n >= 1)) {
        throw new UserError(`${path}: bad shard entry in split ${split}`);
      }
      if (e.keyCounts !== undefined && !(Array.isArray(e.keyCounts) && e.keyCounts.length === KEY_COUNT && e.keyCounts.every((c) => Number.isFinite(c) && c >= 0))) {
        throw new UserError(`${path}: shard ${e.file}: keyCounts must be ${KEY_COUNT} counts`);
      }
    }
  }
  return m;
}

/** The sequences of one shard, checked against its manifest entry. */
export function readShard(dir: string, split: SplitName, entry: ShardEntry): Frame[][] {
  const path = join(dir, entry.file);
  let raw: { split?: unknown; sequences?: unknown };
  try {
    raw = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as typeof raw;
  } catch (err) {
    throw new UserError(`${path}: cannot read the shard (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (raw.split !== split || !Array.isArray(raw.sequences)) throw new UserError(`${path}: not a shard of split ${split}`);
  const seqs = raw.sequences as unknown[];
  if (seqs.length !== entry.lengths.length) throw new UserError(`${path}: ${seqs.length} sequences, the manifest says ${entry.lengths.length}`);
  seqs.forEach((seq, s) => {
    if (!Array.isArray(seq) || seq.length !== entry.lengths[s]) throw new UserError(`${path}: sequence ${s} does not match the manifest`);
    seq.forEach((frame, t) => {
      const problem = frameProblem(frame);
      if (problem) throw new UserError(`${path}: sequence ${s}, frame ${t}: ${problem}`);
    });
  });
  return seqs as Frame[][];
}

/** Loads a whole sharded dataset into memory (for the commands that need a Dataset). */
export function readShardedDataset(dir: string): Dataset {
  const m = readShardManifest(dir);
  const load = (split: SplitName) => m.splits[split].flatMap((e) => readShard(dir, split, e));
  return { name: dir, train: load('train'), valid: load('valid'), test: load('test'), timing: m.timing };
}

/** Writes sequences as a sharded dataset in `outDir` (a new or empty folder), cut into shards of about `shardFrames` frames. */
export function writeShardedDataset(outDir: string, dataset: Dataset, shardFrames: number, seed = DEFAULT_SEED): ShardManifest {
  if (existsSync(outDir) && (!statSync(outDir).isDirectory() || readdirSync(outDir).length > 0)) {
    throw new UserError(`${outDir}: already exists and is not an empty folder; a sharded dataset needs a new folder`);
  }
  mkdirSync(outDir, { recursive: true });
  const splits = {} as Record<SplitName, ShardEntry[]>;
  for (const split of SPLITS) {
    const w = new ShardWriter(outDir, split, shardFrames);
    for (const s of dataset[split]) w.add(s);
    w.flush();
    splits[split] = w.entries;
  }
  const total = SPLITS.map((s) => dataset[s].length);
  const n = total[0] + total[1] + total[2];
  const manifest: ShardManifest = {
    format: SHARD_FORMAT, version: 1, timing: dataset.timing, seed,
    split: n > 0 ? [total[0] / n, total[1] / n, total[2] / n] : [...DEFAULT_SPLIT] as [number, number, number], splits,
  };
  writeFileAtomic(join(outDir, MANIFEST), JSON.stringify(manifest) + '\n');
  return manifest;
}

/** The most shards a ShardedSplit keeps in memory: the one being read and the one before it. */
export const RESIDENT_SHARDS = 2;

/**
 * One split of a sharded dataset, read one shard at a time: the lengths and key counts come from the
 * manifest, and at most RESIDENT_SHARDS shards are held (the least recently used is dropped).
 */
export class ShardedSplit {
  private readonly resident = new Map<number, Frame[][]>();
  /** Shard reads so far (a shard dropped and needed again is read again). */
  reads = 0;

  constructor(readonly dir: string, readonly split: SplitName, readonly entries: readonly ShardEntry[], readonly maxResident = RESIDENT_SHARDS) {}

  get shardCount(): number {
    return this.entries.length;
  }

  /** Shards in memory now. */
  get residentShards(): number {
    return this.resident.size;
  }

  /** The sequences of shard i, read if it is not resident. */
  sequences(i: number): Frame[][] {
    const held = this.resident.get(i);
    if (held) {
      this.resident.delete(i);
      this.resident.set(i, held);
      return held;
    }
    while (this.resident.size >= this.maxResident) this.resident.delete(this.resident.keys().next().value as number);
    const seqs = readShard(this.dir, this.split, this.entries[i]);
    this.reads++;
    this.resident.set(i, seqs);
    return seqs;
  }

  /** Sequences of shard i as lengths only (for planning without reading it). */
  lengths(i: number): { length: number }[] {
    return this.entries[i].lengths.map((length) => ({ length }));
  }

  /** Frames predicted (scored) over the split. */
  predictedFrames(): number {
    let n = 0;
    for (const e of this.entries) for (const len of e.lengths) if (len >= 2) n += len - 1;
    return n;
  }

  /** Per-key counts of sounding frames and the number of frames, from the manifest (or the shards that lack counts). */
  keyCounts(): { counts: Float64Array; frames: number } {
    const counts = new Float64Array(KEY_COUNT);
    let frames = 0;
    this.entries.forEach((e, i) => {
      frames += e.lengths.reduce((a, b) => a + b, 0);
      if (e.keyCounts) for (let k = 0; k < KEY_COUNT; k++) counts[k] += e.keyCounts[k];
      else for (const s of this.sequences(i)) for (const f of s) for (const n of f) counts[n - LOWEST_NOTE]++;
    });
    return { counts, frames };
  }
}

/** Opens one split of the sharded dataset in `dir`. */
export function openShardedSplit(dir: string, split: SplitName, maxResident = RESIDENT_SHARDS): ShardedSplit {
  return new ShardedSplit(dir, split, readShardManifest(dir).splits[split], maxResident);
}

/** A batch of a sharded split: pieces of one shard's sequences. */
export interface ShardBatch {
  shard: number;
  pieces: Piece[];
}

/** The batch stream of shard i: independent of the others and of the shard order. */
function shardSeed(seed: number, shard: number): number {
  return (seed ^ Math.imul(shard + 1, 0x85ebca6b)) >>> 0;
}

/**
 * One epoch's batches over a sharded split, fully determined by (seed, epoch): the shards in a random
 * order, each planned as trainingPlan plans a split (its own random shifts, phases, ties and batch
 * order), so the batches of a shard come one after another.
 */
export function shardedTrainingPlan(split: ShardedSplit, options: TrainBatchingOptions, seed: number, epoch: number): ShardBatch[] {
  const order = epochRng(seed, epoch).shuffle(split.entries.map((_, i) => i));
  const out: ShardBatch[] = [];
  for (const shard of order) {
    for (const pieces of trainingPlan(split.lengths(shard), options, shardSeed(seed, shard), epoch).batches) out.push({ shard, pieces });
  }
  return out;
}
