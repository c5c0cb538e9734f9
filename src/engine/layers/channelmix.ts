/**
 * RWKV-4 ChannelMix (feed-forward). x is the LayerNorm output [B,T,C]; N = B*T; F = ffn width.
 *   xk, xr = token-shift mixes of x with time_mix_k/r
 *   out = sigmoid(xr Wr^T) ⊙ (relu(xk Wk^T)^2 Wv^T)     Wk [F,C], Wv [C,F], Wr [C,C]
 */
import type { Gemm } from '../gemm.js';
import type { Param } from '../tensor.js';
import { linearBackward, linearForward, linearInputGradient } from './linear.js';
import type { Kernels } from '../kernels.js';
import { tokenShiftStartBackward, type InputLayerNorm } from './tokenshift.js';
import type { MixStartGrad } from './timemix.js';
import { NO_BUFFER, type ScratchPool } from './scratch.js';

export interface ChannelMixParams {
  mixK: Param; // [1,1,C]
  mixR: Param;
  key: Param; // [F,C]
  value: Param; // [C,F]
  receptance: Param; // [C,C]
}

export interface ChannelMixActs {
  kk: Float32Array; // [N,F] relu(xk Wk^T)^2 (its backward needs nothing else: relu(pre) = sqrt(kk))
  r: Float32Array; // [N,C] sigmoid(xr Wr^T)
  vo: Float32Array; // [N,C] relu(.)^2 Wv^T
  mixes: Float32Array[]; // [N,C] each: xk, xr; none without the backward pass
}

/** `forBackward` false: without the mixes that only the backward pass reads. */
export function allocChannelMixActs(N: number, C: number, F: number, forBackward = true): ChannelMixActs {
  const nc = () => new Float32Array(N * C);
  return { kk: new Float32Array(N * F), r: nc(), vo: nc(), mixes: forBackward ? [nc(), nc()] : [] };
}

/**
 * ChannelMix's scratch. A forward without the backward pass writes the two token-shift mixes here (with
 * it, into the activations); the backward, their gradients, after the others it needs first.
 */
export interface ChannelMixScratch {
  xk: Float32Array; // [N,C] mix into the key projection, or d(xk)
  xr: Float32Array; // [N,C] mix into the receptance projection, or d(xr)
  dvo: Float32Array; // backward: [N,C] d(vo)
  drPre: Float32Array; // backward: [N,C] d(receptance pre-activation)
  dkPre: Float32Array; // backward: [N,F] d(key pre-activation)
  acc: Float64Array; // 8*C doubles for per-channel reductions
}

/** ChannelMix's scratch from `pool` (shared with the other layers that take from it); the backward's only with forBackward. */
export function channelMixScratch(pool: ScratchPool, F: number, forBackward: boolean): ChannelMixScratch {
  const back = (buffer: () => Float32Array) => (forBackward ? buffer() : NO_BUFFER);
  return {
    xk: pool.buffer(0), xr: pool.buffer(1), dvo: back(() => pool.buffer(2)), drPre: back(() => pool.buffer(3)),
    dkPre: back(() => pool.wideBuffer(F, 0)), acc: pool.acc,
  };
}

export function channelMixForward(
  gemm: Gemm, K: Kernels, out: Float32Array, x: Float32Array, P: ChannelMixParams, acts: ChannelMixActs,
  prev: Float32Array | null, B: number, T: number, C: number, F: number, scr: ChannelMixScratch,
): void {
  const N = B * T;
  const mixes = acts.mixes.length > 0 ? acts.mixes : [scr.xk, scr.xr];
  const [xk, xr] = mixes;
  K.tokenShiftMixForward(mixes, x, [P.mixK.data, P.mixR.data], prev, B, T, C);
  linearForward(gemm, acts.kk, xk, P.key.data, null, N, C, F, 0, 0, { kind: 'reluSquare' });
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
  scr: ChannelMixScratch, ln: InputLayerNorm | null = null, start: MixStartGrad | null = null,
): void {
  const N = B * T;
  const { xk, xr, dvo, drPre, dkPre } = scr;
  K.gatedProductBackward(dvo, drPre, dout, acts.r, acts.vo, N * C);
  linearBackward(gemm, null, false, P.value.grad, null, dvo, acts.kk, P.value.data, N, F, C);
  // d(pre) = d(kk) * 2 relu(pre), in the same pass as d(kk)
  linearInputGradient(gemm, dkPre, false, dvo, P.value.data, N, F, C, { kind: 'reluSquareGrad', squares: acts.kk });
  if (acts.mixes.length === 0) throw new Error('channelMixBackward: activations allocated without the backward pass');
  const [mk, mr] = acts.mixes;
  linearBackward(gemm, xk, false, P.key.grad, null, dkPre, mk, P.key.data, N, C, F);
  linearBackward(gemm, xr, false, P.receptance.grad, null, drPre, mr, P.receptance.data, N, C, C);
  const dmixes = [xk, xr];
  const dmus = [P.mixK.grad, P.mixR.grad];
  const mus = [P.mixK.data, P.mixR.data];
  if (start) tokenShiftStartBackward(start.dprev, dmus, dmixes, mus, start.prev, B, T, C);
  if (ln) K.tokenShiftMixLnBackward(dx, dmus, dmixes, x, mus, ln, B, T, C, scr.acc);
  else K.tokenShiftMixBackward(dx, accumulate, dmus, dmixes, x, mus, B, T, C, scr.acc);
}
