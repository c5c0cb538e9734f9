/**
 * State tuning: learns the start state (src/models/start-state.ts) of a frozen model on a few pieces,
 * by Adam on the mean NLL per predicted frame of the pieces, each read from its first frame (the start
 * state is where a piece begins, so pieces are not cut into chunks: a piece longer than maxLength
 * is scored on its first maxLength frames). Browser-safe: no Node APIs.
 *
 * Start: the mean of the states the model is in after reading each piece (zero-state tensors have no
 * gradient through the WKV weight, and the end of a piece in the style is a better guess than silence).
 * Deterministic for a given (model, pieces, options): the seed picks the pieces of each step when
 * they do not fit one batch; a time limit can only end the run earlier.
 */
import { Rng } from '../engine/random.js';
import { groupPieces, makeBatch, type Piece } from '../data/batching.js';
import type { Frame } from '../data/pianoroll.js';
import { UserError } from '../errors.js';
import { addStartGradient, startFromState, stateFromStart, zeroStart, type StartStateModel, type StartTensor } from '../models/start-state.js';

export interface TuneOptions {
  /** Optimizer steps at most. */
  steps: number;
  /** Adam learning rate. */
  lr: number;
  seed: number;
  /** Frames of each piece used, from its start. */
  maxLength: number;
  /** Upper bound on padded frames per step; more pieces than fit are sampled per step. */
  batchFrames: number;
  /** Stop after this many seconds (the steps done so far are kept). */
  seconds?: number;
  /** Called after every step with the step count and that step's mean NLL per frame. */
  onStep?: (step: number, nll: number) => void;
  /** Polled before every step; true stops the run (the state learned so far is returned). */
  shouldStop?: () => boolean;
  /** Clock in milliseconds (performance.now by default). */
  now?: () => number;
  /**
   * Also learn the input-lag history (a model with input lags): the frames the model believes it heard
   * before the piece. Off by default: the model reads those frames directly, so a few pieces are
   * memorised through them (docs/results.md); they keep their starting guess.
   */
  lags?: boolean;
}

export const DEFAULT_TUNE: Omit<TuneOptions, 'seed'> = { steps: 200, lr: 0.1, maxLength: 256, batchFrames: 4096 };

export interface TuneResult {
  start: StartTensor[];
  steps: number;
  /** Mean NLL per frame on the tuning pieces: from zeros, from the starting guess, after the last step. */
  nllZero: number;
  nllInit: number;
  nllFinal: number;
  seconds: number;
  stopped: boolean;
}

export function validateTuneOptions(o: TuneOptions): void {
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new UserError(`steps must be a whole number >= 0 (got ${o.steps})`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw new UserError(`learning rate must be a number > 0 (got ${o.lr})`);
  if (!Number.isInteger(o.maxLength) || o.maxLength < 2) throw new UserError(`max length must be a whole number >= 2 (got ${o.maxLength})`);
  if (!Number.isInteger(o.batchFrames) || o.batchFrames < 1) throw new UserError(`batch frames must be a whole number >= 1 (got ${o.batchFrames})`);
}

/**
 * Tunes the start state. Returns to the event loop after every step (so a Ctrl-C handler or a
 * worker's cancel message can set what shouldStop reads).
 */
export async function tuneStart(model: StartStateModel, pieces: readonly Frame[][], options: TuneOptions): Promise<TuneResult> {
  validateTuneOptions(options);
  const now = options.now ?? (() => performance.now());
  const t0 = now();
  const seqs = pieces.map((p) => p.slice(0, options.maxLength)).filter((p) => p.length >= 2);
  if (seqs.length === 0) throw new UserError('no piece to tune on has at least two frames');
  const all: Piece[] = seqs.map((s, seq) => ({ seq, start: 0, end: s.length, shift: 0 }));
  const rng = new Rng(options.seed);
  const fits = totalFrames(all) <= options.batchFrames;

  const nllOf = (start: readonly StartTensor[]) => meanNll(model, seqs, all, start, options.batchFrames);
  const start = initialGuess(model, seqs);
  const nllZero = nllOf(zeroStart(model));
  const nllInit = nllOf(start);
  const grad = start.map((t) => ({ ...t, data: new Float32Array(t.data.length) }));
  const adam = new Adam(start, options.lr);
  // The lag history keeps its starting guess unless asked for (see TuneOptions.lags).
  const learns = (t: StartTensor) => options.lags === true || t.name !== 'lags';
  let steps = 0;
  let stopped = false;
  let last = nllInit;
  while (steps < options.steps) {
    if (options.shouldStop?.() || (options.seconds !== undefined && (now() - t0) / 1000 >= options.seconds)) {
      stopped = true;
      break;
    }
    const chosen = fits ? all : pickPieces(all, options.batchFrames, rng);
    for (const g of grad) g.data.fill(0);
    const frames = totalFrames(chosen);
    let nllSum = 0;
    for (const group of groupByBudget(chosen, options.batchFrames, model.config.condition?.start ?? false)) {
      const batch = makeBatch(seqs, group, model.config.condition);
      const g = model.initialState(batch.B);
      nllSum += model.trainFrom(batch, stateFromStart(model, start, batch.B), g, 1 / frames).nllSum;
      addStartGradient(model, g, grad);
    }
    adam.step(start, grad, learns);
    if (options.lags) clampLags(start);
    steps++;
    last = nllSum / frames;
    options.onStep?.(steps, last);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const nllFinal = steps > 0 ? nllOf(start) : last;
  return { start, steps, nllZero, nllInit, nllFinal, seconds: (now() - t0) / 1000, stopped };
}

/** Mean NLL per predicted frame of the pieces, every one starting from `start`. */
export function meanNll(model: StartStateModel, seqs: readonly Frame[][], pieces: readonly Piece[], start: readonly StartTensor[], batchFrames: number): number {
  let sum = 0;
  let frames = 0;
  for (const group of groupByBudget(pieces, batchFrames, model.config.condition?.start ?? false)) {
    const batch = makeBatch(seqs, group, model.config.condition);
    const g = model.initialState(batch.B);
    // lossScale 0: the forward and loss only (the backward adds nothing)
    sum += model.trainFrom(batch, stateFromStart(model, start, batch.B), g, 0).nllSum;
    frames += totalFrames(group);
  }
  return sum / frames;
}

/** The mean, tensor by tensor, of the states after reading each piece whole. */
function initialGuess(model: StartStateModel, seqs: readonly Frame[][]): StartTensor[] {
  const mean = zeroStart(model).map((t) => ({ ...t, data: new Float32Array(t.data.length) }));
  seqs.forEach((s) => {
    // a silent frame after the piece makes the batch's inputs every frame of it
    const batch = makeBatch([[...s, []]], [{ seq: 0, start: 0, end: s.length + 1, shift: 0 }], model.config.condition);
    const state = stateFromStart(model, zeroStart(model), 1);
    model.logitsFrom(batch, state);
    const after = startFromState(model, state, 0);
    after.forEach((t, j) => {
      for (let i = 0; i < t.data.length; i++) mean[j].data[i] += t.data[i] / seqs.length;
    });
  });
  return mean;
}

function totalFrames(pieces: readonly Piece[]): number {
  let n = 0;
  for (const p of pieces) n += p.end - p.start - 1;
  return n;
}

/** Longest first, in consecutive groups whose padded size stays within the budget (batching.ts's rule). */
function groupByBudget(pieces: readonly Piece[], budget: number, startStep: boolean): Piece[][] {
  const sorted = [...pieces].sort((a, b) => b.end - b.start - (a.end - a.start) || a.seq - b.seq);
  return groupPieces(sorted, budget, startStep);
}

/** Pieces in a seeded random order, as many as fit the budget (at least one). */
function pickPieces(pieces: readonly Piece[], budget: number, rng: Rng): Piece[] {
  const order = rng.shuffle(pieces.map((_, i) => i));
  const out: Piece[] = [];
  let frames = 0;
  for (const i of order) {
    const len = pieces[i].end - pieces[i].start - 1;
    if (out.length > 0 && frames + len > budget) continue;
    out.push(pieces[i]);
    frames += len;
  }
  return out;
}

/** The lag history holds frames: keep its values between silence (0) and a held key (1). */
function clampLags(start: StartTensor[]): void {
  for (const t of start) if (t.name === 'lags') for (let i = 0; i < t.data.length; i++) t.data[i] = Math.min(1, Math.max(0, t.data[i]));
}

/** Adam (Kingma and Ba 2015) over the start tensors, no weight decay. */
class Adam {
  private readonly m: Float64Array[];
  private readonly v: Float64Array[];
  private t = 0;
  constructor(tensors: readonly StartTensor[], private readonly lr: number, private readonly b1 = 0.9, private readonly b2 = 0.999, private readonly eps = 1e-8) {
    this.m = tensors.map((x) => new Float64Array(x.data.length));
    this.v = tensors.map((x) => new Float64Array(x.data.length));
  }
  /** One step over the tensors `learns` picks; the others are left as they are. */
  step(tensors: StartTensor[], grads: readonly StartTensor[], learns: (t: StartTensor) => boolean): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    tensors.forEach((x, j) => {
      if (!learns(x)) return;
      const g = grads[j].data, m = this.m[j], v = this.v[j], w = x.data;
      for (let i = 0; i < w.length; i++) {
        m[i] = this.b1 * m[i] + (1 - this.b1) * g[i];
        v[i] = this.b2 * v[i] + (1 - this.b2) * g[i] * g[i];
        w[i] -= (this.lr * m[i]) / c1 / (Math.sqrt(v[i] / c2) + this.eps);
      }
    });
  }
}
