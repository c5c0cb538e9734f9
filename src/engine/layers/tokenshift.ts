/**
 * Token shift with per-channel mixes, as used by RWKV's TimeMix (three mixes) and ChannelMix (two).
 * For each mix j with parameter mu_j[C]:
 *   out_j[b,t,c] = x[b,t,c] * mu_j[c] + xx[b,t,c] * (1 - mu_j[c])
 *   xx[b,t] = x[b,t-1] for t > 0; xx[b,0] = prev[b] (the RNN state) or 0 when prev is null.
 * x and every out_j are [B,T,C]; prev is [B,C].
 */

export function tokenShiftMixForward(
  outs: readonly Float32Array[], x: Float32Array, mus: readonly Float32Array[], prev: Float32Array | null,
  B: number, T: number, C: number,
): void {
  const J = outs.length;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      for (let j = 0; j < J; j++) {
        const out = outs[j];
        const mu = mus[j];
        if (t > 0) {
          const prow = row - C;
          for (let c = 0; c < C; c++) {
            const xp = x[prow + c];
            out[row + c] = xp + mu[c] * (x[row + c] - xp);
          }
        } else if (prev) {
          const prow = b * C;
          for (let c = 0; c < C; c++) {
            const xp = prev[prow + c];
            out[row + c] = xp + mu[c] * (x[row + c] - xp);
          }
        } else {
          for (let c = 0; c < C; c++) out[row + c] = mu[c] * x[row + c];
        }
      }
    }
  }
}

/**
 * Backward of the token-shift mix over a whole sequence (the initial xx is zero, so no state gradient):
 *   dx[b,t] = sum_j mu_j * dout_j[b,t] + sum_j (1 - mu_j) * dout_j[b,t+1]
 *   dmu_j  += sum_{b,t} dout_j[b,t] * (x[b,t] - xx[b,t])
 * dx is assigned (accumulate false) or added to. `scratch` holds J*C doubles.
 */
export function tokenShiftMixBackward(
  dx: Float32Array, accumulate: boolean, dmus: readonly Float32Array[], douts: readonly Float32Array[],
  x: Float32Array, mus: readonly Float32Array[], B: number, T: number, C: number, scratch: Float64Array,
): void {
  const J = douts.length;
  scratch.fill(0, 0, J * C);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      const hasNext = t + 1 < T;
      const nrow = row + C;
      for (let j = 0; j < J; j++) {
        const d = douts[j];
        const mu = mus[j];
        const acc = j * C;
        const first = j === 0 && !accumulate;
        if (t > 0) {
          const prow = row - C;
          for (let c = 0; c < C; c++) scratch[acc + c] += d[row + c] * (x[row + c] - x[prow + c]);
        } else {
          for (let c = 0; c < C; c++) scratch[acc + c] += d[row + c] * x[row + c];
        }
        if (hasNext) {
          if (first) for (let c = 0; c < C; c++) dx[row + c] = mu[c] * d[row + c] + (1 - mu[c]) * d[nrow + c];
          else for (let c = 0; c < C; c++) dx[row + c] += mu[c] * d[row + c] + (1 - mu[c]) * d[nrow + c];
        } else {
          if (first) for (let c = 0; c < C; c++) dx[row + c] = mu[c] * d[row + c];
          else for (let c = 0; c < C; c++) dx[row + c] += mu[c] * d[row + c];
        }
      }
    }
  }
  for (let j = 0; j < J; j++) {
    const dmu = dmus[j];
    for (let c = 0; c < C; c++) dmu[c] += scratch[j * C + c];
  }
}
