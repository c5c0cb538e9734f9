/**
 * The WKV backward's gradient with respect to the state a sequence starts from (and the decay's
 * gradient through that state): finite differences, and the native kernel against the TypeScript one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import { tsKernels, type Kernels } from '../src/engine/kernels.js';
import { allocWkvSaved, newWkvState, type WkvState } from '../src/engine/layers/wkv.js';
import { checkGrad, dot64, randn } from './gradcheck.js';
import { assertClose, nativeForTest } from './helpers/native.js';
import type { WkvCase } from './helpers/wkv-case.js';

const native = nativeForTest();

interface Case extends WkvCase {
  start: WkvState;
  gy: Float32Array;
}

function makeCase(rng: Rng, B: number, T: number, C: number, kShift: number): Case {
  const n = B * T * C;
  const k = randn(n, rng, 1.5);
  for (let i = 0; i < n; i++) k[i] += kShift;
  const start = newWkvState(B, C);
  for (let i = 0; i < B * C; i++) {
    start.aa[i] = rng.normal();
    start.bb[i] = 0.2 + Math.abs(rng.normal());
    start.pp[i] = kShift + 2 * rng.normal();
  }
  return {
    B, T, C, k, v: randn(n, rng),
    td: Float32Array.from({ length: C }, (_, c) => -3 + 4 * (c / Math.max(1, C - 1)) + 0.1 * rng.normal()),
    tf: randn(C, rng, 0.7),
    start,
    gy: randn(n, rng),
  };
}

function cloneState(s: WkvState): WkvState {
  return { aa: s.aa.slice(), bb: s.bb.slice(), pp: s.pp.slice() };
}

/** Loss = y · gy for the forward from cs.start; the start state itself is not modified. */
function loss(K: Kernels, cs: Case): number {
  const { B, T, C } = cs;
  const y = new Float32Array(B * T * C);
  K.wkvForward(y, cs.k, cs.v, cs.td, cs.tf, cloneState(cs.start), B, T, C, null, new Float64Array(5 * C));
  return dot64(y, cs.gy);
}

function grads(fwd: Kernels, bwd: Kernels, cs: Case) {
  const { B, T, C } = cs;
  const n = B * T * C;
  const y = new Float32Array(n);
  const saved = allocWkvSaved(n);
  fwd.wkvForward(y, cs.k, cs.v, cs.td, cs.tf, cloneState(cs.start), B, T, C, saved, new Float64Array(5 * C));
  const dk = new Float32Array(n), dv = new Float32Array(n), dtd = new Float32Array(C), dtf = new Float32Array(C);
  const grad = newWkvState(B, C);
  bwd.wkvBackward(dk, dv, dtd, dtf, cs.gy, cs.v, y, saved, cs.td, B, T, C, new Float64Array(6 * C), null,
    { start: cs.start, grad });
  return { dk, dv, dtd, dtf, grad };
}

/** Central difference of f with respect to a double-precision entry. */
function diff64(f: () => number, x: Float64Array, i: number, eps: number): number {
  const orig = x[i];
  x[i] = orig + eps;
  const fp = f();
  x[i] = orig - eps;
  const fm = f();
  x[i] = orig;
  return (fp - fm) / (2 * eps);
}

test('WKV start-state gradient (aa, bb, pp) and the decay gradient through it agree with finite differences', () => {
  const rng = new Rng(31);
  for (const kShift of [0, 40]) {
    const cs = makeCase(rng, 2, 7, 3, kShift);
    const g = grads(tsKernels, tsKernels, cs);
    const f = () => loss(tsKernels, cs);
    for (const key of ['aa', 'bb', 'pp'] as const) {
      let gmax = 0;
      for (const x of g.grad[key]) gmax = Math.max(gmax, Math.abs(x));
      assert.ok(gmax > 1e-3, `d${key} is not trivially zero`);
      for (let i = 0; i < cs.B * cs.C; i++) {
        const fd = diff64(f, cs.start[key], i, 1e-4);
        const an = g.grad[key][i];
        assert.ok(Math.abs(fd - an) <= 2e-3 * Math.max(Math.abs(fd), gmax), `d${key}[${i}] (k + ${kShift}): analytic ${an}, finite difference ${fd}`);
      }
    }
    checkGrad(`time_decay (k + ${kShift})`, f, cs.td, g.dtd);
    checkGrad(`k (k + ${kShift})`, f, cs.k, g.dk, { maxEntries: 20 });
  }
});

test('WKV from the zero state: the start gradient is zero and the other gradients are unchanged', () => {
  const rng = new Rng(32);
  const cs = makeCase(rng, 2, 6, 4, 0);
  cs.start = newWkvState(cs.B, cs.C);
  const withStart = grads(tsKernels, tsKernels, cs);
  for (const key of ['aa', 'bb', 'pp'] as const) assert.ok(withStart.grad[key].every((x) => x === 0), `d${key} is zero`);
  const { B, T, C } = cs;
  const n = B * T * C;
  const y = new Float32Array(n);
  const saved = allocWkvSaved(n);
  tsKernels.wkvForward(y, cs.k, cs.v, cs.td, cs.tf, newWkvState(B, C), B, T, C, saved, new Float64Array(5 * C));
  const dk = new Float32Array(n), dv = new Float32Array(n), dtd = new Float32Array(C), dtf = new Float32Array(C);
  tsKernels.wkvBackward(dk, dv, dtd, dtf, cs.gy, cs.v, y, saved, cs.td, B, T, C, new Float64Array(6 * C));
  assert.deepEqual(withStart.dk, dk);
  assert.deepEqual(withStart.dtd, dtd);
});

test('native WKV start-state gradient equals the TypeScript one', { skip: native.skip }, () => {
  const nk = native.kernels!;
  const rng = new Rng(33);
  for (const [B, T, C] of [[1, 1, 1], [2, 9, 65], [3, 20, 130]] as const)
    for (const kShift of [0, 60]) {
      const cs = makeCase(rng, B, T, C, kShift);
      const a = grads(tsKernels, tsKernels, cs);
      const b = grads(nk, nk, cs);
      const what = `B${B} T${T} C${C} k+${kShift}`;
      for (const key of ['aa', 'bb', 'pp'] as const) assertClose(`${what} d${key}`, b.grad[key], a.grad[key], 1e-5, 1e-6);
      assertClose(`${what} dTimeDecay`, b.dtd, a.dtd, 1e-5, 1e-5);
      assertClose(`${what} dk`, b.dk, a.dk, 1e-5, 1e-6);
    }
});
