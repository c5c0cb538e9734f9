import { existsSync, readFileSync, statSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { MAX_DATASET_BYTES } from '../limits.js';
import { importMidiFolder } from './import.js';
import { isShardedDataset, readShardedDataset } from './shards.js';
import { DEFAULT_TIMING, frameProblem, type Frame, type FrameTiming } from './pianoroll.js';

export type SplitName = 'train' | 'valid' | 'test';
export const SPLITS: readonly SplitName[] = ['train', 'valid', 'test'];

/** A dataset: three splits of sequences of frames. */
export interface Dataset {
  name: string;
  train: Frame[][];
  valid: Frame[][];
  test: Frame[][];
  timing: FrameTiming;
}

export const BUNDLED_DATASETS = ['nottingham', 'jsb-chorales', 'musedata', 'piano-midi-de'] as const;

/**
 * Playback timing of the bundled sets, which their source files do not record: Nottingham at two
 * frames per quarter note, the JSB chorales at one frame per quarter note (both at 120 bpm). MuseData
 * and Piano-midi.de play at one frame per quarter note too, an assumption (data/PROVENANCE.md).
 */
const BUNDLED_TIMING: Record<string, FrameTiming> = {
  nottingham: DEFAULT_TIMING,
  'jsb-chorales': { kind: 'grid', stepsPerQuarter: 1, bpm: 120 },
  musedata: { kind: 'grid', stepsPerQuarter: 1, bpm: 120 },
  'piano-midi-de': { kind: 'grid', stepsPerQuarter: 1, bpm: 120 },
};

export function bundledDatasetPath(name: string): string {
  return fileURLToPath(new URL(`../../../data/${name}.json.gz`, import.meta.url));
}

/**
 * Loads a dataset from a bundled name (`nottingham`, `jsb-chorales`, `musedata`, `piano-midi-de`), a
 * dataset file (.json.gz or .json, see parseDataset), a sharded dataset folder (shards.ts), or a folder
 * of MIDI files (imported with the default split and seed).
 * Everything is validated before returning; any problem is a UserError saying what and where.
 */
export function loadDataset(nameOrPath: string): Dataset {
  if ((BUNDLED_DATASETS as readonly string[]).includes(nameOrPath)) {
    const ds = readDatasetFile(bundledDatasetPath(nameOrPath), nameOrPath);
    return { ...ds, timing: BUNDLED_TIMING[nameOrPath] };
  }
  if (!existsSync(nameOrPath)) {
    throw new UserError(`${nameOrPath}: no such file or folder (bundled datasets: ${BUNDLED_DATASETS.join(', ')})`);
  }
  if (statSync(nameOrPath).isDirectory()) {
    if (isShardedDataset(nameOrPath)) return readShardedDataset(nameOrPath);
    return importMidiFolder(nameOrPath).dataset;
  }
  if (/\.midi?$/i.test(nameOrPath)) {
    throw new UserError(`${nameOrPath}: a single MIDI file is not a dataset; give a folder of MIDI files (or convert one with \`rwkv-music data import\`)`);
  }
  return readDatasetFile(nameOrPath);
}

/** Reads and validates one dataset file: gzip JSON (or plain JSON). */
export function readDatasetFile(path: string, name = path): Dataset {
  let bytes: Buffer;
  try {
    const size = statSync(path).size;
    if (size > MAX_DATASET_BYTES) throw new UserError(`${path}: ${size} bytes, more than the ${MAX_DATASET_BYTES} a dataset may have (docs/limits.md)`);
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: cannot read file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  let text: string;
  if (gzipped) {
    try {
      text = gunzipSync(bytes, { maxOutputLength: MAX_DATASET_BYTES }).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new UserError(`${path}: decompresses to more than ${MAX_DATASET_BYTES} bytes, the limit for a dataset (docs/limits.md)`);
      }
      throw new UserError(`${path}: corrupt gzip data (${(err as Error).message})`);
    }
  } else if (/\.gz$/i.test(path)) {
    throw new UserError(`${path}: not gzip data (a .gz dataset must be gzip-compressed JSON)`);
  } else {
    text = bytes.toString('utf8');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: not JSON${gzipped ? ' inside the gzip data' : ''} (${(err as Error).message})`);
  }
  return parseDataset(raw, name, path);
}

/**
 * Validates a parsed dataset object and returns it as a Dataset. The format:
 * `{"train": [...], "valid": [...], "test": [...], "timing"?: FrameTiming}`; each split a list of
 * sequences, each sequence a non-empty list of frames, each frame a strictly increasing list of
 * integer MIDI note numbers in 21..108. Errors name the file, split, sequence and frame (0-based).
 */
export function parseDataset(raw: unknown, name: string, where = name): Dataset {
  const fail = (what: string): never => {
    throw new UserError(`${where}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('expected a JSON object with "train", "valid" and "test" lists');
  const obj = raw as Record<string, unknown>;
  const splits = {} as Record<SplitName, Frame[][]>;
  for (const split of SPLITS) {
    const seqs = obj[split];
    if (seqs === undefined) fail(`missing split "${split}"`);
    if (!Array.isArray(seqs)) fail(`split ${split} is not a list of sequences`);
    const list = seqs as unknown[];
    for (let s = 0; s < list.length; s++) {
      const seq = list[s];
      if (!Array.isArray(seq)) fail(`split ${split}, sequence ${s}: not a list of frames`);
      const frames = seq as unknown[];
      if (frames.length === 0) fail(`split ${split}, sequence ${s}: empty sequence`);
      for (let t = 0; t < frames.length; t++) {
        const problem = frameProblem(frames[t]);
        if (problem) fail(`split ${split}, sequence ${s}, frame ${t}: ${problem}`);
      }
    }
    splits[split] = list as Frame[][];
  }
  if (splits.train.length === 0) fail('split train has no sequences');
  const timing = obj.timing === undefined ? DEFAULT_TIMING : parseTiming(obj.timing, fail);
  return { name, train: splits.train, valid: splits.valid, test: splits.test, timing };
}

function parseTiming(raw: unknown, fail: (what: string) => never): FrameTiming {
  const t = raw as Record<string, unknown>;
  if (typeof t === 'object' && t !== null) {
    if (t.kind === 'grid' && Number.isInteger(t.stepsPerQuarter) && (t.stepsPerQuarter as number) >= 1 && typeof t.bpm === 'number' && t.bpm > 0 && t.bpm < 10000) {
      return { kind: 'grid', stepsPerQuarter: t.stepsPerQuarter as number, bpm: t.bpm };
    }
    if (t.kind === 'seconds' && typeof t.frameSeconds === 'number' && t.frameSeconds > 0 && t.frameSeconds <= 60) {
      return { kind: 'seconds', frameSeconds: t.frameSeconds };
    }
  }
  return fail('bad "timing": expected {"kind":"grid","stepsPerQuarter":n,"bpm":x} or {"kind":"seconds","frameSeconds":s}');
}

/** Writes a dataset as gzip JSON, atomically (the file appears complete or not at all). */
export function saveDataset(path: string, ds: Dataset): void {
  const json = JSON.stringify({ train: ds.train, valid: ds.valid, test: ds.test, timing: ds.timing });
  writeFileAtomic(path, gzipSync(Buffer.from(json, 'utf8'), { level: 9 }));
}
