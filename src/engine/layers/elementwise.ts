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
