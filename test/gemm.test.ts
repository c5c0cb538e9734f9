import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { Rng } from '../src/engine/random.js';

function naive(transA: boolean, transB: boolean, M: number, N: number, K: number, A: Float32Array, B: Float32Array): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let p = 0; p < K; p++) s += (transA ? A[p * M + i] : A[i * K + p]) * (transB ? B[j * K + p] : B[p * N + j]);
      C[i * N + j] = s;
    }
  return C;
}

test('TypeScript GEMM matches the naive triple loop on all transpose cases, with alpha and beta', () => {
  const rng = new Rng(1);
  const [M, N, K] = [7, 5, 3];
  for (const transA of [false, true])
    for (const transB of [false, true]) {
      const A = Float32Array.from({ length: M * K }, () => rng.normal());
      const B = Float32Array.from({ length: K * N }, () => rng.normal());
      const C0 = Float32Array.from({ length: M * N }, () => rng.normal());
      const C = C0.slice();
      tsGemm.gemm({ transA, transB, M, N, K, A, B, C, alpha: 0.5, beta: 2 });
      const ref = naive(transA, transB, M, N, K, A, B);
      for (let i = 0; i < M * N; i++) assert.ok(Math.abs(C[i] - (0.5 * ref[i] + 2 * C0[i])) < 1e-5, `case ${transA},${transB} at ${i}`);
    }
});

test('Rng is deterministic for a seed and restores its state', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const first = [a.next(), a.next(), a.next()];
  assert.deepEqual(first, [b.next(), b.next(), b.next()]);
  const saved = a.getState();
  const x = a.next();
  a.setState(saved);
  assert.equal(a.next(), x);
  assert.notEqual(first[0], new Rng(43).next());
});
