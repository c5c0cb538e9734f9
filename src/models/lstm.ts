/**
 * The LSTM baseline over piano rolls, PyTorch's parameter names and layouts:
 *   Embed: Linear(88 -> E)  ->  L-layer LSTM(H), dropout between layers  ->  Head: Linear(H -> 88)
 * Gate order in weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} is i, f, g, o (PyTorch's).
 * Internally everything runs time-major [T,B,.] so that each recurrent step is one GEMM over the B rows.
 * The input and output stages and the SequenceModel methods are shared (staged-model.ts).
 */
import type { Batch } from '../engine/batch.js';
import type { Gemm } from '../engine/gemm.js';
import type { Kernels } from '../engine/kernels.js';
import type { Param } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { linearBackward, linearForward } from '../engine/layers/linear.js';
import { lstmBackward, lstmForward, type LstmParams } from '../engine/layers/lstm.js';
import { drawDropout } from '../engine/layers/dropout.js';
import { transposeBT } from '../engine/layers/elementwise.js';
import { KEYS, ParamList } from './common.js';
import { InputStage } from './input-stage.js';
import { lagHistoryBackward, type LagHistory } from './input-lags.js';
import { uniformInit } from './init.js';
import type { LstmConfig, RecurrentState } from './model.js';
import { OutputStage } from './output-stage.js';
import { LstmWorkspace } from './lstm-workspace.js';
import { StagedModel, type CoreBatch, type Pass, type StageState, type StartGrad } from './staged-model.js';

/** RNN-mode state: h and c of every layer (and the stages' fields). */
export interface LstmState extends StageState {
  h: Float32Array[]; // [L][B,H]
  c: Float32Array[]; // [L][B,H]
}

export class LstmModel extends StagedModel<LstmState, LstmWorkspace> {
  readonly config: LstmConfig;
  /** Width of the embedding's input (input-stage.ts). */
  private readonly embInputs: number;
  private readonly gemm: Gemm;
  private readonly embed: { weight: Param; bias: Param };
  private readonly layers: LstmParams[];

  constructor(config: LstmConfig, gemm: Gemm, kernels: Kernels) {
    const pl = new ParamList();
    const input = new InputStage(config);
    const { embed, layers } = lstmParams(pl, config, input.width);
    super('LSTM', input, new OutputStage(pl, config.hidden, config, kernels), pl.list, kernels);
    this.config = { ...config };
    this.gemm = gemm;
    this.embInputs = input.width;
    this.embed = embed;
    this.layers = layers;
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

  protected override newWorkspace(rows: number, streams: number, training: boolean): LstmWorkspace {
    const { layers, hidden, embed, dropout } = this.config;
    const TB = Math.ceil(rows / streams) * streams; // whole steps of `streams` rows
    return new LstmWorkspace({
      rows: TB, streams, layers, embed, hidden, training, dropout: dropout > 0,
      inputWidth: this.embInputs, batchRowWidth: this.input.bufferLength(1), output: this.output.scratch(TB, training),
    });
  }

  /** Forward over the time-major embedding inputs x [T,B,W]; logits into ws.logits [T,B,88]. */
  protected override forward(ws: LstmWorkspace, x: Float32Array, B: number, T: number, pass: Pass<LstmState>): void {
    const { layers: L, hidden: H, embed: E, dropout } = this.config;
    const TB = T * B;
    const gemm = this.gemm;
    const train = pass.mode === 'train';
    if (train !== ws.training) throw new Error(`LSTM forward: a ${pass.mode} pass in a ${ws.training ? 'training' : 'inference'} workspace`);
    const rng = train && dropout > 0 ? pass.rng : null;
    const state = pass.state;
    linearForward(gemm, ws.emb, x, this.embed.weight.data, this.embed.bias.data, TB, this.embInputs, E);
    let inp = ws.emb;
    let I = E;
    for (let k = 0; k < L; k++) {
      const acts = ws.layer(k);
      lstmForward(gemm, this.kernels, inp, this.layers[k], acts, state ? state.h[k] : null, state ? state.c[k] : null, T, B, I, H, ws.bias, ws.packedForward);
      if (state) {
        state.h[k].set(acts.h.subarray(T * B * H, (T + 1) * B * H));
        state.c[k].set(acts.c.subarray(T * B * H, (T + 1) * B * H));
      }
      inp = acts.h.subarray(B * H, (T + 1) * B * H);
      I = H;
      if (rng && k < L - 1) {
        drawDropout(ws.masks[k], dropout, rng);
        this.kernels.dropoutInto(ws.dropped[k], inp, ws.masks[k], TB * H);
        inp = ws.dropped[k];
      }
    }
    if (pass.mode === 'step') this.output.step(gemm, pass.state.chain, ws.logits, inp, B, ws.output);
    else this.output.forward(gemm, ws.logits, inp, pass.targets, TB, ws.output, train ? pass.rng : null);
  }

  /**
   * Backward from ws.dlogits after a 'train' forward (`drop`: it drew dropout). With `start` the
   * forward began from start.state; the gradient with respect to it goes to start.grad.
   */
  protected override backward(ws: LstmWorkspace, io: CoreBatch, B: number, T: number, drop: boolean, start: StartGrad<LstmState> | null): void {
    const { layers: L, hidden: H, embed: E } = this.config;
    const TB = T * B;
    const gemm = this.gemm;
    const last = ws.layer(L - 1).h.subarray(B * H, (T + 1) * B * H);
    this.output.backward(gemm, ws.dh, ws.dlogits, last, io.targets, TB, ws.output);
    for (let k = L - 1; k >= 0; k--) {
      const I = k === 0 ? E : H;
      let x: Float32Array;
      if (k === 0) x = ws.emb;
      else x = drop ? ws.dropped[k - 1] : ws.layer(k - 1).h.subarray(B * H, (T + 1) * B * H);
      lstmBackward(gemm, this.kernels, ws.dIn, ws.dh, x, this.layers[k], ws.layer(k), T, B, I, H, ws.dG, ws.dc,
        start ? { dh0: start.grad.h[k], dc0: start.grad.c[k] } : null, ws.packedBackward);
      if (k > 0) {
        ws.dh.set(ws.dIn.subarray(0, TB * H));
        if (drop) this.kernels.applyDropout(ws.dh, ws.masks[k - 1], TB * H);
      }
    }
    linearBackward(gemm, null, false, this.embed.weight.grad, this.embed.bias.grad, ws.dIn, io.inputs, this.embed.weight.data, TB, this.embInputs, E, this.kernels.columnSums);
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

  /** The batch time-major: embedding inputs, targets and `mask` transposed into ws. */
  protected override load(ws: LstmWorkspace, batch: Batch, mask: Float32Array, history: LagHistory | null): CoreBatch {
    const { B, T } = batch;
    transposeBT(ws.x, this.input.batchRows(ws.batchRows, batch, history), B, T, this.embInputs, true);
    transposeBT(ws.y, batch.targets, B, T, KEYS, true);
    transposeBT(ws.m, mask, B, T, 1, true);
    return { inputs: ws.x, targets: ws.y, mask: ws.m };
  }

  protected override logitsOut(ws: LstmWorkspace, B: number, T: number): Float32Array {
    const out = new Float32Array(B * T * KEYS);
    transposeBT(out, ws.logits, B, T, KEYS, false);
    return out;
  }

  protected override newCoreState(batch: number): Omit<LstmState, keyof StageState> {
    const { layers: L, hidden: H } = this.config;
    return {
      h: Array.from({ length: L }, () => new Float32Array(batch * H)),
      c: Array.from({ length: L }, () => new Float32Array(batch * H)),
    };
  }

  protected override cloneCoreState(s: LstmState): Omit<LstmState, keyof StageState> {
    return { h: s.h.map((x) => x.slice()), c: s.c.map((x) => x.slice()) };
  }

  protected override isCoreState(state: RecurrentState): boolean {
    const s = state as Partial<LstmState>;
    return Array.isArray(s.h) && s.h.length === this.config.layers;
  }
}

function lstmParams(pl: ParamList, config: LstmConfig, embInputs: number): { embed: { weight: Param; bias: Param }; layers: LstmParams[] } {
  const { layers: L, hidden: H, embed: E } = config;
  const embed = { weight: pl.add('embed.weight', [E, embInputs], true), bias: pl.add('embed.bias', [E], false) };
  const layers: LstmParams[] = [];
  for (let k = 0; k < L; k++) {
    const I = k === 0 ? E : H;
    layers.push({
      weightIh: pl.add(`lstm.weight_ih_l${k}`, [4 * H, I], true),
      weightHh: pl.add(`lstm.weight_hh_l${k}`, [4 * H, H], true),
      biasIh: pl.add(`lstm.bias_ih_l${k}`, [4 * H], false),
      biasHh: pl.add(`lstm.bias_hh_l${k}`, [4 * H], false),
    });
  }
  return { embed, layers };
}
