import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createOrtGemm, gemmModel, loadOrtBinding, ORT_NODE_VERSION } from '../src/engine/gemm-ort.js';
import { createGemm, defaultGemm } from '../src/engine/gemm-default.js';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { Rng } from '../src/engine/random.js';
import { checkCase, ODD_SIZES, TRANSPOSES } from './gemm-check.js';

const require = createRequire(import.meta.url);

test('onnxruntime-node is the pinned version whose internal binding gemm-ort.ts uses', () => {
  const pkg = require('onnxruntime-node/package.json') as { version: string };
  assert.equal(pkg.version, ORT_NODE_VERSION, 'onnxruntime-node changed version: re-check src/engine/gemm-ort.ts against its dist/binding');
});

test('the internal binding has the synchronous session API, symbolic dims and pre-allocated outputs', () => {
  const binding = loadOrtBinding();
  const session = new binding.InferenceSession();
  const model = gemmModel(false, true, 1, 1, true);
  session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, { intraOpNumThreads: 1 });
  assert.deepEqual(session.inputMetadata.map((m) => [m.name, m.type, m.shape, m.symbolicDimensions]), [
    ['A', 1, [-1, -1], ['M', 'K']],
    ['B', 1, [-1, -1], ['N', 'K']],
    ['C', 1, [-1, -1], ['M', 'N']],
  ]);
  assert.deepEqual(session.outputMetadata.map((m) => [m.name, m.type, m.shape]), [['Y', 1, [-1, -1]]]);
  // A = [[1, 2]], B^T = [[3, 4], [5, 6]] -> A B^T = [[11, 17]]; C = [[1, 1]] is both input and output.
  const backing = new Float32Array([9, 1, 2, 9]);
  const C = new Float32Array([1, 1]);
  const cpu = (dims: number[], data: Float32Array) => ({ location: 'cpu' as const, type: 'float32' as const, dims, data });
  const out = session.run(
    { A: cpu([1, 2], backing.subarray(1, 3)), B: cpu([2, 2], new Float32Array([3, 4, 5, 6])), C: cpu([1, 2], C) },
    { Y: cpu([1, 2], C) },
    {},
  );
  assert.ok(typeof out === 'object' && out !== null && 'Y' in out, 'run() returns the fetched outputs by name');
  assert.deepEqual(Array.from(C), [12, 18], 'run() is synchronous and writes into the pre-allocated output');
  session.dispose();
});

test('ORT GEMM matches the float64 reference on all transpose cases and odd sizes', () => {
  const gemm = createOrtGemm({ minMacs: 0, threads: 2 });
  const rng = new Rng(11);
  for (const [transA, transB] of TRANSPOSES)
    for (const [M, N, K] of ODD_SIZES) checkCase(gemm, { transA, transB, M, N, K, alpha: 1, beta: 0, ao: 0, bo: 0, co: 0 }, rng);
  assert.equal(gemm.tsCalls, 0, 'with minMacs 0 every call goes to ORT');
  gemm.dispose();
});

test('ORT GEMM handles alpha, beta (accumulating into C) and offsets into larger buffers', () => {
  const gemm = createOrtGemm({ minMacs: 0, threads: 2 });
  const rng = new Rng(12);
  for (const [transA, transB] of TRANSPOSES)
    for (const [alpha, beta] of [[0.5, 2], [1, 1], [-1.5, 0], [2, -0.25], [0, 3]])
      for (const [M, N, K] of [[7, 5, 3], [19, 33, 131], [1, 9, 2], [64, 70, 65]])
        checkCase(gemm, { transA, transB, M, N, K, alpha, beta, ao: 3, bo: 11, co: 5 }, rng);
  gemm.dispose();
});

test('ORT GEMM falls back to TypeScript below its threshold and for empty products', () => {
  const gemm = createOrtGemm({ minMacs: 1000, threads: 1 });
  const rng = new Rng(13);
  checkCase(gemm, { transA: true, transB: false, M: 5, N: 6, K: 7, alpha: 1, beta: 1, ao: 0, bo: 0, co: 0 }, rng);
  assert.equal(gemm.tsCalls, 1);
  checkCase(gemm, { transA: false, transB: true, M: 20, N: 10, K: 10, alpha: 1, beta: 1, ao: 0, bo: 0, co: 0 }, rng);
  assert.equal(gemm.ortCalls, 1);
  const C = Float32Array.from([1, 2]);
  gemm.gemm({ transA: false, transB: false, M: 1, N: 2, K: 0, A: new Float32Array(0), B: new Float32Array(0), C, beta: 2 });
  assert.deepEqual(Array.from(C), [2, 4]);
  gemm.dispose();
});

test('ORT GEMM rejects buffers that are too small instead of reading past them', () => {
  const gemm = createOrtGemm({ minMacs: 0, threads: 1 });
  const A = new Float32Array(6);
  const B = new Float32Array(6);
  assert.throws(() => gemm.gemm({ transA: false, transB: false, M: 2, N: 3, K: 3, A, B: new Float32Array(8), C: new Float32Array(6) }), /B too small/);
  assert.throws(() => gemm.gemm({ transA: false, transB: false, M: 2, N: 3, K: 3, A, B: new Float32Array(9), C: new Float32Array(6), cOffset: 1 }), /C too small/);
  assert.throws(() => gemm.gemm({ transA: false, transB: false, M: 2, N: 3, K: 3, A, B, C: new Float32Array(6), aOffset: 1 }), /A too small/);
  gemm.dispose();
});

test('the ORT and TypeScript GEMMs agree at a layer-sized shape', () => {
  const gemm = createOrtGemm();
  const rng = new Rng(14);
  const [M, N, K] = [64, 256, 512];
  const A = Float32Array.from({ length: M * K }, () => rng.normal());
  const B = Float32Array.from({ length: N * K }, () => rng.normal());
  const C1 = Float32Array.from({ length: M * N }, () => rng.normal());
  const C2 = C1.slice();
  gemm.gemm({ transA: false, transB: true, M, N, K, A, B, C: C1, beta: 1 });
  assert.equal(C1.length, M * N, 'the caller\'s output buffer is never detached');
  assert.equal(A.length, M * K);
  assert.equal(B.length, N * K);
  tsGemm.gemm({ transA: false, transB: true, M, N, K, A, B, C: C2, beta: 1 });
  let worst = 0;
  for (let i = 0; i < M * N; i++) worst = Math.max(worst, Math.abs(C1[i] - C2[i]));
  assert.ok(worst < 1e-3, `max difference ${worst}`);
  gemm.dispose();
});

test('backend selection: ts and ort can be forced, auto prefers ORT', () => {
  assert.equal(createGemm({ backend: 'ts' }), tsGemm);
  const ort = createGemm({ backend: 'ort', threads: 1 });
  assert.match(ort.name, /onnxruntime/);
  assert.match(createGemm({ backend: 'auto', threads: 1 }).name, /onnxruntime/);
  const d = defaultGemm();
  assert.equal(d, defaultGemm(), 'defaultGemm() is shared');
  const forced = process.env.RWKV_MUSIC_GEMM;
  if (forced === 'ts') assert.equal(d, tsGemm);
  else assert.match(d.name, /onnxruntime/);
});

test('ORT GEMM splits large outputs into row blocks and still matches the reference', () => {
  const gemm = createOrtGemm({ minMacs: 0, threads: 2, chunkFloats: 64 });
  const rng = new Rng(15);
  for (const [transA, transB] of TRANSPOSES)
    for (const [M, N, K] of [[70, 3, 5], [100, 2, 9], [33, 5, 4]]) {
      const before = gemm.ortCalls;
      checkCase(gemm, { transA, transB, M, N, K, alpha: 1.5, beta: 0.5, ao: 2, bo: 1, co: 3 }, rng);
      const calls = gemm.ortCalls - before;
      if (!transA) assert.ok(calls > 1, `NN/NT with M*N > chunkFloats runs as several calls (${calls})`);
      else assert.equal(calls, 1);
    }
  gemm.dispose();
});
