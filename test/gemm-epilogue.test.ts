import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEpilogue, type Epilogue, type Gemm, type GemmArgs } from '../src/engine/gemm.js';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { createOrtGemm } from '../src/engine/gemm-ort.js';
import { loadNativeBlockedGemm, loadNativeRowsGemm } from '../src/engine/kernels-native.js';
import { Rng } from '../src/engine/random.js';
import { nativeForTest } from './helpers/native.js';

const native = nativeForTest();

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

function sameBits(what: string, actual: Float32Array, expected: Float32Array): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++)
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
}

test('the epilogues compute relu(x)^2 and d * 2 relu(x) from relu(x)^2, NaN kept', () => {
  const rng = new Rng(7);
  const x = randomArray(rng, 2000, 3);
  x.set([0, -0, NaN, 1e-3, -1e-3, 40, -40], 0);
  const sq = x.slice();
  applyEpilogue({ transA: false, transB: false, M: 40, N: 50, K: 1, A: x, B: x, C: sq, epilogue: { kind: 'reluSquare' } });
  const d = randomArray(rng, 2000);
  const grad = d.slice();
  applyEpilogue({ transA: false, transB: false, M: 2000, N: 1, K: 1, A: x, B: x, C: grad, epilogue: { kind: 'reluSquareGrad', squares: sq } });
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) {
      assert.ok(Number.isNaN(sq[i]) && Number.isNaN(grad[i]), 'NaN stays NaN');
      continue;
    }
    const relu = Math.max(x[i], 0);
    assert.equal(sq[i], Math.fround(relu * relu), `relu^2 at ${i}`);
    // sqrt of a rounded square is the number itself: the gradient is exactly d * 2 relu(x)
    assert.equal(grad[i], Math.fround(d[i] * 2 * relu), `gradient at ${i}`);
  }
});

/** Every backend the machine has, each routing the products it takes to one path. */
function backends(): Array<{ name: string; gemm: Gemm; rowsOnly?: boolean; dispose?: () => void }> {
  const list: Array<{ name: string; gemm: Gemm; rowsOnly?: boolean; dispose?: () => void }> = [{ name: 'typescript', gemm: tsGemm }];
  const ort = createOrtGemm({ threads: 1, minMacs: 0 });
  list.push({ name: 'ORT', gemm: ort, dispose: () => ort.dispose() });
  if (!native.skip) {
    list.push({ name: 'native rows', gemm: loadNativeRowsGemm(), rowsOnly: true });
    try {
      list.push({ name: 'native blocked', gemm: loadNativeBlockedGemm() });
    } catch {
      // an addon without wide vectors has no blocked GEMM
    }
  }
  return list;
}

test('every backend applies an epilogue as applyEpilogue after the plain product would, to the bit', () => {
  const rng = new Rng(11);
  // partial register tiles, several k slices (512 each), nothing to sum (K = 0), offsets, beta 0 and 1
  const shapes: Array<[number, number, number]> = [[4, 70, 33], [13, 130, 1030], [67, 64, 512], [70, 2048, 40], [300, 96, 513], [3, 20, 0], [40, 20, 0]];
  for (const b of backends()) {
    for (const [M, N, K] of shapes) {
      if (b.rowsOnly && M > 4) continue;
      for (const transA of b.rowsOnly ? [false] : [false, true])
        for (const beta of [0, 1]) {
          const A = randomArray(rng, M * K + 3), B = randomArray(rng, K * N + 2), C0 = randomArray(rng, M * N + 5);
          const squares = new Float32Array(M * N + 1);
          for (let i = 0; i < squares.length; i++) squares[i] = Math.fround(Math.max(rng.normal(), 0) ** 2);
          const epilogues: Epilogue[] = [{ kind: 'reluSquare' }, { kind: 'reluSquareGrad', squares, squaresOffset: 1 }];
          for (const epilogue of epilogues) {
            const args = (C: Float32Array): GemmArgs => ({ transA, transB: true, M, N, K, A, aOffset: 3, B, bOffset: 2, C, cOffset: 5, beta });
            const plain = C0.slice();
            b.gemm.gemm(args(plain));
            applyEpilogue({ ...args(plain), epilogue });
            const fused = C0.slice();
            b.gemm.gemm({ ...args(fused), epilogue });
            sameBits(`${b.name} ${transA ? 'T' : 'N'}T ${M}x${N}x${K} beta ${beta} ${epilogue.kind}`, fused, plain);
          }
        }
    }
    b.dispose?.();
  }
});

test('a GEMM with an epilogue refuses squares that are too small', { skip: native.skip }, () => {
  const ort = createOrtGemm({ threads: 1, minMacs: 0 });
  const a = new Float32Array(16);
  const epilogue: Epilogue = { kind: 'reluSquareGrad', squares: new Float32Array(15) };
  assert.throws(() => ort.gemm({ transA: false, transB: false, M: 4, N: 4, K: 4, A: a, B: a, C: new Float32Array(16), epilogue }), /squares too small/);
  ort.dispose();
  let blocked: Gemm;
  try {
    blocked = loadNativeBlockedGemm();
  } catch {
    return;
  }
  assert.throws(() => blocked.gemm({ transA: false, transB: false, M: 4, N: 4, K: 4, A: a, B: a, C: new Float32Array(16), epilogue }), /squares has 15 elements, needs 16/);
});
