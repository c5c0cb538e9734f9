import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from '../errors.js';
import { Rng } from '../engine/random.js';
import { MAX_PIECE_FRAMES } from '../limits.js';
import { checkOptions, type MidiReadOptions } from '../midi/read.js';
import { readMidiFile } from '../midi/read-file.js';
import type { Dataset } from './dataset.js';
import type { Frame, FrameTiming } from './pianoroll.js';

/** Default share of pieces in train, valid and test when a MIDI folder becomes a dataset. */
export const DEFAULT_SPLIT: readonly [number, number, number] = [0.8, 0.1, 0.1];
export const DEFAULT_SEED = 1;

export interface ImportOptions extends MidiReadOptions {
  /** Shares of train, valid and test (normalized to sum 1). Default 0.8, 0.1, 0.1. */
  split?: readonly [number, number, number];
  /** Seed of the shuffle that assigns pieces to splits. Default 1. */
  seed?: number;
  /** Search subfolders too (default true). */
  recursive?: boolean;
  /** Keep the silent frames before each piece's first note (default false: they are dropped). */
  keepLeadingSilence?: boolean;
  /** Called after each file: how many are done, of how many, and the file just read. */
  onProgress?: (done: number, total: number, file: string) => void;
}

/** Nothing in the folder converted; the reasons are in `failures`. */
export class ImportFailedError extends UserError {
  constructor(
    message: string,
    readonly failures: { file: string; reason: string }[],
  ) {
    super(message);
  }
}

export interface ImportedPiece {
  file: string;
  frames: number;
  notes: number;
  dropped: number;
}

export interface ImportResult {
  dataset: Dataset;
  files: number;
  converted: ImportedPiece[];
  failures: { file: string; reason: string }[];
  /** Notes outside 21..108 left out, over all converted files. */
  dropped: number;
}

/**
 * All .mid/.midi files in a folder (and its subfolders unless recursive is false; any letter case),
 * sorted by path. Symbolic links to files are followed; links to folders are not (they could loop),
 * and are passed to `onSkip`.
 */
export function findMidiFiles(folder: string, recursive = true, onSkip: (path: string, reason: string) => void = () => {}): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new UserError(`${dir}: cannot read folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (recursive) walk(path);
      } else if (/\.midi?$/i.test(entry.name) && (entry.isFile() || (entry.isSymbolicLink() && isFileBehindLink(path)))) {
        found.push(path);
      } else if (entry.isSymbolicLink() && recursive && isFolderBehindLink(path)) {
        onSkip(path, 'a symbolic link to a folder (not followed)');
      }
    }
  };
  walk(folder);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function isFileBehindLink(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return true; // a dangling link: reading it reports the problem
  }
}

function isFolderBehindLink(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Checks and normalizes split shares: three finite non-negative numbers with a positive sum. */
export function normalizeSplit(split: readonly number[]): [number, number, number] {
  if (split.length !== 3 || split.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new UserError(`split must be three non-negative numbers for train, valid and test (e.g. 0.8,0.1,0.1), got ${split.join(',')}`);
  }
  const sum = split[0] + split[1] + split[2];
  if (!(sum > 0) || split[0] === 0) throw new UserError(`split must give train a positive share, got ${split.join(',')}`);
  return [split[0] / sum, split[1] / sum, split[2] / sum];
}

/** How many of n pieces go to each split: rounded shares, the test split takes the remainder. */
export function splitCounts(n: number, shares: readonly [number, number, number]): [number, number, number] {
  let train = Math.round(n * shares[0]);
  let valid = Math.round(n * shares[1]);
  if (train + valid > n) valid = n - train;
  if (train === 0 && n > 0) train = 1;
  if (train + valid > n) valid = n - train;
  return [train, valid, n - train - valid];
}

/**
 * Converts every MIDI file under `folder` into a dataset. Silence before each piece's first note
 * (typically the rest before a pickup) is dropped unless keepLeadingSilence is set. Files that fail are collected with their
 * reason and skipped; if none converts, a UserError is thrown. The converted pieces, in path order,
 * are shuffled with the seeded generator and cut into train/valid/test by the split shares, so the
 * same folder, options and seed always give the same dataset.
 */
export function importMidiFolder(folder: string, options: ImportOptions = {}): ImportResult {
  const shares = normalizeSplit(options.split ?? DEFAULT_SPLIT);
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`seed must be an integer in 0..4294967295, got ${seed}`);
  // Options are checked once here, not once per file.
  checkOptions(options);
  if (options.maxFrames !== undefined && options.maxFrames > MAX_PIECE_FRAMES) {
    throw new UserError(`the frame limit per piece must be at most ${MAX_PIECE_FRAMES} (docs/limits.md), got ${options.maxFrames}`);
  }
  const failures: { file: string; reason: string }[] = [];
  const files = findMidiFiles(folder, options.recursive ?? true, (path, reason) => failures.push({ file: relative(folder, path) || path, reason }));
  if (files.length === 0) throw new UserError(`${folder}: no .mid or .midi files found`);

  const pieces: { frames: Frame[]; timing: FrameTiming }[] = [];
  const converted: ImportedPiece[] = [];
  let dropped = 0;
  files.forEach((file, i) => {
    const name = relative(folder, file) || file;
    try {
      const r = readMidiFile(file, { ...options, trimLeadingSilence: !options.keepLeadingSilence });
      pieces.push({ frames: r.roll.frames, timing: r.roll.timing });
      converted.push({ file: name, frames: r.roll.frames.length, notes: r.notes, dropped: r.dropped });
      dropped += r.dropped;
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      // The reader's messages start with the path; the list already names the file.
      failures.push({ file: name, reason: err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message });
    }
    options.onProgress?.(i + 1, files.length, name);
  });
  if (pieces.length === 0) {
    const first = failures[0];
    throw new ImportFailedError(`${folder}: none of the ${files.length} MIDI files converted (first failure: ${first.file}: ${first.reason})`, failures);
  }

  const order = new Rng(seed).shuffle(pieces.map((_, i) => i));
  const [nTrain, nValid] = splitCounts(pieces.length, shares);
  const pick = (from: number, to: number) => order.slice(from, to).map((i) => pieces[i].frames);
  const dataset: Dataset = {
    name: folder,
    train: pick(0, nTrain),
    valid: pick(nTrain, nTrain + nValid),
    test: pick(nTrain + nValid, pieces.length),
    timing: commonTiming(pieces.map((p) => p.timing)),
  };
  return { dataset, files: files.length, converted, failures, dropped };
}

/**
 * One timing for the whole dataset. Fixed-second frames are shared by all pieces; on the grid the
 * steps per quarter are shared and the tempo is the most common starting tempo (ties: the slower).
 */
export function commonTiming(timings: FrameTiming[]): FrameTiming {
  const first = timings[0];
  if (first.kind === 'seconds') return first;
  const votes = new Map<number, number>();
  for (const t of timings) if (t.kind === 'grid') votes.set(t.bpm, (votes.get(t.bpm) ?? 0) + 1);
  let bpm = first.bpm;
  let best = 0;
  for (const [b, n] of votes) if (n > best || (n === best && b < bpm)) [bpm, best] = [b, n];
  return { kind: 'grid', stepsPerQuarter: first.stepsPerQuarter, bpm };
}
