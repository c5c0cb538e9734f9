import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TIMING, type Frame, type FrameTiming } from './pianoroll.js';

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

export const BUNDLED_DATASETS = ['nottingham', 'jsb-chorales'] as const;

export function bundledDatasetPath(name: string): string {
  return fileURLToPath(new URL(`../../../data/${name}.json.gz`, import.meta.url));
}

/** Loads a bundled dataset by name or a .json.gz file by path. (Validation is added by the data module.) */
export function loadDataset(nameOrPath: string): Dataset {
  const path = (BUNDLED_DATASETS as readonly string[]).includes(nameOrPath) ? bundledDatasetPath(nameOrPath) : nameOrPath;
  const raw = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8'));
  return { name: nameOrPath, train: raw.train, valid: raw.valid, test: raw.test, timing: DEFAULT_TIMING };
}
