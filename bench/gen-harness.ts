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
  /** Process CPU seconds of each timed run, when a CPU clock was given (Node). */
  cpuSeconds?: number[];
  /** Generated frames per CPU second of the median run by CPU time: on a machine shared with other work, the
   * wall clock counts the time spent waiting for a core, the CPU clock does not. */
  cpuMedian?: number;
}

/** Seconds of CPU time used by this process so far (Node: process.cpuUsage). */
export type CpuClock = () => number;

export const DEFAULT_CASES: readonly GenCase[] = [
  { batch: 1, length: 512 },
  { batch: 16, length: 64 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** One timed run: `length` frames for `batch` streams; wall and CPU seconds. */
function run(model: SequenceModel, c: GenCase, seed: number, cpu: CpuClock): { wall: number; cpu: number } {
  const c0 = cpu();
  const t0 = performance.now();
  sample(model, { length: c.length, temperature: 1, seed, count: c.batch });
  return { wall: (performance.now() - t0) / 1000, cpu: cpu() - c0 };
}

/** A short warm-up run, then `runs` timed runs of the case. */
export function timeGeneration(model: SequenceModel, c: GenCase, runs: number, cpuClock?: CpuClock): GenTiming {
  const cpu = cpuClock ?? (() => 0);
  run(model, { batch: c.batch, length: Math.min(c.length, 32) }, 1, cpu);
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = run(model, c, 2 + i, cpu);
    seconds.push(r.wall);
    cpuSeconds.push(r.cpu);
  }
  const frames = c.batch * c.length;
  const timing: GenTiming = { ...c, seconds, best: frames / Math.min(...seconds), median: frames / median(seconds) };
  return cpuClock ? { ...timing, cpuSeconds, cpuMedian: frames / median(cpuSeconds) } : timing;
}

/** One line per case: model, where it ran, batch, frames/s. */
export function formatTiming(label: string, t: GenTiming): string {
  return `${label.padEnd(34)} batch ${String(t.batch).padStart(2)}: ${t.median.toFixed(0).padStart(6)} frames/s median, ` +
    `${t.best.toFixed(0).padStart(6)} best` + (t.cpuMedian ? `, ${t.cpuMedian.toFixed(0).padStart(6)} per CPU second` : '') +
    ` (${t.seconds.length} runs of ${t.length} frames x ${t.batch})`;
}
