/** LayerNorm over the last dimension C, eps 1e-5, with per-channel weight and bias. */

export const LN_EPS = 1e-5;

/**
 * inp, out: [N,C]; mean, rstd: [N] (kept for the backward pass).
 * out = (inp - mean) * rstd * weight + bias,  rstd = 1/sqrt(var + eps)
 */
export function layerNormForward(
  out: Float32Array, mean: Float32Array, rstd: Float32Array, inp: Float32Array,
  weight: Float32Array, bias: Float32Array, N: number, C: number,
): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let s = 0;
    for (let c = 0; c < C; c++) s += inp[row + c];
    const m = s / C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = inp[row + c] - m;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / C + LN_EPS);
    mean[n] = m;
    rstd[n] = rs;
    for (let c = 0; c < C; c++) out[row + c] = (inp[row + c] - m) * rs * weight[c] + bias[c];
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
