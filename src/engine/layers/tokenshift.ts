/**
 * Token shift with per-channel mixes, as used by RWKV's TimeMix (three mixes) and ChannelMix (two).
 * For each mix j with parameter mu_j[C]:
 *   out_j[b,t,c] = x[b,t,c] * mu_j[c] + xx[b,t,c] * (1 - mu_j[c])  =  xx + mu_j (x - xx)
 *   xx[b,t] = x[b,t-1] for t > 0; xx[b,0] = prev[b] (the RNN state) or 0 when prev is null.
 * x and every out_j are [B,T,C]; prev is [B,C]. All mixes are produced in one pass over x.
 */

export function tokenShiftMixForward(
  outs: readonly Float32Array[], x: Float32Array, mus: readonly Float32Array[], prev: Float32Array | null,
  B: number, T: number, C: number,
): void {
  if (outs.length === 3) mix3(outs[0], outs[1], outs[2], x, mus[0], mus[1], mus[2], prev, B, T, C);
  else if (outs.length === 2) mix2(outs[0], outs[1], x, mus[0], mus[1], prev, B, T, C);
  else throw new Error('tokenShiftMixForward: 2 or 3 mixes');
}

function mix3(
  o0: Float32Array, o1: Float32Array, o2: Float32Array, x: Float32Array,
  m0: Float32Array, m1: Float32Array, m2: Float32Array, prev: Float32Array | null, B: number, T: number, C: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      if (t === 0) {
        for (let c = 0; c < C; c++) {
          const xp = prev ? prev[b * C + c] : 0;
          const d = x[row + c] - xp;
          o0[row + c] = xp + m0[c] * d;
          o1[row + c] = xp + m1[c] * d;
          o2[row + c] = xp + m2[c] * d;
        }
        continue;
      }
      const prow = row - C;
      for (let c = 0; c < C; c++) {
        const xp = x[prow + c];
        const d = x[row + c] - xp;
        o0[row + c] = xp + m0[c] * d;
        o1[row + c] = xp + m1[c] * d;
        o2[row + c] = xp + m2[c] * d;
      }
    }
  }
}

function mix2(
  o0: Float32Array, o1: Float32Array, x: Float32Array, m0: Float32Array, m1: Float32Array,
  prev: Float32Array | null, B: number, T: number, C: number,
): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      if (t === 0) {
        for (let c = 0; c < C; c++) {
          const xp = prev ? prev[b * C + c] : 0;
          const d = x[row + c] - xp;
          o0[row + c] = xp + m0[c] * d;
          o1[row + c] = xp + m1[c] * d;
        }
        continue;
      }
      const prow = row - C;
      for (let c = 0; c < C; c++) {
        const xp = x[prow + c];
        const d = x[row + c] - xp;
        o0[row + c] = xp + m0[c] * d;
        o1[row + c] = xp + m1[c] * d;
      }
    }
  }
}

/**
 * Backward of the token-shift mix over whole sequences (the initial xx is zero, so no state gradient):
 *   dx[b,t] = sum_j mu_j * dout_j[b,t] + sum_j (1 - mu_j) * dout_j[b,t+1]
 *   dmu_j  += sum_{b,t} dout_j[b,t] * (x[b,t] - xx[b,t])
 * dx is assigned (accumulate false) or added to; it must not alias any dout_j.
 * `scratch` holds J*C doubles.
 */
export function tokenShiftMixBackward(
  dx: Float32Array, accumulate: boolean, dmus: readonly Float32Array[], douts: readonly Float32Array[],
  x: Float32Array, mus: readonly Float32Array[], B: number, T: number, C: number, scratch: Float64Array,
): void {
  const J = douts.length;
  if (J === 3) {
    mix3Backward(dx, accumulate, douts[0], douts[1], douts[2], x, mus[0], mus[1], mus[2], B, T, C, scratch);
  } else if (J === 2) {
    mix2Backward(dx, accumulate, douts[0], douts[1], x, mus[0], mus[1], B, T, C, scratch);
  } else throw new Error('tokenShiftMixBackward: 2 or 3 mixes');
  for (let j = 0; j < J; j++) {
    const dmu = dmus[j];
    for (let c = 0; c < C; c++) dmu[c] += scratch[j * C + c];
  }
}

function mix3Backward(
  dx: Float32Array, accumulate: boolean, d0: Float32Array, d1: Float32Array, d2: Float32Array, x: Float32Array,
  m0: Float32Array, m1: Float32Array, m2: Float32Array, B: number, T: number, C: number, acc: Float64Array,
): void {
  acc.fill(0, 0, 3 * C);
  const C2 = 2 * C;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      const last = t === T - 1;
      const nrow = row + C;
      for (let c = 0; c < C; c++) {
        const i = row + c;
        const xp = t > 0 ? x[i - C] : 0;
        const dd = x[i] - xp;
        const g0 = d0[i], g1 = d1[i], g2 = d2[i];
        acc[c] += g0 * dd;
        acc[C + c] += g1 * dd;
        acc[C2 + c] += g2 * dd;
        const a0 = m0[c], a1 = m1[c], a2 = m2[c];
        let g = a0 * g0 + a1 * g1 + a2 * g2;
        if (!last) g += (1 - a0) * d0[nrow + c] + (1 - a1) * d1[nrow + c] + (1 - a2) * d2[nrow + c];
        dx[i] = accumulate ? dx[i] + g : g;
      }
    }
  }
}

function mix2Backward(
  dx: Float32Array, accumulate: boolean, d0: Float32Array, d1: Float32Array, x: Float32Array,
  m0: Float32Array, m1: Float32Array, B: number, T: number, C: number, acc: Float64Array,
): void {
  acc.fill(0, 0, 2 * C);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      const last = t === T - 1;
      const nrow = row + C;
      for (let c = 0; c < C; c++) {
        const i = row + c;
        const xp = t > 0 ? x[i - C] : 0;
        const dd = x[i] - xp;
        const g0 = d0[i], g1 = d1[i];
        acc[c] += g0 * dd;
        acc[C + c] += g1 * dd;
        const a0 = m0[c], a1 = m1[c];
        let g = a0 * g0 + a1 * g1;
        if (!last) g += (1 - a0) * d0[nrow + c] + (1 - a1) * d1[nrow + c];
        dx[i] = accumulate ? dx[i] + g : g;
      }
    }
  }
}

/** The LayerNorm whose output is the mixes' input x: x = LN(inp) with these statistics. */
export interface InputLayerNorm {
  inp: Float32Array; // [B,T,C]
  mean: Float32Array; // [B*T]
  rstd: Float32Array; // [B*T]
  weight: Float32Array; // [C]
  dweight: Float32Array; // [C] (added to)
  dbias: Float32Array; // [C] (added to)
}

/**
 * Token-shift mix backward fused with the backward of the LayerNorm that produced x: the gradient
 * w.r.t. x is formed one row at a time in a small buffer and goes straight through the LayerNorm
 * backward, so it is never written out:
 *   g = dL/dx[b,t] (as in tokenShiftMixBackward),  xhat = (inp - mean) rstd,  h = g * weight
 *   dinp[b,t] += rstd (h - mean_c(h) - xhat mean_c(h xhat))
 * `scratch` holds 6 * C doubles.
 */
export function tokenShiftMixLnBackward(
  dinp: Float32Array, dmus: readonly Float32Array[], douts: readonly Float32Array[], x: Float32Array,
  mus: readonly Float32Array[], ln: InputLayerNorm, B: number, T: number, C: number, scratch: Float64Array,
): void {
  const J = douts.length;
  if (J !== 2 && J !== 3) throw new Error('tokenShiftMixLnBackward: 2 or 3 mixes');
  const acc = scratch.subarray(0, 3 * C); // dmu sums (the third unused for J = 2)
  const g = scratch.subarray(3 * C, 4 * C); // the row's dL/dx
  const dw = scratch.subarray(4 * C, 5 * C);
  const db = scratch.subarray(5 * C, 6 * C);
  acc.fill(0);
  dw.fill(0);
  db.fill(0);
  const { inp, mean, rstd, weight } = ln;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const n = b * T + t;
      const row = n * C;
      if (J === 3) mixRowGrad3(g, acc, douts[0], douts[1], douts[2], x, mus[0], mus[1], mus[2], row, t > 0, t < T - 1, C);
      else mixRowGrad2(g, acc, douts[0], douts[1], x, mus[0], mus[1], row, t > 0, t < T - 1, C);
      layerNormRowBackward(dinp, g, inp, mean[n], rstd[n], weight, dw, db, row, C);
    }
  }
  for (let j = 0; j < J; j++) {
    const dmu = dmus[j];
    for (let c = 0; c < C; c++) dmu[c] += acc[j * C + c];
  }
  for (let c = 0; c < C; c++) {
    ln.dweight[c] += dw[c];
    ln.dbias[c] += db[c];
  }
}

/** g[c] = dL/dx at one row from three mixes; acc += the mix parameter gradient terms. */
function mixRowGrad3(
  g: Float64Array, acc: Float64Array, d0: Float32Array, d1: Float32Array, d2: Float32Array, x: Float32Array,
  m0: Float32Array, m1: Float32Array, m2: Float32Array, row: number, hasPrev: boolean, hasNext: boolean, C: number,
): void {
  const C2 = 2 * C;
  const prow = hasPrev ? row - C : row;
  const pf = hasPrev ? 1 : 0; // xx = 0 at t = 0
  for (let c = 0; c < C; c++) {
    const i = row + c;
    const dd = x[i] - pf * x[prow + c];
    const g0 = d0[i], g1 = d1[i], g2 = d2[i];
    acc[c] += g0 * dd;
    acc[C + c] += g1 * dd;
    acc[C2 + c] += g2 * dd;
    g[c] = m0[c] * g0 + m1[c] * g1 + m2[c] * g2;
  }
  if (hasNext) {
    const nrow = row + C;
    for (let c = 0; c < C; c++) g[c] += (1 - m0[c]) * d0[nrow + c] + (1 - m1[c]) * d1[nrow + c] + (1 - m2[c]) * d2[nrow + c];
  }
}

function mixRowGrad2(
  g: Float64Array, acc: Float64Array, d0: Float32Array, d1: Float32Array, x: Float32Array,
  m0: Float32Array, m1: Float32Array, row: number, hasPrev: boolean, hasNext: boolean, C: number,
): void {
  const prow = hasPrev ? row - C : row;
  const pf = hasPrev ? 1 : 0;
  for (let c = 0; c < C; c++) {
    const i = row + c;
    const dd = x[i] - pf * x[prow + c];
    const g0 = d0[i], g1 = d1[i];
    acc[c] += g0 * dd;
    acc[C + c] += g1 * dd;
    g[c] = m0[c] * g0 + m1[c] * g1;
  }
  if (hasNext) {
    const nrow = row + C;
    for (let c = 0; c < C; c++) g[c] += (1 - m0[c]) * d0[nrow + c] + (1 - m1[c]) * d1[nrow + c];
  }
}

/** LayerNorm backward of one row: dinp[row..] += rstd (h - mean(h) - xhat mean(h xhat)), h = g * weight. */
function layerNormRowBackward(
  dinp: Float32Array, g: Float64Array, inp: Float32Array, m: number, rs: number, weight: Float32Array,
  dw: Float64Array, db: Float64Array, row: number, C: number,
): void {
  let sh = 0;
  let shx = 0;
  for (let c = 0; c < C; c++) {
    const xhat = (inp[row + c] - m) * rs;
    const gc = g[c];
    const h = gc * weight[c];
    sh += h;
    shx += h * xhat;
    dw[c] += gc * xhat;
    db[c] += gc;
  }
  sh /= C;
  shx /= C;
  for (let c = 0; c < C; c++) dinp[row + c] += rs * (g[c] * weight[c] - sh - (inp[row + c] - m) * rs * shx);
}

/**
 * The part of the token-shift backward that involves a non-zero start `prev` [B,C] (the backward
 * kernels above take xx = 0 at t = 0): dprev[b] = sum_j (1 - mu_j) dout_j[b,0] is assigned, and
 * dmu_j -= sum_b dout_j[b,0] prev[b] turns their x - 0 at t = 0 into x - prev.
 */
export function tokenShiftStartBackward(
  dprev: Float32Array, dmus: readonly Float32Array[], douts: readonly Float32Array[], mus: readonly Float32Array[],
  prev: Float32Array, B: number, T: number, C: number,
): void {
  for (let b = 0; b < B; b++) {
    const row = b * T * C;
    for (let c = 0; c < C; c++) {
      let g = 0;
      for (let j = 0; j < douts.length; j++) {
        const d = douts[j][row + c];
        g += (1 - mus[j][c]) * d;
        dmus[j][c] -= d * prev[b * C + c];
      }
      dprev[b * C + c] = g;
    }
  }
}
