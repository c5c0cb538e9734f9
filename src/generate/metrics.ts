/**
 * Objective descriptors of polyphonic music on the frame grid, after Yang & Lerch 2018,
 * "On the evaluation of generative models in music". Every definition is spelled out in docs/metrics.md.
 */
import type { Frame } from '../data/pianoroll.js';
import { framesToNotes } from '../render/notes.js';

/** Upper edges (inclusive, in frames) of the note-length bins; the last bin is open. */
export const NOTE_LENGTH_BINS = [1, 2, 3, 4, 6, 8, 12, 16, 32, Infinity];
/** Upper edges (inclusive, in frames) of the inter-onset-interval bins; the last bin is open. */
export const IOI_BINS = [1, 2, 3, 4, 6, 8, 16, Infinity];

export const PITCH_CLASS_NAMES = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];
/** Krumhansl-Kessler key profiles (probe-tone ratings), index 0 = tonic. */
export const MAJOR_PROFILE = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
export const MINOR_PROFILE = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];
const MAJOR_SCALE = [0, 2, 4, 5, 7, 9, 11];
const MINOR_SCALE = [0, 2, 3, 5, 7, 8, 10];

export interface Key {
  tonic: number;
  mode: 'major' | 'minor';
  /** Pearson correlation of the piece's pitch-class durations with the key's profile. */
  correlation: number;
}

export interface PieceMetrics {
  frames: number;
  notes: number;
  /** Note onsets per pitch class (C = 0). */
  pitchClassCounts: number[];
  /** Highest minus lowest MIDI pitch among the notes (0 without notes). */
  pitchRange: number;
  /** Mean number of sounding keys per frame, empty frames included. */
  meanPolyphony: number;
  /** Share of frames with no key sounding. */
  emptyShare: number;
  /** Notes per length bin (NOTE_LENGTH_BINS). */
  noteLengthCounts: number[];
  /** Inter-onset intervals per bin (IOI_BINS). */
  ioiCounts: number[];
  /** Mean frames between consecutive onsets (NaN with fewer than two onset frames). */
  meanIoi: number;
  key: Key | null;
  /** Share of notes whose pitch class lies in the scale of the estimated key (NaN without a key). */
  inKeyRatio: number;
  /** Mean cosine similarity over all pairs of non-empty bars (NaN with fewer than two). */
  repetition: number;
}

function binIndex(value: number, edges: readonly number[]): number {
  for (let i = 0; i < edges.length; i++) if (value <= edges[i]) return i;
  return edges.length - 1;
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/**
 * Krumhansl-Schmuckler key finding: correlate the pitch-class durations (sounding frames per pitch
 * class) with the 24 rotations of the major and minor profiles and take the best. Ties go to major
 * and then to the lower tonic. Null when the durations are all equal (no notes, or all twelve alike).
 */
export function estimateKey(pitchClassDurations: readonly number[]): Key | null {
  let best: Key | null = null;
  for (const mode of ['major', 'minor'] as const) {
    const profile = mode === 'major' ? MAJOR_PROFILE : MINOR_PROFILE;
    for (let tonic = 0; tonic < 12; tonic++) {
      const rotated = Array.from({ length: 12 }, (_, pc) => profile[(pc - tonic + 12) % 12]);
      const r = pearson(pitchClassDurations, rotated);
      if (Number.isNaN(r)) return null;
      if (!best || r > best.correlation + 1e-12) best = { tonic, mode, correlation: r };
    }
  }
  return best;
}

export function keyName(key: Key | null): string {
  return key ? `${PITCH_CLASS_NAMES[key.tonic]} ${key.mode}` : 'none';
}

export function scaleOf(key: Key): Set<number> {
  return new Set((key.mode === 'major' ? MAJOR_SCALE : MINOR_SCALE).map((d) => (key.tonic + d) % 12));
}

/** Computes every descriptor of one piece; `barFrames` sets the bar length used by `repetition`. */
export function pieceMetrics(frames: readonly Frame[], barFrames: number): PieceMetrics {
  const notes = framesToNotes(frames);
  const pitchClassCounts = new Array(12).fill(0);
  const durations = new Array(12).fill(0);
  for (const n of notes) {
    pitchClassCounts[n.pitch % 12]++;
    durations[n.pitch % 12] += n.length;
  }
  const pitches = notes.map((n) => n.pitch);
  const pitchRange = notes.length ? Math.max(...pitches) - Math.min(...pitches) : 0;
  let active = 0;
  let empty = 0;
  for (const f of frames) {
    active += f.length;
    if (f.length === 0) empty++;
  }
  const noteLengthCounts = new Array(NOTE_LENGTH_BINS.length).fill(0);
  for (const n of notes) noteLengthCounts[binIndex(n.length, NOTE_LENGTH_BINS)]++;

  const onsets = [...new Set(notes.map((n) => n.start))].sort((a, b) => a - b);
  const ioiCounts = new Array(IOI_BINS.length).fill(0);
  let ioiSum = 0;
  for (let i = 1; i < onsets.length; i++) {
    const d = onsets[i] - onsets[i - 1];
    ioiCounts[binIndex(d, IOI_BINS)]++;
    ioiSum += d;
  }
  const key = notes.length ? estimateKey(durations) : null;
  let inKeyRatio = NaN;
  if (key) {
    const scale = scaleOf(key);
    inKeyRatio = notes.filter((n) => scale.has(n.pitch % 12)).length / notes.length;
  }
  return {
    frames: frames.length,
    notes: notes.length,
    pitchClassCounts,
    pitchRange,
    meanPolyphony: frames.length ? active / frames.length : 0,
    emptyShare: frames.length ? empty / frames.length : 0,
    noteLengthCounts,
    ioiCounts,
    meanIoi: onsets.length > 1 ? ioiSum / (onsets.length - 1) : NaN,
    key,
    inKeyRatio,
    repetition: barRepetition(frames, barFrames),
  };
}

/**
 * Bar self-similarity: cut the piece into whole bars of `barFrames` frames; each bar becomes a
 * 12 x barFrames binary vector (pitch class sounding at each position of the bar). The result is
 * the mean cosine similarity over all pairs of non-empty bars; NaN with fewer than two.
 */
export function barRepetition(frames: readonly Frame[], barFrames: number): number {
  const vectors: Uint8Array[] = [];
  for (let start = 0; start + barFrames <= frames.length; start += barFrames) {
    const v = new Uint8Array(12 * barFrames);
    let any = false;
    for (let pos = 0; pos < barFrames; pos++)
      for (const pitch of frames[start + pos]) {
        v[pos * 12 + (pitch % 12)] = 1;
        any = true;
      }
    if (any) vectors.push(v);
  }
  if (vectors.length < 2) return NaN;
  const norms = vectors.map((v) => Math.sqrt(v.reduce((s, x) => s + x, 0)));
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < vectors.length; i++)
    for (let j = i + 1; j < vectors.length; j++) {
      let dot = 0;
      for (let k = 0; k < vectors[i].length; k++) dot += vectors[i][k] & vectors[j][k];
      sum += dot / (norms[i] * norms[j]);
      pairs++;
    }
  return sum / pairs;
}

/* ---------------------------------------------------------------- sets of pieces */

export interface Scalar {
  mean: number;
  std: number;
  /** Pieces where the value is defined. */
  n: number;
}

export interface SetMetrics {
  pieces: number;
  frames: number;
  notes: number;
  pitchRange: Scalar;
  meanPolyphony: Scalar;
  emptyShare: Scalar;
  meanIoi: Scalar;
  inKeyRatio: Scalar;
  repetition: Scalar;
  /** Pooled over the set and normalised to sum to 1 (all zero without notes). */
  pitchClassHistogram: number[];
  noteLengthHistogram: number[];
  ioiHistogram: number[];
  /** How many pieces were estimated in each key, most common first. */
  keys: { key: string; pieces: number }[];
  perPiece: PieceMetrics[];
}

/** The per-piece scalar descriptors that are summarised and compared between sets. */
export const SCALARS = ['pitchRange', 'meanPolyphony', 'emptyShare', 'meanIoi', 'inKeyRatio', 'repetition'] as const;
export type ScalarName = (typeof SCALARS)[number];
export const HISTOGRAMS = ['pitchClassHistogram', 'noteLengthHistogram', 'ioiHistogram'] as const;
export type HistogramName = (typeof HISTOGRAMS)[number];

function summarise(values: number[]): Scalar {
  const v = values.filter((x) => !Number.isNaN(x));
  if (v.length === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
  return { mean, std, n: v.length };
}

export function normalise(counts: readonly number[]): number[] {
  const total = counts.reduce((s, x) => s + x, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

function pool(pieces: PieceMetrics[], pick: (p: PieceMetrics) => number[]): number[] {
  const sum = new Array(pick(pieces[0] ?? pieceMetrics([], 1)).length).fill(0);
  for (const p of pieces) pick(p).forEach((c, i) => (sum[i] += c));
  return normalise(sum);
}

export function setMetrics(pieces: readonly (readonly Frame[])[], barFrames: number): SetMetrics {
  const perPiece = pieces.map((f) => pieceMetrics(f, barFrames));
  const keyCounts = new Map<string, number>();
  for (const p of perPiece) if (p.key) keyCounts.set(keyName(p.key), (keyCounts.get(keyName(p.key)) ?? 0) + 1);
  const scalar = (name: ScalarName) => summarise(perPiece.map((p) => p[name]));
  return {
    pieces: perPiece.length,
    frames: perPiece.reduce((s, p) => s + p.frames, 0),
    notes: perPiece.reduce((s, p) => s + p.notes, 0),
    pitchRange: scalar('pitchRange'),
    meanPolyphony: scalar('meanPolyphony'),
    emptyShare: scalar('emptyShare'),
    meanIoi: scalar('meanIoi'),
    inKeyRatio: scalar('inKeyRatio'),
    repetition: scalar('repetition'),
    pitchClassHistogram: pool(perPiece, (p) => p.pitchClassCounts),
    noteLengthHistogram: pool(perPiece, (p) => p.noteLengthCounts),
    ioiHistogram: pool(perPiece, (p) => p.ioiCounts),
    keys: [...keyCounts].map(([key, n]) => ({ key, pieces: n })).sort((a, b) => b.pieces - a.pieces || a.key.localeCompare(b.key)),
    perPiece,
  };
}

/* ---------------------------------------------------------------- comparing two sets */

/** Fixed bins for the per-piece scalars when two sets are compared: [start, width, count]; the last bin is open. */
export const SCALAR_BINS: Record<ScalarName, [number, number, number]> = {
  pitchRange: [0, 6, 15],
  meanPolyphony: [0, 0.25, 25],
  emptyShare: [0, 0.1, 10],
  meanIoi: [0, 0.5, 17],
  inKeyRatio: [0, 0.1, 10],
  repetition: [0, 0.1, 10],
};

/** Histogram of per-piece values over fixed bins, normalised (NaN values are left out). */
export function binValues(values: readonly number[], [start, width, count]: [number, number, number]): number[] {
  const h = new Array(count).fill(0);
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    h[Math.min(count - 1, Math.max(0, Math.floor((v - start) / width + 1e-9)))]++;
  }
  return normalise(h);
}

/** Histogram intersection of two distributions: sum of bin-wise minima (1 = identical, 0 = disjoint). */
export function overlap(p: readonly number[], q: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.min(p[i], q[i]);
  return s;
}

/** Smoothing mass added to every bin before KL, so empty bins give a large but finite value. */
export const KL_EPSILON = 1e-4;

/** KL(reference || generated) in nats, both smoothed by KL_EPSILON per bin and renormalised. */
export function klDivergence(reference: readonly number[], generated: readonly number[]): number {
  const k = reference.length;
  let s = 0;
  for (let i = 0; i < k; i++) {
    const q = (reference[i] + KL_EPSILON) / (1 + k * KL_EPSILON);
    const p = (generated[i] + KL_EPSILON) / (1 + k * KL_EPSILON);
    s += q * Math.log(q / p);
  }
  return s;
}

export interface Comparison {
  metric: ScalarName | HistogramName;
  overlap: number;
  kl: number;
}

/**
 * Compares a generated set with a reference set, metric by metric: pooled histograms directly,
 * per-piece scalars as histograms over SCALAR_BINS. `summary` is the mean overlap over the metrics
 * that both sets define.
 */
export function compareSets(generated: SetMetrics, reference: SetMetrics): { comparisons: Comparison[]; summary: number } {
  const comparisons: Comparison[] = [];
  for (const name of HISTOGRAMS) {
    const p = generated[name];
    const q = reference[name];
    if (p.every((x) => x === 0) || q.every((x) => x === 0)) continue;
    comparisons.push({ metric: name, overlap: overlap(p, q), kl: klDivergence(q, p) });
  }
  for (const name of SCALARS) {
    if (generated[name].n === 0 || reference[name].n === 0) continue;
    const p = binValues(generated.perPiece.map((m) => m[name]), SCALAR_BINS[name]);
    const q = binValues(reference.perPiece.map((m) => m[name]), SCALAR_BINS[name]);
    comparisons.push({ metric: name, overlap: overlap(p, q), kl: klDivergence(q, p) });
  }
  const summary = comparisons.length ? comparisons.reduce((s, c) => s + c.overlap, 0) / comparisons.length : NaN;
  return { comparisons, summary };
}
