/**
 * The RWKV skeleton every RWKV kind shares, with the time mixing plugged in (rwkv-mixing.ts):
 *
 *   x = LN0(Emb(frame))                              Emb: Linear(88 -> C) with bias
 *                                                    (88*(1+lags) wide with config.inputLags: input-lags.ts)
 *   x = dropout(x)
 *   for each block:  x = x + dropout(TimeMix(LN1(x)));  x = x + dropout(ChannelMix(LN2(x)))
 *   logits = Head(LNout(x))                          Head: Linear(C -> 88) with bias
 *
 * Activations are batch-major [B,T,C] and flattened to N = B*T rows for every product. The input and
 * output stages and the SequenceModel methods are shared by every kind (staged-model.ts); the buffers
 * are named in rwkv-workspace.ts.
 */
import type { Batch } from '../engine/batch.js';
import type { Gemm } from '../engine/gemm.js';
import type { Kernels } from '../engine/kernels.js';
import type { Param } from '../engine/tensor.js';
import { Rng } from '../engine/random.js';
import { linearBackward, linearForward } from '../engine/layers/linear.js';
import { channelMixBackward, channelMixForward, type ChannelMixParams } from '../engine/layers/channelmix.js';
import { drawDropout, type DropoutMask } from '../engine/layers/dropout.js';
import { copyLastSteps, KEYS, ParamList } from './common.js';
import { orthogonalInit, uniformInit } from './init.js';
import { InputStage } from './input-stage.js';
import { embeddingLagHistoryBackward, type LagHistory } from './input-lags.js';
import type { RecurrentState, Rwkv6Config, RwkvConfig } from './model.js';
import { OutputStage } from './output-stage.js';
import type { Initializers, RwkvInit, TimeMixing } from './rwkv-mixing.js';
import { RwkvWorkspace } from './rwkv-workspace.js';
import { StagedModel, type CoreBatch, type Pass, type StageState, type StartGrad } from './staged-model.js';

interface LnParams {
  weight: Param;
  bias: Param;
}

interface BlockParams<P> {
  ln1: LnParams;
  ln2: LnParams;
  att: P;
  ffn: ChannelMixParams;
}

/** RNN-mode state, per layer: token-shift inputs of both mixes and the time mixing's WKV state (and the stages' fields). */
export interface RwkvCoreState<W> extends StageState {
  attXx: Float32Array[]; // [L][B,C]  LN1 output of the previous step
  ffnXx: Float32Array[]; // [L][B,C]  LN2 output of the previous step
  wkv: W[]; // [L]
}

export class RwkvCore<Cfg extends RwkvConfig | Rwkv6Config, P, A, Scr, W>
  extends StagedModel<RwkvCoreState<W>, RwkvWorkspace<A, Scr, W>> {
  readonly config: Cfg;
  private readonly gemm: Gemm;
  private readonly mixing: TimeMixing<P, A, Scr, W>;
  /** Width of the embedding's input (input-stage.ts). */
  private readonly embInputs: number;
  private readonly emb: { weight: Param; bias: Param };
  private readonly ln0: LnParams;
  private readonly blocks: BlockParams<P>[];
  private readonly lnOutP: LnParams;

  /** `kindName` ('RWKV', 'RWKV-6') names the kind in messages. */
  constructor(kindName: string, config: Cfg, mixing: TimeMixing<P, A, Scr, W>, gemm: Gemm, kernels: Kernels) {
    const pl = new ParamList();
    const input = new InputStage(config);
    const { nLayer: L, nEmbd: C, ffn: F } = config;
    const ln = (prefix: string): LnParams => ({ weight: pl.add(`${prefix}.weight`, [C], false), bias: pl.add(`${prefix}.bias`, [C], false) });
    const emb = { weight: pl.add('emb.weight', [C, input.width], true), bias: pl.add('emb.bias', [C], false) };
    const ln0 = ln('blocks.0.ln0');
    const blocks: BlockParams<P>[] = [];
    for (let l = 0; l < L; l++) {
      const b = `blocks.${l}`;
      const ln1 = ln(`${b}.ln1`);
      const ln2 = ln(`${b}.ln2`);
      const att = mixing.params(pl, `${b}.att`);
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
    super(kindName, input, new OutputStage(pl, C, config, kernels), pl.list, kernels);
    this.config = { ...config };
    this.gemm = gemm;
    this.mixing = mixing;
    this.embInputs = input.width;
    this.emb = emb;
    this.ln0 = ln0;
    this.blocks = blocks;
    this.lnOutP = lnOut;
  }

  /**
   * Initialises every parameter: the time mixing's by its plug-in; LayerNorms 1 and 0; the channel
   * mixing's mixes ((c/C)^(1 - l/L)); the matrices by `scheme`:
   * - 'rwkv-lm': RWKV-LM's trainer: ffn.value and ffn.receptance zero, ffn.key orthogonal with gain
   *   sqrt(max(1, out/in)); head orthogonal with gain 0.5 sqrt(max(1, 88/C)) and a zero bias; emb (a
   *   Linear here, not a lookup table) keeps PyTorch's Linear default.
   * - 'pytorch': every Linear as PyTorch's default, weight and bias U(±1/sqrt(fan_in)).
   */
  initialize(seed: number, scheme: RwkvInit = 'rwkv-lm'): void {
    const rng = new Rng(seed);
    const { nLayer: L, nEmbd: C } = this.config;
    const init: Initializers = {
      rng, scheme,
      linearDefault: (w, b) => {
        const bound = 1 / Math.sqrt(w.shape[1]);
        uniformInit(w.data, bound, rng);
        if (b) uniformInit(b.data, bound, rng);
      },
      ortho: (w, gain) => orthogonalInit(w.data, w.shape[0], w.shape[1], gain, rng),
    };
    const ones = (p: LnParams) => {
      p.weight.data.fill(1);
      p.bias.data.fill(0);
    };
    init.linearDefault(this.emb.weight, this.emb.bias);
    ones(this.ln0);
    ones(this.lnOutP);
    for (let l = 0; l < L; l++) {
      const { ln1, ln2, att, ffn } = this.blocks[l];
      ones(ln1);
      ones(ln2);
      this.mixing.initialize(att, l, L, init);
      const r10 = 1 - l / L;
      for (let h = 0; h < C; h++) {
        ffn.mixK.data[h] = Math.pow(h / C, r10);
        ffn.mixR.data[h] = Math.pow(h / C, r10);
      }
      if (scheme === 'pytorch') {
        for (const m of [ffn.key, ffn.receptance, ffn.value]) init.linearDefault(m, null);
      } else {
        ffn.value.data.fill(0);
        ffn.receptance.data.fill(0);
        init.ortho(ffn.key, Math.sqrt(Math.max(1, ffn.key.shape[0] / ffn.key.shape[1])));
      }
    }
    const head = this.output.head;
    if (scheme === 'pytorch') init.linearDefault(head.weight, head.bias);
    else {
      init.ortho(head.weight, 0.5 * Math.sqrt(Math.max(1, KEYS / C)));
      head.bias.data.fill(0);
    }
    this.output.chain?.initialize(rng);
  }

  protected override newWorkspace(rows: number, streams: number, training: boolean): RwkvWorkspace<A, Scr, W> {
    const { nLayer, nEmbd, ffn } = this.config;
    return new RwkvWorkspace({
      rows, streams, layers: nLayer, channels: nEmbd, ffn, training, mixing: this.mixing,
      embInputs: this.input.bufferLength(rows), output: this.output.scratch(rows, training),
    });
  }

  protected override load(ws: RwkvWorkspace<A, Scr, W>, batch: Batch, mask: Float32Array, history: LagHistory | null): CoreBatch {
    return { inputs: this.input.batchRows(ws.embIn, batch, history), targets: batch.targets, mask };
  }

  protected override logitsOut(ws: RwkvWorkspace<A, Scr, W>, B: number, T: number): Float32Array {
    return ws.logits.slice(0, B * T * KEYS);
  }

  /** Forward pass over [B,T] from the embedding's input rows `embIn`; logits into ws.logits. */
  protected override forward(ws: RwkvWorkspace<A, Scr, W>, embIn: Float32Array, B: number, T: number, pass: Pass<RwkvCoreState<W>>): void {
    const { nLayer: L, nEmbd: C, ffn: F, dropout } = this.config;
    const N = B * T;
    const n = N * C;
    const gemm = this.gemm;
    const K = this.kernels;
    const train = pass.mode === 'train';
    if (train !== ws.training) throw new Error(`${this.kindName} forward: a ${pass.mode} pass in a ${ws.training ? 'training' : 'inference'} workspace`);
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
    if (embDrop) K.applyDropout(first.x, embDrop, n);
    const ln1p = this.blocks[0].ln1;
    K.layerNormForward(first.ln1.out, first.ln1.mean, first.ln1.rstd, first.x, ln1p.weight.data, ln1p.bias.data, N, C);
    for (let l = 0; l < L; l++) {
      const blk = this.blocks[l];
      const a = ws.block(l);
      let wkv = ws.wkv;
      if (state) wkv = state.wkv[l];
      else this.mixing.resetState(wkv, B);
      // xm = x + drop(TimeMix(ln1)), ln2 = LN2(xm)
      this.mixing.forward(gemm, K, ws.branch, a.ln1.out, blk.att, a.att, state ? state.attXx[l] : null, wkv, B, T, train, ws.attScratch);
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
    if (pass.mode === 'step') this.output.step(gemm, pass.state.chain, ws.logits, ws.lnOut.out, B, ws.output);
    else this.output.forward(gemm, ws.logits, ws.lnOut.out, pass.targets, N, ws.output, train ? pass.rng : null);
  }

  /**
   * Backward from ws.dlogits through everything kept by a 'train' forward (`drop`: it drew dropout).
   * With `start` the forward began from start.state; the gradient with respect to it goes to start.grad.
   */
  protected override backward(ws: RwkvWorkspace<A, Scr, W>, io: CoreBatch, B: number, T: number, drop: boolean,
    start: StartGrad<RwkvCoreState<W>> | null): void {
    const { nLayer: L, nEmbd: C, ffn: F } = this.config;
    const N = B * T;
    const n = N * C;
    const gemm = this.gemm;
    const K = this.kernels;
    const { dx, dbranch, dln } = ws;
    this.output.backward(gemm, dln, ws.dlogits, ws.lnOut.out, io.targets, N, ws.output);
    K.layerNormBackward(dx, false, this.lnOutP.weight.grad, this.lnOutP.bias.grad, dln, ws.xOut, ws.lnOut.mean, ws.lnOut.rstd, this.lnOutP.weight.data, N, C, ws.lnScratch);
    for (let l = L - 1; l >= 0; l--) {
      const blk = this.blocks[l];
      const a = ws.block(l);
      // x_{l+1} = xm + drop(ffn(ln2(xm)))
      let dout = dx;
      if (drop) {
        K.dropoutInto(dbranch, dx, a.ffnDrop, n);
        dout = dbranch;
      }
      // ChannelMix backward with LN2's backward fused in: adds d(xm) into dx
      channelMixBackward(gemm, K, dx, true, dout, a.ln2.out, blk.ffn, a.ffn, B, T, C, F, ws.ffnScratch, {
        inp: a.xm, mean: a.ln2.mean, rstd: a.ln2.rstd,
        weight: blk.ln2.weight.data, dweight: blk.ln2.weight.grad, dbias: blk.ln2.bias.grad,
      }, start ? { prev: start.state.ffnXx[l], dprev: start.grad.ffnXx[l], wkv: null } : null);
      // xm = x_l + drop(att(ln1(x_l)))
      dout = dx;
      if (drop) {
        K.dropoutInto(dbranch, dx, a.attDrop, n);
        dout = dbranch;
      }
      // TimeMix backward with LN1's backward fused in: adds d(x_l) into dx
      this.mixing.backward(gemm, K, dx, dout, a.ln1.out, blk.att, a.att, B, T, ws.attScratch, {
        inp: a.x, mean: a.ln1.mean, rstd: a.ln1.rstd,
        weight: blk.ln1.weight.data, dweight: blk.ln1.weight.grad, dbias: blk.ln1.bias.grad,
      }, start ? { prev: start.state.attXx[l], dprev: start.grad.attXx[l], state: start.state.wkv[l], grad: start.grad.wkv[l] } : null);
    }
    if (drop) K.applyDropout(dx, ws.embDrop, n);
    K.layerNormBackward(dln, false, this.ln0.weight.grad, this.ln0.bias.grad, dx, ws.emb, ws.ln0.mean, ws.ln0.rstd, this.ln0.weight.data, N, C, ws.lnScratch);
    linearBackward(gemm, null, false, this.emb.weight.grad, this.emb.bias.grad, dln, io.inputs, this.emb.weight.data, N, this.embInputs, C, K.columnSums);
    if (start && this.input.lags.length > 0) {
      embeddingLagHistoryBackward(gemm, dln, this.emb.weight.data, this.embInputs, C, B, T, KEYS, this.input.lags,
        start.state.input.lagHistory, start.grad.input.lagHistory);
    }
  }

  protected override newCoreState(batch: number): Omit<RwkvCoreState<W>, keyof StageState> {
    const { nLayer: L, nEmbd: C } = this.config;
    return {
      attXx: Array.from({ length: L }, () => new Float32Array(batch * C)),
      ffnXx: Array.from({ length: L }, () => new Float32Array(batch * C)),
      wkv: Array.from({ length: L }, () => this.mixing.newState(batch)),
    };
  }

  protected override cloneCoreState(s: RwkvCoreState<W>): Omit<RwkvCoreState<W>, keyof StageState> {
    return {
      attXx: s.attXx.map((x) => x.slice()),
      ffnXx: s.ffnXx.map((x) => x.slice()),
      wkv: s.wkv.map((w) => this.mixing.cloneState(w)),
    };
  }

  protected override isCoreState(state: RecurrentState): boolean {
    const s = state as Partial<RwkvCoreState<W>>;
    const { nLayer: L, nEmbd: C } = this.config;
    return Array.isArray(s.attXx) && s.attXx.length === L && s.attXx[0]?.length === state.batch * C
      && Array.isArray(s.wkv) && s.wkv.length === L && this.mixing.isState(s.wkv[0], state.batch);
  }
}
