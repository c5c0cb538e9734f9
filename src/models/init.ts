/** Seeded weight initialisers. */
import type { Rng } from '../engine/random.js';

/** x ~ U(-bound, bound). */
export function uniformInit(x: Float32Array, bound: number, rng: Rng): void {
  for (let i = 0; i < x.length; i++) x[i] = (2 * rng.next() - 1) * bound;
}

/**
 * W [rows, cols] with orthonormal rows (rows <= cols) or columns (rows > cols), times gain,
 * like torch.nn.init.orthogonal_: modified Gram-Schmidt over Gaussian vectors.
 */
export function orthogonalInit(W: Float32Array, rows: number, cols: number, gain: number, rng: Rng): void {
  const m = Math.min(rows, cols);
  const len = Math.max(rows, cols);
  const v = new Float64Array(m * len); // m vectors of length len
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  for (let i = 0; i < m; i++) {
    const vi = i * len;
    for (let j = 0; j < i; j++) {
      const vj = j * len;
      // four partial sums break the dependency chain of one long sum
      let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
      let q = 0;
      for (; q + 3 < len; q += 4) {
        d0 += v[vi + q] * v[vj + q];
        d1 += v[vi + q + 1] * v[vj + q + 1];
        d2 += v[vi + q + 2] * v[vj + q + 2];
        d3 += v[vi + q + 3] * v[vj + q + 3];
      }
      for (; q < len; q++) d0 += v[vi + q] * v[vj + q];
      const dot = d0 + d1 + d2 + d3;
      for (q = 0; q < len; q++) v[vi + q] -= dot * v[vj + q];
    }
    let norm = 0;
    for (let q = 0; q < len; q++) norm += v[vi + q] * v[vi + q];
    norm = Math.sqrt(norm);
    for (let q = 0; q < len; q++) v[vi + q] /= norm;
  }
  if (rows <= cols) {
    for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) W[r * cols + q] = gain * v[r * len + q];
  } else {
    for (let r = 0; r < rows; r++) for (let q = 0; q < cols; q++) W[r * cols + q] = gain * v[q * len + r];
  }
}
