/**
 * RWKV-4 over piano rolls (88 keys in, 88 logits out), RWKV-LM's parameter names and layouts.
 *
 *   x = LN0(Emb(frame))                              Emb: Linear(88 -> C) with bias
 *                                                    (88*(1+lags) wide with config.inputLags: input-lags.ts)
 *   x = dropout(x)
 *   for each block:  x = x + dropout(TimeMix(LN1(x)));  x = x + dropout(ChannelMix(LN2(x)))
 *   logits = Head(LNout(x))                          Head: Linear(C -> 88) with bias
 *
 * Activations are batch-major [B,T,C] and flattened to N = B*T rows for every product. The input and
 * output stages and the SequenceModel methods are shared (staged-model.ts); the buffers are named in
 * rwkv-workspace.ts.
 */
import type { Batch } from '../engine/batch.js';
import type { Gemm } from '../engine/gemm.js';
import type { Kernels } from '../engine/kernels.js';
import type { Param } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { linearBackward, linearForward } from '../engine/layers/linear.js';
import { timeMixBackward, timeMixForward, type MixStartGrad, type TimeMixParams } from '../engine/layers/timemix.js';
import { channelMixBackward, channelMixForward, type ChannelMixParams } from '../engine/layers/channelmix.js';
import { newWkvState, resetWkvState, WKV_PP_START, type WkvState } from '../engine/layers/wkv.js';
import { applyDropout, drawDropout, dropoutInto, type DropoutMask } from '../engine/layers/dropout.js';
import { copyLastSteps, KEYS, ParamList } from './common.js';
import { orthogonalInit, uniformInit } from './init.js';
import { InputStage } from './input-stage.js';
import { embeddingLagHistoryBackward, type LagHistory } from './input-lags.js';
import type { RecurrentState, RwkvConfig } from './model.js';
import { OutputStage } from './output-stage.js';
import { RwkvWorkspace } from './rwkv-workspace.js';
import { StagedModel, type CoreBatch, type Pass, type StageState, type StartGrad } from './staged-model.js';

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

/** RNN-mode state, per layer: token-shift inputs of both mixes and the WKV state (and the stages' fields). */
export interface RwkvState extends StageState {
  attXx: Float32Array[]; // [L][B,C]  LN1 output of the previous step
  ffnXx: Float32Array[]; // [L][B,C]  LN2 output of the previous step
  wkv: WkvState[]; // [L] aa, bb, pp [B,C]
}

/** The core's parameters, between the input stage and the output stage. */
interface RwkvParams {
  emb: { weight: Param; bias: Param };
  ln0: LnParams;
  blocks: BlockParams[];
  lnOut: LnParams;
}

export type RwkvInit = 'rwkv-lm' | 'pytorch';

export class RwkvModel extends StagedModel<RwkvState, RwkvWorkspace> {
  readonly config: RwkvConfig;
  private readonly gemm: Gemm;
  private readonly kernels: Kernels;
  /** Width of the embedding's input (input-stage.ts). */
  private readonly embInputs: number;
  private readonly emb: { weight: Param; bias: Param };
  private readonly ln0: LnParams;
  private readonly blocks: BlockParams[];
  private readonly lnOutP: LnParams;

  constructor(config: RwkvConfig, gemm: Gemm, kernels: Kernels) {
    const pl = new ParamList();
    const input = new InputStage(config);
    const core = rwkvParams(pl, config, input.width);
    super('RWKV', input, new OutputStage(pl, config.nEmbd, config), pl.list);
    this.config = { ...config };
    this.gemm = gemm;
    this.kernels = kernels;
    this.embInputs = input.width;
    this.emb = core.emb;
    this.ln0 = core.ln0;
    this.blocks = core.blocks;
    this.lnOutP = core.lnOut;
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

  protected override newWorkspace(rows: number, streams: number, training: boolean): RwkvWorkspace {
    const { nLayer, nEmbd, ffn } = this.config;
    return new RwkvWorkspace({
      rows, streams, layers: nLayer, channels: nEmbd, ffn, training,
      embInputs: this.input.bufferLength(rows), chain: this.output.scratch(rows, training),
    });
  }

  protected override load(ws: RwkvWorkspace, batch: Batch, mask: Float32Array, history: LagHistory | null): CoreBatch {
    return { inputs: this.input.batchRows(ws.embIn, batch, history), targets: batch.targets, mask };
  }

  protected override logitsOut(ws: RwkvWorkspace, B: number, T: number): Float32Array {
    return ws.logits.slice(0, B * T * KEYS);
  }

  /** Forward pass over [B,T] from the embedding's input rows `embIn`; logits into ws.logits. */
  protected override forward(ws: RwkvWorkspace, embIn: Float32Array, B: number, T: number, pass: Pass<RwkvState>): void {
    const { nLayer: L, nEmbd: C, ffn: F, dropout } = this.config;
    const N = B * T;
    const n = N * C;
    const gemm = this.gemm;
    const K = this.kernels;
    const train = pass.mode === 'train';
    if (train !== ws.training) throw new Error(`RWKV forward: a ${pass.mode} pass in a ${ws.training ? 'training' : 'inference'} workspace`);
    const rng = train && dropout > 0 ? pass.rng : null;
    const state = pass.state;
    const drawn = (mask: DropoutMask): DropoutMask | null => {
      if (!rng) return null;
      drawDropout(mask, dropout, rng);
      return mask;
    };
    linearForward(gemm, ws.emb, embIn, this.emb.weight.data, this.emb.bias.data, N, this.embInputs, C);
    const first = ws.block(0);
    K.layerNormForward(first.x, ws.ln0.mean, ws.ln0.rstd, ws.emb, this.ln0.weight.data, this.ln0.bias.data, N, C);
    const embDrop = drawn(ws.embDrop);
    if (embDrop) applyDropout(first.x, embDrop, n);
    const ln1p = this.blocks[0].ln1;
    K.layerNormForward(first.ln1.out, first.ln1.mean, first.ln1.rstd, first.x, ln1p.weight.data, ln1p.bias.data, N, C);
    for (let l = 0; l < L; l++) {
      const blk = this.blocks[l];
      const a = ws.block(l);
      let wkv = ws.wkv;
      if (state) wkv = state.wkv[l];
      else resetWkvState(wkv, B * C);
      // xm = x + drop(TimeMix(ln1)), ln2 = LN2(xm)
      timeMixForward(gemm, K, ws.branch, a.ln1.out, blk.att, a.att, state ? state.attXx[l] : null, wkv, B, T, C, train, ws.attScratch);
      if (state) copyLastSteps(state.attXx[l], a.ln1.out, B, T, C); // token-shift state: this step's LN1 output
      K.addLayerNormForward(a.xm, a.ln2.out, a.ln2.mean, a.ln2.rstd, a.x, ws.branch, drawn(a.attDrop),
        blk.ln2.weight.data, blk.ln2.bias.data, N, C);
      // x' = xm + drop(ChannelMix(ln2)), followed by the next LayerNorm (LN1 of the next block or ln_out)
      channelMixForward(gemm, K, ws.branch, a.ln2.out, blk.ffn, a.ffn, state ? state.ffnXx[l] : null, B, T, C, F, ws.ffnScratch);
      if (state) copyLastSteps(state.ffnXx[l], a.ln2.out, B, T, C);
      const nextLn = l + 1 === L ? this.lnOutP : this.blocks[l + 1].ln1;
      const next = ws.blockOutLn(l);
      K.addLayerNormForward(ws.blockOut(l), next.out, next.mean, next.rstd, a.xm, ws.branch, drawn(a.ffnDrop),
        nextLn.weight.data, nextLn.bias.data, N, C);
    }
    if (pass.mode === 'step') this.output.step(gemm, pass.state.chain, ws.logits, ws.lnOut.out, B, ws.chain);
    else this.output.forward(gemm, ws.logits, ws.lnOut.out, pass.targets, N, ws.chain);
  }

  /**
   * Backward from ws.dlogits through everything kept by a 'train' forward (`drop`: it drew dropout).
   * With `start` the forward began from start.state; the gradient with respect to it goes to start.grad.
   */
  protected override backward(ws: RwkvWorkspace, io: CoreBatch, B: number, T: number, drop: boolean, start: StartGrad<RwkvState> | null): void {
    const { nLayer: L, nEmbd: C, ffn: F } = this.config;
    const N = B * T;
    const n = N * C;
    const gemm = this.gemm;
    const K = this.kernels;
    const mixStart = (l: number, att: boolean): MixStartGrad | null => !start ? null : {
      prev: (att ? start.state.attXx : start.state.ffnXx)[l], dprev: (att ? start.grad.attXx : start.grad.ffnXx)[l],
      wkv: att ? { start: start.state.wkv[l], grad: start.grad.wkv[l] } : null,
    };
    const { dx, dbranch, dln } = ws;
    this.output.backward(gemm, dln, ws.dlogits, ws.lnOut.out, io.targets, N, ws.chain);
    K.layerNormBackward(dx, false, this.lnOutP.weight.grad, this.lnOutP.bias.grad, dln, ws.xOut, ws.lnOut.mean, ws.lnOut.rstd, this.lnOutP.weight.data, N, C, ws.lnScratch);
    for (let l = L - 1; l >= 0; l--) {
      const blk = this.blocks[l];
      const a = ws.block(l);
      // x_{l+1} = xm + drop(ffn(ln2(xm)))
      let dout = dx;
      if (drop) {
        dropoutInto(dbranch, dx, a.ffnDrop, n);
        dout = dbranch;
      }
      // ChannelMix backward with LN2's backward fused in: adds d(xm) into dx
      channelMixBackward(gemm, K, dx, true, dout, a.ln2.out, blk.ffn, a.ffn, B, T, C, F, ws.ffnScratch, {
        inp: a.xm, mean: a.ln2.mean, rstd: a.ln2.rstd,
        weight: blk.ln2.weight.data, dweight: blk.ln2.weight.grad, dbias: blk.ln2.bias.grad,
      }, mixStart(l, false));
      // xm = x_l + drop(att(ln1(x_l)))
      dout = dx;
      if (drop) {
        dropoutInto(dbranch, dx, a.attDrop, n);
        dout = dbranch;
      }
      // TimeMix backward with LN1's backward fused in: adds d(x_l) into dx
      timeMixBackward(gemm, K, dx, true, dout, a.ln1.out, blk.att, a.att, B, T, C, ws.attScratch, {
        inp: a.x, mean: a.ln1.mean, rstd: a.ln1.rstd,
        weight: blk.ln1.weight.data, dweight: blk.ln1.weight.grad, dbias: blk.ln1.bias.grad,
      }, mixStart(l, true));
    }
    if (drop) applyDropout(dx, ws.embDrop, n);
    K.layerNormBackward(dln, false, this.ln0.weight.grad, this.ln0.bias.grad, dx, ws.emb, ws.ln0.mean, ws.ln0.rstd, this.ln0.weight.data, N, C, ws.lnScratch);
    linearBackward(gemm, null, false, this.emb.weight.grad, this.emb.bias.grad, dln, io.inputs, this.emb.weight.data, N, this.embInputs, C);
    if (start && this.input.lags.length > 0) {
      embeddingLagHistoryBackward(gemm, dln, this.emb.weight.data, this.embInputs, C, B, T, KEYS, this.input.lags,
        start.state.input.lagHistory, start.grad.input.lagHistory);
    }
  }

  protected override newCoreState(batch: number): Omit<RwkvState, keyof StageState> {
    const { nLayer: L, nEmbd: C } = this.config;
    const wkv = Array.from({ length: L }, () => newWkvState(batch, C));
    for (const s of wkv) s.pp.fill(WKV_PP_START);
    return {
      attXx: Array.from({ length: L }, () => new Float32Array(batch * C)),
      ffnXx: Array.from({ length: L }, () => new Float32Array(batch * C)),
      wkv,
    };
  }

  protected override cloneCoreState(s: RwkvState): Omit<RwkvState, keyof StageState> {
    return {
      attXx: s.attXx.map((x) => x.slice()),
      ffnXx: s.ffnXx.map((x) => x.slice()),
      wkv: s.wkv.map((w) => ({ aa: w.aa.slice(), bb: w.bb.slice(), pp: w.pp.slice() })),
    };
  }

  protected override isCoreState(state: RecurrentState): boolean {
    const s = state as Partial<RwkvState>;
    return Array.isArray(s.attXx) && s.attXx.length === this.config.nLayer;
  }
}

function rwkvParams(pl: ParamList, config: RwkvConfig, embInputs: number): RwkvParams {
  const { nLayer: L, nEmbd: C, ffn: F } = config;
  const ln = (prefix: string): LnParams => ({ weight: pl.add(`${prefix}.weight`, [C], false), bias: pl.add(`${prefix}.bias`, [C], false) });
  const emb = { weight: pl.add('emb.weight', [C, embInputs], true), bias: pl.add('emb.bias', [C], false) };
  const ln0 = ln('blocks.0.ln0');
  const blocks: BlockParams[] = [];
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
    blocks.push({ ln1, ln2, att, ffn });
  }
  return { emb, ln0, blocks, lnOut: ln('ln_out') };
}

