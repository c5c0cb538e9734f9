import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { tsKernels } from '../src/engine/kernels.js';
import { makeParam, type Param } from '../src/engine/tensor.js';
import { linearBackward, linearForward } from '../src/engine/layers/linear.js';
import { addLayerNormForward, layerNormBackward, layerNormForward } from '../src/engine/layers/layernorm.js';
import { tokenShiftMixBackward, tokenShiftMixForward, tokenShiftMixLnBackward } from '../src/engine/layers/tokenshift.js';
import { allocTimeMixActs, timeMixBackward, timeMixForward, timeMixScratch, type TimeMixParams } from '../src/engine/layers/timemix.js';
import { allocChannelMixActs, channelMixBackward, channelMixForward, channelMixScratch, type ChannelMixParams } from '../src/engine/layers/channelmix.js';
import { ScratchPool } from '../src/engine/layers/scratch.js';
import { newWkvState } from '../src/engine/layers/wkv.js';
import { allocLstmActs, lstmBackward, lstmForward, type LstmParams } from '../src/engine/layers/lstm.js';
import { applyDropout, drawDropout, dropFactor, dropoutInto, newDropoutMask } from '../src/engine/layers/dropout.js';
import { bceLoss, bceLossBackward } from '../src/engine/layers/bce.js';
import { checkGrad, dot64, randn } from './gradcheck.js';

const gemm = tsGemm;

function param(name: string, shape: number[], rng: Rng, scale = 0.5, offset = 0): Param {
  const p = makeParam(name, shape, shape.length === 2);
  for (let i = 0; i < p.data.length; i++) p.data[i] = offset + scale * rng.normal();
  return p;
}

test('Linear with and without bias: gradients match finite differences', () => {
  const rng = new Rng(21);
  for (const withBias of [true, false]) {
    const [N, I, O] = [5, 4, 3];
    const x = randn(N * I, rng);
    const W = randn(O * I, rng);
    const bias = withBias ? randn(O, rng) : null;
    const G = randn(N * O, rng);
    const out = new Float32Array(N * O);
    const f = () => {
      linearForward(gemm, out, x, W, bias, N, I, O);
      return dot64(out, G);
    };
    // forward against the definition
    f();
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        let s = bias ? bias[o] : 0;
        for (let i = 0; i < I; i++) s += x[n * I + i] * W[o * I + i];
        assert.ok(Math.abs(out[n * O + o] - s) < 1e-5);
      }
    const dx = new Float32Array(N * I).fill(7); // accumulate adds onto 7
    const dW = new Float32Array(O * I);
    const db = bias ? new Float32Array(O) : null;
    linearBackward(gemm, dx, true, dW, db, G, x, W, N, I, O);
    for (let i = 0; i < dx.length; i++) dx[i] -= 7;
    checkGrad('x', f, x, dx);
    checkGrad('W', f, W, dW);
    if (bias && db) checkGrad('bias', f, bias, db);
  }
});

test('LayerNorm: forward normalises, gradients match finite differences', () => {
  const rng = new Rng(22);
  const [N, C] = [4, 7];
  const x = randn(N * C, rng, 2);
  const w = randn(C, rng, 0.5);
  const b = randn(C, rng, 0.5);
  for (let c = 0; c < C; c++) w[c] += 1;
  const G = randn(N * C, rng);
  const out = new Float32Array(N * C);
  const mean = new Float32Array(N);
  const rstd = new Float32Array(N);
  const f = () => {
    layerNormForward(out, mean, rstd, x, w, b, N, C);
    return dot64(out, G);
  };
  f();
  // with w = 1, b = 0 the output has mean 0 and variance var/(var+eps) per row
  const ones = new Float32Array(C).fill(1);
  const zeros = new Float32Array(C);
  const o2 = new Float32Array(N * C);
  layerNormForward(o2, mean, rstd, x, ones, zeros, N, C);
  for (let n = 0; n < N; n++) {
    let s = 0, s2 = 0;
    for (let c = 0; c < C; c++) { s += o2[n * C + c]; s2 += o2[n * C + c] ** 2; }
    assert.ok(Math.abs(s / C) < 1e-6);
    assert.ok(Math.abs(s2 / C - 1) < 1e-3);
  }
  const dx = new Float32Array(N * C);
  const dw = new Float32Array(C);
  const db = new Float32Array(C);
  f();
  layerNormBackward(dx, false, dw, db, G, x, mean, rstd, w, N, C, new Float64Array(2 * C));
  checkGrad('x', f, x, dx, { maxEntries: 28 });
  checkGrad('weight', f, w, dw);
  checkGrad('bias', f, b, db);
});

test('Token-shift mix (three mixes): forward definition and gradients', () => {
  const rng = new Rng(23);
  const [B, T, C] = [2, 4, 3];
  const x = randn(B * T * C, rng);
  const mus = [0, 1, 2].map(() => Float32Array.from({ length: C }, () => rng.next()));
  const outs = [0, 1, 2].map(() => new Float32Array(B * T * C));
  const Gs = [0, 1, 2].map(() => randn(B * T * C, rng));
  const f = () => {
    tokenShiftMixForward(outs, x, mus, null, B, T, C);
    return dot64(outs[0], Gs[0]) + dot64(outs[1], Gs[1]) + dot64(outs[2], Gs[2]);
  };
  f();
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let c = 0; c < C; c++) {
        const i = (b * T + t) * C + c;
        const prev = t > 0 ? x[i - C] : 0;
        assert.ok(Math.abs(outs[1][i] - (x[i] * mus[1][c] + prev * (1 - mus[1][c]))) < 1e-6);
      }
  const dx = new Float32Array(B * T * C);
  const dmus = [0, 1, 2].map(() => new Float32Array(C));
  tokenShiftMixBackward(dx, false, dmus, Gs, x, mus, B, T, C, new Float64Array(3 * C));
  checkGrad('x', f, x, dx, { maxEntries: 24 });
  for (let j = 0; j < 3; j++) checkGrad(`mu${j}`, f, mus[j], dmus[j]);
  // with a previous state the first step mixes with it
  const prev = randn(B * C, rng);
  tokenShiftMixForward(outs, x, mus, prev, B, T, C);
  assert.ok(Math.abs(outs[0][0] - (x[0] * mus[0][0] + prev[0] * (1 - mus[0][0]))) < 1e-6);
  assert.ok(Math.abs(outs[0][T * C] - (x[T * C] * mus[0][0] + prev[C] * (1 - mus[0][0]))) < 1e-6);
});

test('Token-shift mix backward fused with the LayerNorm backward equals the two steps (2 and 3 mixes)', () => {
  const rng = new Rng(29);
  const [B, T, C] = [2, 5, 6];
  const N = B * T;
  for (const J of [2, 3]) {
    const inp = randn(N * C, rng, 2);
    const w = randn(C, rng), bias = randn(C, rng);
    const x = new Float32Array(N * C), mean = new Float32Array(N), rstd = new Float32Array(N);
    layerNormForward(x, mean, rstd, inp, w, bias, N, C);
    const mus = Array.from({ length: J }, () => Float32Array.from({ length: C }, () => rng.next()));
    const douts = Array.from({ length: J }, () => randn(N * C, rng));
    // two steps
    const dx = new Float32Array(N * C);
    const dmus = mus.map(() => new Float32Array(C));
    tokenShiftMixBackward(dx, false, dmus, douts, x, mus, B, T, C, new Float64Array(J * C));
    const dinp = randn(N * C, rng); // both add onto the same starting values
    const dinp2 = dinp.slice();
    const dw = new Float32Array(C), db = new Float32Array(C);
    layerNormBackward(dinp, true, dw, db, dx, inp, mean, rstd, w, N, C, new Float64Array(2 * C));
    // fused
    const dmus2 = mus.map(() => new Float32Array(C));
    const dw2 = new Float32Array(C), db2 = new Float32Array(C);
    tokenShiftMixLnBackward(dinp2, dmus2, douts, x, mus, { inp, mean, rstd, weight: w, dweight: dw2, dbias: db2 }, B, T, C, new Float64Array(8 * C));
    const close = (a: Float32Array, b: Float32Array, what: string) => {
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5 * (1 + Math.abs(a[i])), `${what}[${i}] J=${J}: ${a[i]} vs ${b[i]}`);
    };
    close(dinp2, dinp, 'dinp');
    close(dw2, dw, 'dweight');
    close(db2, db, 'dbias');
    for (let j = 0; j < J; j++) close(dmus2[j], dmus[j], `dmu${j}`);
  }
});

function timeMixParams(C: number, rng: Rng): TimeMixParams {
  return {
    timeDecay: param('td', [C], rng, 1, -1), timeFirst: param('tf', [C], rng, 0.5),
    mixK: param('mk', [1, 1, C], rng, 0.2, 0.5), mixV: param('mv', [1, 1, C], rng, 0.2, 0.5), mixR: param('mr', [1, 1, C], rng, 0.2, 0.5),
    key: param('k', [C, C], rng), value: param('v', [C, C], rng), receptance: param('r', [C, C], rng), output: param('o', [C, C], rng),
  };
}

test('TimeMix: gradients of every parameter and the input match finite differences', () => {
  const rng = new Rng(24);
  const [B, T, C] = [2, 5, 4];
  const N = B * T;
  const P = timeMixParams(C, rng);
  const x = randn(N * C, rng);
  const G = randn(N * C, rng);
  const acts = allocTimeMixActs(N, C);
  const scr = timeMixScratch(new ScratchPool(N, C), true);
  const out = new Float32Array(N * C);
  const f = () => {
    timeMixForward(gemm, tsKernels, out, x, P, acts, null, newWkvState(B, C), B, T, C, true, scr);
    return dot64(out, G);
  };
  f();
  const dx = new Float32Array(N * C);
  timeMixBackward(gemm, tsKernels, dx, false, G, x, P, acts, B, T, C, scr);
  checkGrad('x', f, x, dx, { maxEntries: 20 });
  for (const p of Object.values(P)) checkGrad(p.name, f, p.data, p.grad);
});

test('ChannelMix: gradients of every parameter and the input match finite differences (scratch shared with TimeMix)', () => {
  const rng = new Rng(25);
  const [B, T, C] = [2, 4, 3];
  const N = B * T;
  // F = C too: the F-wide scratch must not be one of the [N,C] buffers it is used beside
  for (const F of [5, C]) {
    const P: ChannelMixParams = {
      mixK: param('mk', [1, 1, C], rng, 0.2, 0.5), mixR: param('mr', [1, 1, C], rng, 0.2, 0.5),
      key: param('k', [F, C], rng), value: param('v', [C, F], rng), receptance: param('r', [C, C], rng),
    };
    const x = randn(N * C, rng);
    const G = randn(N * C, rng);
    const acts = allocChannelMixActs(N, C, F);
    const pool = new ScratchPool(N, C);
    timeMixScratch(pool, true);
    const scr = channelMixScratch(pool, F, true);
    const out = new Float32Array(N * C);
    const f = () => {
      channelMixForward(gemm, tsKernels, out, x, P, acts, null, B, T, C, F, scr);
      return dot64(out, G);
    };
    f();
    const dx = new Float32Array(N * C).fill(1);
    channelMixBackward(gemm, tsKernels, dx, true, G, x, P, acts, B, T, C, F, scr);
    for (let i = 0; i < dx.length; i++) dx[i] -= 1;
    checkGrad('x', f, x, dx, { maxEntries: 24 });
    for (const p of Object.values(P)) checkGrad(p.name, f, p.data, p.grad);
  }
});

test('LSTM layer (gate order i, f, g, o): forward definition and BPTT gradients', () => {
  const rng = new Rng(26);
  const [T, B, I, H] = [5, 2, 3, 4];
  const P: LstmParams = {
    weightIh: param('wih', [4 * H, I], rng), weightHh: param('whh', [4 * H, H], rng),
    biasIh: param('bih', [4 * H], rng), biasHh: param('bhh', [4 * H], rng),
  };
  const x = randn(T * B * I, rng);
  const G = randn(T * B * H, rng);
  const acts = allocLstmActs(T, B, H);
  const bias = new Float32Array(4 * H);
  const f = () => {
    lstmForward(gemm, tsKernels, x, P, acts, null, null, T, B, I, H, bias);
    return dot64(acts.h.subarray(B * H), G);
  };
  f();
  // the first step of row 1 by hand: h0 = c0 = 0
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  for (let j = 0; j < H; j++) {
    const pre = (gate: number) => {
      let s = P.biasIh.data[gate * H + j] + P.biasHh.data[gate * H + j];
      for (let q = 0; q < I; q++) s += P.weightIh.data[(gate * H + j) * I + q] * x[1 * I + q];
      return s;
    };
    const c = sig(pre(0)) * Math.tanh(pre(2)); // f * c0 = 0
    const h = sig(pre(3)) * Math.tanh(c);
    assert.ok(Math.abs(acts.h[B * H + 1 * H + j] - h) < 1e-6);
  }
  const dh = G.slice();
  const dx = new Float32Array(T * B * I);
  lstmBackward(gemm, tsKernels, dx, dh, x, P, acts, T, B, I, H, new Float32Array(T * B * 4 * H), new Float32Array(B * H));
  checkGrad('x', f, x, dx, { maxEntries: 20 });
  for (const p of Object.values(P)) checkGrad(p.name, f, p.data, p.grad, { maxEntries: 16 });
});

test('Dropout: seeded, inverted scaling, keeps about 1 - p, same factors forward and backward', () => {
  const n = 20000;
  const p = 0.3;
  const m1 = newDropoutMask();
  const m2 = newDropoutMask();
  drawDropout(m1, p, new Rng(7));
  drawDropout(m2, p, new Rng(7));
  assert.deepEqual(m1, m2);
  const x = new Float32Array(n).fill(2);
  applyDropout(x, m1, n);
  let kept = 0;
  let mean = 0;
  let runs = 0; // kept/dropped switches: about 2 p (1-p) n for independent draws
  for (let i = 0; i < n; i++) {
    const f = dropFactor(m1, i);
    assert.ok(f === 0 || Math.abs(f - 1 / (1 - p)) < 1e-6);
    assert.equal(x[i], Math.fround(2 * f));
    if (f !== 0) kept++;
    if (i > 0 && (f === 0) !== (dropFactor(m1, i - 1) === 0)) runs++;
    mean += x[i] / n;
  }
  assert.ok(Math.abs(kept / n - (1 - p)) < 0.02, `kept ${kept / n}`);
  assert.ok(Math.abs(mean - 2) < 0.06, `mean after dropout ${mean}`);
  assert.ok(Math.abs(runs / n - 2 * p * (1 - p)) < 0.02, `switch rate ${runs / n}`);
  const y = new Float32Array(n);
  dropoutInto(y, new Float32Array(n).fill(2), m1, n);
  assert.deepEqual(y, x);
  const m3 = newDropoutMask();
  drawDropout(m3, p, new Rng(8));
  let same = 0;
  for (let i = 0; i < n; i++) if ((dropFactor(m3, i) === 0) === (dropFactor(m1, i) === 0)) same++;
  assert.ok(same / n < 0.65, 'different seeds give different masks');
});

test('Residual add fused with LayerNorm equals the two steps, with and without dropout', () => {
  const rng = new Rng(28);
  const [N, C] = [5, 6];
  const a = randn(N * C, rng), br = randn(N * C, rng), w = randn(C, rng), bias = randn(C, rng);
  for (const drop of [null, newDropoutMask()]) {
    if (drop) drawDropout(drop, 0.4, rng);
    const sum = new Float32Array(N * C), out = new Float32Array(N * C), mean = new Float32Array(N), rstd = new Float32Array(N);
    addLayerNormForward(sum, out, mean, rstd, a, br, drop, w, bias, N, C);
    const sum2 = new Float32Array(N * C), out2 = new Float32Array(N * C);
    for (let i = 0; i < N * C; i++) sum2[i] = a[i] + br[i] * (drop ? dropFactor(drop, i) : 1);
    layerNormForward(out2, mean, rstd, sum2, w, bias, N, C);
    for (let i = 0; i < N * C; i++) {
      assert.ok(Math.abs(sum[i] - sum2[i]) < 1e-6);
      assert.ok(Math.abs(out[i] - out2[i]) < 1e-5);
    }
  }
});

test('BCE with logits: value, stability at large logits, gradient, frame mask', () => {
  const rng = new Rng(27);
  const [N, D] = [4, 6];
  const z = randn(N * D, rng, 3);
  z[0] = 200; z[1] = -200; z[2] = 60; z[3] = -60;
  const y = Float32Array.from({ length: N * D }, () => (rng.next() < 0.3 ? 1 : 0));
  y[0] = 0; y[1] = 1; y[2] = 1; y[3] = 0;
  const mask = new Float32Array([1, 1, 0, 1]);
  let want = 0;
  for (let n = 0; n < N; n++) {
    if (!mask[n]) continue;
    for (let d = 0; d < D; d++) {
      const i = n * D + d;
      // -[y log s + (1-y) log(1-s)] computed in log space
      const logS = -Math.log1p(Math.exp(-z[i])) ;
      const log1mS = -Math.log1p(Math.exp(z[i]));
      want += -(y[i] * (Number.isFinite(logS) ? logS : z[i]) + (1 - y[i]) * (Number.isFinite(log1mS) ? log1mS : -z[i]));
    }
  }
  const got = bceLoss(z, y, mask, N, D);
  assert.ok(Math.abs(got - want) < 1e-6 * Math.abs(want), `${got} vs ${want}`);
  // saturated logits: a confident wrong answer costs |z|, a confident right one almost nothing
  const sat = bceLoss(new Float32Array([200, -200, 60, -60]), new Float32Array([0, 1, 1, 0]), new Float32Array([1]), 1, 4);
  assert.ok(Math.abs(sat - 400) < 1e-9, `saturated loss ${sat}`);
  const dz = new Float32Array(N * D);
  const got2 = bceLossBackward(dz, z, y, mask, N, D, 0.5);
  assert.equal(got2, got);
  for (let d = 0; d < D; d++) assert.equal(dz[2 * D + d], 0, 'masked frame has no gradient');
  assert.ok(Math.abs(dz[0] - 0.5) < 1e-7 && Math.abs(dz[1] + 0.5) < 1e-7);
  const zz = randn(N * D, rng, 2);
  const dzz = new Float32Array(N * D);
  bceLossBackward(dzz, zz, y, mask, N, D, 1);
  checkGrad('logits', () => bceLoss(zz, y, mask, N, D), zz, dzz, { maxEntries: 24 });
});
