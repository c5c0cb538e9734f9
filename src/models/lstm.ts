/**
 * The LSTM baseline over piano rolls, PyTorch's parameter names and layouts:
 *   Embed: Linear(88 -> E)  ->  L-layer LSTM(H), dropout between layers  ->  Head: Linear(H -> 88)
 * Gate order in weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} is i, f, g, o (PyTorch's).
 * Internally everything runs time-major [T,B,.] so that each recurrent step is one GEMM over the B rows.
 */
import type { Batch } from '../engine/batch.js';
import type { Gemm } from '../engine/gemm.js';
import type { Kernels } from '../engine/kernels.js';
import type { Param } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { linearBackward, linearForward } from '../engine/layers/linear.js';
import { allocLstmActs, lstmBackward, lstmForward, type LstmActs, type LstmParams } from '../engine/layers/lstm.js';
import { applyDropout, drawDropout, dropoutInto, newDropoutMask, type DropoutMask } from '../engine/layers/dropout.js';
import { bceLoss, bceLossBackward, maskSum } from '../engine/layers/bce.js';
import { transposeBT } from '../engine/layers/elementwise.js';
import { checkBatch, KEYS, ParamList } from './common.js';
import { InputStage, cloneInputState, type InputState } from './input-stage.js';
import { lagHistoryBackward, type LagHistory } from './input-lags.js';
import { uniformInit } from './init.js';
import type { ChainStepState, KeyChainScratch } from './key-chain.js';
import type { LossSum, LstmConfig, RecurrentState, SequenceModel, StreamCondition } from './model.js';
import { OutputStage } from './output-stage.js';

/** RNN-mode state: h and c of every layer. */
export interface LstmState extends RecurrentState {
  readonly batch: number;
  h: Float32Array[]; // [L][B,H]
  c: Float32Array[]; // [L][B,H]
  input: InputState; // input lags and conditioning of the next step
  chain: ChainStepState; // the key-chain head's inputs after the last step (empty without)
}

/**
 * Buffers for any T, B with T*B <= capN and B <= capB: a time-major [T,B,.] tensor is just the first
 * T*B rows, so one allocation serves every shape that fits.
 */
class Workspace {
  readonly capN: number;
  readonly capB: number;
  readonly x: Float32Array; // [T,B,W] embedding inputs, time-major (W = 88, or wider: input-stage.ts)
  readonly rows: Float32Array; // [B,T,W] batch-major embedding inputs before the transpose (when W > 88)
  readonly y: Float32Array; // [T,B,88] targets
  readonly m: Float32Array; // [T,B] mask
  readonly emb: Float32Array; // [T,B,E]
  readonly acts: LstmActs[];
  readonly dropped: Float32Array[]; // [L-1][T,B,H] inputs of layers 1.. after dropout
  readonly masks: DropoutMask[]; // [L-1]
  readonly logits: Float32Array; // [T,B,88]
  readonly dlogits: Float32Array;
  readonly dh: Float32Array; // [T,B,H]
  readonly dIn: Float32Array; // [T,B,max(E,H)]
  readonly dG: Float32Array; // [T,B,4H]
  readonly dc: Float32Array; // [B,H]
  readonly bias: Float32Array; // [4H]
  readonly chain: KeyChainScratch | null;

  constructor(capN: number, capB: number, L: number, E: number, H: number, dropout: boolean, W: number, rows: number, chain: KeyChainScratch | null) {
    this.capN = capN;
    this.capB = capB;
    const TB = capN;
    const B = capB;
    this.x = new Float32Array(TB * W);
    this.rows = new Float32Array(rows);
    this.y = new Float32Array(TB * KEYS);
    this.m = new Float32Array(TB);
    this.emb = new Float32Array(TB * E);
    this.acts = Array.from({ length: L }, () => allocLstmActs(capN / capB, capB, H));
    this.dropped = dropout ? Array.from({ length: L - 1 }, () => new Float32Array(TB * H)) : [];
    this.masks = Array.from({ length: L - 1 }, newDropoutMask);
    this.logits = new Float32Array(TB * KEYS);
    this.dlogits = new Float32Array(TB * KEYS);
    this.dh = new Float32Array(TB * H);
    this.dIn = new Float32Array(TB * Math.max(E, H));
    this.dG = new Float32Array(TB * 4 * H);
    this.dc = new Float32Array(B * H);
    this.bias = new Float32Array(4 * H);
    this.chain = chain;
  }
}

export class LstmModel implements SequenceModel {
  readonly config: LstmConfig;
  readonly inputSize = KEYS;
  private readonly input: InputStage;
  /** Width of the embedding's input (input-stage.ts). */
  private readonly embInputs: number;
  private readonly gemm: Gemm;
  private readonly kernels: Kernels;
  private readonly params: Param[];
  private readonly embed: { weight: Param; bias: Param };
  private readonly layers: LstmParams[];
  private readonly output: OutputStage;
  readonly drawFrame?: SequenceModel['drawFrame'];
  get outputBias(): Param {
    return this.output.head.bias;
  }
  private ws: Workspace | null = null;

  constructor(config: LstmConfig, gemm: Gemm, kernels: Kernels) {
    this.config = { ...config };
    this.gemm = gemm;
    this.kernels = kernels;
    const { layers: L, hidden: H, embed: E } = config;
    const pl = new ParamList();
    this.input = new InputStage(config);
    this.embInputs = this.input.width;
    this.embed = { weight: pl.add('embed.weight', [E, this.embInputs], true), bias: pl.add('embed.bias', [E], false) };
    this.layers = [];
    for (let k = 0; k < L; k++) {
      const I = k === 0 ? E : H;
      this.layers.push({
        weightIh: pl.add(`lstm.weight_ih_l${k}`, [4 * H, I], true),
        weightHh: pl.add(`lstm.weight_hh_l${k}`, [4 * H, H], true),
        biasIh: pl.add(`lstm.bias_ih_l${k}`, [4 * H], false),
        biasHh: pl.add(`lstm.bias_hh_l${k}`, [4 * H], false),
      });
    }
    this.output = new OutputStage(pl, H, config);
    this.drawFrame = this.output.drawFrameFor<RecurrentState>((state) => (state as LstmState).chain);
    this.params = pl.list;
  }

  parameters(): Param[] {
    return this.params;
  }

  /** PyTorch's defaults: LSTM weights and biases U(±1/sqrt(H)); Linear weight and bias U(±1/sqrt(fan_in)). */
  initialize(seed: number): void {
    const rng = new Rng(seed);
    const H = this.config.hidden;
    const lin = (p: { weight: Param; bias: Param }) => {
      const bound = 1 / Math.sqrt(p.weight.shape[1]);
      uniformInit(p.weight.data, bound, rng);
      uniformInit(p.bias.data, bound, rng);
    };
    lin(this.embed);
    for (const layer of this.layers) {
      for (const p of [layer.weightIh, layer.weightHh, layer.biasIh, layer.biasHh]) uniformInit(p.data, 1 / Math.sqrt(H), rng);
    }
    lin(this.output.head);
    this.output.chain?.initialize(rng);
  }

  private workspace(T: number, B: number): Workspace {
    const { layers: L, hidden: H, embed: E, dropout } = this.config;
    if (!this.ws || this.ws.capN < T * B || this.ws.capB < B) {
      const capB = Math.max(B, this.ws?.capB ?? 0);
      const capN = Math.max(T * B, this.ws?.capN ?? 0);
      this.ws = null;
      const cap = Math.ceil(capN / capB) * capB;
      this.ws = new Workspace(cap, capB, L, E, H, dropout > 0, this.embInputs, this.input.bufferLength(cap), this.output.scratch(cap, true));
    }
    return this.ws;
  }

  /**
   * Forward over time-major ws.x [T,B,88]; logits into ws.logits. A key-chain head conditions on the
   * targets in ws.y (training, evaluation) or keeps its inputs in the state (RNN mode).
   */
  private forward(ws: Workspace, B: number, T: number, rng: Rng | null, state: LstmState | null, targets = state === null): void {
    const { layers: L, hidden: H, embed: E, dropout } = this.config;
    const TB = T * B;
    const gemm = this.gemm;
    const drop = rng !== null && dropout > 0;
    linearForward(gemm, ws.emb, ws.x, this.embed.weight.data, this.embed.bias.data, TB, this.embInputs, E);
    let inp = ws.emb;
    let I = E;
    for (let k = 0; k < L; k++) {
      const acts = ws.acts[k];
      lstmForward(gemm, this.kernels, inp, this.layers[k], acts, state ? state.h[k] : null, state ? state.c[k] : null, T, B, I, H, ws.bias);
      if (state) {
        state.h[k].set(acts.h.subarray(T * B * H, (T + 1) * B * H));
        state.c[k].set(acts.c.subarray(T * B * H, (T + 1) * B * H));
      }
      inp = acts.h.subarray(B * H, (T + 1) * B * H);
      I = H;
      if (drop && k < L - 1) {
        drawDropout(ws.masks[k], dropout, rng);
        dropoutInto(ws.dropped[k], inp, ws.masks[k], TB * H);
        inp = ws.dropped[k];
      }
    }
    if (targets) this.output.forward(gemm, ws.logits, inp, ws.y, TB, ws.chain);
    else this.output.step(gemm, state!.chain, ws.logits, inp, B, ws.chain);
  }

  /**
   * Backward from ws.dlogits (`drop`: the forward drew dropout). With `start` the forward began from
   * start.state; the gradient with respect to it goes to start.grad.
   */
  private backward(ws: Workspace, B: number, T: number, drop: boolean, start: { state: LstmState; grad: LstmState } | null = null): void {
    const { layers: L, hidden: H, embed: E } = this.config;
    const TB = T * B;
    const gemm = this.gemm;
    const last = ws.acts[L - 1].h.subarray(B * H, (T + 1) * B * H);
    this.output.backward(gemm, ws.dh, ws.dlogits, last, ws.y, TB, ws.chain);
    for (let k = L - 1; k >= 0; k--) {
      const I = k === 0 ? E : H;
      let x: Float32Array;
      if (k === 0) x = ws.emb;
      else x = drop ? ws.dropped[k - 1] : ws.acts[k - 1].h.subarray(B * H, (T + 1) * B * H);
      lstmBackward(gemm, this.kernels, ws.dIn, ws.dh, x, this.layers[k], ws.acts[k], T, B, I, H, ws.dG, ws.dc,
        start ? { dh0: start.grad.h[k], dc0: start.grad.c[k] } : null);
      if (k > 0) {
        ws.dh.set(ws.dIn.subarray(0, TB * H));
        if (drop) applyDropout(ws.dh, ws.masks[k - 1], TB * H);
      }
    }
    linearBackward(gemm, null, false, this.embed.weight.grad, this.embed.bias.grad, ws.dIn, ws.x, this.embed.weight.data, TB, this.embInputs, E);
    if (start && this.input.lags.length > 0) this.lagHistoryBackward(ws.dIn, B, T, start.state.input.lagHistory, start.grad.input.lagHistory);
  }

  /** The start history's gradient from d(embedding output) dEmb [T,B,E]: only the first steps read it. */
  private lagHistoryBackward(dEmb: Float32Array, B: number, T: number, history: LagHistory, grad: LagHistory): void {
    const E = this.config.embed;
    const W = this.embInputs;
    const M = Math.min(T, history.span);
    const rows = new Float32Array(M * B * W); // time-major [M,B,W]
    this.gemm.gemm({ transA: false, transB: false, M: M * B, N: W, K: E, A: dEmb, B: this.embed.weight.data, C: rows, beta: 0 });
    const own = new Float32Array(M * W);
    grad.frames.fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < M; t++) own.set(rows.subarray((t * B + b) * W, (t * B + b + 1) * W), t * W);
      lagHistoryBackward(grad.frames, own, b, M, KEYS, this.input.lags, history, W);
    }
  }

  /** Embedding inputs, targets and the mask of the loss (`training`: the training mask) into ws, time-major. */
  private load(ws: Workspace, batch: Batch, training: boolean, history: LagHistory | null = null): void {
    const { B, T } = batch;
    transposeBT(ws.x, this.input.batchRows(ws.rows, batch, history), B, T, this.embInputs, true);
    transposeBT(ws.y, batch.targets, B, T, KEYS, true);
    transposeBT(ws.m, training ? (batch.trainMask ?? batch.mask) : batch.mask, B, T, 1, true);
  }

  trainStep(batch: Batch, lossScale: number, rng: Rng): LossSum {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const ws = this.workspace(T, B);
    this.load(ws, batch, true);
    this.forward(ws, B, T, rng, null);
    const nllSum = bceLossBackward(ws.dlogits, ws.logits, ws.y, ws.m, T * B, KEYS, lossScale);
    this.backward(ws, B, T, this.config.dropout > 0);
    return { nllSum, frames: maskSum(batch.trainMask ?? batch.mask, B * T) };
  }

  // Start-state tuning (src/tune): the parallel forward and backward from a given RNN-mode state.

  /** As RwkvModel.trainFrom: evaluation mode, from `start` (not modified), d/d(start) written into `grad`. */
  trainFrom(batch: Batch, start: RecurrentState, grad: RecurrentState, lossScale: number): LossSum {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const s = this.ownState(start, B);
    const run = cloneLstmState(s);
    const ws = this.workspace(T, B);
    this.load(ws, batch, false, run.input.lagHistory);
    this.forward(ws, B, T, null, run, true);
    const nllSum = bceLossBackward(ws.dlogits, ws.logits, ws.y, ws.m, T * B, KEYS, lossScale);
    this.backward(ws, B, T, false, { state: s, grad: this.ownState(grad, B) });
    return { nllSum, frames: maskSum(batch.mask, B * T) };
  }

  /** Logits [B,T,88] in evaluation mode from `state`, which is advanced past the batch's T frames. */
  logitsFrom(batch: Batch, state: RecurrentState): Float32Array {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const s = this.ownState(state, B);
    const ws = this.workspace(T, B);
    this.load(ws, batch, false, s.input.lagHistory);
    this.forward(ws, B, T, null, s, true);
    const out = new Float32Array(B * T * KEYS);
    transposeBT(out, ws.logits, B, T, KEYS, false);
    return out;
  }

  private ownState(state: RecurrentState, B: number): LstmState {
    const s = state as LstmState;
    if (!s.h || s.h.length !== this.config.layers || s.batch !== B) throw new Error(`the state does not belong to this LSTM model or has not ${B} rows`);
    return s;
  }

  evaluate(batch: Batch): LossSum {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const ws = this.workspace(T, B);
    this.load(ws, batch, false);
    this.forward(ws, B, T, null, null);
    return { nllSum: bceLoss(ws.logits, ws.y, ws.m, T * B, KEYS), frames: maskSum(batch.mask, B * T) };
  }

  logits(batch: Batch): Float32Array {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const ws = this.workspace(T, B);
    this.load(ws, batch, false);
    this.forward(ws, B, T, null, null);
    const out = new Float32Array(B * T * KEYS);
    transposeBT(out, ws.logits, B, T, KEYS, false);
    return out;
  }

  initialState(batch: number, condition?: StreamCondition): LstmState {
    const { layers: L, hidden: H } = this.config;
    return {
      batch,
      h: Array.from({ length: L }, () => new Float32Array(batch * H)),
      c: Array.from({ length: L }, () => new Float32Array(batch * H)),
      input: this.input.newState(batch, condition),
      chain: this.output.newStepState(batch),
    };
  }

  step(state: RecurrentState, frames: Float32Array): Float32Array {
    const s = state as LstmState;
    if (!s.h || s.h.length !== this.config.layers) throw new Error('step: the state does not belong to this LSTM model');
    const B = s.batch;
    if (frames.length < B * KEYS) throw new Error(`step: expected ${B}x${KEYS} frames, got ${frames.length} values`);
    const ws = this.stepWorkspace(B);
    const rows = this.input.stepRows(ws.x, frames, B, s.input);
    if (rows !== ws.x) ws.x.set(rows.subarray(0, B * this.embInputs));
    this.forward(ws, B, 1, null, s);
    return ws.logits.slice(0, B * KEYS);
  }

  private stepWs: Workspace | null = null;
  private stepWorkspace(B: number): Workspace {
    const { layers: L, hidden: H, embed: E } = this.config;
    if (!this.stepWs || this.stepWs.capB < B) this.stepWs = new Workspace(B, B, L, E, H, false, this.embInputs, 0, this.output.scratch(B, false));
    return this.stepWs;
  }
}

export function cloneLstmState(s: LstmState): LstmState {
  return {
    batch: s.batch,
    h: s.h.map((x) => x.slice()),
    c: s.c.map((x) => x.slice()),
    input: cloneInputState(s.input),
    chain: { base: s.chain.base.slice(), context: s.chain.context.slice() },
  };
}
