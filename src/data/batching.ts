/**
 * Batching of piano-roll sequences for training and evaluation.
 *
 * A sequence of N frames gives N - 1 predictions (frame t+1 from frames 0..t). Sequences longer than
 * `maxLength` frames are cut into consecutive chunks that overlap by one frame: chunk [s, e) reads
 * frames s..e-2 and predicts frames s+1..e-1, and the next chunk starts at e - 1. Every predicted
 * frame of the sequence is therefore scored exactly once, and only the first frame of the whole
 * sequence is never predicted (the metric's convention). Chunks do not carry recurrent state: each
 * chunk starts from the model's initial state.
 *
 * With a start step (models whose config has `condition.start`), a chunk that begins at frame 0 is
 * read after the start step: its inputs are [start, f0, .., f(e-2)] and its targets [f0, .., f(e-1)].
 * The prediction of f0 is trained but not scored (trainMask, not mask), so the metric is unchanged.
 *
 * Pieces (chunks) are grouped by similar length so little padding is wasted; a batch holds B pieces
 * padded at the end to the longest one, with B * T at most the frame budget (a single piece longer
 * than the budget still forms a batch of its own).
 */
import type { Batch } from '../engine/batch.js';
import { Rng } from '../engine/random.js';
import { conditionWidth, writeCondition, type ConditionConfig } from '../engine/condition.js';
import { HIGHEST_NOTE, KEY_COUNT, LOWEST_NOTE, type Frame } from './pianoroll.js';

/** What planning reads of a sequence: only its length (a sharded dataset plans from its manifest). */
export type SequenceLength = { readonly length: number };

/** One chunk of one sequence: frames [start, end) of sequences[seq], transposed by `shift` semitones. */
export interface Piece {
  seq: number;
  start: number;
  end: number;
  shift: number;
}

export interface BatchPlan {
  /** Each entry lists the pieces of one batch, padded to the longest. */
  batches: Piece[][];
  /** The conditioning the batches are made for (makeBatch's third argument). */
  condition?: ConditionConfig;
}

export interface BatchingOptions {
  /** The model's conditioning inputs (a start step, a key input); absent: none. */
  condition?: ConditionConfig;
  /** Upper bound on B * T (padded predicted positions) per batch. */
  batchFrames: number;
  /** Longest chunk in frames (its predictions are maxLength - 1); longer sequences are cut. */
  maxLength: number;
}

export interface TrainBatchingOptions extends BatchingOptions {
  /** Transpose each sequence by a uniform random shift in [-transpose, transpose] semitones (0 = off). */
  transpose: number;
  /** Start the chunk grid of each sequence at a random phase, so chunk boundaries move between epochs. */
  randomPhase: boolean;
}

export function validateBatchingOptions(options: BatchingOptions): void {
  if (!Number.isInteger(options.maxLength) || options.maxLength < 2) {
    throw new RangeError(`maxLength must be an integer >= 2, got ${options.maxLength}`);
  }
  if (!Number.isInteger(options.batchFrames) || options.batchFrames < 1) {
    throw new RangeError(`batchFrames must be a positive integer, got ${options.batchFrames}`);
  }
}

/**
 * Cuts frames [0, length) into chunks of at most maxLength frames overlapping by one frame.
 * `phase` (0 <= phase < maxLength - 1) shortens the first chunk by that many frames.
 * Chunks with no prediction (fewer than 2 frames) are left out.
 */
export function chunkBounds(length: number, maxLength: number, phase = 0): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (length < 2) return out;
  const stride = maxLength - 1;
  let start = 0;
  let end = Math.min(length, maxLength - phase);
  if (end < 2) end = Math.min(length, maxLength);
  for (;;) {
    out.push([start, end]);
    if (end >= length) break;
    start = end - 1;
    end = Math.min(length, start + 1 + stride);
  }
  return out;
}

/** Number of predicted (scored) frames of a split: total frames minus one per sequence of 2+ frames. */
export function predictedFrameCount(sequences: readonly Frame[][]): number {
  let n = 0;
  for (const s of sequences) if (s.length >= 2) n += s.length - 1;
  return n;
}

/** Positions of a piece in a batch: its predictions, plus the start step when it has one. */
function piecePositions(p: Piece, startStep: boolean): number {
  return p.end - p.start - 1 + (startStep && p.start === 0 ? 1 : 0);
}

/** Greedy grouping of pieces already in the desired order into batches within the frame budget. */
export function groupPieces(pieces: Piece[], batchFrames: number, startStep: boolean): Piece[][] {
  const batches: Piece[][] = [];
  let current: Piece[] = [];
  let longest = 0;
  for (const p of pieces) {
    const t = piecePositions(p, startStep);
    const newLongest = Math.max(longest, t);
    if (current.length > 0 && newLongest * (current.length + 1) > batchFrames) {
      batches.push(current);
      current = [];
      longest = 0;
    }
    current.push(p);
    longest = Math.max(longest, t);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Evaluation plan: every sequence chunked without phase or transposition, sorted by length
 * (ties by position, so the plan is deterministic), grouped within the budget.
 */
export function evaluationPlan(sequences: readonly SequenceLength[], options: BatchingOptions): BatchPlan {
  validateBatchingOptions(options);
  const pieces: Piece[] = [];
  sequences.forEach((s, seq) => {
    for (const [start, end] of chunkBounds(s.length, options.maxLength)) pieces.push({ seq, start, end, shift: 0 });
  });
  pieces.sort((a, b) => b.end - b.start - (a.end - a.start) || a.seq - b.seq || a.start - b.start);
  return { batches: groupPieces(pieces, options.batchFrames, options.condition?.start ?? false), condition: options.condition };
}

/**
 * Training plan for one epoch, fully determined by (seed, epoch): a run resumed mid-epoch rebuilds
 * the same plan and continues at the saved batch index. Pieces are sorted by length with random tie
 * order, grouped within the budget, and the batch order is shuffled.
 */
export function trainingPlan(
  sequences: readonly SequenceLength[],
  options: TrainBatchingOptions,
  seed: number,
  epoch: number,
): BatchPlan {
  validateBatchingOptions(options);
  const rng = epochRng(seed, epoch);
  const pieces: Array<Piece & { key: number }> = [];
  sequences.forEach((s, seq) => {
    const shift = options.transpose > 0 ? rng.int(2 * options.transpose + 1) - options.transpose : 0;
    const phase = options.randomPhase && s.length > options.maxLength ? rng.int(options.maxLength - 1) : 0;
    for (const [start, end] of chunkBounds(s.length, options.maxLength, phase)) {
      pieces.push({ seq, start, end, shift, key: rng.next() });
    }
  });
  pieces.sort((a, b) => b.end - b.start - (a.end - a.start) || a.key - b.key);
  const batches = groupPieces(
    pieces.map(({ seq, start, end, shift }) => ({ seq, start, end, shift })),
    options.batchFrames,
    options.condition?.start ?? false,
  );
  rng.shuffle(batches);
  return { batches, condition: options.condition };
}

/** A generator for one epoch's plan, independent of any other random stream. */
export function epochRng(seed: number, epoch: number): Rng {
  const rng = new Rng((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
  rng.nextU32();
  return rng;
}

/** Writes a multi-hot frame (MIDI notes shifted by `shift`, notes leaving the keyboard dropped). */
function writeFrame(frame: Frame, shift: number, out: Float32Array, offset: number): void {
  for (const note of frame) {
    const n = note + shift;
    if (n < LOWEST_NOTE || n > HIGHEST_NOTE) continue;
    out[offset + n - LOWEST_NOTE] = 1;
  }
}

/**
 * Materialises the pieces of one batch as inputs/targets/mask [B, T, 88], padded at the end, with the
 * conditioning columns and the training mask of a model with `condition`.
 */
export function makeBatch(sequences: readonly Frame[][], pieces: readonly Piece[], condition?: ConditionConfig): Batch {
  const D = KEY_COUNT;
  const B = pieces.length;
  const startStep = condition?.start ?? false;
  let T = 0;
  for (const p of pieces) T = Math.max(T, piecePositions(p, startStep));
  const inputs = new Float32Array(B * T * D);
  const targets = new Float32Array(B * T * D);
  const mask = new Float32Array(B * T);
  const W = conditionWidth(condition);
  const cond = W > 0 ? new Float32Array(B * T * W) : undefined;
  const trainMask = startStep ? new Float32Array(B * T) : undefined;
  pieces.forEach((p, b) => {
    const frames = sequences[p.seq];
    const lead = startStep && p.start === 0 ? 1 : 0; // the start step reads an empty frame
    const len = p.end - p.start - 1 + lead;
    if (condition && Math.abs(p.shift) > condition.keyShifts && condition.keyShifts > 0) {
      throw new RangeError(`a piece transposed by ${p.shift} semitones is outside the model's key input (-${condition.keyShifts}..${condition.keyShifts})`);
    }
    for (let t = 0; t < len; t++) {
      const row = (b * T + t) * D;
      const src = p.start + t - lead;
      if (src >= p.start) writeFrame(frames[src], p.shift, inputs, row);
      writeFrame(frames[src + 1], p.shift, targets, row);
      mask[b * T + t] = src >= p.start ? 1 : 0;
      if (trainMask) trainMask[b * T + t] = 1;
      if (cond) writeCondition(cond, (b * T + t) * W, condition!, src < p.start, condition!.keyShifts > 0 ? p.shift : 0);
    }
  });
  const batch: Batch = { B, T, D, inputs, targets, mask };
  if (cond) batch.condition = cond;
  if (trainMask) batch.trainMask = trainMask;
  return batch;
}

/** Number of scored positions of a batch (sum of its mask). */
export function maskedFrames(batch: Batch): number {
  let n = 0;
  for (let i = 0; i < batch.mask.length; i++) n += batch.mask[i];
  return n;
}

/** Number of trained positions of a batch (its training mask where it has one: the start steps' targets too). */
export function trainedFrames(batch: Batch): number {
  const m = batch.trainMask ?? batch.mask;
  let n = 0;
  for (let i = 0; i < m.length; i++) n += m[i];
  return n;
}
