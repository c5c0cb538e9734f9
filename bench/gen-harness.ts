/**
 * Generation speed of one model in RNN mode, the way `rwkv-music generate` and the studio generate:
 * the toolkit's sampler (model step plus the frame draw, key by key through the key-chain head when
 * the model has one) over `count` streams at once. Imports nothing Node-only, so the same code runs in
 * Node (bench/gen-speed.ts) and in a browser worker (bench/browser/gen-worker.ts).
 */
import { sample } from '../src/generate/sampler.js';
import type { SequenceModel } from '../src/models/model.js';

export interface GenCase {
  /** Streams generated together (the sampler's `count`). */
  batch: number;
  /** Frames generated per stream in each timed run. */
  length: number;
}

export interface GenTiming extends GenCase {
  /** Seconds of each timed run. */
  seconds: number[];
  /** Generated frames (all streams) per second of the fastest run. */
  best: number;
  /** The same for the median run. */
  median: number;
}

export const DEFAULT_CASES: readonly GenCase[] = [
  { batch: 1, length: 512 },
  { batch: 16, length: 64 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** One timed run: `length` frames for `batch` streams, seconds. */
function run(model: SequenceModel, c: GenCase, seed: number): number {
  const t0 = performance.now();
  sample(model, { length: c.length, temperature: 1, seed, count: c.batch });
  return (performance.now() - t0) / 1000;
}

/** A short warm-up run, then `runs` timed runs of the case. */
export function timeGeneration(model: SequenceModel, c: GenCase, runs: number): GenTiming {
  run(model, { batch: c.batch, length: Math.min(c.length, 32) }, 1);
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) seconds.push(run(model, c, 2 + i));
  const frames = c.batch * c.length;
  return { ...c, seconds, best: frames / Math.min(...seconds), median: frames / median(seconds) };
}

/** One line per case: model, where it ran, batch, frames/s. */
export function formatTiming(label: string, t: GenTiming): string {
  return `${label.padEnd(34)} batch ${String(t.batch).padStart(2)}: ${t.median.toFixed(0).padStart(6)} frames/s median, ` +
    `${t.best.toFixed(0).padStart(6)} best (${t.seconds.length} runs of ${t.length} frames x ${t.batch})`;
}
