/**
 * Key-chain output head: the keys of a frame are modelled jointly, as a chain from the lowest key to
 * the highest, instead of as 88 independent coins given the past. Key d's logit depends on the model's
 * features h and on the keys j < d of the same frame:
 *
 *   a      = Wc h + bc + (Wk ⊙ Mk) y          context plus the keys already decided   [N, H]
 *   z      = relu(a)
 *   logits = base + (Wo ⊙ Mo) z + (Wd ⊙ Md) y  base = the ordinary head's logits       [N, 88]
 *
 * y is the frame being predicted (the target while training and evaluating, the keys drawn so far
 * while sampling). The masks follow MADE (Germain et al. 2015, "MADE: Masked Autoencoder for
 * Distribution Estimation"): hidden unit k has degree m_k = 1 + (k mod 87) and reads keys j < m_k
 * (Mk); key d reads the hidden units with m_k <= d (Mo) and the keys j < d directly (Md, strictly
 * lower triangular). So logit d depends on keys below d only, the product of the 88 Bernoulli
 * probabilities is an exact likelihood of the frame, and the frame NLL is still the Bernoulli NLL
 * summed over the 88 keys. Conditioning a per-frame autoregressive output on a recurrent state is
 * the RNN-NADE idea (Boulanger-Lewandowski et al. 2012).
 *
 * The chain may also run from the highest key down (order 'down'): every mask is then built on the
 * key's rank 87 - d instead of d. A melody's top voice is then a prefix of the chain (the keys above
 * the melody note off, the note on), so the keys below it can be drawn from their exact conditional
 * given the melody: that is what harmonizing needs (src/generate/harmonize.ts).
 *
 * The masks are applied to copies of the weights at every forward, so weights loaded from a file
 * cannot break the ordering; the masked entries' gradients are zeroed. Sampling needs no copies: the
 * masks are runs along the hidden units (see hiddenDegree), and drawFrame reads only the weights
 * inside them.
 */
import type { Gemm } from '../engine/gemm.js';
import { tsKernels, type Kernels } from '../engine/kernels.js';
import type { Rng } from '../engine/random.js';
import type { Param } from '../engine/tensor.js';
import { linearBackward, linearForward } from '../engine/layers/linear.js';
import { KEYS, type ParamList } from './common.js';
import type { KeyChainOrder } from './model.js';
import { uniformInit } from './init.js';

/** Largest hidden width a key-chain head may have. */
export const MAX_KEY_CHAIN = 4096;

/** Hidden units come in blocks of DEGREES: unit k has degree 1 + (k mod DEGREES). */
const DEGREES = KEYS - 1;

/**
 * Degree of hidden unit k: it reads keys 0..m_k-1 and feeds keys m_k..87 (in chain order). So the
 * key of chain rank r reads, in every block of DEGREES units, the first r, and a decided key of rank
 * r feeds the rest of each block.
 */
export function hiddenDegree(k: number): number {
  return 1 + (k % DEGREES);
}

/** What an RNN-mode step leaves for drawFrame: per stream, the base logits and the context. */
export interface ChainStepState {
  base: Float32Array; // [B, 88]
  context: Float32Array; // [B, H]
}

export function newChainStepState(batch: number, hidden: number): ChainStepState {
  return { base: new Float32Array(hidden > 0 ? batch * KEYS : 0), context: new Float32Array(batch * hidden) };
}

/** Buffers for up to `cap` rows, reused across calls. */
export class KeyChainScratch {
  readonly a: Float32Array; // [N, H] pre-activations
  readonly z: Float32Array; // [N, H]
  readonly dz: Float32Array; // [N, H] (training only)
  constructor(cap: number, H: number, training: boolean) {
    this.a = new Float32Array(cap * H);
    this.z = new Float32Array(cap * H);
    this.dz = new Float32Array(training ? cap * H : 0);
  }
}

export class KeyChainHead {
  readonly hidden: number;
  readonly features: number;
  readonly order: KeyChainOrder;
  private readonly context: { weight: Param; bias: Param };
  private readonly keys: Param;
  private readonly out: Param;
  private readonly direct: Param;
  private readonly maskKeys: Uint8Array; // [H, 88]
  private readonly maskOut: Uint8Array; // [88, H]
  private readonly maskDirect: Uint8Array; // [88, 88]
  private readonly keysMasked: Float32Array;
  private readonly outMasked: Float32Array;
  private readonly directMasked: Float32Array;
  private readonly drawA: Float64Array; // drawFrame's pre-activations [H]
  private readonly drawZ: Float64Array; // and activations [H]

  private readonly kernels: Kernels;

  /**
   * Adds the head's parameters (names chain.*) to `pl`; `features` is the width of h; `kernels` run
   * the hidden layer's activation and the context bias's gradient.
   */
  constructor(pl: ParamList, features: number, hidden: number, order: KeyChainOrder = 'up', kernels: Kernels = tsKernels) {
    const H = hidden;
    this.kernels = kernels;
    this.hidden = H;
    this.features = features;
    this.order = order;
    this.context = { weight: pl.add('chain.context.weight', [H, features], true), bias: pl.add('chain.context.bias', [H], false) };
    this.keys = pl.add('chain.keys.weight', [H, KEYS], true);
    this.out = pl.add('chain.out.weight', [KEYS, H], true);
    this.direct = pl.add('chain.direct.weight', [KEYS, KEYS], true);
    this.maskKeys = new Uint8Array(H * KEYS);
    this.maskOut = new Uint8Array(KEYS * H);
    this.maskDirect = new Uint8Array(KEYS * KEYS);
    for (let k = 0; k < H; k++) {
      const m = hiddenDegree(k);
      for (let j = 0; j < KEYS; j++) this.maskKeys[k * KEYS + j] = this.rank(j) < m ? 1 : 0;
      for (let d = 0; d < KEYS; d++) this.maskOut[d * H + k] = m <= this.rank(d) ? 1 : 0;
    }
    for (let d = 0; d < KEYS; d++) for (let j = 0; j < KEYS; j++) this.maskDirect[d * KEYS + j] = this.rank(j) < this.rank(d) ? 1 : 0;
    this.keysMasked = new Float32Array(H * KEYS);
    this.outMasked = new Float32Array(KEYS * H);
    this.directMasked = new Float32Array(KEYS * KEYS);
    this.drawA = new Float64Array(H);
    this.drawZ = new Float64Array(H);
  }

  /**
   * Context and key weights as PyTorch's Linear default (U(±1/sqrt(fan_in))); the output and direct
   * weights start at zero, so a fresh head adds nothing and the model starts as with independent keys.
   */
  initialize(rng: Rng): void {
    uniformInit(this.context.weight.data, 1 / Math.sqrt(this.features), rng);
    uniformInit(this.context.bias.data, 1 / Math.sqrt(this.features), rng);
    uniformInit(this.keys.data, 1 / Math.sqrt(KEYS), rng);
    applyMask(this.keys.data, this.maskKeys);
    this.out.data.fill(0);
    this.direct.data.fill(0);
  }

  private rank(d: number): number {
    return this.order === 'up' ? d : KEYS - 1 - d;
  }

  /** outMasked = Wo ⊙ Mo, row by row: in each block of units the first rank(d) are kept. */
  private refreshOutMasked(): void {
    const H = this.hidden;
    const src = this.out.data;
    const dst = this.outMasked;
    for (let d = 0; d < KEYS; d++) {
      const r = this.rank(d);
      const row = d * H;
      for (let q = 0; q < H; q += DEGREES) {
        const kept = row + Math.min(q + r, H);
        const end = row + Math.min(q + DEGREES, H);
        let i = row + q;
        for (; i < kept; i++) dst[i] = src[i];
        for (; i < end; i++) dst[i] = 0;
      }
    }
  }

  /** logits[N, 88] += the chain's terms for features h[N, features] and frames y[N, 88]. */
  forward(gemm: Gemm, logits: Float32Array, h: Float32Array, y: Float32Array, N: number, s: KeyChainScratch): void {
    maskedCopy(this.keysMasked, this.keys.data, this.maskKeys);
    this.refreshOutMasked();
    maskedCopy(this.directMasked, this.direct.data, this.maskDirect);
    this.terms(gemm, logits, h, y, N, s);
  }

  /** forward() with the masked copies made; y null: a frame with every key off (only outMasked is read). */
  private terms(gemm: Gemm, logits: Float32Array, h: Float32Array, y: Float32Array | null, N: number, s: KeyChainScratch): void {
    const H = this.hidden;
    linearForward(gemm, s.a, h, this.context.weight.data, this.context.bias.data, N, this.features, H);
    if (y) gemm.gemm({ transA: false, transB: true, M: N, N: H, K: KEYS, A: y, B: this.keysMasked, C: s.a, beta: 1 });
    const { a, z } = s;
    this.kernels.relu(z, a, N * H);
    gemm.gemm({ transA: false, transB: true, M: N, N: KEYS, K: H, A: z, B: this.outMasked, C: logits, beta: 1 });
    if (y) gemm.gemm({ transA: false, transB: true, M: N, N: KEYS, K: KEYS, A: y, B: this.directMasked, C: logits, beta: 1 });
  }


  /**
   * Backward of forward() (same h, y and scratch): parameter gradients added, dh[N, features] += the
   * gradient through the context.
   */
  backward(gemm: Gemm, dh: Float32Array, dlogits: Float32Array, h: Float32Array, y: Float32Array, N: number, s: KeyChainScratch): void {
    const H = this.hidden;
    const { a, z, dz } = s;
    gemm.gemm({ transA: true, transB: false, M: KEYS, N: H, K: N, A: dlogits, B: z, C: this.out.grad, beta: 1 });
    gemm.gemm({ transA: true, transB: false, M: KEYS, N: KEYS, K: N, A: dlogits, B: y, C: this.direct.grad, beta: 1 });
    gemm.gemm({ transA: false, transB: false, M: N, N: H, K: KEYS, A: dlogits, B: this.outMasked, C: dz, beta: 0 });
    this.kernels.reluBackward(dz, a, N * H);
    gemm.gemm({ transA: true, transB: false, M: H, N: KEYS, K: N, A: dz, B: y, C: this.keys.grad, beta: 1 });
    linearBackward(gemm, dh, true, this.context.weight.grad, this.context.bias.grad, dz, h, this.context.weight.data, N, this.features, H, this.kernels.columnSums);
    applyMask(this.out.grad, this.maskOut);
    applyMask(this.direct.grad, this.maskDirect);
    applyMask(this.keys.grad, this.maskKeys);
  }

  /**
   * RNN mode, after the base head wrote logits[B, 88] for features h[B, features]: keeps the base
   * logits and the context (Wc h + bc) in `state` for drawFrame, then turns `logits` into the chain's
   * logits for a frame whose lower keys are all off.
   */
  step(gemm: Gemm, state: ChainStepState, logits: Float32Array, h: Float32Array, B: number, s: KeyChainScratch): void {
    const H = this.hidden;
    if (state.base.length !== B * KEYS || state.context.length !== B * H) throw new Error('key chain: the state was made for another batch size or head');
    state.base.set(logits.subarray(0, B * KEYS));
    this.refreshOutMasked();
    this.terms(gemm, logits, h, null, B, s); // y = 0: the key and direct terms vanish
    state.context.set(s.a.subarray(0, B * H));
  }

  /**
   * Draws stream `stream`'s frame after step(), key by key in chain order: key d is on with
   * p = sigmoid(logit_d / temperature), logit_d = base[d] + the chain's terms for the keys decided
   * before d. One uniform per drawn key, in chain order; `fixed[d]` 0 or 1 sets key d instead of
   * drawing it. Writes the probabilities into probs[88]; returns the key indices that are on,
   * ascending. Reads the weights directly, only inside the masks (so the weights must not change
   * between step() and drawFrame()); the sums run over the hidden units in ascending order, as the
   * masked product over all units would (its masked terms are zeros).
   */
  drawFrame(state: ChainStepState, stream: number, temperature: number, rng: Rng, probs: Float64Array, fixed?: Int8Array): number[] {
    const H = this.hidden;
    if ((stream + 1) * H > state.context.length) throw new Error(`key chain: no stream ${stream} in this state`);
    const base = state.base;
    const baseOffset = stream * KEYS;
    const context = state.context;
    const contextOffset = stream * H;
    const a = this.drawA;
    const z = this.drawZ;
    for (let k = 0; k < H; k++) {
      const v = context[contextOffset + k];
      a[k] = v;
      z[k] = v > 0 ? v : 0;
    }
    const Wo = this.out.data;
    const Wk = this.keys.data;
    const Wd = this.direct.data;
    const on: number[] = [];
    const down = this.order === 'down';
    for (let r = 0; r < KEYS; r++) {
      const d = down ? KEYS - 1 - r : r;
      let logit = base[baseOffset + d];
      const wo = d * H;
      // units of degree <= r: the first r of each block
      for (let q = 0; q < H; q += DEGREES) {
        const end = wo + Math.min(q + r, H);
        for (let i = wo + q, k = q; i < end; i++, k++) logit += Wo[i] * z[k];
      }
      const wd = d * KEYS;
      for (const j of on) logit += Wd[wd + j];
      const p = 1 / (1 + Math.exp(-logit / temperature));
      probs[d] = p;
      const forced = fixed ? fixed[d] : -1;
      if (forced === 1 || (forced < 0 && rng.next() < p)) {
        on.push(d);
        // units of degree > r read key d: the rest of each block
        for (let q = 0; q < H; q += DEGREES) {
          const end = Math.min(q + DEGREES, H);
          for (let k = q + r; k < end; k++) {
            const w = Wk[k * KEYS + d];
            if (w !== 0) {
              const v = a[k] + w;
              a[k] = v;
              z[k] = v > 0 ? v : 0;
            }
          }
        }
      }
    }
    return down ? on.reverse() : on;
  }
}

function maskedCopy(dst: Float32Array, src: Float32Array, mask: Uint8Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = mask[i] ? src[i] : 0;
}

function applyMask(x: Float32Array, mask: Uint8Array): void {
  for (let i = 0; i < x.length; i++) if (!mask[i]) x[i] = 0;
}
