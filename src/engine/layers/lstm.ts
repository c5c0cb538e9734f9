/**
 * One LSTM layer, PyTorch conventions. Gate order in the fused [4H] rows is i, f, g, o:
 *   W_ih [4H,I], W_hh [4H,H], b_ih [4H], b_hh [4H]
 *   [i f g o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
 *   i = sigmoid, f = sigmoid, g = tanh, o = sigmoid
 *   c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
 * Everything here is time-major: x [T,B,I], so the B rows of step t are contiguous and the
 * recurrent product h_{t-1} W_hh^T is one GEMM per step; the input product for all steps is one
 * GEMM over T*B rows.
 */
import { productsWith, type Gemm, type PackedB } from '../gemm.js';
import type { Kernels } from '../kernels.js';
import type { Param } from '../tensor.js';
import { linearForward } from './linear.js';

export interface LstmParams {
  weightIh: Param; // [4H,I]
  weightHh: Param; // [4H,H]
  biasIh: Param; // [4H]
  biasHh: Param; // [4H]
}

export interface LstmActs {
  gates: Float32Array; // [T,B,4H] activated gates i, f, g, o
  h: Float32Array; // [T+1,B,H] slot 0 = initial state, slot t+1 = output at t
  c: Float32Array; // [T+1,B,H]
  tc: Float32Array; // [T,B,H] tanh(c_t)
}

export function allocLstmActs(T: number, B: number, H: number): LstmActs {
  return {
    gates: new Float32Array(T * B * 4 * H), h: new Float32Array((T + 1) * B * H),
    c: new Float32Array((T + 1) * B * H), tc: new Float32Array(T * B * H),
  };
}

/**
 * Runs T steps. The initial state is h0, c0 [B,H] (null: zeros). The outputs are
 * acts.h[B*H ..] ([T,B,H]); the final state is slot T of acts.h and acts.c.
 * `bias` is scratch for 4H floats.
 */
export function lstmForward(
  gemm: Gemm, cells: Kernels, x: Float32Array, P: LstmParams, acts: LstmActs, h0: Float32Array | null, c0: Float32Array | null,
  T: number, B: number, I: number, H: number, bias: Float32Array, packScratch: { packed?: PackedB } = {},
): void {
  const G = 4 * H;
  const BH = B * H;
  for (let j = 0; j < G; j++) bias[j] = P.biasIh.data[j] + P.biasHh.data[j];
  const gates = acts.gates;
  linearForward(gemm, gates, x, P.weightIh.data, bias, T * B, I, G);
  const { h, c, tc } = acts;
  if (h0) h.set(h0.subarray(0, BH), 0);
  else h.fill(0, 0, BH);
  if (c0) c.set(c0.subarray(0, BH), 0);
  else c.fill(0, 0, BH);
  const recurrent = productsWith(gemm, true, G, H, P.weightHh.data, { rows: B, count: T }, packScratch);
  for (let t = 0; t < T; t++) {
    recurrent(B, h, t * BH, gates, t * B * G, 1);
    cells.lstmCellForward(gates, c, h, tc, t, B, H);
  }
}

/**
 * The gate nonlinearities and state update of step t, once its gate pre-activations are in `gates`:
 * rows t of gates [T,B,4H] are activated in place; c and h slot t+1 and tc slot t are written.
 */
export function lstmCellForward(
  gates: Float32Array, c: Float32Array, h: Float32Array, tc: Float32Array, t: number, B: number, H: number,
): void {
  const G = 4 * H;
  const BH = B * H;
  for (let b = 0; b < B; b++) {
    const gr = (t * B + b) * G;
    const sp = t * BH + b * H; // previous state row
    const sn = sp + BH; // new state row
    for (let j = 0; j < H; j++) {
      const ig = 1 / (1 + Math.exp(-gates[gr + j]));
      const fg = 1 / (1 + Math.exp(-gates[gr + H + j]));
      const gg = tanh(gates[gr + 2 * H + j]);
      const og = 1 / (1 + Math.exp(-gates[gr + 3 * H + j]));
      gates[gr + j] = ig;
      gates[gr + H + j] = fg;
      gates[gr + 2 * H + j] = gg;
      gates[gr + 3 * H + j] = og;
      const cn = fg * c[sp + j] + ig * gg;
      const th = tanh(cn);
      c[sn + j] = cn;
      tc[sp + j] = th;
      h[sn + j] = og * th;
    }
  }
}

/**
 * Step t of the backward pass: dG rows t from dh slot t (which already holds the recurrent gradient)
 * and the cell gradient dc [B,H] carried from step t+1, which is updated to step t's.
 */
export function lstmCellBackward(
  dG: Float32Array, dc: Float32Array, dh: Float32Array, gates: Float32Array, c: Float32Array, tc: Float32Array,
  t: number, B: number, H: number,
): void {
  const G = 4 * H;
  const BH = B * H;
  for (let b = 0; b < B; b++) {
    const gr = (t * B + b) * G;
    const sr = t * BH + b * H; // c_{t-1} row in c, also the row of dh/tc at t
    const dcr = b * H;
    for (let j = 0; j < H; j++) {
      const ig = gates[gr + j];
      const fg = gates[gr + H + j];
      const gg = gates[gr + 2 * H + j];
      const og = gates[gr + 3 * H + j];
      const th = tc[sr + j];
      const dhj = dh[sr + j];
      const dcj = dc[dcr + j] + dhj * og * (1 - th * th);
      dG[gr + j] = dcj * gg * ig * (1 - ig);
      dG[gr + H + j] = dcj * c[sr + j] * fg * (1 - fg);
      dG[gr + 2 * H + j] = dcj * ig * (1 - gg * gg);
      dG[gr + 3 * H + j] = dhj * th * og * (1 - og);
      dc[dcr + j] = dcj * fg;
    }
  }
}

/** tanh from one exp (faster than Math.tanh here), exact to double rounding away from 0. */
function tanh(x: number): number {
  const e = Math.exp(-2 * Math.abs(x));
  const v = (1 - e) / (1 + e);
  return x < 0 ? -v : v;
}

/**
 * Backpropagation through time (from the initial state the forward put in slot 0 of acts.h, acts.c).
 * dh [T,B,H]: gradient of the loss w.r.t. the outputs; it is used as workspace (the recurrent
 * gradient is added into it step by step). dG [T,B,4H] and dc [B,H] are scratch.
 * dx [T,B,I] is assigned (skipped when null); parameter gradients are added.
 * With `start`, the gradients with respect to the initial h and c [B,H] are assigned to it.
 */
export function lstmBackward(
  gemm: Gemm, cells: Kernels, dx: Float32Array | null, dh: Float32Array, x: Float32Array, P: LstmParams, acts: LstmActs,
  T: number, B: number, I: number, H: number, dG: Float32Array, dc: Float32Array,
  start: { dh0: Float32Array; dc0: Float32Array } | null = null, packScratch: { packed?: PackedB } = {},
): void {
  const G = 4 * H;
  const BH = B * H;
  const { gates, c, tc } = acts;
  dc.fill(0, 0, BH);
  const recurrent = productsWith(gemm, false, H, G, P.weightHh.data, { rows: B, count: start ? T : T - 1 }, packScratch);
  for (let t = T - 1; t >= 0; t--) {
    cells.lstmCellBackward(dG, dc, dh, gates, c, tc, t, B, H);
    if (t > 0) recurrent(B, dG, t * B * G, dh, (t - 1) * BH, 1);
  }
  if (start) {
    recurrent(B, dG, 0, start.dh0, 0, 0);
    start.dc0.set(dc.subarray(0, BH));
  }
  const TB = T * B;
  // dW_hh += dG^T @ h_{t-1} over all steps (slots 0..T-1 of acts.h)
  gemm.gemm({ transA: true, transB: false, M: G, N: H, K: TB, A: dG, B: acts.h, C: P.weightHh.grad, beta: 1 });
  gemm.gemm({ transA: true, transB: false, M: G, N: I, K: TB, A: dG, B: x, C: P.weightIh.grad, beta: 1 });
  // both biases receive the same gradient: sum once
  const sums = new Float64Array(G);
  cells.columnSums(sums, dG, TB, G);
  const gih = P.biasIh.grad;
  const ghh = P.biasHh.grad;
  for (let j = 0; j < G; j++) {
    gih[j] += sums[j];
    ghh[j] += sums[j];
  }
  if (dx) gemm.gemm({ transA: false, transB: false, M: TB, N: I, K: G, A: dG, B: P.weightIh.data, C: dx, beta: 0 });
}
