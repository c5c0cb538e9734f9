import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import { tsKernels, type Kernels } from '../src/engine/kernels.js';
import { allocWkvSaved, newWkvState, type WkvSaved, type WkvState } from '../src/engine/layers/wkv.js';
import { drawDropout, newDropoutMask, type DropoutMask } from '../src/engine/layers/dropout.js';
import { randn } from './gradcheck.js';
import { assertClose, nativeForTest } from './helpers/native.js';
import { loadNativeKernels } from '../src/engine/kernels-native.js';

const { kernels: nativeKernels, skip } = nativeForTest();
const ts = tsKernels;
/** Only reached when not skipped. */
const nk = (): Kernels => nativeKernels!;

const clone = (a: Float32Array) => a.slice();
const uniform = (n: number, rng: Rng, lo = 0, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());

// Float32 results of double-precision work: a few float32 ulps apart at most.
const RTOL = 4e-6;
const ATOL = 1e-6;

// odd sizes, channel counts around the native kernels' block of 64, and enough work for the threads
const WKV_SHAPES: [number, number, number][] = [[1, 1, 1], [2, 3, 5], [3, 17, 63], [2, 9, 65], [4, 40, 130], [5, 37, 200], [9, 5, 1030]];

function wkvInputs(rng: Rng, B: number, T: number, C: number, kScale: number, kShift: number) {
  const n = B * T * C;
  const k = randn(n, rng, kScale);
  for (let i = 0; i < n; i++) k[i] += kShift;
  return {
    k, v: randn(n, rng), r: randn(n, rng, 3),
    td: Float32Array.from({ length: C }, (_, c) => -5 + 8 * (c / Math.max(1, C - 1)) * 0.9 + 0.1 * rng.normal()),
    tf: randn(C, rng, 0.7),
  };
}

function runWkvForward(K: Kernels, inp: ReturnType<typeof wkvInputs>, state: WkvState, B: number, T: number, C: number, save: boolean, gate: boolean) {
  const n = B * T * C;
  const y = new Float32Array(n);
  const saved = save ? allocWkvSaved(n) : null;
  const r = clone(inp.r);
  const rw = new Float32Array(n);
  K.wkvForward(y, inp.k, inp.v, inp.td, inp.tf, state, B, T, C, saved, new Float64Array(5 * C), gate ? { r, rw } : null);
  return { y, saved, r, rw };
}

function cloneState(s: WkvState): WkvState {
  return { aa: s.aa.slice(), bb: s.bb.slice(), pp: s.pp.slice() };
}

function assertSavedClose(what: string, a: WkvSaved, b: WkvSaved): void {
  for (const key of ['decay', 'ek', 'g', 'cu'] as const) assertClose(`${what} ${key}`, a[key], b[key], RTOL, ATOL);
}

test('native WKV forward equals the TypeScript one: outputs, gate, saved factors, carried state', { skip }, () => {
  const rng = new Rng(101);
  for (const [B, T, C] of WKV_SHAPES)
    for (const [kScale, kShift] of [[1, 0], [3, 60], [2, 800], [1, -700]]) {
      const inp = wkvInputs(rng, B, T, C, kScale, kShift);
      const what = `B${B} T${T} C${C} k ${kScale}+${kShift}`;
      for (const [save, gate] of [[true, true], [false, false], [true, false], [false, true]]) {
        const s1 = newWkvState(B, C);
        const s2 = newWkvState(B, C);
        const a = runWkvForward(ts, inp, s1, B, T, C, save, gate);
        const b = runWkvForward(nk(), inp, s2, B, T, C, save, gate);
        assertClose(`${what} y`, b.y, a.y, RTOL, ATOL);
        if (gate) {
          assertClose(`${what} r`, b.r, a.r, RTOL, ATOL);
          assertClose(`${what} rw`, b.rw, a.rw, RTOL, ATOL);
        }
        if (save) assertSavedClose(what, b.saved!, a.saved!);
        // aa sums terms of either sign (bb only positive ones): where they cancel, an absolute bound
        assertClose(`${what} state aa`, s2.aa, s1.aa, 1e-12, 1e-13);
        assertClose(`${what} state bb`, s2.bb, s1.bb, 1e-12, 1e-300);
        assertClose(`${what} state pp`, s2.pp, s1.pp, 1e-12, 0);
        // a second chunk from the carried state (RNN mode starts from a non-zero state)
        const carried = cloneState(s1);
        const c1 = runWkvForward(ts, inp, s1, B, T, C, false, true);
        const c2 = runWkvForward(nk(), inp, carried, B, T, C, false, true);
        assertClose(`${what} y after carried state`, c2.y, c1.y, RTOL, ATOL);
      }
    }
});

test('native WKV backward equals the TypeScript one, with and without the receptance gate', { skip }, () => {
  const rng = new Rng(102);
  for (const [B, T, C] of WKV_SHAPES)
    for (const [kScale, kShift] of [[1, 0], [3, 60], [2, 800]]) {
      const inp = wkvInputs(rng, B, T, C, kScale, kShift);
      const n = B * T * C;
      const what = `B${B} T${T} C${C} k ${kScale}+${kShift}`;
      for (const gate of [true, false]) {
        const fwd = runWkvForward(ts, inp, newWkvState(B, C), B, T, C, true, gate);
        const dy = randn(n, rng);
        const dtd0 = randn(C, rng);
        const dtf0 = randn(C, rng);
        const run = (K: Kernels) => {
          const dk = new Float32Array(n), dv = new Float32Array(n), dpre = new Float32Array(n);
          const dtd = dtd0.slice(), dtf = dtf0.slice();
          K.wkvBackward(dk, dv, dtd, dtf, dy, inp.v, fwd.y, fwd.saved!, inp.td, B, T, C, new Float64Array(6 * C),
            gate ? { r: fwd.r, dpre } : null);
          return { dk, dv, dtd, dtf, dpre };
        };
        const a = run(ts);
        const b = run(nk());
        assertClose(`${what} dk`, b.dk, a.dk, 1e-5, 1e-6);
        assertClose(`${what} dv`, b.dv, a.dv, 1e-5, 1e-6);
        assertClose(`${what} dTimeDecay`, b.dtd, a.dtd, 1e-5, 1e-5);
        assertClose(`${what} dTimeFirst`, b.dtf, a.dtf, 1e-5, 1e-5);
        if (gate) assertClose(`${what} dpre`, b.dpre, a.dpre, RTOL, ATOL);
      }
    }
});

test('a native WKV forward feeds the TypeScript backward and vice versa (same saved format)', { skip }, () => {
  const rng = new Rng(103);
  const [B, T, C] = [3, 21, 70];
  const n = B * T * C;
  const inp = wkvInputs(rng, B, T, C, 2, 5);
  const dy = randn(n, rng);
  const grads = (fwdK: Kernels, bwdK: Kernels) => {
    const f = runWkvForward(fwdK, inp, newWkvState(B, C), B, T, C, true, true);
    const dk = new Float32Array(n), dv = new Float32Array(n), dpre = new Float32Array(n);
    const dtd = new Float32Array(C), dtf = new Float32Array(C);
    bwdK.wkvBackward(dk, dv, dtd, dtf, dy, inp.v, f.y, f.saved!, inp.td, B, T, C, new Float64Array(6 * C), { r: f.r, dpre });
    return [dk, dv, dtd, dtf, dpre];
  };
  const ref = grads(ts, ts);
  for (const [f, b] of [[nk(), ts], [ts, nk()]]) {
    grads(f, b).forEach((g, i) => assertClose(`gradient ${i}`, g, ref[i], 1e-5, 1e-5));
  }
});

const SHAPES: [number, number, number][] = [[1, 1, 1], [2, 3, 5], [3, 7, 33], [2, 50, 130], [4, 64, 96]];

test('native token-shift mixes equal the TypeScript ones (2 and 3 mixes, with and without a state)', { skip }, () => {
  const rng = new Rng(104);
  for (const [B, T, C] of SHAPES)
    for (const J of [2, 3])
      for (const withPrev of [false, true]) {
        const n = B * T * C;
        const x = randn(n, rng);
        const mus = Array.from({ length: J }, () => uniform(C, rng));
        const prev = withPrev ? randn(B * C, rng) : null;
        const run = (K: Kernels) => {
          const outs = mus.map(() => new Float32Array(n));
          K.tokenShiftMixForward(outs, x, mus, prev, B, T, C);
          return outs;
        };
        const a = run(ts);
        const b = run(nk());
        for (let j = 0; j < J; j++) assertClose(`B${B} T${T} C${C} J${J} prev ${withPrev} out${j}`, b[j], a[j], 1e-6, 1e-6);
      }
});

test('native token-shift backward equals the TypeScript one (assigned and accumulated)', { skip }, () => {
  const rng = new Rng(105);
  for (const [B, T, C] of SHAPES)
    for (const J of [2, 3])
      for (const accumulate of [false, true]) {
        const n = B * T * C;
        const x = randn(n, rng);
        const mus = Array.from({ length: J }, () => uniform(C, rng));
        const douts = mus.map(() => randn(n, rng));
        const dx0 = randn(n, rng);
        const dmus0 = mus.map(() => randn(C, rng));
        const run = (K: Kernels) => {
          const dx = dx0.slice();
          const dmus = dmus0.map(clone);
          K.tokenShiftMixBackward(dx, accumulate, dmus, douts, x, mus, B, T, C, new Float64Array(J * C));
          return { dx, dmus };
        };
        const a = run(ts);
        const b = run(nk());
        const what = `B${B} T${T} C${C} J${J} acc ${accumulate}`;
        assertClose(`${what} dx`, b.dx, a.dx, 1e-5, 1e-6);
        for (let j = 0; j < J; j++) assertClose(`${what} dmu${j}`, b.dmus[j], a.dmus[j], 1e-5, 1e-5);
      }
});

function lnInputs(rng: Rng, N: number, C: number) {
  const inp = randn(N * C, rng, 2);
  for (let i = 0; i < inp.length; i++) inp[i] += 0.5;
  const weight = randn(C, rng, 0.5);
  for (let c = 0; c < C; c++) weight[c] += 1;
  return { inp, weight, bias: randn(C, rng, 0.5) };
}

test('native token-shift backward fused with LayerNorm equals the TypeScript one', { skip }, () => {
  const rng = new Rng(106);
  for (const [B, T, C] of SHAPES)
    for (const J of [2, 3]) {
      const N = B * T, n = N * C;
      const { inp, weight, bias } = lnInputs(rng, N, C);
      const x = new Float32Array(n), mean = new Float32Array(N), rstd = new Float32Array(N);
      ts.layerNormForward(x, mean, rstd, inp, weight, bias, N, C);
      const mus = Array.from({ length: J }, () => uniform(C, rng));
      const douts = mus.map(() => randn(n, rng));
      const dinp0 = randn(n, rng);
      const dmus0 = mus.map(() => randn(C, rng));
      const dw0 = randn(C, rng), db0 = randn(C, rng);
      const run = (K: Kernels) => {
        const dinp = dinp0.slice(), dmus = dmus0.map(clone), dweight = dw0.slice(), dbias = db0.slice();
        K.tokenShiftMixLnBackward(dinp, dmus, douts, x, mus, { inp, mean, rstd, weight, dweight, dbias }, B, T, C, new Float64Array(8 * C));
        return { dinp, dmus, dweight, dbias };
      };
      const a = run(ts);
      const b = run(nk());
      const what = `B${B} T${T} C${C} J${J}`;
      assertClose(`${what} dinp`, b.dinp, a.dinp, 1e-5, 1e-5);
      assertClose(`${what} dweight`, b.dweight, a.dweight, 1e-5, 1e-5);
      assertClose(`${what} dbias`, b.dbias, a.dbias, 1e-5, 1e-5);
      for (let j = 0; j < J; j++) assertClose(`${what} dmu${j}`, b.dmus[j], a.dmus[j], 1e-5, 1e-5);
    }
});

const LN_SHAPES: [number, number][] = [[1, 1], [3, 7], [17, 64], [100, 130], [600, 96]];

test('native LayerNorm forward, fused residual add (with and without dropout) and backward equal the TypeScript ones', { skip }, () => {
  const rng = new Rng(107);
  for (const [N, C] of LN_SHAPES) {
    const n = N * C;
    const { inp, weight, bias } = lnInputs(rng, N, C);
    const forward = (K: Kernels) => {
      const out = new Float32Array(n), mean = new Float32Array(N), rstd = new Float32Array(N);
      K.layerNormForward(out, mean, rstd, inp, weight, bias, N, C);
      return { out, mean, rstd };
    };
    const fa = forward(ts);
    const fb = forward(nk());
    assertClose(`N${N} C${C} out`, fb.out, fa.out, RTOL, ATOL);
    assertClose(`N${N} C${C} mean`, fb.mean, fa.mean, RTOL, ATOL);
    assertClose(`N${N} C${C} rstd`, fb.rstd, fa.rstd, RTOL, ATOL);

    const branch = randn(n, rng);
    for (const drop of [null, newDropoutMask()] as (DropoutMask | null)[]) {
      if (drop) drawDropout(drop, 0.3, rng);
      const add = (K: Kernels) => {
        const sum = new Float32Array(n), out = new Float32Array(n), mean = new Float32Array(N), rstd = new Float32Array(N);
        K.addLayerNormForward(sum, out, mean, rstd, inp, branch, drop, weight, bias, N, C);
        return { sum, out, mean, rstd };
      };
      const aa = add(ts);
      const ab = add(nk());
      const what = `N${N} C${C} dropout ${drop ? 'on' : 'off'}`;
      assertClose(`${what} sum`, ab.sum, aa.sum, 0, 0);
      assertClose(`${what} out`, ab.out, aa.out, RTOL, ATOL);
      assertClose(`${what} rstd`, ab.rstd, aa.rstd, RTOL, ATOL);
    }

    for (const accumulate of [false, true]) {
      const dout = randn(n, rng);
      const dinp0 = randn(n, rng), dw0 = randn(C, rng), db0 = randn(C, rng);
      const backward = (K: Kernels) => {
        const dinp = dinp0.slice(), dweight = dw0.slice(), dbias = db0.slice();
        K.layerNormBackward(dinp, accumulate, dweight, dbias, dout, inp, fa.mean, fa.rstd, weight, N, C, new Float64Array(2 * C));
        return { dinp, dweight, dbias };
      };
      const ba = backward(ts);
      const bb = backward(nk());
      const what = `N${N} C${C} accumulate ${accumulate}`;
      assertClose(`${what} dinp`, bb.dinp, ba.dinp, 1e-5, 1e-5);
      assertClose(`${what} dweight`, bb.dweight, ba.dweight, 1e-5, 1e-5);
      assertClose(`${what} dbias`, bb.dbias, ba.dbias, 1e-5, 1e-5);
    }
  }
});

/** Random values with the edge cases mixed in: zeros of both signs, large magnitudes, infinities, NaN. */
function withSpecials(n: number, rng: Rng, scale: number): Float32Array {
  const x = randn(n, rng, scale);
  const specials = [0, -0, 1e-30, -1e-30, 50, -50, 100, -100, 1000, -1000, Infinity, -Infinity, NaN];
  for (let i = 0; i < Math.min(n, specials.length); i++) x[(i * 7919) % n] = specials[i];
  return x;
}

test('native elementwise kernels equal the TypeScript ones, edge values included', { skip }, () => {
  const rng = new Rng(108);
  for (const n of [1, 13, 1000, 70001]) {
    const pre = withSpecials(n, rng, 3);
    const dk = randn(n, rng);
    for (const inPlace of [false, true]) {
      const plain = (K: Kernels) => {
        const x = pre.slice();
        const out = inPlace ? x : new Float32Array(n);
        K.relu(out, x, n);
        return out;
      };
      const want = plain(ts);
      assertClose(`n${n} relu in place ${inPlace}`, plain(nk()), want, 0, 0);
      for (let i = 0; i < n; i++) assert.ok(Object.is(want[i], Math.max(pre[i], 0) + 0) || (Number.isNaN(pre[i]) && Number.isNaN(want[i])), `n${n} relu(${pre[i]}) = ${want[i]}`);
    }
    const rb2 = (K: Kernels) => {
      const d = dk.slice();
      K.reluBackward(d, pre, n);
      return d;
    };
    const reluGrad = rb2(ts);
    assertClose(`n${n} reluBackward`, rb2(nk()), reluGrad, 0, 0);
    for (let i = 0; i < n; i++) assert.equal(reluGrad[i], pre[i] > 0 ? dk[i] : 0);

    const z = randn(n, rng);
    const gate = (K: Kernels) => {
      const r = pre.slice(), out = new Float32Array(n);
      K.sigmoidGate(out, r, z, n);
      return { r, out };
    };
    const ga = gate(ts), gb = gate(nk());
    assertClose(`n${n} sigmoid`, gb.r, ga.r, 1e-6, 1e-7);
    assertClose(`n${n} sigmoid gate`, gb.out, ga.out, 1e-6, 1e-7);

    const dout = randn(n, rng);
    for (const alias of [false, true]) {
      const gpb = (K: Kernels) => {
        const d = dout.slice();
        const dz = alias ? d : new Float32Array(n);
        const dpre = new Float32Array(n);
        K.gatedProductBackward(dz, dpre, d, ga.r, z, n);
        return { dz, dpre };
      };
      const pa = gpb(ts), pb = gpb(nk());
      assertClose(`n${n} alias ${alias} dz`, pb.dz, pa.dz, 1e-6, 1e-7);
      assertClose(`n${n} alias ${alias} dpre`, pb.dpre, pa.dpre, 1e-6, 1e-7);
    }
  }
});

test('native gradient sum of squares and scaling equal the TypeScript ones, non-finite values included', { skip }, () => {
  const rng = new Rng(112);
  for (const n of [0, 1, 13, 70001]) {
    const x = randn(n, rng);
    const s = nk().sumSquares(x);
    assert.ok(Math.abs(s - ts.sumSquares(x)) <= 1e-12 * s, `n${n}: ${s} vs ${ts.sumSquares(x)}`);
    const a = x.slice(), b = x.slice();
    ts.scaleInPlace(a, 0.37);
    nk().scaleInPlace(b, 0.37);
    assertClose(`n${n} scaled`, b, a, 0, 0);
  }
  const bad = randn(40000, rng);
  bad[123] = Infinity;
  assert.equal(nk().sumSquares(bad), Infinity);
  bad[30000] = NaN;
  assert.ok(Number.isNaN(nk().sumSquares(bad)));
});

test('native column sums equal the TypeScript ones and do not depend on the thread count', { skip }, () => {
  const rng = new Rng(113);
  for (const [N, O] of [[0, 5], [1, 1], [3, 7], [255, 88], [257, 88], [4096, 130], [700, 2048]]) {
    const x = randn(N * O, rng);
    const want = new Float64Array(O);
    ts.columnSums(want, x, N, O);
    const got = new Float64Array(O).fill(99);
    nk().columnSums(got, x, N, O);
    for (let o = 0; o < O; o++) assert.ok(Math.abs(got[o] - want[o]) <= 1e-12 * (1 + Math.abs(want[o])), `N${N} O${O} column ${o}: ${got[o]} vs ${want[o]}`);
    try {
      const one = new Float64Array(O);
      loadNativeKernels(1).columnSums(one, x, N, O);
      assert.deepEqual(one, got, `N${N} O${O}: 1 thread`);
    } finally {
      loadNativeKernels(2);
    }
  }
});

test('native Bernoulli loss and gradient equal the TypeScript ones: masked rows, extreme and exact logits', { skip }, () => {
  const rng = new Rng(114);
  for (const [N, D] of [[1, 1], [5, 88], [200, 88], [1000, 13]]) {
    const logits = randn(N * D, rng, 6);
    // exact zeros, the float32 extremes and values where the series and exp are at their edges
    const special = [0, -0, 1e-30, -1e-30, 40, -40, 800, -800, 3.4e38, -3.4e38, 1e-7, -1e-7];
    for (let i = 0; i < Math.min(special.length, logits.length); i++) logits[i] = special[i];
    const targets = Float32Array.from({ length: N * D }, () => (rng.next() < 0.1 ? 1 : 0));
    const mask = Float32Array.from({ length: N }, (_, n) => (n % 7 === 3 ? 0 : n % 5 === 1 ? 0.5 : 1));
    const wantD = new Float32Array(N * D).fill(7), gotD = new Float32Array(N * D).fill(7);
    const want = ts.bceLossBackward(wantD, logits, targets, mask, N, D, 0.3);
    const got = nk().bceLossBackward(gotD, logits, targets, mask, N, D, 0.3);
    assert.ok(Math.abs(got - want) <= 1e-13 * Math.abs(want), `N${N} D${D}: loss ${got} vs ${want}`);
    assertClose(`N${N} D${D} gradient`, gotD, wantD, 1e-6, 1e-12);
    try {
      const oneD = new Float32Array(N * D);
      assert.equal(loadNativeKernels(1).bceLossBackward(oneD, logits, targets, mask, N, D, 0.3), got, `N${N} D${D}: 1 thread`);
      assert.deepEqual(oneD, gotD);
    } finally {
      loadNativeKernels(2);
    }
  }
  const nan = new Float32Array([NaN, 1]);
  assert.ok(Number.isNaN(nk().bceLossBackward(new Float32Array(2), nan, new Float32Array(2), new Float32Array([1]), 1, 2, 1)));
});

test('native dropout equals the TypeScript one bit for bit, in place and into another array', { skip }, () => {
  const rng = new Rng(115);
  for (const [n, p] of [[1, 0.5], [1000, 0.1], [70001, 0.3], [40000, 0]] as const) {
    const x = randn(n, rng);
    const mask = newDropoutMask();
    drawDropout(mask, p, rng);
    const want = new Float32Array(n), got = new Float32Array(n);
    ts.dropoutInto(want, x, mask, n);
    nk().dropoutInto(got, x, mask, n);
    assert.deepEqual(got, want, `n${n} p${p} into`);
    const a = x.slice(), b = x.slice();
    ts.applyDropout(a, mask, n);
    nk().applyDropout(b, mask, n);
    assert.deepEqual(b, a, `n${n} p${p} in place`);
    assert.deepEqual(b, want);
  }
});

test('native moving average of the weights equals the TypeScript one', { skip }, () => {
  const rng = new Rng(116);
  for (const n of [1, 9, 70001]) {
    const w = randn(n, rng), avg = randn(n, rng);
    for (const d of [0.1, 0.995]) {
      const a = avg.slice(), b = avg.slice();
      ts.averageInto(a, w, d);
      nk().averageInto(b, w, d);
      assertClose(`n${n} d${d}`, b, a, 3e-7, 1e-12); // one float32 rounding apart at most
    }
  }
});

test('native AdamW update equals the TypeScript one', { skip }, () => {
  const rng = new Rng(109);
  for (const n of [1, 7, 5000, 100003]) {
    const w0 = randn(n, rng), g = randn(n, rng, 0.1), m0 = randn(n, rng, 0.01), v0 = uniform(n, rng, 0, 1e-3);
    for (const shrink of [1, 1 - 6e-4 * 0.01]) {
      const step = { beta1: 0.9, beta2: 0.99, eps: 1e-8, stepSize: 6e-4 / (1 - 0.9 ** 3), invSqrtBc2: 1 / Math.sqrt(1 - 0.99 ** 3) };
      const run = (K: Kernels) => {
        const w = w0.slice(), m = m0.slice(), v = v0.slice();
        K.adamwUpdate(w, g, m, v, shrink, step);
        return { w, m, v };
      };
      const a = run(ts), b = run(nk());
      assertClose(`n${n} w`, b.w, a.w, 1e-6, 1e-7);
      assertClose(`n${n} m`, b.m, a.m, 1e-6, 0);
      assertClose(`n${n} v`, b.v, a.v, 1e-6, 0);
    }
  }
});

test('native LSTM cell steps equal the TypeScript ones', { skip }, () => {
  const rng = new Rng(110);
  for (const [T, B, H] of [[1, 1, 1], [3, 2, 5], [4, 9, 37], [3, 32, 130]] as [number, number, number][]) {
    const G = 4 * H, BH = B * H;
    const gates0 = randn(T * B * G, rng, 3);
    for (let i = 0; i < Math.min(gates0.length, 6); i++) gates0[i * 3] = [60, -60, 100, -100, 0, -0][i];
    const c0 = randn((T + 1) * BH, rng);
    const forward = (K: Kernels) => {
      const gates = gates0.slice(), c = c0.slice(), h = new Float32Array((T + 1) * BH), tc = new Float32Array(T * BH);
      for (let t = 0; t < T; t++) K.lstmCellForward(gates, c, h, tc, t, B, H);
      return { gates, c, h, tc };
    };
    const fa = forward(ts), fb = forward(nk());
    const what = `T${T} B${B} H${H}`;
    assertClose(`${what} gates`, fb.gates, fa.gates, 1e-5, 1e-6);
    assertClose(`${what} c`, fb.c, fa.c, 1e-5, 1e-6);
    assertClose(`${what} h`, fb.h, fa.h, 1e-5, 1e-6);
    assertClose(`${what} tanh(c)`, fb.tc, fa.tc, 1e-5, 1e-6);

    const dh = randn(T * BH, rng);
    const backward = (K: Kernels) => {
      const dG = new Float32Array(T * B * G), dc = new Float32Array(BH);
      for (let t = T - 1; t >= 0; t--) K.lstmCellBackward(dG, dc, dh, fa.gates, fa.c, fa.tc, t, B, H);
      return { dG, dc };
    };
    const ba = backward(ts), bb = backward(nk());
    assertClose(`${what} dG`, bb.dG, ba.dG, 1e-5, 1e-6);
    assertClose(`${what} dc`, bb.dc, ba.dc, 1e-5, 1e-6);
  }
});

test('native kernels reject arrays shorter than the shape says, with an error instead of a crash', { skip }, () => {
  const K = nk();
  const short = new Float32Array(5);
  assert.throws(() => K.layerNormForward(short, short, short, short, short, short, 4, 3), /layerNormForward: out has 5 elements, needs 12/);
  assert.throws(() => K.relu(short, new Float32Array(10), 10), RangeError);
  const s = newWkvState(1, 2);
  assert.throws(() => K.wkvForward(short, short, short, short, short, s, 2, 2, 2, null, new Float64Array(10)), /wkvForward/);
  assert.throws(() => K.tokenShiftMixForward([short], short, [short], null, 1, 1, 1), /2 or 3 mixes/);
});

test('native results do not depend on the thread count (1 and 3 threads give the same bits)', { skip }, () => {
  const rng = new Rng(111);
  const [B, T, C] = [4, 64, 130];
  const N = B * T, n = N * C;
  const inp = wkvInputs(rng, B, T, C, 2, 0);
  const x = randn(n, rng), mus = [0, 1, 2].map(() => uniform(C, rng)), douts = mus.map(() => randn(n, rng));
  const { inp: lnIn, weight, bias } = lnInputs(rng, N, C);
  const mean = new Float32Array(N), rstd = new Float32Array(N);
  ts.layerNormForward(new Float32Array(n), mean, rstd, lnIn, weight, bias, N, C);
  const run = (threads: number) => {
    const K = loadNativeKernels(threads);
    const f = runWkvForward(K, inp, newWkvState(B, C), B, T, C, true, true);
    const dk = new Float32Array(n), dv = new Float32Array(n), dpre = new Float32Array(n), dtd = new Float32Array(C), dtf = new Float32Array(C);
    K.wkvBackward(dk, dv, dtd, dtf, douts[0], inp.v, f.y, f.saved!, inp.td, B, T, C, new Float64Array(6 * C), { r: f.r, dpre });
    const dinp = new Float32Array(n), dmus = mus.map(() => new Float32Array(C)), dweight = new Float32Array(C), dbias = new Float32Array(C);
    K.tokenShiftMixLnBackward(dinp, dmus, douts, x, mus, { inp: lnIn, mean, rstd, weight, dweight, dbias }, B, T, C, new Float64Array(8 * C));
    const dx = new Float32Array(n), dw = new Float32Array(C), db = new Float32Array(C);
    K.layerNormBackward(dx, false, dw, db, douts[1], lnIn, mean, rstd, weight, N, C, new Float64Array(2 * C));
    return [f.y, dk, dv, dpre, dtd, dtf, dinp, ...dmus, dweight, dbias, dx, dw, db];
  };
  try {
    const one = run(1);
    const three = run(3);
    one.forEach((a, i) => assert.deepEqual(three[i], a, `output ${i}`));
  } finally {
    loadNativeKernels(2);
  }
});
