/**
 * RWKV-4 over piano rolls (88 keys in, 88 logits out), RWKV-LM's parameter names and layouts.
 *
 *   x = LN0(Emb(frame))                              Emb: Linear(88 -> C) with bias
 *                                                    (88*(1+lags) wide with config.inputLags: input-lags.ts)
 *   x = dropout(x)
 *   for each block:  x = x + dropout(TimeMix(LN1(x)));  x = x + dropout(ChannelMix(LN2(x)))
 *   logits = Head(LNout(x))                          Head: Linear(C -> 88) with bias
 *
 * Activations are batch-major [B,T,C] and flattened to N = B*T rows for every product.
 */
import type { Batch } from '../engine/batch.js';
import type { Gemm } from '../engine/gemm.js';
import type { Kernels } from '../engine/kernels.js';
import type { Param } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { linearBackward, linearForward } from '../engine/layers/linear.js';
import { allocMixScratch, allocTimeMixActs, timeMixBackward, timeMixForward, type MixScratch, type TimeMixActs, type TimeMixParams } from '../engine/layers/timemix.js';
import { allocChannelMixActs, allocFfnScratch, channelMixBackward, channelMixForward, type ChannelMixActs, type ChannelMixParams, type FfnScratch } from '../engine/layers/channelmix.js';
import { newWkvState, resetWkvState, WKV_PP_START, type WkvState } from '../engine/layers/wkv.js';
import { applyDropout, drawDropout, dropoutInto, newDropoutMask, type DropoutMask } from '../engine/layers/dropout.js';
import { bceLoss, bceLossBackward, maskSum } from '../engine/layers/bce.js';
import { checkBatch, KEYS, ParamList } from './common.js';
import { orthogonalInit, uniformInit } from './init.js';
import { InputStage, cloneInputState, type InputState } from './input-stage.js';
import { lagHistoryBackward, type LagHistory } from './input-lags.js';
import type { MixStartGrad } from '../engine/layers/timemix.js';
import type { ChainStepState, KeyChainScratch } from './key-chain.js';
import type { LossSum, RecurrentState, RwkvConfig, SequenceModel, StreamCondition } from './model.js';
import { OutputStage } from './output-stage.js';

interface LnParams {
  weight: Param;
  bias: Param;
}

interface BlockParams {
  ln1: LnParams;
  ln2: LnParams;
  att: TimeMixParams;
  ffn: ChannelMixParams;
}

/** RNN-mode state, per layer: token-shift inputs of both mixes and the WKV state. */
export interface RwkvState extends RecurrentState {
  readonly batch: number;
  attXx: Float32Array[]; // [L][B,C]  LN1 output of the previous step
  ffnXx: Float32Array[]; // [L][B,C]  LN2 output of the previous step
  wkv: WkvState[]; // [L] aa, bb, pp [B,C]
  input: InputState; // input lags and conditioning of the next step
  chain: ChainStepState; // the key-chain head's inputs after the last step (empty without)
}

/**
 * Buffers for up to `cap` rows (N = B*T <= cap), allocated once and reused.
 * A training workspace keeps every layer's activations for the backward pass; an inference
 * workspace (evaluate, logits, step) keeps one layer's, reused by every block, and no gradients.
 */
class Workspace {
  readonly cap: number;
  readonly training: boolean;
  readonly emb: Float32Array;
  readonly embIn: Float32Array; // embedding inputs [N, embInputs] (empty when they are the batch's frames)
  readonly ln0Mean: Float32Array;
  readonly ln0Rstd: Float32Array;
  readonly xs: Float32Array[]; // residual streams entering each block and the final one (L+1; inference 2)
  readonly xm: Float32Array[]; // residual streams between TimeMix and ChannelMix (L; inference 1)
  readonly ln1: Float32Array[]; // (L; inference 1)
  readonly ln2: Float32Array[];
  readonly lnMean: Float32Array[]; // ln1, ln2 per block, ln_out last (2L+1; inference 3)
  readonly lnRstd: Float32Array[];
  readonly att: TimeMixActs[];
  readonly ffn: ChannelMixActs[];
  readonly drop: DropoutMask[]; // 2L+1 masks: 0 after ln0, then att and ffn branches per block
  readonly branch: Float32Array;
  readonly lnOut: Float32Array;
  readonly logits: Float32Array;
  readonly dlogits: Float32Array;
  readonly dx: Float32Array;
  readonly dbr: Float32Array;
  readonly dln: Float32Array;
  readonly scr: MixScratch;
  readonly fs: FfnScratch;
  readonly lnScratch: Float64Array;
  readonly wkv: WkvState;
  readonly chain: KeyChainScratch | null;

  constructor(cap: number, capB: number, L: number, C: number, F: number, training: boolean, embIn: number, chain: KeyChainScratch | null) {
    this.cap = cap;
    this.training = training;
    const S = training ? L : 1; // stored layers
    const nc = () => new Float32Array(cap * C);
    const none = () => new Float32Array(0);
    this.emb = nc();
    this.embIn = new Float32Array(embIn);
    this.ln0Mean = new Float32Array(cap);
    this.ln0Rstd = new Float32Array(cap);
    this.xs = Array.from({ length: training ? L + 1 : 2 }, nc);
    this.xm = Array.from({ length: S }, nc);
    this.ln1 = Array.from({ length: S }, nc);
    this.ln2 = Array.from({ length: S }, nc);
    this.lnMean = Array.from({ length: 2 * S + 1 }, () => new Float32Array(cap));
    this.lnRstd = Array.from({ length: 2 * S + 1 }, () => new Float32Array(cap));
    this.att = Array.from({ length: S }, () => allocTimeMixActs(cap, C, training));
    this.ffn = Array.from({ length: S }, () => allocChannelMixActs(cap, C, F));
    this.drop = Array.from({ length: 2 * L + 1 }, newDropoutMask);
    this.branch = nc();
    this.lnOut = nc();
    this.logits = new Float32Array(cap * KEYS);
    this.dlogits = training ? new Float32Array(cap * KEYS) : none();
    this.dx = training ? nc() : none();
    this.dbr = training ? nc() : none();
    this.dln = training ? nc() : none();
    this.scr = allocMixScratch(cap, C, training ? 7 : 3);
    this.fs = allocFfnScratch(training ? cap : 0, F);
    this.lnScratch = new Float64Array(2 * C);
    this.wkv = newWkvState(capB, C);
    this.chain = chain;
  }
}

export type RwkvInit = 'rwkv-lm' | 'pytorch';

export class RwkvModel implements SequenceModel {
  readonly config: RwkvConfig;
  readonly inputSize = KEYS;
  private readonly gemm: Gemm;
  private readonly kernels: Kernels;
  private readonly input: InputStage;
  /** Width of the embedding's input (input-stage.ts). */
  private readonly embInputs: number;
  private readonly params: Param[];
  private readonly emb: { weight: Param; bias: Param };
  private readonly ln0: LnParams;
  private readonly blocks: BlockParams[];
  private readonly lnOutP: LnParams;
  private readonly output: OutputStage;
  readonly drawFrame?: SequenceModel['drawFrame'];
  get outputBias(): Param {
    return this.output.head.bias;
  }
  private trainWs: Workspace | null = null;
  private inferWs: Workspace | null = null;

  constructor(config: RwkvConfig, gemm: Gemm, kernels: Kernels) {
    this.config = { ...config };
    this.gemm = gemm;
    this.kernels = kernels;
    const { nLayer: L, nEmbd: C, ffn: F } = config;
    this.input = new InputStage(config);
    this.embInputs = this.input.width;
    const pl = new ParamList();
    const ln = (prefix: string): LnParams => ({ weight: pl.add(`${prefix}.weight`, [C], false), bias: pl.add(`${prefix}.bias`, [C], false) });
    this.emb = { weight: pl.add('emb.weight', [C, this.embInputs], true), bias: pl.add('emb.bias', [C], false) };
    this.ln0 = ln('blocks.0.ln0');
    this.blocks = [];
    for (let l = 0; l < L; l++) {
      const b = `blocks.${l}`;
      const ln1 = ln(`${b}.ln1`);
      const ln2 = ln(`${b}.ln2`);
      const att: TimeMixParams = {
        timeDecay: pl.add(`${b}.att.time_decay`, [C], false),
        timeFirst: pl.add(`${b}.att.time_first`, [C], false),
        mixK: pl.add(`${b}.att.time_mix_k`, [1, 1, C], false),
        mixV: pl.add(`${b}.att.time_mix_v`, [1, 1, C], false),
        mixR: pl.add(`${b}.att.time_mix_r`, [1, 1, C], false),
        key: pl.add(`${b}.att.key.weight`, [C, C], true),
        value: pl.add(`${b}.att.value.weight`, [C, C], true),
        receptance: pl.add(`${b}.att.receptance.weight`, [C, C], true),
        output: pl.add(`${b}.att.output.weight`, [C, C], true),
      };
      const ffn: ChannelMixParams = {
        mixK: pl.add(`${b}.ffn.time_mix_k`, [1, 1, C], false),
        mixR: pl.add(`${b}.ffn.time_mix_r`, [1, 1, C], false),
        key: pl.add(`${b}.ffn.key.weight`, [F, C], true),
        receptance: pl.add(`${b}.ffn.receptance.weight`, [C, C], true),
        value: pl.add(`${b}.ffn.value.weight`, [C, F], true),
      };
      this.blocks.push({ ln1, ln2, att, ffn });
    }
    this.lnOutP = ln('ln_out');
    this.output = new OutputStage(pl, C, config);
    this.drawFrame = this.output.drawFrameFor<RecurrentState>((state) => (state as RwkvState).chain);
    this.params = pl.list;
  }

  parameters(): Param[] {
    return this.params;
  }

  /**
   * Initialises every parameter (section 2 of the reference: decays, bonuses, mixes by layer and
   * channel; LayerNorms 1 and 0), and the matrices by `scheme`:
   * - 'rwkv-lm': RWKV-LM's trainer: att.key, att.receptance, att.output, ffn.value, ffn.receptance
   *   zero; att.value, ffn.key orthogonal with gain sqrt(max(1, out/in)); head orthogonal with gain
   *   0.5 and a zero bias; emb (a Linear here, not a lookup table) keeps PyTorch's Linear default.
   * - 'pytorch': every Linear as PyTorch's default, weight and bias U(±1/sqrt(fan_in)).
   */
  initialize(seed: number, scheme: RwkvInit = 'rwkv-lm'): void {
    const rng = new Rng(seed);
    const { nLayer: L, nEmbd: C } = this.config;
    const linearDefault = (w: Param, b: Param | null) => {
      const bound = 1 / Math.sqrt(w.shape[1]);
      uniformInit(w.data, bound, rng);
      if (b) uniformInit(b.data, bound, rng);
    };
    const ortho = (w: Param, gain: number) => orthogonalInit(w.data, w.shape[0], w.shape[1], gain, rng);
    const ones = (p: LnParams) => {
      p.weight.data.fill(1);
      p.bias.data.fill(0);
    };
    linearDefault(this.emb.weight, this.emb.bias);
    ones(this.ln0);
    ones(this.lnOutP);
    for (let l = 0; l < L; l++) {
      const { ln1, ln2, att, ffn } = this.blocks[l];
      ones(ln1);
      ones(ln2);
      const r01 = L > 1 ? l / (L - 1) : 0;
      const r10 = 1 - l / L;
      for (let h = 0; h < C; h++) {
        const ddd = h / C;
        const hc = C > 1 ? h / (C - 1) : 0;
        att.timeDecay.data[h] = -5 + 8 * Math.pow(hc, 0.7 + 1.3 * r01);
        att.timeFirst.data[h] = Math.log(0.3) + 0.5 * (((h + 1) % 3) - 1);
        att.mixK.data[h] = Math.pow(ddd, r10);
        att.mixV.data[h] = Math.pow(ddd, r10) + 0.3 * r01;
        att.mixR.data[h] = Math.pow(ddd, 0.5 * r10);
        ffn.mixK.data[h] = Math.pow(ddd, r10);
        ffn.mixR.data[h] = Math.pow(ddd, r10);
      }
      const mats = [att.key, att.value, att.receptance, att.output, ffn.key, ffn.receptance, ffn.value];
      if (scheme === 'pytorch') {
        for (const m of mats) linearDefault(m, null);
      } else {
        for (const m of [att.key, att.receptance, att.output, ffn.value, ffn.receptance]) m.data.fill(0);
        ortho(att.value, 1);
        ortho(ffn.key, Math.sqrt(Math.max(1, ffn.key.shape[0] / ffn.key.shape[1])));
      }
    }
    const head = this.output.head;
    if (scheme === 'pytorch') linearDefault(head.weight, head.bias);
    else {
      ortho(head.weight, 0.5 * Math.sqrt(Math.max(1, KEYS / C)));
      head.bias.data.fill(0);
    }
    this.output.chain?.initialize(rng);
  }

  private workspace(N: number, B: number, training: boolean): Workspace {
    const { nLayer: L, nEmbd: C, ffn: F } = this.config;
    const old = training ? this.trainWs : this.inferWs;
    if (old && old.cap >= N && old.wkv.aa.length >= B * C) return old;
    const cap = Math.max(N, old?.cap ?? 0);
    const capB = Math.max(B, (old?.wkv.aa.length ?? 0) / C);
    // let the old buffers go before allocating the new ones
    if (training) this.trainWs = null;
    else this.inferWs = null;
    const ws = new Workspace(cap, capB, L, C, F, training, this.input.bufferLength(cap), this.output.scratch(cap, training));
    if (training) this.trainWs = ws;
    else this.inferWs = ws;
    return ws;
  }

  /**
   * Forward pass over [B,T] (the embedding's input rows in `embIn`, input-stage.ts), logits into
   * ws.logits. rng given: training (dropout drawn, activations kept). state given: RNN mode (T = 1
   * steps from it). targets: the frames predicted, which a key-chain head conditions on (null in RNN mode).
   */
  private forward(ws: Workspace, embIn: Float32Array, targets: Float32Array | null, B: number, T: number, rng: Rng | null, state: RwkvState | null): void {
    const { nLayer: L, nEmbd: C, ffn: F, dropout } = this.config;
    const N = B * T;
    const n = N * C;
    const gemm = this.gemm;
    const K = this.kernels;
    const save = ws.training;
    const drop = rng !== null && dropout > 0;
    const mask = (j: number): DropoutMask | null => {
      if (!drop) return null;
      drawDropout(ws.drop[j], dropout, rng);
      return ws.drop[j];
    };
    // buffer slots: every layer its own when training, one shared slot otherwise
    const xsAt = (l: number) => ws.xs[save ? l : l % 2];
    const outStat = save ? 2 * L : 2;
    linearForward(gemm, ws.emb, embIn, this.emb.weight.data, this.emb.bias.data, N, this.embInputs, C);
    K.layerNormForward(xsAt(0), ws.ln0Mean, ws.ln0Rstd, ws.emb, this.ln0.weight.data, this.ln0.bias.data, N, C);
    const m0 = mask(0);
    if (m0) applyDropout(xsAt(0), m0, n);
    const ln1p = this.blocks[0].ln1;
    K.layerNormForward(ws.ln1[0], ws.lnMean[0], ws.lnRstd[0], xsAt(0), ln1p.weight.data, ln1p.bias.data, N, C);
    for (let l = 0; l < L; l++) {
      const blk = this.blocks[l];
      const li = save ? l : 0;
      let wkv = ws.wkv;
      if (state) wkv = state.wkv[l];
      else resetWkvState(wkv, B * C);
      // xm = x + drop(TimeMix(ln1)), ln2 = LN2(xm)
      timeMixForward(gemm, K, ws.branch, ws.ln1[li], blk.att, ws.att[li], state ? state.attXx[l] : null, wkv, B, T, C, save, ws.scr);
      if (state) copyLastSteps(state.attXx[l], ws.ln1[li], B, T, C); // token-shift state: this step's LN1 output
      K.addLayerNormForward(ws.xm[li], ws.ln2[li], ws.lnMean[2 * li + 1], ws.lnRstd[2 * li + 1], xsAt(l), ws.branch, mask(1 + 2 * l),
        blk.ln2.weight.data, blk.ln2.bias.data, N, C);
      // x' = xm + drop(ChannelMix(ln2)), followed by the next LayerNorm (LN1 of the next block or ln_out)
      channelMixForward(gemm, K, ws.branch, ws.ln2[li], blk.ffn, ws.ffn[li], state ? state.ffnXx[l] : null, B, T, C, F, ws.scr, ws.fs);
      if (state) copyLastSteps(state.ffnXx[l], ws.ln2[li], B, T, C);
      const last = l + 1 === L;
      const nextLn = last ? this.lnOutP : this.blocks[l + 1].ln1;
      const nextOut = last ? ws.lnOut : ws.ln1[save ? l + 1 : 0];
      const nextStat = last ? outStat : save ? 2 * l + 2 : 0;
      K.addLayerNormForward(xsAt(l + 1), nextOut, ws.lnMean[nextStat], ws.lnRstd[nextStat], ws.xm[li], ws.branch, mask(2 + 2 * l),
        nextLn.weight.data, nextLn.bias.data, N, C);
    }
    if (targets) this.output.forward(gemm, ws.logits, ws.lnOut, targets, N, ws.chain);
    else this.output.step(gemm, state!.chain, ws.logits, ws.lnOut, B, ws.chain);
  }

  /**
   * Backward from ws.dlogits through everything kept by a training forward (`drop`: it drew dropout).
   * With `start` the forward began from start.state; the gradient with respect to it goes to start.grad.
   */
  private backward(ws: Workspace, embIn: Float32Array, targets: Float32Array, B: number, T: number, drop: boolean,
    start: { state: RwkvState; grad: RwkvState } | null = null): void {
    const { nLayer: L, nEmbd: C, ffn: F } = this.config;
    const N = B * T;
    const n = N * C;
    const gemm = this.gemm;
    const K = this.kernels;
    const mixStart = (l: number, att: boolean): MixStartGrad | null => !start ? null : {
      prev: (att ? start.state.attXx : start.state.ffnXx)[l], dprev: (att ? start.grad.attXx : start.grad.ffnXx)[l],
      wkv: att ? { start: start.state.wkv[l], grad: start.grad.wkv[l] } : null,
    };
    const { dx, dbr, dln } = ws;
    this.output.backward(gemm, dln, ws.dlogits, ws.lnOut, targets, N, ws.chain);
    K.layerNormBackward(dx, false, this.lnOutP.weight.grad, this.lnOutP.bias.grad, dln, ws.xs[L], ws.lnMean[2 * L], ws.lnRstd[2 * L], this.lnOutP.weight.data, N, C, ws.lnScratch);
    for (let l = L - 1; l >= 0; l--) {
      const blk = this.blocks[l];
      // x_{l+1} = xm + drop(ffn(ln2(xm)))
      let dout = dx;
      if (drop) {
        dropoutInto(dbr, dx, ws.drop[2 + 2 * l], n);
        dout = dbr;
      }
      // ChannelMix backward with LN2's backward fused in: adds d(xm) into dx
      channelMixBackward(gemm, K, dx, true, dout, ws.ln2[l], blk.ffn, ws.ffn[l], B, T, C, F, ws.scr, ws.fs, {
        inp: ws.xm[l], mean: ws.lnMean[2 * l + 1], rstd: ws.lnRstd[2 * l + 1],
        weight: blk.ln2.weight.data, dweight: blk.ln2.weight.grad, dbias: blk.ln2.bias.grad,
      }, mixStart(l, false));
      // xm = x_l + drop(att(ln1(x_l)))
      dout = dx;
      if (drop) {
        dropoutInto(dbr, dx, ws.drop[1 + 2 * l], n);
        dout = dbr;
      }
      // TimeMix backward with LN1's backward fused in: adds d(x_l) into dx
      timeMixBackward(gemm, K, dx, true, dout, ws.ln1[l], blk.att, ws.att[l], B, T, C, ws.scr, {
        inp: ws.xs[l], mean: ws.lnMean[2 * l], rstd: ws.lnRstd[2 * l],
        weight: blk.ln1.weight.data, dweight: blk.ln1.weight.grad, dbias: blk.ln1.bias.grad,
      }, mixStart(l, true));
    }
    if (drop) applyDropout(dx, ws.drop[0], n);
    K.layerNormBackward(dln, false, this.ln0.weight.grad, this.ln0.bias.grad, dx, ws.emb, ws.ln0Mean, ws.ln0Rstd, this.ln0.weight.data, N, C, ws.lnScratch);
    linearBackward(gemm, null, false, this.emb.weight.grad, this.emb.bias.grad, dln, embIn, this.emb.weight.data, N, this.embInputs, C);
    if (start && this.input.lags.length > 0) this.lagHistoryBackward(dln, B, T, start.state.input.lagHistory, start.grad.input.lagHistory);
  }

  /** The start history's gradient from d(embedding output) dln: only the first rows of each stream read it. */
  private lagHistoryBackward(dln: Float32Array, B: number, T: number, history: LagHistory, grad: LagHistory): void {
    const C = this.config.nEmbd;
    const M = Math.min(T, history.span);
    const rows = new Float32Array(M * this.embInputs);
    grad.frames.fill(0);
    for (let b = 0; b < B; b++) {
      this.gemm.gemm({ transA: false, transB: false, M, N: this.embInputs, K: C, A: dln, aOffset: b * T * C, B: this.emb.weight.data, C: rows, beta: 0 });
      lagHistoryBackward(grad.frames, rows, b, M, KEYS, this.input.lags, history, this.embInputs);
    }
  }

  trainStep(batch: Batch, lossScale: number, rng: Rng): LossSum {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const N = B * T;
    const ws = this.workspace(N, B, true);
    const embIn = this.input.batchRows(ws.embIn, batch);
    this.forward(ws, embIn, batch.targets, B, T, rng, null);
    const trainMask = batch.trainMask ?? batch.mask;
    const nllSum = bceLossBackward(ws.dlogits, ws.logits, batch.targets, trainMask, N, KEYS, lossScale);
    this.backward(ws, embIn, batch.targets, B, T, this.config.dropout > 0);
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
    const ws = this.workspace(N, B, true);
    const run = cloneRwkvState(s);
    const embIn = this.input.batchRows(ws.embIn, batch, run.input.lagHistory);
    this.forward(ws, embIn, batch.targets, B, T, null, run);
    const nllSum = bceLossBackward(ws.dlogits, ws.logits, batch.targets, batch.mask, N, KEYS, lossScale);
    this.backward(ws, embIn, batch.targets, B, T, false, { state: s, grad: this.ownState(grad, B) });
    return { nllSum, frames: maskSum(batch.mask, N) };
  }

  /** Logits [B,T,88] in evaluation mode from `state`, which is advanced past the batch's T frames. */
  logitsFrom(batch: Batch, state: RecurrentState): Float32Array {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const s = this.ownState(state, B);
    const ws = this.workspace(B * T, B, false);
    this.forward(ws, this.input.batchRows(ws.embIn, batch, s.input.lagHistory), batch.targets, B, T, null, s);
    return ws.logits.slice(0, B * T * KEYS);
  }

  private ownState(state: RecurrentState, B: number): RwkvState {
    const s = state as RwkvState;
    if (!s.attXx || s.attXx.length !== this.config.nLayer || s.batch !== B) throw new Error(`the state does not belong to this RWKV model or has not ${B} rows`);
    return s;
  }

  evaluate(batch: Batch): LossSum {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const N = B * T;
    const ws = this.workspace(N, B, false);
    this.forward(ws, this.input.batchRows(ws.embIn, batch), batch.targets, B, T, null, null);
    return { nllSum: bceLoss(ws.logits, batch.targets, batch.mask, N, KEYS), frames: maskSum(batch.mask, N) };
  }

  logits(batch: Batch): Float32Array {
    checkBatch(batch, KEYS);
    const { B, T } = batch;
    const ws = this.workspace(B * T, B, false);
    this.forward(ws, this.input.batchRows(ws.embIn, batch), batch.targets, B, T, null, null);
    return ws.logits.slice(0, B * T * KEYS);
  }

  initialState(batch: number, condition?: StreamCondition): RwkvState {
    const { nLayer: L, nEmbd: C } = this.config;
    const wkv = Array.from({ length: L }, () => newWkvState(batch, C));
    for (const s of wkv) s.pp.fill(WKV_PP_START);
    return {
      batch,
      attXx: Array.from({ length: L }, () => new Float32Array(batch * C)),
      ffnXx: Array.from({ length: L }, () => new Float32Array(batch * C)),
      wkv,
      input: this.input.newState(batch, condition),
      chain: this.output.newStepState(batch),
    };
  }

  step(state: RecurrentState, frames: Float32Array): Float32Array {
    const s = state as RwkvState;
    if (!s.attXx || s.attXx.length !== this.config.nLayer) throw new Error('step: the state does not belong to this RWKV model');
    const B = s.batch;
    if (frames.length < B * KEYS) throw new Error(`step: expected ${B}x${KEYS} frames, got ${frames.length} values`);
    const ws = this.workspace(B, B, false);
    this.forward(ws, this.input.stepRows(ws.embIn, frames, B, s.input), null, B, 1, null, s);
    return ws.logits.slice(0, B * KEYS);
  }
}

export function cloneRwkvState(s: RwkvState): RwkvState {
  return {
    batch: s.batch,
    attXx: s.attXx.map((x) => x.slice()),
    ffnXx: s.ffnXx.map((x) => x.slice()),
    wkv: s.wkv.map((w) => ({ aa: w.aa.slice(), bb: w.bb.slice(), pp: w.pp.slice() })),
    input: cloneInputState(s.input),
    chain: { base: s.chain.base.slice(), context: s.chain.context.slice() },
  };
}

/** state[b] = x[b, T-1] for every row b (x is [B,T,C], state [B,C]). */
function copyLastSteps(state: Float32Array, x: Float32Array, B: number, T: number, C: number): void {
  for (let b = 0; b < B; b++) {
    const src = (b * T + T - 1) * C;
    state.set(x.subarray(src, src + C), b * C);
  }
}
