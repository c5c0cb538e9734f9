import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeParam } from '../src/engine/tensor.js';
import { AdamW, clipGradients, globalGradNorm } from '../src/train/optimizer.js';
import { learningRate, type Schedule } from '../src/train/schedule.js';
import { evaluateSequences } from '../src/train/evaluate.js';
import { predictedFrameCount } from '../src/data/batching.js';
import { TinyModel, TINY_CONFIG } from './helpers/tiny-model.js';
import { syntheticSequences } from './helpers/data.js';

test('AdamW follows the decoupled-weight-decay update, decaying only marked parameters', () => {
  const w = makeParam('w', [3], true);
  const b = makeParam('b', [3], false);
  w.data.set([0.5, -1, 2]);
  b.data.set([0.5, -1, 2]);
  const cfg = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1 };
  const opt = new AdamW([w, b], cfg);
  const grads = [
    [0.1, -0.2, 0.3],
    [-0.05, 0.4, 0.0],
  ];
  // Reference in float64 with the float32 roundings the optimizer keeps.
  const ref = (decay: boolean) => {
    const p = [0.5, -1, 2].map(Math.fround);
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    grads.forEach((g, i) => {
      const lr = 0.01 * (i + 1);
      const t = i + 1;
      for (let k = 0; k < 3; k++) {
        m[k] = Math.fround(0.9 * m[k] + 0.1 * g[k]);
        v[k] = Math.fround(0.99 * v[k] + 0.01 * g[k] * g[k]);
        const mhat = m[k] / (1 - 0.9 ** t);
        const vhat = v[k] / (1 - 0.99 ** t);
        p[k] = Math.fround(p[k] * (decay ? 1 - lr * 0.1 : 1) - (lr * mhat) / (Math.sqrt(vhat) + 1e-8));
      }
    });
    return p;
  };
  grads.forEach((g, i) => {
    w.grad.set(g.map(Math.fround));
    b.grad.set(g.map(Math.fround));
    opt.step(0.01 * (i + 1));
  });
  const rw = ref(true);
  const rb = ref(false);
  for (let k = 0; k < 3; k++) {
    assert.ok(Math.abs(w.data[k] - rw[k]) < 1e-6, `w[${k}] ${w.data[k]} vs ${rw[k]}`);
    assert.ok(Math.abs(b.data[k] - rb[k]) < 1e-6, `b[${k}] ${b.data[k]} vs ${rb[k]}`);
  }
  assert.notEqual(w.data[0], b.data[0]);
  assert.equal(opt.state.step, 2);
});

test('global-norm clipping scales all gradients to the limit and leaves small ones alone', () => {
  const a = makeParam('a', [2], true);
  const c = makeParam('c', [1], false);
  a.grad.set([3, 0]);
  c.grad.set([4]);
  const norm = globalGradNorm([a, c]);
  assert.equal(norm, 5);
  const scale = clipGradients([a, c], norm, 1);
  assert.ok(Math.abs(globalGradNorm([a, c]) - 1) < 1e-5);
  assert.ok(Math.abs(a.grad[0] / c.grad[0] - 0.75) < 1e-6);
  assert.ok(scale < 1);
  assert.equal(clipGradients([a, c], globalGradNorm([a, c]), 2), 1);
  a.grad[1] = NaN;
  assert.ok(Number.isNaN(globalGradNorm([a, c])));
});

test('warmup then cosine decay to the floor', () => {
  const s: Schedule = { kind: 'cosine', lr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110 };
  const at = (step: number) => learningRate(s, { step, batchInEpoch: 0, batchesInEpoch: 1 });
  assert.ok(Math.abs(at(0) - 1e-4) < 1e-12);
  assert.ok(Math.abs(at(4) - 5e-4) < 1e-12);
  assert.ok(Math.abs(at(10) - 1e-3) < 1e-12);
  assert.ok(Math.abs(at(60) - 5.5e-4) < 1e-12);
  assert.ok(Math.abs(at(110) - 1e-4) < 1e-12);
  assert.ok(Math.abs(at(500) - 1e-4) < 1e-12);
  for (let i = 10; i < 110; i++) assert.ok(at(i + 1) <= at(i));
  // A short horizon shortens the warmup to a fifth of it; no horizon yet means no decay.
  const short: Schedule = { ...s, totalSteps: 20 };
  assert.ok(Math.abs(learningRate(short, { step: 3, batchInEpoch: 0, batchesInEpoch: 1 }) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRate(short, { step: 1, batchInEpoch: 0, batchesInEpoch: 1 }) - 5e-4) < 1e-12);
  const open: Schedule = { ...s, totalSteps: Infinity };
  assert.ok(Math.abs(learningRate(open, { step: 5000, batchInEpoch: 0, batchesInEpoch: 1 }) - 1e-3) < 1e-12);
});

test('the triangular schedule rises over 35%, falls to hi/7+lo over 35%, then to lo', () => {
  const s: Schedule = { kind: 'triangular', lo: 1e-3, hi: 1e-2 };
  const at = (i: number) => learningRate(s, { step: 0, batchInEpoch: i, batchesInEpoch: 100 });
  assert.ok(Math.abs(at(0) - 1e-3) < 1e-12);
  assert.ok(Math.abs(at(35) - 1e-2) < 1e-12);
  assert.ok(Math.abs(at(70) - (1e-2 / 7 + 1e-3)) < 1e-12);
  assert.ok(Math.abs(at(85) - (1e-2 / 7 + 1e-3 + 1e-3) / 2) < 1e-12);
  assert.ok(at(99) > 1e-3 && at(99) < 1e-2 / 7 + 1e-3);
});

test('evaluation NLL is frame-weighted over every predicted frame, the same chunked or whole', () => {
  const model = new TinyModel(TINY_CONFIG, 7);
  const seqs = syntheticSequences(25, 9, 2, 90);
  const whole = evaluateSequences(model, seqs, { batchFrames: 512, maxLength: 1_000_000 });
  const chunked = evaluateSequences(model, seqs, { batchFrames: 200, maxLength: 17 });
  assert.equal(whole.frames, predictedFrameCount(seqs));
  assert.equal(chunked.frames, whole.frames);
  // The stand-in model only looks at the previous frame, so chunking cannot change its score.
  assert.ok(Math.abs(whole.nll - chunked.nll) < 1e-9 * whole.nll);
  assert.ok(Math.abs(whole.bce * 88 - whole.nll) < 1e-12);
  // Reference: per-sequence sums from the RNN-mode step, divided by the total count.
  let sum = 0;
  for (const s of seqs) {
    for (let t = 0; t + 1 < s.length; t++) {
      const x = new Float32Array(88);
      for (const n of s[t]) x[n - 21] = 1;
      const z = model.step(model.initialState(1), x);
      const y = new Set(s[t + 1].map((n) => n - 21));
      for (let k = 0; k < 88; k++) sum += y.has(k) ? Math.log1p(Math.exp(-z[k])) : Math.log1p(Math.exp(z[k]));
    }
  }
  assert.ok(Math.abs(sum / whole.frames - whole.nll) < 1e-4);
});
