import { applyEpilogue, type Gemm, type GemmArgs } from './gemm.js';

/**
 * Portable GEMM in TypeScript: the browser's implementation and the reference in tests.
 *
 * Two kernels do the work, both reading memory contiguously in their inner loop:
 *  - "NN" (B not transposed): C[i, :] += sum_p a[i, p] * B[p, :], two rows of C and four p at a time so
 *    each load of B feeds two rows and each pass over C does four multiply-adds per element; blocked over
 *    K and N to keep B's panel in cache.
 *  - "NT" (B transposed): C[i, j] = dot(a[i, :], B[j, :]), a 2x4 tile of dot products at a time so each
 *    load feeds two multiply-adds (a 1x8 tile for a single row).
 * A transposed A is first copied into a row-major scratch matrix (O(MK) against the O(MNK) product).
 * Sums are formed in float64 (JavaScript numbers) and rounded to float32 when stored.
 */

let scratch = new Float32Array(0);

function scratchOf(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/** Blocking of the NN kernel: a KB x NB panel of B (128 KB of float32) stays in L2 across the rows of A. */
const KB = 128;
const NB = 256;

/** C[co + i*N + j] += alpha * sum_p A[ao + i*K + p] * B[bo + p*N + j], two rows of C per pass. */
function kernelNN(
  M: number, N: number, K: number, alpha: number,
  A: Float32Array, ao: number, B: Float32Array, bo: number, C: Float32Array, co: number,
): void {
  for (let j0 = 0; j0 < N; j0 += NB) {
    const j1 = Math.min(N, j0 + NB);
    for (let p0 = 0; p0 < K; p0 += KB) {
      const p1 = Math.min(K, p0 + KB);
      let i = 0;
      for (; i + 1 < M; i += 2) {
        const ar = ao + i * K;
        const ar2 = ar + K;
        const cr = co + i * N;
        const cr2 = cr + N;
        let p = p0;
        for (; p + 3 < p1; p += 4) {
          const a0 = alpha * A[ar + p];
          const a1 = alpha * A[ar + p + 1];
          const a2 = alpha * A[ar + p + 2];
          const a3 = alpha * A[ar + p + 3];
          const d0 = alpha * A[ar2 + p];
          const d1 = alpha * A[ar2 + p + 1];
          const d2 = alpha * A[ar2 + p + 2];
          const d3 = alpha * A[ar2 + p + 3];
          const b0 = bo + p * N;
          const b1 = b0 + N;
          const b2 = b1 + N;
          const b3 = b2 + N;
          for (let j = j0; j < j1; j++) {
            const x0 = B[b0 + j];
            const x1 = B[b1 + j];
            const x2 = B[b2 + j];
            const x3 = B[b3 + j];
            C[cr + j] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
            C[cr2 + j] += d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3;
          }
        }
        for (; p < p1; p++) {
          const a0 = alpha * A[ar + p];
          const d0 = alpha * A[ar2 + p];
          const b0 = bo + p * N;
          for (let j = j0; j < j1; j++) {
            const x = B[b0 + j];
            C[cr + j] += a0 * x;
            C[cr2 + j] += d0 * x;
          }
        }
      }
      if (i < M) {
        const ar = ao + i * K;
        const cr = co + i * N;
        let p = p0;
        for (; p + 3 < p1; p += 4) {
          const a0 = alpha * A[ar + p];
          const a1 = alpha * A[ar + p + 1];
          const a2 = alpha * A[ar + p + 2];
          const a3 = alpha * A[ar + p + 3];
          const b0 = bo + p * N;
          const b1 = b0 + N;
          const b2 = b1 + N;
          const b3 = b2 + N;
          for (let j = j0; j < j1; j++) C[cr + j] += a0 * B[b0 + j] + a1 * B[b1 + j] + a2 * B[b2 + j] + a3 * B[b3 + j];
        }
        for (; p < p1; p++) {
          const a0 = alpha * A[ar + p];
          const b0 = bo + p * N;
          for (let j = j0; j < j1; j++) C[cr + j] += a0 * B[b0 + j];
        }
      }
    }
  }
}

/** C[co + i*N + j] += alpha * sum_p A[ao + i*K + p] * B[bo + j*K + p] */
function kernelNT(
  M: number, N: number, K: number, alpha: number,
  A: Float32Array, ao: number, B: Float32Array, bo: number, C: Float32Array, co: number,
): void {
  let i = 0;
  for (; i + 1 < M; i += 2) {
    const a0r = ao + i * K;
    const a1r = a0r + K;
    const c0r = co + i * N;
    const c1r = c0r + N;
    let j = 0;
    for (; j + 3 < N; j += 4) {
      const b0r = bo + j * K;
      const b1r = b0r + K;
      const b2r = b1r + K;
      const b3r = b2r + K;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let p = 0; p < K; p++) {
        const x0 = A[a0r + p];
        const x1 = A[a1r + p];
        const y0 = B[b0r + p];
        const y1 = B[b1r + p];
        const y2 = B[b2r + p];
        const y3 = B[b3r + p];
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
      }
      C[c0r + j] += alpha * s00; C[c0r + j + 1] += alpha * s01; C[c0r + j + 2] += alpha * s02; C[c0r + j + 3] += alpha * s03;
      C[c1r + j] += alpha * s10; C[c1r + j + 1] += alpha * s11; C[c1r + j + 2] += alpha * s12; C[c1r + j + 3] += alpha * s13;
    }
    for (; j < N; j++) {
      const br = bo + j * K;
      let s0 = 0, s1 = 0;
      for (let p = 0; p < K; p++) {
        const y = B[br + p];
        s0 += A[a0r + p] * y;
        s1 += A[a1r + p] * y;
      }
      C[c0r + j] += alpha * s0;
      C[c1r + j] += alpha * s1;
    }
  }
  if (i < M) {
    const ar = ao + i * K;
    const cr = co + i * N;
    let j = 0;
    // One row (an RNN step at batch 1): eight dot products at a time, so that eight independent sums
    // hide the latency of the additions; each sum still runs over p in order.
    for (; j + 7 < N; j += 8) {
      const b0r = bo + j * K;
      const b1r = b0r + K;
      const b2r = b1r + K;
      const b3r = b2r + K;
      const b4r = b3r + K;
      const b5r = b4r + K;
      const b6r = b5r + K;
      const b7r = b6r + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      for (let p = 0; p < K; p++) {
        const x = A[ar + p];
        s0 += x * B[b0r + p]; s1 += x * B[b1r + p]; s2 += x * B[b2r + p]; s3 += x * B[b3r + p];
        s4 += x * B[b4r + p]; s5 += x * B[b5r + p]; s6 += x * B[b6r + p]; s7 += x * B[b7r + p];
      }
      C[cr + j] += alpha * s0; C[cr + j + 1] += alpha * s1; C[cr + j + 2] += alpha * s2; C[cr + j + 3] += alpha * s3;
      C[cr + j + 4] += alpha * s4; C[cr + j + 5] += alpha * s5; C[cr + j + 6] += alpha * s6; C[cr + j + 7] += alpha * s7;
    }
    for (; j + 3 < N; j += 4) {
      const b0r = bo + j * K;
      const b1r = b0r + K;
      const b2r = b1r + K;
      const b3r = b2r + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < K; p++) {
        const x = A[ar + p];
        s0 += x * B[b0r + p]; s1 += x * B[b1r + p]; s2 += x * B[b2r + p]; s3 += x * B[b3r + p];
      }
      C[cr + j] += alpha * s0; C[cr + j + 1] += alpha * s1; C[cr + j + 2] += alpha * s2; C[cr + j + 3] += alpha * s3;
    }
    for (; j < N; j++) {
      const br = bo + j * K;
      let s = 0;
      for (let p = 0; p < K; p++) s += A[ar + p] * B[br + p];
      C[cr + j] += alpha * s;
    }
  }
}

/** C[co..] += alpha op(A) op(B). */
function product(args: GemmArgs, alpha: number, ao: number, bo: number, co: number): void {
  const { transA, transB, M, N, K, A, B, C } = args;
  let a = A;
  let aOff = ao;
  if (transA) {
    // A is stored [K, M]; copy it to row-major [M, K].
    a = scratchOf(M * K);
    aOff = 0;
    for (let p = 0; p < K; p++) {
      const src = ao + p * M;
      for (let i = 0; i < M; i++) a[i * K + p] = A[src + i];
    }
  }
  if (transB) kernelNT(M, N, K, alpha, a, aOff, B, bo, C, co);
  else kernelNN(M, N, K, alpha, a, aOff, B, bo, C, co);
}

export const tsGemm: Gemm = {
  name: 'typescript',
  gemm(args: GemmArgs): void {
    const { M, N, K, C } = args;
    const alpha = args.alpha ?? 1;
    const beta = args.beta ?? 0;
    const co = args.cOffset ?? 0;
    const cEnd = co + M * N;
    if (beta === 0) C.fill(0, co, cEnd);
    else if (beta !== 1) for (let x = co; x < cEnd; x++) C[x] *= beta;
    if (!(M === 0 || N === 0 || K === 0 || alpha === 0)) product(args, alpha, args.aOffset ?? 0, args.bOffset ?? 0, co);
    applyEpilogue(args);
  },
};
