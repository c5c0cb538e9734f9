/**
 * RWKV-6 ("Finch") over piano rolls: RWKV-4's skeleton (rwkv.ts) with RWKV-6's time mixing
 * (timemix6.ts: matrix-valued WKV state per head, data-dependent decay, gate, GroupNorm) and RWKV-4's
 * channel mixing, RWKV-LM v6's parameter names.
 *
 *   x = LN0(Emb(frame)); x = dropout(x)
 *   for each block:  x = x + dropout(TimeMix6(LN1(x)));  x = x + dropout(ChannelMix(LN2(x)))
 *   logits = Head(LNout(x))
 *
 * The token-shift mixes are static per channel (RWKV-6 proper makes them data-dependent: docs/models.md).
 */
import type { Batch } from '../engine/batch.js';
import type { Gemm } from '../engine/gemm.js';
import type { Kernels } from '../engine/kernels.js';
import type { Param } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { linearBackward, linearForward } from '../engine/layers/linear.js';
import { timeMix6Backward, timeMix6Forward, type Mix6StartGrad, type TimeMix6Params } from '../engine/layers/timemix6.js';
import { channelMixBackward, channelMixForward, type ChannelMixParams } from '../engine/layers/channelmix.js';
import { wkv6StateLength } from '../engine/layers/wkv6.js';
import type { MixStartGrad } from '../engine/layers/timemix.js';
import { applyDropout, drawDropout, dropoutInto, type DropoutMask } from '../engine/layers/dropout.js';
import { copyLastSteps, KEYS, ParamList } from './common.js';
import { orthogonalInit, uniformInit } from './init.js';
import { InputStage } from './input-stage.js';
import { embeddingLagHistoryBackward, type LagHistory } from './input-lags.js';
import type { RecurrentState, Rwkv6Config } from './model.js';
import { OutputStage } from './output-stage.js';
import { Rwkv6Workspace } from './rwkv6-workspace.js';
import type { RwkvInit } from './rwkv.js';
import { StagedModel, type CoreBatch, type Pass, type StageState, type StartGrad } from './staged-model.js';

interface LnParams {
  weight: Param;
  bias: Param;
}

interface Block6Params {
  ln1: LnParams;
  ln2: LnParams;
  att: TimeMix6Params;
  ffn: ChannelMixParams;
}

/** RNN-mode state, per layer: token-shift inputs of both mixes and the WKV6 state (and the stages' fields). */
export interface Rwkv6State extends StageState {
  attXx: Float32Array[]; // [L][B,C]  LN1 output of the previous step
  ffnXx: Float32Array[]; // [L][B,C]  LN2 output of the previous step
  wkv: Float64Array[]; // [L][B,H,S,S]
}

/** Uniform bound of time_decay_w1 at initialisation (time_decay_w2 starts at zero). */
const DECAY_W1_INIT = 1e-4;

export class Rwkv6Model extends StagedModel<Rwkv6State, Rwkv6Workspace> {
  readonly config: Rwkv6Config;
  private readonly gemm: Gemm;
  private readonly kernels: Kernels;
  private readonly embInputs: number;
  private readonly emb: { weight: Param; bias: Param };
  private readonly ln0: LnParams;
  private readonly blocks: Block6Params[];
  private readonly lnOutP: LnParams;

  constructor(config: Rwkv6Config, gemm: Gemm, kernels: Kernels) {
    const pl = new ParamList();
    const input = new InputStage(config);
    const { nLayer: L, nEmbd: C, ffn: F, headSize: S, decayLora: D } = config;
    if (C % S !== 0) throw new Error(`RWKV-6: head size ${S} does not divide ${C} channels`);
    const ln = (prefix: string): LnParams => ({ weight: pl.add(`${prefix}.weight`, [C], false), bias: pl.add(`${prefix}.bias`, [C], false) });
    const emb = { weight: pl.add('emb.weight', [C, input.width], true), bias: pl.add('emb.bias', [C], false) };
    const ln0 = ln('blocks.0.ln0');
    const blocks: Block6Params[] = [];
    for (let l = 0; l < L; l++) {
      const b = `blocks.${l}`;
      const ln1 = ln(`${b}.ln1`);
      const ln2 = ln(`${b}.ln2`);
      const vec = (name: string) => pl.add(`${b}.att.${name}`, [1, 1, C], false);
      const att: TimeMix6Params = {
        maaR: vec('time_maa_r'), maaK: vec('time_maa_k'), maaV: vec('time_maa_v'), maaG: vec('time_maa_g'), maaW: vec('time_maa_w'),
        timeDecay: vec('time_decay'),
        decayW1: pl.add(`${b}.att.time_decay_w1`, [C, D], false),
        decayW2: pl.add(`${b}.att.time_decay_w2`, [D, C], false),
        timeFirst: pl.add(`${b}.att.time_faaaa`, [C / S, S], false),
        receptance: pl.add(`${b}.att.receptance.weight`, [C, C], true),
        key: pl.add(`${b}.att.key.weight`, [C, C], true),
        value: pl.add(`${b}.att.value.weight`, [C, C], true),
        gate: pl.add(`${b}.att.gate.weight`, [C, C], true),
        output: pl.add(`${b}.att.output.weight`, [C, C], true),
        lnxWeight: pl.add(`${b}.att.ln_x.weight`, [C], false),
        lnxBias: pl.add(`${b}.att.ln_x.bias`, [C], false),
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
    const lnOut = ln('ln_out');
    super('RWKV-6', input, new OutputStage(pl, C, config), pl.list);
    this.config = { ...config };
    this.gemm = gemm;
    this.kernels = kernels;
    this.embInputs = input.width;
    this.emb = emb;
    this.ln0 = ln0;
    this.blocks = blocks;
    this.lnOutP = lnOut;
  }

  /**
   * Initialises every parameter after RWKV-LM's v6 trainer: decays -6 + 5 (c/(C-1))^(0.7 + 1.3 l/(L-1)),
   * time_faaaa by layer and channel, the mixes by channel and layer (time_maa = 1 - RWKV-4's mix),
   * time_decay_w1 U(±1e-4), time_decay_w2 zero (so the decay starts per channel), ln_x weight 1, bias 0,
   * LayerNorms 1 and 0; the matrices by `scheme`:
   * - 'rwkv-lm': att.output, ffn.value, ffn.receptance zero; att.receptance and att.value orthogonal
   *   (gain 1), att.key and att.gate orthogonal with gain 0.1 (zero would leave the branch with no
   *   gradient: k = 0 keeps the state at zero, g = silu(0) = 0 zeroes the output); ffn.key and the head
   *   as in RWKV-4's scheme; emb keeps PyTorch's Linear default.
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
        att.timeDecay.data[h] = -6 + 5 * Math.pow(hc, 0.7 + 1.3 * r01);
        att.timeFirst.data[h] = r01 * (1 - hc) + (((h + 1) % 3) - 1) * 0.1;
        att.maaK.data[h] = 1 - Math.pow(ddd, r10);
        att.maaW.data[h] = 1 - Math.pow(ddd, r10);
        att.maaV.data[h] = 1 - (Math.pow(ddd, r10) + 0.3 * r01);
        att.maaR.data[h] = 1 - Math.pow(ddd, 0.5 * r10);
        att.maaG.data[h] = 1 - Math.pow(ddd, 0.5 * r10);
        ffn.mixK.data[h] = Math.pow(ddd, r10);
        ffn.mixR.data[h] = Math.pow(ddd, r10);
      }
      uniformInit(att.decayW1.data, DECAY_W1_INIT, rng);
      att.decayW2.data.fill(0);
      ones({ weight: att.lnxWeight, bias: att.lnxBias });
      const mats = [att.receptance, att.key, att.value, att.gate, att.output, ffn.key, ffn.receptance, ffn.value];
      if (scheme === 'pytorch') {
        for (const m of mats) linearDefault(m, null);
      } else {
        for (const m of [att.output, ffn.value, ffn.receptance]) m.data.fill(0);
        ortho(att.receptance, 1);
        ortho(att.value, 1);
        ortho(att.key, 0.1);
        ortho(att.gate, 0.1);
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

  protected override newWorkspace(rows: number, streams: number, training: boolean): Rwkv6Workspace {
    const { nLayer, nEmbd, ffn, headSize, decayLora } = this.config;
    return new Rwkv6Workspace({
      rows, streams, layers: nLayer, channels: nEmbd, ffn, headSize, decayLora, training,
      embInputs: this.input.bufferLength(rows), chain: this.output.scratch(rows, training),
    });
  }

  protected override load(ws: Rwkv6Workspace, batch: Batch, mask: Float32Array, history: LagHistory | null): CoreBatch {
    return { inputs: this.input.batchRows(ws.embIn, batch, history), targets: batch.targets, mask };
  }

  protected override logitsOut(ws: Rwkv6Workspace, B: number, T: number): Float32Array {
    return ws.logits.slice(0, B * T * KEYS);
  }

  protected override forward(ws: Rwkv6Workspace, embIn: Float32Array, B: number, T: number, pass: Pass<Rwkv6State>): void {
    const { nLayer: L, nEmbd: C, ffn: F, headSize: S, dropout } = this.config;
    const N = B * T;
    const n = N * C;
    const gemm = this.gemm;
    const K = this.kernels;
    const train = pass.mode === 'train';
    if (train !== ws.training) throw new Error(`RWKV-6 forward: a ${pass.mode} pass in a ${ws.training ? 'training' : 'inference'} workspace`);
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
      else wkv.fill(0, 0, wkv6StateLength(B, C, S));
      timeMix6Forward(gemm, K, ws.branch, a.ln1.out, blk.att, a.att, state ? state.attXx[l] : null, wkv, B, T, C, S, train, ws.attScratch);
      if (state) copyLastSteps(state.attXx[l], a.ln1.out, B, T, C);
      K.addLayerNormForward(a.xm, a.ln2.out, a.ln2.mean, a.ln2.rstd, a.x, ws.branch, drawn(a.attDrop),
        blk.ln2.weight.data, blk.ln2.bias.data, N, C);
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

  protected override backward(ws: Rwkv6Workspace, io: CoreBatch, B: number, T: number, drop: boolean, start: StartGrad<Rwkv6State> | null): void {
    const { nLayer: L, nEmbd: C, ffn: F, headSize: S } = this.config;
    const N = B * T;
    const n = N * C;
    const gemm = this.gemm;
    const K = this.kernels;
    const ffnStart = (l: number): MixStartGrad | null => !start ? null : { prev: start.state.ffnXx[l], dprev: start.grad.ffnXx[l], wkv: null };
    const attStart = (l: number): Mix6StartGrad | null => !start ? null : {
      prev: start.state.attXx[l], dprev: start.grad.attXx[l], dstate: start.grad.wkv[l],
    };
    const { dx, dbranch, dln } = ws;
    this.output.backward(gemm, dln, ws.dlogits, ws.lnOut.out, io.targets, N, ws.chain);
    K.layerNormBackward(dx, false, this.lnOutP.weight.grad, this.lnOutP.bias.grad, dln, ws.xOut, ws.lnOut.mean, ws.lnOut.rstd, this.lnOutP.weight.data, N, C, ws.lnScratch);
    for (let l = L - 1; l >= 0; l--) {
      const blk = this.blocks[l];
      const a = ws.block(l);
      let dout = dx;
      if (drop) {
        dropoutInto(dbranch, dx, a.ffnDrop, n);
        dout = dbranch;
      }
      channelMixBackward(gemm, K, dx, true, dout, a.ln2.out, blk.ffn, a.ffn, B, T, C, F, ws.ffnScratch, {
        inp: a.xm, mean: a.ln2.mean, rstd: a.ln2.rstd,
        weight: blk.ln2.weight.data, dweight: blk.ln2.weight.grad, dbias: blk.ln2.bias.grad,
      }, ffnStart(l));
      dout = dx;
      if (drop) {
        dropoutInto(dbranch, dx, a.attDrop, n);
        dout = dbranch;
      }
      timeMix6Backward(gemm, K, dx, dout, a.ln1.out, blk.att, a.att, B, T, C, S, ws.attScratch, {
        inp: a.x, mean: a.ln1.mean, rstd: a.ln1.rstd,
        weight: blk.ln1.weight.data, dweight: blk.ln1.weight.grad, dbias: blk.ln1.bias.grad,
      }, attStart(l));
    }
    if (drop) applyDropout(dx, ws.embDrop, n);
    K.layerNormBackward(dln, false, this.ln0.weight.grad, this.ln0.bias.grad, dx, ws.emb, ws.ln0.mean, ws.ln0.rstd, this.ln0.weight.data, N, C, ws.lnScratch);
    linearBackward(gemm, null, false, this.emb.weight.grad, this.emb.bias.grad, dln, io.inputs, this.emb.weight.data, N, this.embInputs, C);
    if (start && this.input.lags.length > 0) {
      embeddingLagHistoryBackward(gemm, dln, this.emb.weight.data, this.embInputs, C, B, T, KEYS, this.input.lags,
        start.state.input.lagHistory, start.grad.input.lagHistory);
    }
  }

  protected override newCoreState(batch: number): Omit<Rwkv6State, keyof StageState> {
    const { nLayer: L, nEmbd: C, headSize: S } = this.config;
    return {
      attXx: Array.from({ length: L }, () => new Float32Array(batch * C)),
      ffnXx: Array.from({ length: L }, () => new Float32Array(batch * C)),
      wkv: Array.from({ length: L }, () => new Float64Array(wkv6StateLength(batch, C, S))),
    };
  }

  protected override cloneCoreState(s: Rwkv6State): Omit<Rwkv6State, keyof StageState> {
    return { attXx: s.attXx.map((x) => x.slice()), ffnXx: s.ffnXx.map((x) => x.slice()), wkv: s.wkv.map((w) => w.slice()) };
  }

  protected override isCoreState(state: RecurrentState): boolean {
    const s = state as Partial<Rwkv6State>;
    return Array.isArray(s.attXx) && s.attXx.length === this.config.nLayer && Array.isArray(s.wkv) && s.wkv[0] instanceof Float64Array
      && s.wkv[0].length === wkv6StateLength(state.batch, this.config.nEmbd, this.config.headSize);
  }
}

