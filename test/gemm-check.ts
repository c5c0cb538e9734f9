/** Shared checks for the GEMM tests: a float64 reference and a driver over transposes, sizes, alpha/beta, offsets. */
import assert from 'node:assert/strict';
import type { Gemm } from '../src/engine/gemm.js';
import { Rng } from '../src/engine/random.js';

/** alpha * op(A) op(B) + beta * C0, in float64. */
export function reference(
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float32Array, ao: number, B: Float32Array, bo: number, beta: number, C0: Float32Array, co: number,
): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++)
        s += (transA ? A[ao + p * M + i] : A[ao + i * K + p]) * (transB ? B[bo + j * K + p] : B[bo + p * N + j]);
      out[i * N + j] = alpha * s + (beta === 0 ? 0 : beta * C0[co + i * N + j]);
    }
  return out;
}

function randomArray(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

export interface Case {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  beta: number;
  ao: number;
  bo: number;
  co: number;
}

/**
 * Runs one case through `gemm` and compares with the float64 reference, element by element, within a
 * float32 rounding bound (1e-6 of the sum of the absolute values of the terms). Also checks that
 * nothing outside C's window was written and that beta = 0 ignores C's old contents (set to NaN).
 */
export function checkCase(gemm: Gemm, c: Case, rng: Rng): void {
  const { transA, transB, M, N, K, alpha, beta, ao, bo, co } = c;
  const A = randomArray(rng, ao + M * K + 3);
  const B = randomArray(rng, bo + K * N + 5);
  const C0 = randomArray(rng, co + M * N + 7);
  if (beta === 0) for (let x = co; x < co + M * N; x++) C0[x] = Number.NaN; // beta = 0 must ignore C's contents
  const C = C0.slice();
  const ref = reference(transA, transB, M, N, K, alpha, A, ao, B, bo, beta, C0, co);
  // Error bound of a float32 sum: a few ulps of the sum of the absolute values of its terms.
  const scale = reference(transA, transB, M, N, K, Math.abs(alpha), A.map(Math.abs), ao, B.map(Math.abs), bo, Math.abs(beta), C0.map(Math.abs), co);
  gemm.gemm({
    transA, transB, M, N, K, alpha, beta, A, B, C,
    ...(ao ? { aOffset: ao } : {}), ...(bo ? { bOffset: bo } : {}), ...(co ? { cOffset: co } : {}),
  });
  const label = `${gemm.name} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} M=${M} N=${N} K=${K} alpha=${alpha} beta=${beta} offsets=${ao},${bo},${co}`;
  for (let x = 0; x < M * N; x++) {
    const got = C[co + x];
    const want = ref[x];
    const tol = 1e-6 * scale[x] + 1e-7;
    if (!(Math.abs(got - want) <= tol)) assert.fail(`${label}: C[${x}] = ${got}, expected ${want} (tolerance ${tol})`);
  }
  for (let x = 0; x < co; x++) assert.ok(Object.is(C[x], C0[x]), `${label}: wrote before C's window at ${x}`);
  for (let x = co + M * N; x < C.length; x++) assert.ok(Object.is(C[x], C0[x]), `${label}: wrote after C's window at ${x}`);
}

export const TRANSPOSES: Array<[boolean, boolean]> = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** Odd and awkward sizes, including 1 and sizes around the kernels' unrolling and blocking. */
export const ODD_SIZES: Array<[number, number, number]> = [
  [1, 1, 1],
  [1, 3, 17],
  [3, 1, 5],
  [17, 3, 1],
  [3, 17, 129],
  [129, 17, 3],
  [17, 129, 33],
  [2, 5, 4],
  [5, 4, 257],
  [33, 260, 130],
];
