/**
 * RWKV-4 TimeMix (attention replacement). x is the LayerNorm output [B,T,C]; N = B*T.
 *   xk, xv, xr = token-shift mixes of x with time_mix_k/v/r
 *   k = xk Wk^T,  v = xv Wv^T,  r = sigmoid(xr Wr^T)
 *   out = (r ⊙ WKV(k, v)) Wo^T
 */
import type { Gemm } from '../gemm.js';
import type { Param } from '../tensor.js';
import { linearBackward, linearForward } from './linear.js';
import type { Kernels } from '../kernels.js';
import { tokenShiftStartBackward, type InputLayerNorm } from './tokenshift.js';
import { allocWkvSaved, type WkvSaved, type WkvStartGrad, type WkvState } from './wkv.js';
import { NO_BUFFER, type ScratchPool } from './scratch.js';

export interface TimeMixParams {
  timeDecay: Param; // [C]
  timeFirst: Param; // [C]
  mixK: Param; // [1,1,C]
  mixV: Param;
  mixR: Param;
  key: Param; // [C,C]
  value: Param; // [C,C]
  receptance: Param; // [C,C]
  output: Param; // [C,C]
}

/** Activations kept from forward to backward, each [N,C]. */
export interface TimeMixActs {
  k: Float32Array;
  v: Float32Array;
  r: Float32Array;
  y: Float32Array;
  rw: Float32Array;
  wkv: WkvSaved;
  /** The token-shift mixes into the key, value and receptance projections; none without the backward pass. */
  mixes: Float32Array[];
}

/** `forBackward` false: without the WKV factors and the mixes that only the backward pass reads. */
export function allocTimeMixActs(N: number, C: number, forBackward = true): TimeMixActs {
  const n = N * C;
  return {
    k: new Float32Array(n), v: new Float32Array(n), r: new Float32Array(n), y: new Float32Array(n), rw: new Float32Array(n),
    wkv: allocWkvSaved(forBackward ? n : 0),
    mixes: forBackward ? [new Float32Array(n), new Float32Array(n), new Float32Array(n)] : [],
  };
}

/** A mix's start state (token-shift input `prev`, for TimeMix also the WKV state) and its gradient. */
export interface MixStartGrad {
  prev: Float32Array; // [B,C]
  dprev: Float32Array; // [B,C], assigned
  wkv: WkvStartGrad | null;
}

/**
 * TimeMix's scratch, each [N,C]. A forward without the backward pass writes the three token-shift mixes
 * here (with it, into the activations); the backward, their gradients, after the four it needs first.
 */
export interface TimeMixScratch {
  xk: Float32Array; // mix into the key projection, or d(xk)
  xv: Float32Array; // mix into the value projection, or d(xv)
  xr: Float32Array; // mix into the receptance projection, or d(xr)
  drw: Float32Array; // backward: d(r ⊙ y), the output projection's input gradient
  dk: Float32Array; // backward: d(k)
  dv: Float32Array; // backward: d(v)
  drPre: Float32Array; // backward: d(receptance pre-activation)
  acc: Float64Array; // 8*C doubles for per-channel reductions
}

/** TimeMix's scratch from `pool` (shared with the other layers that take from it); the backward's only with forBackward. */
export function timeMixScratch(pool: ScratchPool, forBackward: boolean): TimeMixScratch {
  const back = (i: number) => (forBackward ? pool.buffer(i) : NO_BUFFER);
  return {
    xk: pool.buffer(0), xv: pool.buffer(1), xr: pool.buffer(2),
    drw: back(3), dk: back(4), dv: back(5), drPre: back(6), acc: pool.acc,
  };
}

/**
 * out[N,C] = TimeMix(x). `prev` [B,C] is the token-shift state (null: zeros), `wkv` the WKV state
 * (updated in place). With save true the activations for the backward pass are kept.
 */
export function timeMixForward(
  gemm: Gemm, K: Kernels, out: Float32Array, x: Float32Array, P: TimeMixParams, acts: TimeMixActs,
  prev: Float32Array | null, wkv: WkvState, B: number, T: number, C: number, save: boolean, scr: TimeMixScratch,
): void {
  const N = B * T;
  const mixes = acts.mixes.length > 0 ? acts.mixes : [scr.xk, scr.xv, scr.xr];
  const [xk, xv, xr] = mixes;
  K.tokenShiftMixForward(mixes, x, [P.mixK.data, P.mixV.data, P.mixR.data], prev, B, T, C);
  linearForward(gemm, acts.k, xk, P.key.data, null, N, C, C);
  linearForward(gemm, acts.v, xv, P.value.data, null, N, C, C);
  linearForward(gemm, acts.r, xr, P.receptance.data, null, N, C, C);
  // y = WKV(k, v), r = sigmoid(r), rw = r ⊙ y in one pass
  K.wkvForward(acts.y, acts.k, acts.v, P.timeDecay.data, P.timeFirst.data, wkv, B, T, C,
    save ? acts.wkv : null, scr.acc, { r: acts.r, rw: acts.rw });
  linearForward(gemm, out, acts.rw, P.output.data, null, N, C, C);
}

/**
 * dx[N,C] = (or +=, accumulate) the input gradient; parameter gradients are added. dout is not modified
 * (it may be dx itself: it is read before dx is written).
 * With `ln` (the LayerNorm that produced x), its backward is fused in: dx is then the gradient of the
 * LayerNorm's input, always added to, and the LayerNorm's parameter gradients are added too.
 * With `start` the forward started from a state (token-shift input `prev` [B,C], WKV state): the
 * gradient with respect to it is assigned to `start.dprev` and `start.wkv.grad`.
 */
export function timeMixBackward(
  gemm: Gemm, K: Kernels, dx: Float32Array, accumulate: boolean, dout: Float32Array, x: Float32Array,
  P: TimeMixParams, acts: TimeMixActs, B: number, T: number, C: number, scr: TimeMixScratch,
  ln: InputLayerNorm | null = null, start: MixStartGrad | null = null,
): void {
  const N = B * T;
  const { xk, xv, xr, drw, dk, dv, drPre } = scr;
  // output projection
  linearBackward(gemm, drw, false, P.output.grad, null, dout, acts.rw, P.output.data, N, C, C);
  // WKV and the receptance gate
  K.wkvBackward(dk, dv, P.timeDecay.grad, P.timeFirst.grad, drw, acts.v, acts.y,
    acts.wkv, P.timeDecay.data, B, T, C, scr.acc, { r: acts.r, dpre: drPre }, start?.wkv ?? null);
  // projections, from the mixes the forward kept
  if (acts.mixes.length === 0) throw new Error('timeMixBackward: activations allocated without the backward pass');
  const [mk, mv, mr] = acts.mixes;
  linearBackward(gemm, xk, false, P.key.grad, null, dk, mk, P.key.data, N, C, C);
  linearBackward(gemm, xv, false, P.value.grad, null, dv, mv, P.value.data, N, C, C);
  linearBackward(gemm, xr, false, P.receptance.grad, null, drPre, mr, P.receptance.data, N, C, C);
  const dmixes = [xk, xv, xr];
  const dmus = [P.mixK.grad, P.mixV.grad, P.mixR.grad];
  const mus = [P.mixK.data, P.mixV.data, P.mixR.data];
  if (start) tokenShiftStartBackward(start.dprev, dmus, dmixes, mus, start.prev, B, T, C);
  if (ln) K.tokenShiftMixLnBackward(dx, dmus, dmixes, x, mus, ln, B, T, C, scr.acc);
  else K.tokenShiftMixBackward(dx, accumulate, dmus, dmixes, x, mus, B, T, C, scr.acc);
}
