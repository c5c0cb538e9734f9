import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import { allocWkvSaved, newWkvState, wkvBackward, wkvForward } from '../src/engine/layers/wkv.js';
import { checkGrad, dot64, randn } from './gradcheck.js';
import type { WkvCase } from './helpers/wkv-case.js';

type Case = WkvCase;

function makeCase(rng: Rng, B: number, T: number, C: number, kScale: number, kShift = 0): Case {
  const k = randn(B * T * C, rng, kScale);
  for (let i = 0; i < k.length; i++) k[i] += kShift;
  return {
    B, T, C, k, v: randn(B * T * C, rng),
    td: Float32Array.from({ length: C }, (_, c) => -5 + 8 * (c / Math.max(1, C - 1)) * 0.9 + 0.1 * rng.normal()),
    tf: randn(C, rng, 0.7),
  };
}

/**
 * The definition, O(T^2) in double precision: for each output the exponents are shifted by their
 * maximum M_t, so D_t = den_t e^{M_t}. Gradients from the closed forms.
 */
function naive(cs: Case, gy: Float32Array | null) {
  const { B, T, C, k, v, td, tf } = cs;
  const y = new Float64Array(B * T * C);
  const M = new Float64Array(B * T * C);
  const den = new Float64Array(B * T * C);
  const gk = new Float64Array(B * T * C);
  const gv = new Float64Array(B * T * C);
  const gtd = new Float64Array(C);
  const gtf = new Float64Array(C);
  const ex = new Float64Array(T + 1);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) {
      const w = -Math.exp(td[c]);
      const u = tf[c];
      const at = (t: number) => (b * T + t) * C + c;
      for (let t = 0; t < T; t++) {
        let m = u + k[at(t)];
        for (let i = 0; i < t; i++) {
          ex[i] = (t - 1 - i) * w + k[at(i)];
          if (ex[i] > m) m = ex[i];
        }
        let num = Math.exp(u + k[at(t)] - m) * v[at(t)];
        let d = Math.exp(u + k[at(t)] - m);
        for (let i = 0; i < t; i++) {
          const e = Math.exp(ex[i] - m);
          num += e * v[at(i)];
          d += e;
        }
        y[at(t)] = num / d;
        M[at(t)] = m;
        den[at(t)] = d;
      }
      if (!gy) continue;
      let gw = 0;
      for (let t = 0; t < T; t++) {
        const it = at(t);
        // direct terms at s = t
        const direct = gy[it] * Math.exp(u + k[it] - M[it]) / den[it];
        gv[it] += direct;
        gk[it] += direct * (v[it] - y[it]);
        gtf[c] += direct * (v[it] - y[it]);
        for (let s = t + 1; s < T; s++) {
          const is = at(s);
          const e = gy[is] * Math.exp((s - 1 - t) * w + k[it] - M[is]) / den[is];
          gv[it] += e;
          gk[it] += e * (v[it] - y[is]);
          gw += (s - 1 - t) * e * (v[it] - y[is]);
        }
      }
      gtd[c] += gw * w;
    }
  return { y, gk, gv, gtd, gtf };
}

function run(cs: Case, gy: Float32Array) {
  const { B, T, C, k, v, td, tf } = cs;
  const n = B * T * C;
  const y = new Float32Array(n);
  const save = allocWkvSaved(n);
  wkvForward(y, k, v, td, tf, newWkvState(B, C), B, T, C, save, new Float64Array(5 * C));
  const dk = new Float32Array(n);
  const dv = new Float32Array(n);
  const dtd = new Float32Array(C);
  const dtf = new Float32Array(C);
  wkvBackward(dk, dv, dtd, dtf, gy, v, y, save, td, B, T, C, new Float64Array(6 * C));
  return { y, dk, dv, dtd, dtf };
}

function assertClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    assert.ok(Number.isFinite(got[i]), `${name}[${i}] is not finite: ${got[i]}`);
    const err = Math.abs(got[i] - want[i]);
    assert.ok(err <= rtol * Math.abs(want[i]) + atol, `${name}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

function compare(cs: Case, rng: Rng, rtol: number): void {
  const gy = randn(cs.B * cs.T * cs.C, rng);
  const ours = run(cs, gy);
  const ref = naive(cs, gy);
  let scale = 0;
  for (const g of [ref.gk, ref.gv]) for (const x of g) scale = Math.max(scale, Math.abs(x));
  assertClose('y', ours.y, ref.y, 1e-5, 1e-6);
  assertClose('dk', ours.dk, ref.gk, rtol, rtol * scale * 1e-2);
  assertClose('dv', ours.dv, ref.gv, rtol, rtol * scale * 1e-2);
  assertClose('dtime_first', ours.dtf, ref.gtf, rtol, 1e-6);
  let gmax = 0;
  for (const x of ref.gtd) gmax = Math.max(gmax, Math.abs(x));
  assertClose('dtime_decay', ours.dtd, ref.gtd, rtol, rtol * gmax * 1e-2);
}

test('WKV forward and backward match the O(T^2) definition and closed-form gradients', () => {
  const rng = new Rng(11);
  compare(makeCase(rng, 2, 17, 5, 1.5), rng, 1e-4);
  compare(makeCase(rng, 3, 1, 4, 1.5), rng, 1e-4);
});

test('WKV is stable for large k (60 and 800): no overflow, same values as the shifted definition', () => {
  const rng = new Rng(12);
  compare(makeCase(rng, 2, 24, 4, 5, 60), rng, 1e-4);
  const huge = makeCase(rng, 1, 16, 3, 30, 800);
  huge.k[5] = -800; // and a very negative one
  compare(huge, rng, 1e-4);
  // extreme decays and bonuses, where e^{±w} and e^{±u} themselves over- or underflow
  const ext = makeCase(rng, 2, 12, 4, 3, 0);
  ext.td.set([7, -9, 6.7, 0]); // w = -1097, -1.2e-4, -812, -1
  ext.tf.set([750, -750, 0.5, -2]);
  compare(ext, rng, 1e-4);
});

test('WKV over a long sequence (T = 2000) matches the definition, including slow decays', () => {
  const rng = new Rng(13);
  const cs = makeCase(rng, 1, 2000, 3, 1);
  cs.td.set([-6, -1, 1.5]); // w = -0.0025 (long memory), -0.37, -4.5
  compare(cs, rng, 2e-4);
});

test('WKV backward agrees with central finite differences', () => {
  const rng = new Rng(14);
  const cs = makeCase(rng, 2, 9, 3, 1.2);
  const G = randn(cs.B * cs.T * cs.C, rng);
  const { dk, dv, dtd, dtf } = run(cs, G);
  const n = cs.B * cs.T * cs.C;
  const f = () => {
    const y = new Float32Array(n);
    wkvForward(y, cs.k, cs.v, cs.td, cs.tf, newWkvState(cs.B, cs.C), cs.B, cs.T, cs.C, null, new Float64Array(5 * cs.C));
    return dot64(y, G);
  };
  checkGrad('k', f, cs.k, dk, { maxEntries: 30 });
  checkGrad('v', f, cs.v, dv, { maxEntries: 30 });
  checkGrad('time_decay', f, cs.td, dtd);
  checkGrad('time_first', f, cs.tf, dtf);
});

test('WKV carried state: running in chunks equals one pass', () => {
  const rng = new Rng(15);
  const B = 2, T = 12, C = 4;
  const cs = makeCase(rng, B, T, C, 2);
  const whole = new Float32Array(B * T * C);
  wkvForward(whole, cs.k, cs.v, cs.td, cs.tf, newWkvState(B, C), B, T, C, null, new Float64Array(5 * C));
  const state = newWkvState(B, C);
  for (let t = 0; t < T; t++) {
    // one time step for every row: gather [B,1,C]
    const k1 = new Float32Array(B * C), v1 = new Float32Array(B * C), y1 = new Float32Array(B * C);
    for (let b = 0; b < B; b++) {
      k1.set(cs.k.subarray((b * T + t) * C, (b * T + t + 1) * C), b * C);
      v1.set(cs.v.subarray((b * T + t) * C, (b * T + t + 1) * C), b * C);
    }
    wkvForward(y1, k1, v1, cs.td, cs.tf, state, B, 1, C, null, new Float64Array(5 * C));
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) assert.ok(Math.abs(y1[b * C + c] - whole[(b * T + t) * C + c]) < 1e-6);
  }
});
