import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import type { Batch } from '../src/engine/batch.js';
import { tsKernels, type Kernels } from '../src/engine/kernels.js';
import { createKernels, parseKernelBackend } from '../src/engine/kernels-default.js';
import { createModel } from '../src/models/index.js';
import type { ModelConfig } from '../src/models/model.js';
import { AdamW } from '../src/train/optimizer.js';
import { assertClose, nativeForTest } from './helpers/native.js';
import { jitter } from './helpers/jitter.js';

const { kernels: nativeKernels, skip } = nativeForTest();
const D = 88;
/** Largest difference between the two backends' parameter moves, relative to the largest move (seen: 7e-6 RWKV, 5e-7 LSTM). */
const TOLERANCE = 1e-4;

function randomBatch(rng: Rng, B: number, T: number): Batch {
  const inputs = new Float32Array(B * T * D);
  const targets = new Float32Array(B * T * D);
  for (let i = 0; i < inputs.length; i++) {
    inputs[i] = rng.next() < 0.1 ? 1 : 0;
    targets[i] = rng.next() < 0.1 ? 1 : 0;
  }
  const mask = new Float32Array(B * T).fill(1);
  mask[B * T - 1] = 0; // a padded frame
  return { B, T, D, inputs, targets, mask };
}

interface StepResult {
  nll: number;
  grads: Float32Array[];
  /** How far two AdamW steps moved each parameter. */
  moved: Float64Array[];
  logits: Float32Array;
  stepLogits: Float32Array;
}

/**
 * Two training steps with AdamW (dropout drawn from the same seed), then inference in both modes.
 * The optimizer's eps is 1, not the usual 1e-8: each update is then about lr m / (sqrt(v) + 1), a smooth
 * function of the gradients, so gradients that agree to rounding give updates that agree to rounding.
 * (With a tiny eps Adam moves every entry by about lr whatever its gradient, so where a gradient is
 * rounding noise the two updates could differ by the whole update.)
 */
function trainAndRun(config: ModelConfig, kernels: Kernels, batch: Batch): StepResult {
  const model = createModel(config, { seed: 5, kernels, rwkvInit: 'pytorch' });
  jitter(model, new Rng(6), 0.05);
  const params = model.parameters();
  const initial = params.map((p) => Float64Array.from(p.data));
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.99, eps: 1, weightDecay: 0.01 }, kernels);
  const rng = new Rng(7);
  let nll = 0;
  let grads: Float32Array[] = [];
  for (let s = 0; s < 2; s++) {
    for (const p of params) p.grad.fill(0);
    nll = model.trainStep(batch, 1 / (batch.B * batch.T), rng).nllSum;
    grads = params.map((p) => p.grad.slice());
    opt.step(1);
  }
  const moved = params.map((p, j) => Float64Array.from(p.data, (w, i) => w - initial[j][i]));
  const state = model.initialState(batch.B);
  const frame = batch.inputs.filter((_, i) => i % (batch.T * D) < D); // every row's first frame
  model.step(state, frame);
  return { nll, grads, moved, logits: model.logits(batch), stepLogits: model.step(state, frame) };
}

const largest = (x: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
};

function compare(config: ModelConfig, B: number, T: number): void {
  const batch = randomBatch(new Rng(8), B, T);
  const a = trainAndRun(config, tsKernels, batch);
  const b = trainAndRun(config, nativeKernels!, batch);
  assert.ok(Math.abs(b.nll - a.nll) <= 1e-5 * Math.abs(a.nll), `loss ${b.nll} vs ${a.nll}`);
  const names = createModel(config, { seed: 0, uninitialized: true }).parameters().map((p) => p.name);
  for (let j = 0; j < a.grads.length; j++) {
    // relative to the tensor's largest gradient or move: a missing or wrong term is far outside this
    assertClose(`gradient of ${names[j]}`, b.grads[j], a.grads[j], 1e-3, 1e-4 * largest(a.grads[j]));
    const step = largest(a.moved[j]);
    assert.ok(step > 1e-4, `${names[j]} moved by at most ${step}`);
    assertClose(`${names[j]}: the move of two AdamW steps`, b.moved[j], a.moved[j], 0, TOLERANCE * step);
  }
  assertClose('logits', b.logits, a.logits, 1e-4, 1e-4);
  assertClose('RNN-mode logits', b.stepLogits, a.stepLogits, 1e-4, 1e-4);
}

test('RWKV training step (dropout on): native kernels give the TypeScript loss, gradients and updates', { skip }, () => {
  compare({ kind: 'rwkv', nLayer: 2, nEmbd: 70, ffn: 96, dropout: 0.1 }, 3, 37);
});

test('RWKV-6 training step (dropout on, two WKV6 chunks): native kernels give the TypeScript loss, gradients and updates', { skip }, () => {
  compare({ kind: 'rwkv6', nLayer: 2, nEmbd: 48, ffn: 64, headSize: 16, decayLora: 8, dropout: 0.1 }, 3, 29);
});

test('LSTM training step (dropout on): native kernels give the TypeScript loss, gradients and updates', { skip }, () => {
  compare({ kind: 'lstm', layers: 2, hidden: 37, embed: 20, dropout: 0.2 }, 5, 23);
});

test('kernel selection: RWKV_MUSIC_NATIVE=0 and backend ts give the TypeScript kernels; bad values are refused', () => {
  assert.equal(createKernels({ backend: 'ts' }), tsKernels);
  const saved = process.env.RWKV_MUSIC_NATIVE;
  try {
    process.env.RWKV_MUSIC_NATIVE = '0';
    assert.equal(createKernels(), tsKernels);
    process.env.RWKV_MUSIC_NATIVE = 'auto';
    const auto = createKernels({ threads: 2 });
    assert.match(auto.name, nativeKernels ? /^native/ : /^ts$/);
  } finally {
    if (saved === undefined) delete process.env.RWKV_MUSIC_NATIVE;
    else process.env.RWKV_MUSIC_NATIVE = saved;
  }
  assert.equal(parseKernelBackend('1'), 'native');
  assert.equal(parseKernelBackend(''), 'auto');
  assert.throws(() => parseKernelBackend('yes please'), /RWKV_MUSIC_NATIVE must be 0/);
});
