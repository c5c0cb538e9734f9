import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOrtGemm } from '../src/engine/gemm-ort.js';
import { loadNativeRowsGemm } from '../src/engine/kernels-native.js';
import { Rng } from '../src/engine/random.js';
import { checkCase } from './gemm-check.js';
import { nativeForTest } from './helpers/native.js';

const { skip } = nativeForTest();

// rows 1 to 5 (tiles of 2 rows and the odd one), columns around the tiles of 4 and 8, depths around the 8 lanes
const ROWS = [1, 2, 3, 5];
const COLUMNS = [1, 3, 4, 7, 8, 9, 17];
const DEPTHS = [1, 7, 8, 9, 33, 260];

test('native rows GEMM matches the float64 reference: NN and NT, odd sizes, alpha, beta, offsets', { skip }, () => {
  const gemm = loadNativeRowsGemm();
  const rng = new Rng(31);
  for (const transB of [false, true])
    for (const M of ROWS)
      for (const N of COLUMNS)
        for (const K of DEPTHS) {
          checkCase(gemm, { transA: false, transB, M, N, K, alpha: 1, beta: 0, ao: 0, bo: 0, co: 0 }, rng);
          checkCase(gemm, { transA: false, transB, M, N, K, alpha: -0.75, beta: 1.5, ao: 3, bo: 5, co: 2 }, rng);
        }
});

test('native rows GEMM refuses a transposed A and buffers that are too small', { skip }, () => {
  const gemm = loadNativeRowsGemm();
  const A = new Float32Array(8);
  const B = new Float32Array(8);
  const C = new Float32Array(4);
  assert.throws(() => gemm.gemm({ transA: true, transB: false, M: 2, N: 2, K: 2, A, B, C }), /transposed/);
  assert.throws(() => gemm.gemm({ transA: false, transB: true, M: 2, N: 2, K: 5, A, B, C }), RangeError);
  assert.throws(() => gemm.gemm({ transA: false, transB: true, M: 2, N: 2, K: 2, A, B, C, cOffset: 1 }), RangeError);
});

test('ORT GEMM hands products of few rows to the rows GEMM and the rest to ORT, results matching the reference', { skip }, () => {
  const gemm = createOrtGemm({ threads: 1, minMacs: 64, rows: { gemm: loadNativeRowsGemm(), maxRows: 4 } });
  const rng = new Rng(32);
  for (const [M, N, K] of [[1, 64, 96], [4, 33, 70], [5, 40, 40], [2, 3, 4]] as const)
    for (const transB of [false, true]) checkCase(gemm, { transA: false, transB, M, N, K, alpha: 1, beta: 0.5, ao: 1, bo: 2, co: 3 }, rng);
  checkCase(gemm, { transA: true, transB: false, M: 2, N: 64, K: 64, alpha: 1, beta: 0, ao: 0, bo: 0, co: 0 }, rng);
  // [1,64,96] x2 and [4,33,70] x2 by the rows GEMM; [5,40,40] x2 and the transposed A by ORT; [2,3,4] x2 below minMacs
  assert.equal(gemm.rowsCalls, 4);
  assert.equal(gemm.tsCalls, 2);
  assert.ok(gemm.ortCalls >= 3);
  assert.match(gemm.name, /native rows up to 4 rows/);
  gemm.dispose();
});

test('products of few rows below the TypeScript threshold go to the rows GEMM from its own threshold', { skip }, () => {
  const gemm = createOrtGemm({ threads: 1, minMacs: 32768, rows: { gemm: loadNativeRowsGemm(), maxRows: 4, minMacs: 512 } });
  const rng = new Rng(33);
  // 1x128x128 (16,384 multiply-adds) and 2x16x20 (640): rows GEMM; 1x8x8 (64): TypeScript; 8x64x64 (32,768 but 8 rows): ORT
  for (const [M, N, K] of [[1, 128, 128], [2, 16, 20], [1, 8, 8], [8, 64, 64]] as const)
    checkCase(gemm, { transA: false, transB: true, M, N, K, alpha: 1, beta: 0.5, ao: 1, bo: 2, co: 3 }, rng);
  assert.equal(gemm.rowsCalls, 2);
  assert.equal(gemm.tsCalls, 1);
  assert.equal(gemm.ortCalls, 1);
  gemm.dispose();
});
