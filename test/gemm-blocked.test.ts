import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PACKED_MIN_ROWS, productsWith, type Gemm, type PackedB } from '../src/engine/gemm.js';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { useBlockedGemm } from '../src/engine/gemm-default.js';
import { createOrtGemm } from '../src/engine/gemm-ort.js';
import { loadNativeBlockedGemm, loadNativeKernels } from '../src/engine/kernels-native.js';
import { Rng } from '../src/engine/random.js';
import { tsKernels } from '../src/engine/kernels.js';
import { allocLstmActs, lstmBackward, lstmForward, type LstmParams } from '../src/engine/layers/lstm.js';
import { makeParam } from '../src/engine/tensor.js';
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

// Sizes around the register tiles (with AVX-512, 6 rows x 64 columns with 66 rows per work item, and
// 8 x 48 with 64, each product taking the one that pads its columns less; with AVX2, 6 x 16 and 60),
// the k slice (512) and the row length from which op(B) is packed even when not transposed (1024).
const CASES: Array<[number, number, number]> = [
  [1, 1, 1],
  [5, 15, 3],
  [6, 16, 64],
  [7, 17, 100],
  [59, 32, 9],
  [60, 33, 515],
  [61, 31, 2],
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
  [66, 64, 512],
  [67, 65, 513],
  [12, 63, 40],
  [133, 129, 11],
  [70, 88, 40],
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
  // weight gradients over many frames from fewer rows: 70 rows by the blocked GEMM, 50 rows by ORT
  checkCase(gemm, { transA: true, transB: false, M: 70, N: 30, K: 1100, alpha: 1, beta: 1, ao: 0, bo: 0, co: 0 }, rng);
  checkCase(gemm, { transA: true, transB: false, M: 50, N: 30, K: 1100, alpha: 1, beta: 1, ao: 0, bo: 0, co: 0 }, rng);
  checkCase(gemm, { transA: false, transB: true, M: 70, N: 30, K: 1100, alpha: 1, beta: 0, ao: 0, bo: 0, co: 0 }, rng);
  // 300 rows (four transposes) and the 70-row weight gradient by the blocked GEMM, the rest by ORT
  assert.equal(gemm.blockedCalls, 5);
  assert.ok(gemm.ortCalls >= 1);
  assert.match(gemm.name, /native blocked/);
  gemm.dispose();
});

/** The blocked GEMM's packed products as a Gemm of A not transposed (B packed on every call). */
function packedAsGemm(g: Gemm): Gemm {
  return {
    name: 'native packed',
    gemm: (a) => {
      if (a.transA) throw new Error('packed products take A as stored');
      const packed = g.packB!(a.transB, a.N, a.K, a.B.subarray(a.bOffset ?? 0));
      g.gemmPacked!({ M: a.M, alpha: a.alpha, A: a.A, aOffset: a.aOffset, packed, beta: a.beta, C: a.C, cOffset: a.cOffset });
    },
  };
}

test('packed products match the float64 reference and give the blocked GEMM\'s bits', { skip }, () => {
  const packed = packedAsGemm(blocked!);
  const rng = new Rng(44);
  for (const transB of [false, true])
    // (4, 12 and 36 rows: a last panel of 4 rows, which runs the short tile with A read in place)
    for (const [M, N, K] of [...CASES, [32, 2048, 512], [32, 512, 2048], [4, 512, 128], [4, 130, 600], [36, 200, 70]] as Array<[number, number, number]>) {
      if (M * N * K < 5e6) {
        checkCase(packed, { transA: false, transB, M, N, K, alpha: 1, beta: 0, ao: 0, bo: 0, co: 0 }, rng);
        checkCase(packed, { transA: false, transB, M, N, K, alpha: -0.75, beta: 1.5, ao: 3, bo: 5, co: 2 }, rng);
      }
      const A = Float32Array.from({ length: M * K }, () => rng.normal());
      const B = Float32Array.from({ length: K * N }, () => rng.normal());
      const C0 = Float32Array.from({ length: M * N }, () => rng.normal());
      const viaBlocked = C0.slice();
      const viaPacked = C0.slice();
      blocked!.gemm({ transA: false, transB, M, N, K, alpha: 0.5, beta: 1, A, B, C: viaBlocked });
      packed.gemm({ transA: false, transB, M, N, K, alpha: 0.5, beta: 1, A, B, C: viaPacked });
      assert.deepEqual(viaPacked, viaBlocked, `N${transB ? 'T' : 'N'} M=${M} N=${N} K=${K}`);
    }
});

test('packed products give the same bits on one thread and on two, and packing again reuses the buffer', { skip }, () => {
  const g = blocked!;
  const rng = new Rng(45);
  const [M, N, K] = [32, 700, 600];
  const A = Float32Array.from({ length: M * K }, () => rng.normal());
  const B = Float32Array.from({ length: N * K }, () => rng.normal());
  const out: Float32Array[] = [];
  let first: Float32Array | undefined;
  for (const threads of [1, 2]) {
    loadNativeKernels(threads);
    const packed = g.packB!(true, N, K, B, first ? { transB: true, N, K, data: first } : undefined);
    if (first) assert.equal(packed.data, first, 'the buffer passed in is reused');
    first = packed.data;
    const C = new Float32Array(M * N);
    g.gemmPacked!({ M, A, packed, C });
    out.push(C);
  }
  assert.deepEqual(out[0], out[1]);
  loadNativeKernels(2);
  assert.notEqual(g.packB!(true, N + 48, K, new Float32Array((N + 48) * K), { transB: true, N, K, data: first! }).data, first, 'a larger shape gets a new buffer');
});

test('packed products refuse buffers that are too small', { skip }, () => {
  const g = blocked!;
  const packed = g.packB!(false, 50, 10, new Float32Array(500));
  assert.throws(() => g.packB!(false, 50, 10, new Float32Array(499)), RangeError);
  assert.throws(() => g.gemmPacked!({ M: 4, A: new Float32Array(39), packed, C: new Float32Array(200) }), RangeError);
  assert.throws(() => g.gemmPacked!({ M: 4, A: new Float32Array(40), packed, C: new Float32Array(199) }), RangeError);
  assert.throws(() => g.gemmPacked!({ M: 4, A: new Float32Array(40), packed: { transB: false, N: 50, K: 10, data: new Float32Array(10) }, C: new Float32Array(200) }), RangeError);
});

test('productsWith packs B on a backend that can, for enough rows and products, and matches the plain products', { skip }, () => {
  const gemm = createOrtGemm({ threads: 1, minMacs: 64, blocked: { gemm: blocked!, use: useBlockedGemm } });
  const rng = new Rng(46);
  const [N, K] = [100, 70];
  const B = Float32Array.from({ length: N * K }, () => rng.normal());
  for (const [rows, count, packs] of [[16, 3, true], [16, 1, false], [PACKED_MIN_ROWS, 4, true], [PACKED_MIN_ROWS - 1, 3, false]] as Array<[number, number, boolean]>) {
    const A = Float32Array.from({ length: count * rows * K }, () => rng.normal());
    const before = gemm.packedCalls;
    const scratch: { packed?: PackedB } = {};
    const product = productsWith(gemm, true, N, K, B, { rows, count }, scratch);
    const got = new Float32Array(count * rows * N);
    for (let t = 0; t < count; t++) product(rows, A, t * rows * K, got, t * rows * N, 0);
    assert.equal(gemm.packedCalls - before, packs ? count : 0, `rows ${rows}, ${count} products`);
    assert.equal(scratch.packed !== undefined, packs);
    const want = new Float32Array(count * rows * N);
    tsGemm.gemm({ transA: false, transB: true, M: count * rows, N, K, A, B, C: want });
    for (let x = 0; x < want.length; x++) assert.ok(Math.abs(got[x] - want[x]) <= 1e-4 * (1 + Math.abs(want[x])), `element ${x}`);
  }
  gemm.dispose();
});

test('LSTM layer: packed recurrent products give the plain GEMM\'s outputs and gradients, start state included', { skip }, () => {
  const packing = createOrtGemm({ threads: 1, minMacs: 64, blocked: { gemm: blocked!, use: useBlockedGemm } });
  const rng = new Rng(47);
  const [T, B, I, H] = [4, 9, 7, 50];
  const G = 4 * H;
  const P: LstmParams = {
    weightIh: makeParam('wih', [G, I], true), weightHh: makeParam('whh', [G, H], true), biasIh: makeParam('bih', [G], false), biasHh: makeParam('bhh', [G], false),
  };
  for (const p of Object.values(P)) for (let i = 0; i < p.data.length; i++) p.data[i] = 0.3 * rng.normal();
  const x = Float32Array.from({ length: T * B * I }, () => rng.normal());
  const h0 = Float32Array.from({ length: B * H }, () => rng.normal());
  const c0 = Float32Array.from({ length: B * H }, () => rng.normal());
  const dOut = Float32Array.from({ length: T * B * H }, () => rng.normal());
  const run = (gemm: Gemm) => {
    for (const p of Object.values(P)) p.grad.fill(0);
    const acts = allocLstmActs(T, B, H);
    lstmForward(gemm, tsKernels, x, P, acts, h0, c0, T, B, I, H, new Float32Array(G), {});
    const dx = new Float32Array(T * B * I);
    const start = { dh0: new Float32Array(B * H), dc0: new Float32Array(B * H) };
    lstmBackward(gemm, tsKernels, dx, dOut.slice(), x, P, acts, T, B, I, H, new Float32Array(T * B * G), new Float32Array(B * H), start, {});
    return { h: acts.h.slice(), dx, dh0: start.dh0, grads: Object.values(P).map((p) => p.grad.slice()) };
  };
  const plain = run(tsGemm);
  const packed = run(packing);
  assert.equal(packing.packedCalls, 2 * T, 'every recurrent product forward and backward');
  const close = (what: string, got: Float32Array, want: Float32Array) => {
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  };
  close('h', packed.h, plain.h);
  close('dx', packed.dx, plain.dx);
  close('dh0', packed.dh0, plain.dh0);
  plain.grads.forEach((g, j) => close(`gradient ${j}`, packed.grads[j], g));
  packing.dispose();
});
