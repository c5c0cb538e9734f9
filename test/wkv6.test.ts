import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import { tsKernels, type Kernels } from '../src/engine/kernels.js';
import { WKV6_CHUNK, wkv6SavedLength, wkv6StateLength } from '../src/engine/layers/wkv6.js';
import { checkGrad, dot64, randn } from './gradcheck.js';
import { assertClose, nativeForTest } from './helpers/native.js';

interface Case {
  B: number;
  T: number;
  C: number;
  S: number;
  r: Float32Array;
  k: Float32Array;
  v: Float32Array;
  w: Float32Array;
  u: Float32Array;
  start: Float64Array | null;
}

function makeCase(rng: Rng, B: number, T: number, C: number, S: number, withStart: boolean): Case {
  const n = B * T * C;
  // decays from almost 0 to almost 1, as exp(-exp(.)) gives them
  const w = Float32Array.from({ length: n }, () => Math.exp(-Math.exp(-4 + 5 * rng.next())));
  let start: Float64Array | null = null;
  if (withStart) start = Float64Array.from(randn(wkv6StateLength(B, C, S), rng, 0.5));
  return { B, T, C, S, r: randn(n, rng), k: randn(n, rng, 0.7), v: randn(n, rng), w, u: randn(C, rng, 0.5), start };
}

/** The definition: every state St_t kept, in double precision. */
function reference(cs: Case): { y: Float64Array; end: Float64Array } {
  const { B, T, C, S, r, k, v, w, u } = cs;
  const H = C / S;
  const y = new Float64Array(B * T * C);
  const end = new Float64Array(B * C * S);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      let st: number[][] = Array.from({ length: S }, (_, i) => Array.from({ length: S }, (_, j) => cs.start ? cs.start[((b * H + h) * S + i) * S + j] : 0));
      for (let t = 0; t < T; t++) {
        const at = (i: number) => (b * T + t) * C + h * S + i;
        for (let j = 0; j < S; j++) {
          let s = 0;
          for (let i = 0; i < S; i++) s += r[at(i)] * (u[h * S + i] * k[at(i)] * v[at(j)] + st[i][j]);
          y[at(j)] = s;
        }
        st = st.map((row, i) => row.map((x, j) => w[at(i)] * x + k[at(i)] * v[at(j)]));
      }
      for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) end[((b * H + h) * S + i) * S + j] = st[i][j];
    }
  return { y, end };
}

function forward(K: Kernels, cs: Case) {
  const { B, T, C, S } = cs;
  const y = new Float32Array(B * T * C);
  const state = cs.start ? cs.start.slice() : new Float64Array(wkv6StateLength(B, C, S));
  const saved = new Float64Array(wkv6SavedLength(B, T, C, S));
  K.wkv6Forward(y, cs.r, cs.k, cs.v, cs.w, cs.u, state, B, T, C, S, saved);
  return { y, state, saved };
}

function run(K: Kernels, cs: Case, dy: Float32Array) {
  const { B, T, C, S } = cs;
  const n = B * T * C;
  const { y, state, saved } = forward(K, cs);
  const g = { dr: new Float32Array(n), dk: new Float32Array(n), dv: new Float32Array(n), dw: new Float32Array(n), du: new Float32Array(C), dstate: new Float64Array(wkv6StateLength(B, C, S)) };
  K.wkv6Backward(g.dr, g.dk, g.dv, g.dw, g.du, dy, cs.r, cs.k, cs.v, cs.w, cs.u, saved, B, T, C, S, cs.start ? g.dstate : null);
  return { y, state, saved, ...g };
}

test('WKV6 forward equals the definition (outputs and the state after the last step; chunk boundaries crossed)', () => {
  const rng = new Rng(1);
  for (const [B, T, C, S, withStart] of [[1, 1, 2, 2, false], [2, 5, 6, 3, true], [2, 2 * WKV6_CHUNK + 3, 8, 4, true], [1, WKV6_CHUNK, 4, 4, false]] as const) {
    const cs = makeCase(rng, B, T, C, S, withStart);
    const ref = reference(cs);
    const got = forward(tsKernels, cs);
    assertClose(`y ${B}x${T}x${C}/${S}`, got.y, ref.y, 1e-5, 1e-5);
    assertClose(`state ${B}x${T}x${C}/${S}`, got.state, ref.end, 1e-9, 1e-9);
  }
});

test('WKV6 carried state: two chunks of a sequence equal one run', () => {
  const rng = new Rng(2);
  const B = 2, T = 21, C = 6, S = 3;
  const cs = makeCase(rng, B, T, C, S, false);
  const whole = forward(tsKernels, cs);
  const split = 13;
  const part = (t0: number, t1: number, a: Float32Array) => {
    const out = new Float32Array(B * (t1 - t0) * C);
    for (let b = 0; b < B; b++) out.set(a.subarray((b * T + t0) * C, (b * T + t1) * C), b * (t1 - t0) * C);
    return out;
  };
  const state = new Float64Array(wkv6StateLength(B, C, S));
  const ys: Float32Array[] = [];
  for (const [t0, t1] of [[0, split], [split, T]]) {
    const y = new Float32Array(B * (t1 - t0) * C);
    tsKernels.wkv6Forward(y, part(t0, t1, cs.r), part(t0, t1, cs.k), part(t0, t1, cs.v), part(t0, t1, cs.w), cs.u, state, B, t1 - t0, C, S, null);
    ys.push(y);
  }
  assertClose('y, first part', ys[0], part(0, split, whole.y), 0, 0);
  assertClose('y, second part', ys[1], part(split, T, whole.y), 1e-6, 1e-7);
  assertClose('state', state, whole.state, 1e-12, 1e-12);
});

test('WKV6 gradients match finite differences: r, k, v, w, u and the start state', () => {
  for (const [seed, withStart, T] of [[3, false, 7], [4, true, WKV6_CHUNK + 5]] as const) {
    const rng = new Rng(seed);
    const B = 2, C = 6, S = 3;
    const cs = makeCase(rng, B, T, C, S, withStart);
    const dy = randn(B * T * C, rng);
    const g = run(tsKernels, cs, dy);
    // f = dy · y in double precision from the forward in doubles (the kernel's own forward)
    const f = () => dot64(forward(tsKernels, cs).y, dy);
    const opts = { eps: 1e-3, rtol: 1e-2, atolFrac: 1e-3, maxEntries: 16 };
    checkGrad('r', f, cs.r, g.dr, opts);
    checkGrad('k', f, cs.k, g.dk, opts);
    checkGrad('v', f, cs.v, g.dv, opts);
    checkGrad('w', f, cs.w, g.dw, { ...opts, eps: 1e-4 });
    checkGrad('u', f, cs.u, g.du, opts);
    if (cs.start) {
      // the start state is Float64: a central difference by hand (y is linear in it, so a large step is exact)
      const st = cs.start;
      let gmax = 0;
      for (const x of g.dstate) gmax = Math.max(gmax, Math.abs(x));
      for (let i = 0; i < st.length; i += 5) {
        const o = st[i];
        st[i] = o + 0.1;
        const fp = f();
        st[i] = o - 0.1;
        const fm = f();
        st[i] = o;
        const fd = (fp - fm) / 0.2;
        assert.ok(Math.abs(fd - g.dstate[i]) <= 1e-3 * Math.abs(fd) + 1e-4 * gmax, `dstate[${i}]: analytic ${g.dstate[i]}, fd ${fd}`);
      }
    }
  }
});

const { kernels: nativeKernels, skip } = nativeForTest();

test('native WKV6 equals the TypeScript one: forward, saved states, backward, with and without a start state', { skip }, () => {
  const nk = nativeKernels!;
  const rng = new Rng(5);
  for (const [B, T, C, S] of [[1, 1, 2, 2], [2, 17, 12, 4], [3, 40, 64, 32], [2, 33, 96, 16], [5, 20, 128, 64]] as const) {
    for (const withStart of [false, true]) {
      const cs = makeCase(rng, B, T, C, S, withStart);
      const dy = randn(B * T * C, rng);
      const a = run(tsKernels, cs, dy);
      const b = run(nk, cs, dy);
      const what = `${B}x${T}x${C}/${S}${withStart ? ' from a state' : ''}`;
      assertClose(`y ${what}`, b.y, a.y, 4e-6, 1e-6);
      assertClose(`state ${what}`, b.state, a.state, 1e-12, 1e-12);
      assertClose(`saved ${what}`, b.saved, a.saved, 1e-12, 1e-12);
      for (const key of ['dr', 'dk', 'dv', 'dw', 'du'] as const) assertClose(`${key} ${what}`, b[key], a[key], 4e-6, 1e-6);
      if (withStart) assertClose(`dstate ${what}`, b.dstate, a.dstate, 1e-12, 1e-12);
    }
  }
});

test('native WKV6 rejects a head size that does not divide the channels and short arrays', { skip }, () => {
  const nk = nativeKernels!;
  const z = new Float32Array(12);
  assert.throws(() => nk.wkv6Forward(z, z, z, z, z, z, new Float64Array(100), 1, 2, 6, 4, null), /does not divide/);
  assert.throws(() => nk.wkv6Forward(z, z, z, z, z, z, new Float64Array(2), 1, 2, 6, 3, null), /state/);
});
