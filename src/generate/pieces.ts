import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TIMING, type Frame, type FrameTiming } from '../data/pianoroll.js';
import { loadDataset, SPLITS, type Dataset, type SplitName } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { checkFrames } from './frames.js';
import { readMidiFile } from '../midi/index.js';
import type { SampleFile } from './outputs.js';

/** A set of pieces to measure: generated samples (primers left out) or a dataset split. */
export interface PieceSet {
  label: string;
  pieces: Frame[][];
  timing: FrameTiming;
}

/** Splits "name[:split]" (split defaults to `defaultSplit`); the name may itself contain colons. */
export function parseDatasetSpec(spec: string, defaultSplit: SplitName = 'test'): { name: string; split: SplitName } {
  const i = spec.lastIndexOf(':');
  if (i > 0 && (SPLITS as readonly string[]).includes(spec.slice(i + 1))) return { name: spec.slice(0, i), split: spec.slice(i + 1) as SplitName };
  return { name: spec, split: defaultSplit };
}

/** Loads a dataset by bundled name or path, turning any failure into one clear line. */
export function openDataset(name: string): Dataset {
  try {
    return loadDataset(name);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`cannot load dataset "${name}" (${code === 'ENOENT' ? 'no such bundled dataset or file' : (e as Error).message})`);
  }
}

/** Parses a sample .json written by `generate`, checking what the metrics rely on. */
export function parseSampleFile(text: string, path: string): SampleFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const r = raw as Partial<SampleFile>;
  if (!r || typeof r !== 'object' || r.format !== 'rwkv-music-sample') throw new UserError(`${path}: not a sample file written by rwkv-music generate`);
  if (!Array.isArray(r.frames) || !r.frames.every((f) => Array.isArray(f))) throw new UserError(`${path}: "frames" must be a list of frames`);
  checkFrames(r.frames, path);
  const p = r.primerLength ?? 0;
  if (!Number.isInteger(p) || p < 0 || p > r.frames.length) throw new UserError(`${path}: bad primerLength ${p}`);
  return r as SampleFile;
}

/**
 * The pieces named on the metrics command line: a folder of sample .json files (the generated part of
 * each, primer left out) or, failing those, of .mid files (whole pieces), or a dataset "name[:split]"
 * (test split by default).
 */
export function loadPieceSet(spec: string): PieceSet {
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    const names = readdirSync(spec).sort();
    const jsons = names.filter((f) => f.endsWith('.json'));
    if (jsons.length > 0) {
      const samples = jsons.map((f) => parseSampleFile(readFileSync(join(spec, f), 'utf8'), join(spec, f)));
      return { label: spec, pieces: samples.map((s) => s.frames.slice(s.primerLength ?? 0)), timing: samples[0].timing ?? DEFAULT_TIMING };
    }
    // No sample files: measure the MIDI files instead (whole pieces, eighth-note grid).
    const mids = names.filter((f) => /\.midi?$/i.test(f));
    if (mids.length === 0) throw new UserError(`${spec}: no sample .json files (generate --format json) and no .mid files here`);
    const rolls = mids.map((f) => readMidiFile(join(spec, f)).roll);
    return { label: spec, pieces: rolls.map((r) => r.frames), timing: rolls[0].timing };
  }
  const { name, split } = parseDatasetSpec(spec);
  const ds = openDataset(name);
  const pieces = ds[split];
  if (!pieces || pieces.length === 0) throw new UserError(`dataset ${name} has no ${split} pieces`);
  return { label: `${name}:${split}`, pieces, timing: ds.timing };
}
