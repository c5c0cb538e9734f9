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

/** x = max(x, 0)^2 in place over x[offset, offset + n) (a GEMM epilogue: Epilogue in ../gemm.ts). */
export function reluSquare(x: Float32Array, offset: number, n: number): void {
  for (let i = offset; i < offset + n; i++) {
    // Branch-free relu: (x + |x|) / 2 is exactly max(x, 0) and keeps NaN; a compare-and-branch on
    // random signs mispredicts half the time (5x slower over an [N,F] activation).
    const a = (x[i] + Math.abs(x[i])) * 0.5; // exact: 2x or 0, halved
    x[i] = a * a;
  }
}

/**
 * Backward of reluSquare given its output: d = d * 2 sqrt(squares) in place over d[offset, offset + n),
 * squares from sOffset. Each step rounded to float as native/activation.h computes it.
 */
export function reluSquareGrad(d: Float32Array, offset: number, squares: Float32Array, sOffset: number, n: number): void {
  const shift = sOffset - offset;
  for (let i = offset; i < offset + n; i++) d[i] *= 2 * Math.fround(Math.sqrt(squares[i + shift]));
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
