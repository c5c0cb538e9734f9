import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Rng } from '../src/engine/random.js';
import { createModel } from '../src/models/index.js';
import type { ModelConfig } from '../src/models/model.js';

/** Written by tools/make_torch_fixture.py (PyTorch, float64, with the plain WKV recurrence). */
interface TorchCase {
  config: ModelConfig;
  B: number;
  T: number;
  inputs: number[];
  targets: number[];
  mask: number[];
  weights: Record<string, { shape: number[]; data: number[] }>;
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
}

const fixture = JSON.parse(readFileSync(new URL('../../test/fixtures/torch-tiny.json', import.meta.url), 'utf8')) as Record<string, TorchCase>;
/** Written by tools/make_key_chain_fixture.py: the same two models with the key-chain head. */
const chainFixture = JSON.parse(gunzipSync(readFileSync(new URL('../../test/fixtures/torch-key-chain.json.gz', import.meta.url))).toString('utf8')) as Record<string, TorchCase>;

function compareWithTorch(c: TorchCase): void {
  const model = createModel(c.config, { seed: 0 });
  const names = model.parameters().map((p) => p.name).sort();
  assert.deepEqual(names, Object.keys(c.weights).sort(), 'same parameter names as PyTorch');
  for (const p of model.parameters()) {
    const w = c.weights[p.name];
    assert.deepEqual(p.shape, w.shape, `${p.name} shape`);
    p.data.set(w.data);
    p.grad.fill(0);
  }
  const batch = {
    B: c.B, T: c.T, D: 88,
    inputs: Float32Array.from(c.inputs), targets: Float32Array.from(c.targets), mask: Float32Array.from(c.mask),
  };
  const logits = model.logits(batch);
  for (let i = 0; i < logits.length; i++) {
    assert.ok(Math.abs(logits[i] - c.logits[i]) < 1e-4 * (1 + Math.abs(c.logits[i])), `logit ${i}: ${logits[i]} vs ${c.logits[i]}`);
  }
  const { nllSum } = model.trainStep(batch, 1, new Rng(1));
  assert.ok(Math.abs(nllSum - c.loss) < 1e-5 * c.loss, `loss ${nllSum} vs ${c.loss}`);
  for (const p of model.parameters()) {
    const want = c.grads[p.name];
    let scale = 0;
    for (const g of want) scale = Math.max(scale, Math.abs(g));
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(p.grad[i] - want[i]) <= 1e-4 * scale + 1e-3 * Math.abs(want[i]) + 1e-7,
        `${p.name}[${i}]: ${p.grad[i]} vs PyTorch ${want[i]}`);
    }
  }
}

test('tiny RWKV-4 matches PyTorch: logits, loss and every gradient', () => {
  compareWithTorch(fixture.rwkv);
});

test('tiny LSTM matches PyTorch (nn.LSTM, gate order i, f, g, o): logits, loss and every gradient', () => {
  compareWithTorch(fixture.lstm);
});

test('key-chain head on a tiny LSTM (89 hidden units: the degrees wrap) matches PyTorch: logits, loss and every gradient', () => {
  compareWithTorch(chainFixture.lstm);
});

test('key-chain head on a tiny RWKV-4 (fed by ln_out) matches PyTorch: logits, loss and every gradient', () => {
  compareWithTorch(chainFixture.rwkv);
});
