/**
 * What the embedding of every model kind reads at each position, in one place:
 *
 *   [ x_t (88) | x_{t-l1} (88) | ... | start flag (1) | key one-hot (2K+1) ]
 *
 * the frame, its input lags (input-lags.ts), and the conditioning columns of `config.condition`:
 * a flag that is on at the start step only (an empty frame read before the first frame of a piece,
 * so a model learns how pieces begin), and the piece's transposition from the data's key as a
 * one-hot over -K..K (so a user can ask for a key). The conditioning columns come last, so a model
 * trained without them is the same model with those columns of the embedding weight at zero.
 *
 * In training and evaluation the columns come from the batch (`Batch.condition`, written by
 * src/data/batching.ts); in RNN mode from the stream's InputState.
 */
import type { Batch } from '../engine/batch.js';
import { UserError } from '../errors.js';
import { KEYS } from './common.js';
import { cloneLagHistory, expandLaggedInputs, newLagHistory, type LagHistory } from './input-lags.js';
import { conditionWidth, writeCondition, type ConditionConfig } from '../engine/condition.js';
import type { ModelConfig, StreamCondition } from './model.js';

/** Width of a config's embedding input: the frame and its lags, then the conditioning columns. */
export function embeddingInputWidth(config: ModelConfig): number {
  return KEYS * (1 + (config.inputLags?.length ?? 0)) + conditionWidth(config.condition);
}

/**
 * What each column of a config's embedding input reads, named so that the same name means the same
 * input in any config: `lag <l> key <k>` (lag 0 is the frame itself), `start`, `shift <s>`. Lets a
 * warm start carry weights over by meaning when two models' inputs are laid out differently.
 */
export function embeddingInputColumns(config: ModelConfig): string[] {
  const names: string[] = [];
  for (const lag of [0, ...(config.inputLags ?? [])]) for (let k = 0; k < KEYS; k++) names.push(`lag ${lag} key ${k}`);
  const c = config.condition;
  if (c?.start) names.push('start');
  if (c && c.keyShifts > 0) for (let s = -c.keyShifts; s <= c.keyShifts; s++) names.push(`shift ${s}`);
  return names;
}

/** Checks a requested key shift against what a model knows. */
export function checkKeyShift(condition: ConditionConfig | undefined, keyShift: number): void {
  if (!Number.isInteger(keyShift)) throw new UserError(`key shift must be a whole number of semitones (got ${keyShift})`);
  if (keyShift === 0) return;
  const K = condition?.keyShifts ?? 0;
  if (K === 0) throw new UserError('this model has no key input (it was trained without key conditioning); leave the key at its default');
  if (Math.abs(keyShift) > K) throw new UserError(`this model knows keys up to ${K} semitones from the data's key; ${keyShift} is outside -${K}..${K}`);
}

/** A stream's inputs in RNN mode: the lag history and the conditioning of its next step. */
export interface InputState {
  lagHistory: LagHistory;
  /** [B, conditionWidth] the conditioning columns of the next step. */
  condition: Float32Array;
  /** Whether the next step is the start step (only with a start input). */
  atStart: boolean;
  readonly keyShift: number;
}

export function cloneInputState(s: InputState): InputState {
  return { lagHistory: cloneLagHistory(s.lagHistory), condition: s.condition.slice(), atStart: s.atStart, keyShift: s.keyShift };
}

export class InputStage {
  readonly lags: readonly number[];
  readonly condition: ConditionConfig | undefined;
  readonly conditionWidth: number;
  /** Columns of the lagged frames (88 per frame read). */
  readonly frameWidth: number;
  /** Width of the embedding's input. */
  readonly width: number;
  /** Whether the embedding reads the batch's input frames as they are (no lags, no conditioning). */
  readonly direct: boolean;

  constructor(config: ModelConfig) {
    this.lags = config.inputLags ?? [];
    this.condition = config.condition;
    this.conditionWidth = conditionWidth(config.condition);
    this.frameWidth = KEYS * (1 + this.lags.length);
    this.width = this.frameWidth + this.conditionWidth;
    this.direct = this.width === KEYS;
  }

  /** Buffer length `rows` embedding-input rows need (0 when the input frames are read directly). */
  bufferLength(rows: number): number {
    return this.direct ? 0 : rows * this.width;
  }

  /**
   * Embedding input rows [B*T, width] of a batch: `batch.inputs` itself, or written into `out`. With
   * `history` (a forward from a given state) the lags before the first frame read it, and it advances.
   */
  batchRows(out: Float32Array, batch: Batch, history: LagHistory | null = null): Float32Array {
    if (this.direct) return batch.inputs;
    const { B, T } = batch;
    const N = B * T;
    if (this.conditionWidth > 0 && (!batch.condition || batch.condition.length < N * this.conditionWidth)) {
      throw new Error(`batch: the model reads ${this.conditionWidth} conditioning columns per position; make the batch for this model's config`);
    }
    this.frames(out, batch.inputs, B, T, history);
    if (this.conditionWidth > 0) this.copyCondition(out, batch.condition!, N);
    return out;
  }

  /** Embedding input rows [B, width] of one RNN-mode step; advances the stream's input state. */
  stepRows(out: Float32Array, frames: Float32Array, B: number, state: InputState): Float32Array {
    if (this.direct) return frames;
    this.frames(out, frames, B, 1, state.lagHistory);
    if (this.conditionWidth > 0) {
      this.copyCondition(out, state.condition, B);
      if (state.atStart) {
        state.atStart = false;
        const c = this.condition!;
        for (let b = 0; b < B; b++) writeCondition(state.condition, b * this.conditionWidth, c, false, state.keyShift);
      }
    }
    return out;
  }

  newState(batch: number, stream: StreamCondition | undefined): InputState {
    const keyShift = stream?.keyShift ?? 0;
    checkKeyShift(this.condition, keyShift);
    const condition = new Float32Array(batch * this.conditionWidth);
    const atStart = this.condition?.start ?? false;
    if (this.condition) for (let b = 0; b < batch; b++) writeCondition(condition, b * this.conditionWidth, this.condition, atStart, keyShift);
    return { lagHistory: newLagHistory(batch, this.lags, KEYS), condition, atStart, keyShift };
  }

  private frames(out: Float32Array, inputs: Float32Array, B: number, T: number, history: LagHistory | null): void {
    if (this.lags.length > 0) {
      expandLaggedInputs(out, inputs, B, T, KEYS, this.lags, history, this.width);
      return;
    }
    for (let i = 0; i < B * T; i++) out.set(inputs.subarray(i * KEYS, (i + 1) * KEYS), i * this.width);
  }

  private copyCondition(out: Float32Array, condition: Float32Array, N: number): void {
    const w = this.conditionWidth;
    for (let i = 0; i < N; i++) out.set(condition.subarray(i * w, (i + 1) * w), i * this.width + this.frameWidth);
  }
}
