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
}

/** `forBackward` false: without the WKV factors that only the backward pass reads. */
export function allocTimeMixActs(N: number, C: number, forBackward = true): TimeMixActs {
  const n = N * C;
  return {
    k: new Float32Array(n), v: new Float32Array(n), r: new Float32Array(n), y: new Float32Array(n), rw: new Float32Array(n),
    wkv: allocWkvSaved(forBackward ? n : 0),
  };
}

/** A mix's start state (token-shift input `prev`, for TimeMix also the WKV state) and its gradient. */
export interface MixStartGrad {
  prev: Float32Array; // [B,C]
  dprev: Float32Array; // [B,C], assigned
  wkv: WkvStartGrad | null;
}

/** Scratch shared by every block: seven [N,C] buffers and 8*C doubles. */
export interface MixScratch {
  s: Float32Array[];
  d: Float64Array;
}

export function allocMixScratch(N: number, C: number, count = 7): MixScratch {
  return { s: Array.from({ length: count }, () => new Float32Array(N * C)), d: new Float64Array(8 * C) };
}

/**
 * out[N,C] = TimeMix(x). `prev` [B,C] is the token-shift state (null: zeros), `wkv` the WKV state
 * (updated in place). With save true the activations for the backward pass are kept.
 */
export function timeMixForward(
  gemm: Gemm, K: Kernels, out: Float32Array, x: Float32Array, P: TimeMixParams, acts: TimeMixActs,
  prev: Float32Array | null, wkv: WkvState, B: number, T: number, C: number, save: boolean, scr: MixScratch,
): void {
  const N = B * T;
  const [xk, xv, xr] = scr.s;
  K.tokenShiftMixForward([xk, xv, xr], x, [P.mixK.data, P.mixV.data, P.mixR.data], prev, B, T, C);
  linearForward(gemm, acts.k, xk, P.key.data, null, N, C, C);
  linearForward(gemm, acts.v, xv, P.value.data, null, N, C, C);
  linearForward(gemm, acts.r, xr, P.receptance.data, null, N, C, C);
  // y = WKV(k, v), r = sigmoid(r), rw = r ⊙ y in one pass
  K.wkvForward(acts.y, acts.k, acts.v, P.timeDecay.data, P.timeFirst.data, wkv, B, T, C,
    save ? acts.wkv : null, scr.d, { r: acts.r, rw: acts.rw });
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
  P: TimeMixParams, acts: TimeMixActs, B: number, T: number, C: number, scr: MixScratch,
  ln: InputLayerNorm | null = null, start: MixStartGrad | null = null,
): void {
  const N = B * T;
  const [s1, s2, s3, s4, s5, s6, s7] = scr.s;
  // output projection
  linearBackward(gemm, s2, false, P.output.grad, null, dout, acts.rw, P.output.data, N, C, C); // s2 = d(rw)
  // WKV and the receptance gate: s4 = dk, s5 = dv, s3 = d(r pre-activation)
  K.wkvBackward(s4, s5, P.timeDecay.grad, P.timeFirst.grad, s2, acts.v, acts.y,
    acts.wkv, P.timeDecay.data, B, T, C, scr.d, { r: acts.r, dpre: s3 }, start?.wkv ?? null);
  // projections (recompute the mixed inputs)
  K.tokenShiftMixForward([s1, s6, s7], x, [P.mixK.data, P.mixV.data, P.mixR.data], start?.prev ?? null, B, T, C);
  // (linearBackward reads its input for dW before it writes dinp, so they may share a buffer)
  linearBackward(gemm, s1, false, P.key.grad, null, s4, s1, P.key.data, N, C, C);
  linearBackward(gemm, s6, false, P.value.grad, null, s5, s6, P.value.data, N, C, C);
  linearBackward(gemm, s7, false, P.receptance.grad, null, s3, s7, P.receptance.data, N, C, C);
  const dmus = [P.mixK.grad, P.mixV.grad, P.mixR.grad];
  const mus = [P.mixK.data, P.mixV.data, P.mixR.data];
  if (start) tokenShiftStartBackward(start.dprev, dmus, [s1, s6, s7], mus, start.prev, B, T, C);
  if (ln) K.tokenShiftMixLnBackward(dx, dmus, [s1, s6, s7], x, mus, ln, B, T, C, scr.d);
  else K.tokenShiftMixBackward(dx, accumulate, dmus, [s1, s6, s7], x, mus, B, T, C, scr.d);
}
