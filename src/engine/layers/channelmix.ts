/**
 * RWKV-4 ChannelMix (feed-forward). x is the LayerNorm output [B,T,C]; N = B*T; F = ffn width.
 *   xk, xr = token-shift mixes of x with time_mix_k/r
 *   out = sigmoid(xr Wr^T) ⊙ (relu(xk Wk^T)^2 Wv^T)     Wk [F,C], Wv [C,F], Wr [C,C]
 */
import type { Gemm } from '../gemm.js';
import type { Param } from '../tensor.js';
import { linearBackward, linearForward } from './linear.js';
import type { Kernels } from '../kernels.js';
import { tokenShiftStartBackward, type InputLayerNorm } from './tokenshift.js';
import type { MixScratch, MixStartGrad } from './timemix.js';

export interface ChannelMixParams {
  mixK: Param; // [1,1,C]
  mixR: Param;
  key: Param; // [F,C]
  value: Param; // [C,F]
  receptance: Param; // [C,C]
}

export interface ChannelMixActs {
  kr: Float32Array; // [N,F] relu(xk Wk^T)
  kk: Float32Array; // [N,F] kr^2
  r: Float32Array; // [N,C] sigmoid(xr Wr^T)
  vo: Float32Array; // [N,C] relu(.)^2 Wv^T
}

export function allocChannelMixActs(N: number, C: number, F: number): ChannelMixActs {
  return { kr: new Float32Array(N * F), kk: new Float32Array(N * F), r: new Float32Array(N * C), vo: new Float32Array(N * C) };
}

/** Scratch for the F-wide gradient: one [N,F] buffer. */
export interface FfnScratch {
  f1: Float32Array;
}

export function allocFfnScratch(N: number, F: number): FfnScratch {
  return { f1: new Float32Array(N * F) };
}

export function channelMixForward(
  gemm: Gemm, K: Kernels, out: Float32Array, x: Float32Array, P: ChannelMixParams, acts: ChannelMixActs,
  prev: Float32Array | null, B: number, T: number, C: number, F: number, scr: MixScratch, fs: FfnScratch,
): void {
  const N = B * T;
  const [xk, xr] = scr.s;
  K.tokenShiftMixForward([xk, xr], x, [P.mixK.data, P.mixR.data], prev, B, T, C);
  linearForward(gemm, acts.kr, xk, P.key.data, null, N, C, F);
  K.reluSquare(acts.kk, acts.kr, N * F);
  linearForward(gemm, acts.vo, acts.kk, P.value.data, null, N, F, C);
  linearForward(gemm, acts.r, xr, P.receptance.data, null, N, C, C);
  K.sigmoidGate(out, acts.r, acts.vo, N * C);
}

/**
 * dx[N,C] = (or +=, accumulate) the input gradient; parameter gradients are added. dout is not modified
 * (it may be dx itself: it is read before dx is written).
 * With `ln` (the LayerNorm that produced x), its backward is fused in as in timeMixBackward; with
 * `start` (its `wkv` unused) the gradient with respect to the token-shift start as there.
 */
export function channelMixBackward(
  gemm: Gemm, K: Kernels, dx: Float32Array, accumulate: boolean, dout: Float32Array, x: Float32Array,
  P: ChannelMixParams, acts: ChannelMixActs, B: number, T: number, C: number, F: number,
  scr: MixScratch, fs: FfnScratch, ln: InputLayerNorm | null = null, start: MixStartGrad | null = null,
): void {
  const N = B * T;
  const n = N * C;
  const [s1, s2, s3, s4] = scr.s;
  K.gatedProductBackward(s3, s4, dout, acts.r, acts.vo, n); // s3 = d(vo), s4 = d(r pre-activation)
  const kr = acts.kr;
  const nf = N * F;
  const dpre = fs.f1;
  linearBackward(gemm, dpre, false, P.value.grad, null, s3, acts.kk, P.value.data, N, F, C); // d(kk)
  K.reluSquareBackward(dpre, kr, nf); // d(kk)/d(pre) = 2 relu(pre)
  K.tokenShiftMixForward([s1, s2], x, [P.mixK.data, P.mixR.data], start?.prev ?? null, B, T, C);
  linearBackward(gemm, s1, false, P.key.grad, null, dpre, s1, P.key.data, N, C, F);
  linearBackward(gemm, s2, false, P.receptance.grad, null, s4, s2, P.receptance.data, N, C, C);
  const dmus = [P.mixK.grad, P.mixR.grad];
  const mus = [P.mixK.data, P.mixR.data];
  if (start) tokenShiftStartBackward(start.dprev, dmus, [s1, s2], mus, start.prev, B, T, C);
  if (ln) K.tokenShiftMixLnBackward(dx, dmus, [s1, s2], x, mus, ln, B, T, C, scr.d);
  else K.tokenShiftMixBackward(dx, accumulate, dmus, [s1, s2], x, mus, B, T, C, scr.d);
}
