/** LayerNorm over the last dimension C, eps 1e-5, with per-channel weight and bias. */
import { dropKeep, type DropoutMask } from './dropout.js';

export const LN_EPS = 1e-5;

/**
 * inp, out: [N,C]; mean, rstd: [N] (kept for the backward pass).
 * out = (inp - mean) * rstd * weight + bias,  rstd = 1/sqrt(var + eps)
 * (mean and variance from one pass of double-precision sums)
 */
export function layerNormForward(
  out: Float32Array, mean: Float32Array, rstd: Float32Array, inp: Float32Array,
  weight: Float32Array, bias: Float32Array, N: number, C: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let s = 0;
    let s2 = 0;
    for (let c = 0; c < C; c++) {
      const x = inp[row + c];
      s += x;
      s2 += x * x;
    }
    normalizeRow(out, mean, rstd, inp, weight, bias, n, C, s, s2);
  }
}

function normalizeRow(
  out: Float32Array, mean: Float32Array, rstd: Float32Array, inp: Float32Array,
  weight: Float32Array, bias: Float32Array, n: number, C: number, s: number, s2: number,
): void {
  const row = n * C;
  const m = s / C;
  const v = Math.max(s2 / C - m * m, 0);
  const rs = 1 / Math.sqrt(v + LN_EPS);
  mean[n] = m;
  rstd[n] = rs;
  for (let c = 0; c < C; c++) out[row + c] = (inp[row + c] - m) * rs * weight[c] + bias[c];
}

/**
 * Residual add fused with the LayerNorm that follows it:
 *   sum = a + dropout(branch)   (dropout null: a + branch)      [N,C]
 *   out = LayerNorm(sum)
 */
export function addLayerNormForward(
  sum: Float32Array, out: Float32Array, mean: Float32Array, rstd: Float32Array,
  a: Float32Array, branch: Float32Array, drop: DropoutMask | null,
  weight: Float32Array, bias: Float32Array, N: number, C: number,
): void {
  const seed = drop ? drop.seed : 0;
  const threshold = drop ? drop.threshold : 0;
  const scale = drop ? drop.scale : 1;
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let s = 0;
    let s2 = 0;
    if (drop) {
      for (let c = 0; c < C; c++) {
        const i = row + c;
        const x = a[i] + branch[i] * (dropKeep(seed, threshold, i) * scale);
        sum[i] = x;
        s += x;
        s2 += x * x;
      }
    } else {
      for (let c = 0; c < C; c++) {
        const i = row + c;
        const x = a[i] + branch[i];
        sum[i] = x;
        s += x;
        s2 += x * x;
      }
    }
    normalizeRow(out, mean, rstd, sum, weight, bias, n, C, s, s2);
  }
}

/**
 * dinp[N,C] += (or =, when accumulate is false) the input gradient; dweight[C], dbias[C] +=.
 * With xhat = (inp - mean) * rstd and g = dout * weight:
 *   dinp = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))
 * `scratch` holds 2*C doubles for the parameter-gradient sums.
 */
export function layerNormBackward(
  dinp: Float32Array, accumulate: boolean, dweight: Float32Array, dbias: Float32Array,
  dout: Float32Array, inp: Float32Array, mean: Float32Array, rstd: Float32Array, weight: Float32Array,
  N: number, C: number, scratch: Float64Array,
): void {
  const dw = scratch;
  const db = scratch.subarray(C, 2 * C);
  dw.fill(0, 0, C);
  db.fill(0);
  for (let n = 0; n < N; n++) {
    const row = n * C;
    const m = mean[n];
    const rs = rstd[n];
    let sg = 0;
    let sgx = 0;
    for (let c = 0; c < C; c++) {
      const xh = (inp[row + c] - m) * rs;
      const go = dout[row + c];
      const g = go * weight[c];
      sg += g;
      sgx += g * xh;
      dw[c] += go * xh;
      db[c] += go;
    }
    sg /= C;
    sgx /= C;
    if (accumulate) {
      for (let c = 0; c < C; c++) {
        const xh = (inp[row + c] - m) * rs;
        dinp[row + c] += rs * (dout[row + c] * weight[c] - sg - xh * sgx);
      }
    } else {
      for (let c = 0; c < C; c++) {
        const xh = (inp[row + c] - m) * rs;
        dinp[row + c] = rs * (dout[row + c] * weight[c] - sg - xh * sgx);
      }
    }
  }
  for (let c = 0; c < C; c++) {
    dweight[c] += dw[c];
    dbias[c] += db[c];
  }
}
