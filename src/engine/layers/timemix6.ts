/**
 * RWKV-6 TimeMix with static token-shift mixes and a data-dependent decay. x is the LayerNorm output
 * [B,T,C]; N = B*T; H = C/S heads of S channels; D = the decay LoRA's width.
 *   xr, xk, xv, xg, xw = x + (prev - x) * time_maa_{r,k,v,g,w}    (prev: the previous frame's x)
 *   r = xr Wr^T,  k = xk Wk^T,  v = xv Wv^T,  g = silu(xg Wg^T)
 *   w = exp(-exp(time_decay + tanh(xw W1) W2))                    W1 = time_decay_w1 [C,D], W2 = time_decay_w2 [D,C]
 *   y = WKV6(r, k, v, w, u = time_faaaa)                          (wkv6.ts)
 *   out = (GroupNorm_H(y) ⊙ g) Wo^T                              GroupNorm: per head, eps 64e-5, affine ln_x [C]
 * The token-shift kernels compute x mu + prev (1 - mu): here mu = 1 - time_maa. The elementwise parts
 * (silu, tanh, exp, GroupNorm) are TypeScript loops; docs/decisions.md has what they cost.
 */
import type { Gemm } from '../gemm.js';
import type { Param } from '../tensor.js';
import type { Kernels } from '../kernels.js';
import { addColumnSums, linearBackward, linearForward } from './linear.js';
import { tokenShiftStartBackward, type InputLayerNorm } from './tokenshift.js';
import { WKV6_CHUNK } from './wkv6.js';
import { NO_BUFFER, type ScratchPool } from './scratch.js';

/** GroupNorm's epsilon (RWKV-LM v6: 1e-5 times head_size_divisor^2 = 8^2). */
export const LN_X_EPS = 64e-5;

export interface TimeMix6Params {
  timeDecay: Param; // [1,1,C]
  timeFirst: Param; // [H,S] time_faaaa (u)
  maaR: Param; // [1,1,C]
  maaK: Param;
  maaV: Param;
  maaG: Param;
  maaW: Param;
  decayW1: Param; // [C,D]
  decayW2: Param; // [D,C]
  receptance: Param; // [C,C]
  key: Param;
  value: Param;
  gate: Param;
  output: Param;
  lnxWeight: Param; // [C]
  lnxBias: Param; // [C]
}

/** Activations kept from forward to backward. */
export interface TimeMix6Acts {
  r: Float32Array; // [N,C]
  k: Float32Array;
  v: Float32Array;
  gPre: Float32Array; // xg Wg^T
  g: Float32Array; // silu(gPre)
  wPre: Float32Array; // time_decay + tanh(xw W1) W2
  w: Float32Array; // exp(-exp(wPre))
  y: Float32Array; // WKV6 output
  z: Float32Array; // GroupNorm(y) ⊙ g, the output projection's input
  wh: Float32Array; // [N,D] tanh(xw W1)
  gnMean: Float32Array; // [N*H]
  gnRstd: Float32Array; // [N*H]
  saved: Float64Array; // WKV6 chunk-start states (training only)
}

/**
 * For up to N rows in up to B streams (any split N = B*T). `forBackward` false: without the WKV6 states
 * that only the backward pass reads (B*ceil(T/16) <= ceil(N/16) + B chunk states of C*S doubles).
 */
export function allocTimeMix6Acts(N: number, B: number, C: number, S: number, D: number, forBackward = true): TimeMix6Acts {
  const nc = () => new Float32Array(N * C);
  return {
    r: nc(), k: nc(), v: nc(), gPre: nc(), g: nc(), wPre: nc(), w: nc(), y: nc(), z: nc(),
    wh: new Float32Array(N * D), gnMean: new Float32Array(N * (C / S)), gnRstd: new Float32Array(N * (C / S)),
    saved: new Float64Array(forBackward ? (Math.ceil(N / WKV6_CHUNK) + B) * C * S : 0),
  };
}

/** The token-shift start `prev` [B,C], the WKV6 state's gradient [B,H,S,S] and dprev (both assigned). */
export interface Mix6StartGrad {
  prev: Float32Array;
  dprev: Float32Array;
  dstate: Float64Array;
}

/** TimeMix6's scratch: the five mixes (then their gradients), the backward's gradients, mix rates. */
export interface TimeMix6Scratch {
  mixes: Float32Array[]; // xr, xk, xv, xg, xw [N,C]
  dz: Float32Array; // backward [N,C]: d(z), later d(r)
  dy: Float32Array; // d(y), later d(x) before LN1's backward
  dgPre: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
  dw: Float32Array; // d(w), then d(wPre)
  dh: Float32Array; // [N,D]
  mu: Float32Array; // [5*C] 1 - time_maa
  dmu: Float32Array; // [5*C]
  acc: Float64Array;
}

export function timeMix6Scratch(pool: ScratchPool, C: number, D: number, forBackward: boolean): TimeMix6Scratch {
  const back = (i: number) => (forBackward ? pool.buffer(i) : NO_BUFFER);
  return {
    mixes: [0, 1, 2, 3, 4].map((i) => pool.buffer(i)),
    dz: back(5), dy: back(6), dgPre: back(7), dk: back(8), dv: back(9), dw: back(10),
    dh: forBackward ? pool.wideBuffer(D, 1) : NO_BUFFER,
    mu: new Float32Array(5 * C), dmu: new Float32Array(5 * C), acc: pool.acc,
  };
}

function mixRates(P: TimeMix6Params, mu: Float32Array, C: number): Float32Array[] {
  const maas = [P.maaR, P.maaK, P.maaV, P.maaG, P.maaW];
  return maas.map((p, j) => {
    const m = mu.subarray(j * C, (j + 1) * C);
    for (let c = 0; c < C; c++) m[c] = 1 - p.data[c];
    return m;
  });
}

/**
 * out[N,C] = TimeMix6(x). `prev` [B,C] is the token-shift state (null: zeros); `state` the WKV6 state
 * [B,H,S,S] (updated in place). With save the WKV6 chunk states are kept for the backward pass.
 */
export function timeMix6Forward(
  gemm: Gemm, K: Kernels, out: Float32Array, x: Float32Array, P: TimeMix6Params, acts: TimeMix6Acts,
  prev: Float32Array | null, state: Float64Array, B: number, T: number, C: number, S: number, save: boolean,
  scr: TimeMix6Scratch,
): void {
  const N = B * T;
  const n = N * C;
  const D = P.decayW2.shape[0];
  const [xr, xk, xv, xg, xw] = scr.mixes;
  const mus = mixRates(P, scr.mu, C);
  K.tokenShiftMixForward([xr, xk, xv], x, [mus[0], mus[1], mus[2]], prev, B, T, C);
  K.tokenShiftMixForward([xg, xw], x, [mus[3], mus[4]], prev, B, T, C);
  linearForward(gemm, acts.r, xr, P.receptance.data, null, N, C, C);
  linearForward(gemm, acts.k, xk, P.key.data, null, N, C, C);
  linearForward(gemm, acts.v, xv, P.value.data, null, N, C, C);
  linearForward(gemm, acts.gPre, xg, P.gate.data, null, N, C, C);
  const { gPre, g, wh, wPre, w } = acts;
  for (let i = 0; i < n; i++) {
    const p = gPre[i];
    g[i] = p / (1 + Math.exp(-p));
  }
  // data-dependent decay
  gemm.gemm({ transA: false, transB: false, M: N, N: D, K: C, A: xw, B: P.decayW1.data, C: wh, beta: 0 });
  for (let i = 0; i < N * D; i++) wh[i] = Math.tanh(wh[i]);
  const td = P.timeDecay.data;
  for (let r = 0; r < N; r++) wPre.set(td, r * C);
  gemm.gemm({ transA: false, transB: false, M: N, N: C, K: D, A: wh, B: P.decayW2.data, C: wPre, beta: 1 });
  for (let i = 0; i < n; i++) w[i] = Math.exp(-Math.exp(wPre[i]));
  K.wkv6Forward(acts.y, acts.r, acts.k, acts.v, w, P.timeFirst.data, state, B, T, C, S, save ? acts.saved : null);
  groupNormGateForward(acts.z, acts.gnMean, acts.gnRstd, acts.y, P.lnxWeight.data, P.lnxBias.data, g, N, C, S);
  linearForward(gemm, out, acts.z, P.output.data, null, N, C, C);
}

/**
 * Adds d(input of the LayerNorm `ln` that produced x) into dx, and every parameter gradient (LN's
 * included). dout is not modified and may be dx. With `start` the forward began from a state: the
 * gradients with respect to the token-shift start and the WKV6 state are assigned to start.dprev and
 * start.dstate.
 */
export function timeMix6Backward(
  gemm: Gemm, K: Kernels, dx: Float32Array, dout: Float32Array, x: Float32Array, P: TimeMix6Params,
  acts: TimeMix6Acts, B: number, T: number, C: number, S: number, scr: TimeMix6Scratch, ln: InputLayerNorm,
  start: Mix6StartGrad | null,
): void {
  const N = B * T;
  const n = N * C;
  const D = P.decayW2.shape[0];
  const { dz, dy, dgPre, dk, dv, dw, dh } = scr;
  linearBackward(gemm, dz, false, P.output.grad, null, dout, acts.z, P.output.data, N, C, C);
  groupNormGateBackward(dy, dgPre, P.lnxWeight.grad, P.lnxBias.grad, dz, acts.y, acts.gnMean, acts.gnRstd,
    P.lnxWeight.data, P.lnxBias.data, acts.g, acts.gPre, N, C, S, scr.acc);
  const dr = dz; // d(z) is spent
  K.wkv6Backward(dr, dk, dv, dw, P.timeFirst.grad, dy, acts.r, acts.k, acts.v, acts.w, P.timeFirst.data, acts.saved,
    B, T, C, S, start ? start.dstate : null);
  // w = exp(-exp(wPre)): dw/dwPre = -w exp(wPre)
  const { w, wPre, wh } = acts;
  for (let i = 0; i < n; i++) dw[i] *= -w[i] * Math.exp(wPre[i]);
  addColumnSums(P.timeDecay.grad, dw, N, C, K.columnSums);
  gemm.gemm({ transA: true, transB: false, M: D, N: C, K: N, A: wh, B: dw, C: P.decayW2.grad, beta: 1 });
  gemm.gemm({ transA: false, transB: true, M: N, N: D, K: C, A: dw, B: P.decayW2.data, C: dh, beta: 0 });
  for (let i = 0; i < N * D; i++) dh[i] *= 1 - wh[i] * wh[i];
  // projections (recompute the mixes; each becomes its own gradient)
  const mixes = scr.mixes;
  const [xr, xk, xv, xg, xw] = mixes;
  const mus = mixRates(P, scr.mu, C);
  const prev = start ? start.prev : null;
  K.tokenShiftMixForward([xr, xk, xv], x, [mus[0], mus[1], mus[2]], prev, B, T, C);
  K.tokenShiftMixForward([xg, xw], x, [mus[3], mus[4]], prev, B, T, C);
  gemm.gemm({ transA: true, transB: false, M: C, N: D, K: N, A: xw, B: dh, C: P.decayW1.grad, beta: 1 });
  gemm.gemm({ transA: false, transB: true, M: N, N: C, K: D, A: dh, B: P.decayW1.data, C: xw, beta: 0 });
  linearBackward(gemm, xr, false, P.receptance.grad, null, dr, xr, P.receptance.data, N, C, C);
  linearBackward(gemm, xk, false, P.key.grad, null, dk, xk, P.key.data, N, C, C);
  linearBackward(gemm, xv, false, P.value.grad, null, dv, xv, P.value.data, N, C, C);
  linearBackward(gemm, xg, false, P.gate.grad, null, dgPre, xg, P.gate.data, N, C, C);
  scr.dmu.fill(0);
  const dmus = [0, 1, 2, 3, 4].map((j) => scr.dmu.subarray(j * C, (j + 1) * C));
  if (start) tokenShiftStartBackward(start.dprev, dmus, mixes, mus, start.prev, B, T, C);
  const dxln = dy; // d(y) is spent
  K.tokenShiftMixBackward(dxln, false, dmus.slice(0, 3), [xr, xk, xv], x, mus.slice(0, 3), B, T, C, scr.acc);
  K.tokenShiftMixBackward(dxln, true, dmus.slice(3), [xg, xw], x, mus.slice(3), B, T, C, scr.acc);
  K.layerNormBackward(dx, true, ln.dweight, ln.dbias, dxln, ln.inp, ln.mean, ln.rstd, ln.weight, N, C, scr.acc);
  // time_maa = 1 - mu
  const maas = [P.maaR, P.maaK, P.maaV, P.maaG, P.maaW];
  for (let j = 0; j < 5; j++) for (let c = 0; c < C; c++) maas[j].grad[c] -= dmus[j][c];
}

/**
 * z = (GroupNorm(y) weight + bias) ⊙ g, the groups being the H heads of S channels of every row:
 * per (row, head) mean and rstd = 1/sqrt(var + LN_X_EPS) are written to mean, rstd [N*H].
 */
export function groupNormGateForward(
  z: Float32Array, mean: Float32Array, rstd: Float32Array, y: Float32Array, weight: Float32Array,
  bias: Float32Array, g: Float32Array, N: number, C: number, S: number,
): void {
  const H = C / S;
  for (let r = 0; r < N; r++) {
    for (let h = 0; h < H; h++) {
      const o = r * C + h * S;
      let m = 0;
      for (let j = 0; j < S; j++) m += y[o + j];
      m /= S;
      let v = 0;
      for (let j = 0; j < S; j++) {
        const d = y[o + j] - m;
        v += d * d;
      }
      const rs = 1 / Math.sqrt(v / S + LN_X_EPS);
      mean[r * H + h] = m;
      rstd[r * H + h] = rs;
      for (let j = 0; j < S; j++) {
        const c = h * S + j;
        z[o + j] = ((y[o + j] - m) * rs * weight[c] + bias[c]) * g[o + j];
      }
    }
  }
}

/**
 * Backward of groupNormGateForward with the gate's silu: given dz, assigns dy and dgPre
 * (d(xg Wg^T), through g = silu(gPre)) and adds the affine parameters' gradients.
 * `scratch` holds 2*C doubles.
 */
export function groupNormGateBackward(
  dy: Float32Array, dgPre: Float32Array, dweight: Float32Array, dbias: Float32Array, dz: Float32Array,
  y: Float32Array, mean: Float32Array, rstd: Float32Array, weight: Float32Array, bias: Float32Array,
  g: Float32Array, gPre: Float32Array, N: number, C: number, S: number, scratch: Float64Array,
): void {
  const H = C / S;
  const dw = scratch.subarray(0, C);
  const db = scratch.subarray(C, 2 * C);
  dw.fill(0);
  db.fill(0);
  for (let r = 0; r < N; r++) {
    for (let h = 0; h < H; h++) {
      const o = r * C + h * S;
      const m = mean[r * H + h];
      const rs = rstd[r * H + h];
      let sh = 0;
      let shx = 0;
      for (let j = 0; j < S; j++) {
        const c = h * S + j;
        const i = o + j;
        const xhat = (y[i] - m) * rs;
        const on = xhat * weight[c] + bias[c];
        const dzi = dz[i];
        const p = gPre[i];
        const s = 1 / (1 + Math.exp(-p));
        dgPre[i] = dzi * on * s * (1 + p * (1 - s));
        const don = dzi * g[i];
        dw[c] += don * xhat;
        db[c] += don;
        const hx = don * weight[c];
        sh += hx;
        shx += hx * xhat;
      }
      sh /= S;
      shx /= S;
      for (let j = 0; j < S; j++) {
        const c = h * S + j;
        const i = o + j;
        const xhat = (y[i] - m) * rs;
        dy[i] = rs * (dz[i] * g[i] * weight[c] - sh - xhat * shx);
      }
    }
  }
  for (let c = 0; c < C; c++) {
    dweight[c] += dw[c];
    dbias[c] += db[c];
  }
}
