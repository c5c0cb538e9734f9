import type { Batch } from '../engine/batch.js';
import type { Param } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';

export type ModelKind = 'rwkv' | 'lstm';

export interface RwkvConfig {
  kind: 'rwkv';
  nLayer: number;
  nEmbd: number;
  ffn: number;
  dropout: number;
  /**
   * Earlier frames the embedding reads besides the current one, as lags in frames (ascending, e.g.
   * [1, 2, 4, 8]); absent or empty: the current frame only, as in RWKV-4.
   */
  inputLags?: number[];
}

export interface LstmConfig {
  kind: 'lstm';
  layers: number;
  hidden: number;
  /** Input projection width (Linear 88 -> embed before the LSTM). */
  embed: number;
  dropout: number;
  /** Earlier frames the input projection reads besides the current one (as for RWKV). */
  inputLags?: number[];
}

export type ModelConfig = RwkvConfig | LstmConfig;

/** Summed loss over a batch: total Bernoulli NLL in nats (summed over keys and scored frames). */
export interface LossSum {
  nllSum: number;
  frames: number;
}

/** Opaque per-model recurrent state for RNN-mode stepping, batch-major. */
export interface RecurrentState {
  readonly batch: number;
}

/**
 * What every sequence model offers. The training loop, evaluation, the sampler and the web studio
 * depend on this interface only.
 */
export interface SequenceModel {
  readonly config: ModelConfig;
  /** Number of input/output features (88 keys). */
  readonly inputSize: number;
  parameters(): Param[];
  /**
   * Forward + backward over a batch in parallel (training mode: dropout on, drawn from rng).
   * Adds d(lossScale * nllSum)/d(param) into every param.grad (the caller zeroes grads).
   */
  trainStep(batch: Batch, lossScale: number, rng: Rng): LossSum;
  /** Forward only, evaluation mode (no dropout). */
  evaluate(batch: Batch): LossSum;
  /** Forward only, evaluation mode: logits [B, T, D]. */
  logits(batch: Batch): Float32Array;
  /** Fresh RNN-mode state for `batch` independent streams. */
  initialState(batch: number): RecurrentState;
  /** One RNN-mode step: frames [batch, D] multi-hot in, logits [batch, D] out; updates state in place. */
  step(state: RecurrentState, frames: Float32Array): Float32Array;
}
