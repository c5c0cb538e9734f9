/**
 * What every model kind shares around its core: the input stage (input-stage.ts), the output stage
 * (output-stage.ts), the two workspaces, and the SequenceModel methods built from them. A model kind
 * (rwkv-core.ts, lstm.ts) supplies only its core: the parameters between the stages, the forward in each
 * mode, the backward, its part of the RNN-mode state, and its workspace.
 *
 * A model keeps two workspaces, each grown to the largest shape asked of it and reused: a training
 * one (every layer's activations kept for the backward pass, gradient buffers) for trainStep and
 * trainFrom, and an inference one (no more than the forward needs at a time, no gradient buffers) for
 * evaluate, logits, logitsFrom and step.
 */
import type { Batch } from '../engine/batch.js';
import type { Param } from '../engine/tensor.js';
import type { Rng } from '../engine/random.js';
import type { Kernels } from '../engine/kernels.js';
import { bceLoss, maskSum } from '../engine/layers/bce.js';
import { checkBatch, KEYS } from './common.js';
import { cloneInputState, type InputStage, type InputState } from './input-stage.js';
import type { LagHistory } from './input-lags.js';
import type { ChainStepState } from './key-chain.js';
import type { LossSum, ModelConfig, RecurrentState, SequenceModel, StreamCondition } from './model.js';
import type { OutputStage } from './output-stage.js';

/** The RNN-mode state fields every model kind has; a kind adds its core's. */
export interface StageState extends RecurrentState {
  readonly batch: number;
  input: InputState; // input lags and conditioning of the next step
  chain: ChainStepState; // the key-chain head's inputs after the last step (empty without)
}

/**
 * What a forward is run for. 'train' keeps every layer's activations for the backward pass and
 * draws dropout from `rng` (null: none, as when tuning a start state); 'evaluate' computes the logits
 * only. Both run over [B,T] and condition a key-chain head on `targets`; with `state` they start from
 * it and advance it past the T frames (else from zeros). 'step' is RNN mode: T = 1 from `state`, and
 * a key-chain head keeps its inputs in the state for drawFrame.
 */
export type Pass<S> =
  | { readonly mode: 'train'; readonly targets: Float32Array; readonly rng: Rng | null; readonly state: S | null }
  | { readonly mode: 'evaluate'; readonly targets: Float32Array; readonly state: S | null }
  | { readonly mode: 'step'; readonly state: S };

/** What the shared methods read from a core's workspace. */
export interface StageWorkspace {
  /** Rows (B*T) and streams (B) it has room for. */
  readonly rows: number;
  readonly streams: number;
  /** The embedding's input rows of an RNN-mode step [B, width] (unused when the frames are read directly). */
  readonly stepInputs: Float32Array;
  readonly logits: Float32Array;
  /** Training workspaces only. */
  readonly dlogits: Float32Array;
}

/** A batch as a core reads it: the embedding's input rows, the targets and the mask of the loss. */
export interface CoreBatch {
  readonly inputs: Float32Array;
  readonly targets: Float32Array;
  readonly mask: Float32Array;
}

/** The start state of a forward begun from an RNN-mode state, and where its gradient goes. */
export interface StartGrad<S> {
  readonly state: S;
  readonly grad: S;
}

export abstract class StagedModel<S extends StageState, W extends StageWorkspace> implements SequenceModel {
  abstract readonly config: ModelConfig;
  readonly inputSize = KEYS;
  readonly drawFrame?: SequenceModel['drawFrame'];
  private trainWs: W | null = null;
  private inferWs: W | null = null;

  /**
   * `kindName` ('RWKV', 'LSTM') names the kind in messages; `params` are every parameter, the stages'
   * included, in the order of the model file; `kernels` run the core's non-GEMM work and the loss.
   */
  constructor(
    protected readonly kindName: string, protected readonly input: InputStage, protected readonly output: OutputStage,
    private readonly params: Param[], protected readonly kernels: Kernels,
  ) {
    this.drawFrame = output.drawFrameFor<RecurrentState>((state) => (state as S).chain);
  }

  parameters(): Param[] {
    return this.params;
  }

  get outputBias(): Param {
    return this.output.head.bias;
  }

  /** A workspace for `rows` rows and `streams` streams. */
  protected abstract newWorkspace(rows: number, streams: number, training: boolean): W;
  /** The batch in the core's layout (the embedding's input rows, from `history` when given; targets; `mask`). */
  protected abstract load(ws: W, batch: Batch, mask: Float32Array, history: LagHistory | null): CoreBatch;
  /** Forward over [B,T] from the embedding's input rows `inputs`; logits into ws.logits (the core's layout). */
  protected abstract forward(ws: W, inputs: Float32Array, B: number, T: number, pass: Pass<S>): void;
  /** Backward from ws.dlogits after a 'train' forward (`drop`: it drew dropout). */
  protected abstract backward(ws: W, batch: CoreBatch, B: number, T: number, drop: boolean, start: StartGrad<S> | null): void;
  /** ws.logits as a new [B,T,88] array. */
  protected abstract logitsOut(ws: W, B: number, T: number): Float32Array;
  /** The core's part of a fresh RNN-mode state, and of a copy of one. */
  protected abstract newCoreState(batch: number): Omit<S, keyof StageState>;
  protected abstract cloneCoreState(state: S): Omit<S, keyof StageState>;
  /** Whether `state` has the core's shape (made by this kind of model with these dimensions). */
  protected abstract isCoreState(state: RecurrentState): boolean;

  trainStep(batch: Batch, lossScale: number, rng: Rng): LossSum {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const N = B * T;
    const trainMask = batch.trainMask ?? batch.mask;
    const ws = this.workspace(N, B, true);
    const io = this.load(ws, batch, trainMask, null);
    this.forward(ws, io.inputs, B, T, { mode: 'train', targets: io.targets, rng, state: null });
    const nllSum = this.kernels.bceLossBackward(ws.dlogits, ws.logits, io.targets, io.mask, N, KEYS, lossScale);
    this.backward(ws, io, B, T, this.config.dropout > 0, null);
    return { nllSum, frames: maskSum(trainMask, N) };
  }

  // Start-state tuning (src/tune): the parallel forward and backward from a given RNN-mode state.

  /**
   * Forward and backward over a batch in evaluation mode (no dropout), row b starting from row b of
   * `start` (not modified). Writes d(lossScale * nllSum)/d(start) into `grad` (a state of the same
   * shape) and adds the parameter gradients into every param.grad.
   */
  trainFrom(batch: Batch, start: RecurrentState, grad: RecurrentState, lossScale: number): LossSum {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const N = B * T;
    const s = this.ownState(start, B);
    const run = this.cloneState(s);
    const ws = this.workspace(N, B, true);
    const io = this.load(ws, batch, batch.mask, run.input.lagHistory);
    this.forward(ws, io.inputs, B, T, { mode: 'train', targets: io.targets, rng: null, state: run });
    const nllSum = this.kernels.bceLossBackward(ws.dlogits, ws.logits, io.targets, io.mask, N, KEYS, lossScale);
    this.backward(ws, io, B, T, false, { state: s, grad: this.ownState(grad, B) });
    return { nllSum, frames: maskSum(batch.mask, N) };
  }

  /** Logits [B,T,88] in evaluation mode from `state`, which is advanced past the batch's T frames. */
  logitsFrom(batch: Batch, state: RecurrentState): Float32Array {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const s = this.ownState(state, B);
    const ws = this.workspace(B * T, B, false);
    const io = this.load(ws, batch, batch.mask, s.input.lagHistory);
    this.forward(ws, io.inputs, B, T, { mode: 'evaluate', targets: io.targets, state: s });
    return this.logitsOut(ws, B, T);
  }

  evaluate(batch: Batch): LossSum {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const N = B * T;
    const ws = this.workspace(N, B, false);
    const io = this.load(ws, batch, batch.mask, null);
    this.forward(ws, io.inputs, B, T, { mode: 'evaluate', targets: io.targets, state: null });
    return { nllSum: bceLoss(ws.logits, io.targets, io.mask, N, KEYS), frames: maskSum(batch.mask, N) };
  }

  logits(batch: Batch): Float32Array {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const ws = this.workspace(B * T, B, false);
    const io = this.load(ws, batch, batch.mask, null);
    this.forward(ws, io.inputs, B, T, { mode: 'evaluate', targets: io.targets, state: null });
    return this.logitsOut(ws, B, T);
  }

  initialState(batch: number, condition?: StreamCondition): S {
    const stages: StageState = { batch, input: this.input.newState(batch, condition), chain: this.output.newStepState(batch) };
    return { ...this.newCoreState(batch), ...stages } as S;
  }

  /** A copy of `state` that shares no memory with it. */
  cloneState(state: S): S {
    const stages: StageState = {
      batch: state.batch,
      input: cloneInputState(state.input),
      chain: { base: state.chain.base.slice(), context: state.chain.context.slice() },
    };
    return { ...this.cloneCoreState(state), ...stages } as S;
  }

  step(state: RecurrentState, frames: Float32Array): Float32Array {
    if (!this.isCoreState(state)) throw new Error(`step: the state does not belong to this ${this.kindName} model`);
    const s = state as S;
    const B = s.batch;
    if (frames.length < B * KEYS) throw new Error(`step: expected ${B}x${KEYS} frames, got ${frames.length} values`);
    const ws = this.workspace(B, B, false);
    const inputs = this.input.stepRows(ws.stepInputs, frames, B, s.input);
    this.forward(ws, inputs, B, 1, { mode: 'step', state: s });
    return ws.logits.slice(0, B * KEYS);
  }

  private ownState(state: RecurrentState, B: number): S {
    if (!this.isCoreState(state) || state.batch !== B) throw new Error(`the state does not belong to this ${this.kindName} model or has not ${B} rows`);
    return state as S;
  }

  /** The training or the inference workspace, grown (old buffers let go first) when too small. */
  private workspace(rows: number, streams: number, training: boolean): W {
    const old = training ? this.trainWs : this.inferWs;
    if (old && old.rows >= rows && old.streams >= streams) return old;
    const r = Math.max(rows, old?.rows ?? 0);
    const b = Math.max(streams, old?.streams ?? 0);
    if (training) this.trainWs = null;
    else this.inferWs = null;
    const ws = this.newWorkspace(r, b, training);
    if (training) this.trainWs = ws;
    else this.inferWs = ws;
    return ws;
  }
}
