import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Gemm } from '../src/engine/gemm.js';
import { useBlockedGemm } from '../src/engine/gemm-default.js';
import { createOrtGemm } from '../src/engine/gemm-ort.js';
import { loadNativeBlockedGemm, loadNativeKernels } from '../src/engine/kernels-native.js';
import { Rng } from '../src/engine/random.js';
import { checkCase, TRANSPOSES } from './gemm-check.js';
import { nativeForTest } from './helpers/native.js';

const native = nativeForTest();

function blockedOrSkip(): { gemm: Gemm | null; skip: string | false } {
  if (native.skip) return { gemm: null, skip: native.skip };
  try {
    return { gemm: loadNativeBlockedGemm(), skip: false };
  } catch (e) {
    return { gemm: null, skip: (e as Error).message };
  }
}
const { gemm: blocked, skip } = blockedOrSkip();

// Sizes around the register tile (8 rows x 48 columns), the rows per work item (64), the k slice (512)
// and the row length from which op(B) is packed even when not transposed (1024).
const CASES: Array<[number, number, number]> = [
  [1, 1, 1],
  [7, 47, 5],
  [8, 48, 512],
  [9, 49, 513],
  [63, 96, 33],
  [64, 97, 511],
  [65, 1, 1030],
  [130, 145, 70],
  [3, 200, 17],
  [17, 1024, 9],
  [9, 1057, 520],
];

test('native blocked GEMM matches the float64 reference: four transposes, edges of every block, alpha, beta, offsets', { skip }, () => {
  const gemm = blocked!;
  const rng = new Rng(41);
  for (const [transA, transB] of TRANSPOSES)
    for (const [M, N, K] of CASES) {
      checkCase(gemm, { transA, transB, M, N, K, alpha: 1, beta: 0, ao: 0, bo: 0, co: 0 }, rng);
      checkCase(gemm, { transA, transB, M, N, K, alpha: -0.75, beta: 1.5, ao: 3, bo: 5, co: 2 }, rng);
    }
  checkCase(gemm, { transA: false, transB: false, M: 5, N: 6, K: 7, alpha: 0, beta: 0.5, ao: 0, bo: 0, co: 0 }, rng);
  checkCase(gemm, { transA: false, transB: true, M: 5, N: 6, K: 0, alpha: 1, beta: 0, ao: 0, bo: 0, co: 1 }, rng);
});

test('native blocked GEMM gives the same bits on one thread and on two', { skip }, () => {
  const gemm = blocked!;
  const rng = new Rng(42);
  const [M, N, K] = [200, 150, 1100];
  for (const [transA, transB] of TRANSPOSES) {
    const A = Float32Array.from({ length: M * K }, () => rng.normal());
    const B = Float32Array.from({ length: K * N }, () => rng.normal());
    const C0 = Float32Array.from({ length: M * N }, () => rng.normal());
    const out: Float32Array[] = [];
    for (const threads of [1, 2]) {
      loadNativeKernels(threads); // sets the addon's pool, which the blocked GEMM runs on
      const C = C0.slice();
      gemm.gemm({ transA, transB, M, N, K, alpha: 0.5, beta: 1, A, B, C });
      out.push(C);
    }
    assert.deepEqual(out[0], out[1], `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`);
  }
  loadNativeKernels(2);
});

test('native blocked GEMM refuses buffers that are too small', { skip }, () => {
  const gemm = blocked!;
  const A = new Float32Array(8);
  const B = new Float32Array(8);
  const C = new Float32Array(4);
  assert.throws(() => gemm.gemm({ transA: true, transB: false, M: 2, N: 2, K: 5, A, B, C }), RangeError);
  assert.throws(() => gemm.gemm({ transA: false, transB: true, M: 2, N: 2, K: 2, A, B, C, cOffset: 1 }), RangeError);
});

test('ORT GEMM hands the products useBlockedGemm picks to the blocked GEMM, results matching the reference', { skip }, () => {
  const gemm = createOrtGemm({ threads: 1, minMacs: 64, blocked: { gemm: blocked!, use: useBlockedGemm } });
  const rng = new Rng(43);
  for (const [transA, transB] of TRANSPOSES) {
    checkCase(gemm, { transA, transB, M: 300, N: 50, K: 60, alpha: 1, beta: 1, ao: 1, bo: 2, co: 3 }, rng);
    checkCase(gemm, { transA, transB, M: 40, N: 50, K: 60, alpha: 1, beta: 0, ao: 0, bo: 0, co: 0 }, rng);
  }
  // 300 rows by the blocked GEMM, 40 rows by ORT
  assert.equal(gemm.blockedCalls, 4);
  assert.ok(gemm.ortCalls >= 1);
  assert.match(gemm.name, /native blocked/);
  gemm.dispose();
});
