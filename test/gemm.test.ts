import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { Rng } from '../src/engine/random.js';
import { checkCase, ODD_SIZES, TRANSPOSES } from './gemm-check.js';

test('TypeScript GEMM matches the float64 reference on all transpose cases and odd sizes', () => {
  const rng = new Rng(1);
  for (const [transA, transB] of TRANSPOSES)
    for (const [M, N, K] of ODD_SIZES) checkCase(tsGemm, { transA, transB, M, N, K, alpha: 1, beta: 0, ao: 0, bo: 0, co: 0 }, rng);
});

test('TypeScript GEMM handles alpha, beta and offsets', () => {
  const rng = new Rng(2);
  for (const [transA, transB] of TRANSPOSES)
    for (const [alpha, beta] of [[0.5, 2], [1, 1], [-1.5, 0], [2, -0.25], [0, 3]])
      for (const [M, N, K] of [[7, 5, 3], [19, 33, 131], [1, 9, 2]])
        checkCase(tsGemm, { transA, transB, M, N, K, alpha, beta, ao: 3, bo: 11, co: 5 }, rng);
});

test('TypeScript GEMM crosses its K and N blocks correctly', () => {
  const rng = new Rng(3);
  for (const [transA, transB] of TRANSPOSES)
    checkCase(tsGemm, { transA, transB, M: 3, N: 300, K: 263, alpha: 1, beta: 1, ao: 1, bo: 2, co: 3 }, rng);
});

test('TypeScript GEMM with K = 0 scales C by beta', () => {
  const C = Float32Array.from([1, 2, 3, 4]);
  tsGemm.gemm({ transA: false, transB: false, M: 2, N: 2, K: 0, A: new Float32Array(0), B: new Float32Array(0), C, beta: 0.5 });
  assert.deepEqual(Array.from(C), [0.5, 1, 1.5, 2]);
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
