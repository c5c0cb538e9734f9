import type { Batch } from '../engine/batch.js';
import type { Param } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';
import type { ConditionConfig } from '../engine/condition.js';

export type { ConditionConfig };

/** Every model kind, in the order the CLI names them. */
export const MODEL_KINDS = ['rwkv', 'rwkv6', 'lstm'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export function isModelKind(kind: unknown): kind is ModelKind {
  return (MODEL_KINDS as readonly unknown[]).includes(kind);
}

export type KeyChainOrder = 'up' | 'down';

/** What a stream of RNN-mode steps is conditioned on. */
export interface StreamCondition {
  /** Semitones from the data's own key (0: the key the data are in). */
  keyShift?: number;
}

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
  /**
   * Hidden width of a key-chain output head (key-chain.ts): each key of a frame also depends on the
   * keys below it in that frame. Absent: the 88 keys are independent given the past.
   */
  keyChain?: number;
  /**
   * Extra inputs the embedding reads beside the frames (input-stage.ts): a start-of-piece marker and
   * the transposition of the piece. Absent: neither, as in the models trained before they existed.
   */
  condition?: ConditionConfig;
  /** Order of the key-chain head: 'up' from the lowest key (the default), 'down' from the highest. */
  keyChainOrder?: KeyChainOrder;
  /**
   * Dropout rate, in training, on the features the output stage's heads read (output-stage.ts).
   * Absent: none, as in the models trained before it existed.
   */
  outputDropout?: number;
}

/**
 * RWKV-6 ("Finch") time mixing with RWKV-4's channel mixing (rwkv6.ts): matrix-valued WKV states per
 * head and a data-dependent decay. The optional fields are RWKV-4's.
 */
export interface Rwkv6Config {
  kind: 'rwkv6';
  nLayer: number;
  nEmbd: number;
  ffn: number;
  /** Channels per head (divides nEmbd): the WKV state of a head is headSize x headSize. */
  headSize: number;
  /** Width of the decay's low-rank projection (time_decay_w1, time_decay_w2). */
  decayLora: number;
  dropout: number;
  inputLags?: number[];
  keyChain?: number;
  condition?: ConditionConfig;
  keyChainOrder?: KeyChainOrder;
  outputDropout?: number;
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
  /** Hidden width of a key-chain output head (as for RWKV). */
  keyChain?: number;
  /**
   * Extra inputs the embedding reads beside the frames (as for RWKV): a start-of-piece marker and
   * the transposition of the piece. Absent: neither, as in the models trained before they existed.
   */
  condition?: ConditionConfig;
  /** Order of the key-chain head: 'up' from the lowest key (the default), 'down' from the highest. */
  keyChainOrder?: KeyChainOrder;
  /** Dropout rate on the features the output stage reads (as for RWKV). */
  outputDropout?: number;
}

export type ModelConfig = RwkvConfig | Rwkv6Config | LstmConfig;

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
  /**
   * Forward only, evaluation mode: logits [B, T, D]. With a key-chain head, key d's logit is
   * conditioned on the target frame's keys below d (the logits the NLL is computed from).
   */
  logits(batch: Batch): Float32Array;
  /**
   * Fresh RNN-mode state for `batch` independent streams. With a start input the first step() is the
   * start step (give it an empty frame); with a key input every step reads `condition.keyShift`.
   */
  initialState(batch: number, condition?: StreamCondition): RecurrentState;
  /**
   * One RNN-mode step: frames [batch, D] multi-hot in, logits [batch, D] out; updates state in place.
   * With a key-chain head these are the logits for a frame whose lower keys are all off; drawFrame
   * gives the real ones.
   */
  step(state: RecurrentState, frames: Float32Array): Float32Array;
  /**
   * Present with a key-chain head only: draws stream `stream`'s next frame after step(), key by key
   * in the chain's order, each key on with p = sigmoid(logit / temperature) where the logit depends
   * on the keys already decided; one uniform from rng per free key, in chain order. `fixed[d]` (when
   * given) forces key d off (0) or on (1) instead of drawing it (-1: drawn). Writes the probabilities
   * used into probs[D]; returns the indices (0..D-1) of the keys that are on, ascending.
   */
  /**
   * The output layer's per-key bias [88], when the model has one: training may start it at each key's
   * log-odds (output-bias.ts).
   */
  readonly outputBias?: Param;
  readonly drawFrame?: (state: RecurrentState, stream: number, temperature: number, rng: Rng, probs: Float64Array, fixed?: Int8Array) => number[];

}
