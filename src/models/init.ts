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
      let dot = 0;
      for (let q = 0; q < len; q++) dot += v[vi + q] * v[vj + q];
      for (let q = 0; q < len; q++) v[vi + q] -= dot * v[vj + q];
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
