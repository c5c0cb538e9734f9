/**
 * The key-chain output head (src/models/key-chain.ts) at sampling time: drawFrame against the
 * parallel forward at temperatures other than 1. Its gradients and masks are checked in
 * models.test.ts, and against PyTorch in models-torch.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Batch } from '../src/engine/batch.js';
import { Rng } from '../src/engine/random.js';
import { createModel } from '../src/models/index.js';
import type { ModelConfig, SequenceModel } from '../src/models/model.js';

const D = 88;

function randomBatch(rng: Rng, B: number, T: number, density: number): Batch {
  const inputs = new Float32Array(B * T * D);
  const targets = new Float32Array(B * T * D);
  for (let i = 0; i < inputs.length; i++) {
    inputs[i] = rng.next() < density ? 1 : 0;
    targets[i] = rng.next() < density ? 1 : 0;
  }
  return { B, T, D, inputs, targets, mask: new Float32Array(B * T).fill(1) };
}

/**
 * Steps the model over the batch in RNN mode and, at each frame, lets drawFrame draw exactly the
 * target's keys (a generator that says "on" at those keys only); returns the largest difference
 * between the probabilities drawFrame used and sigmoid(parallel logit / temperature).
 */
function drawFrameError(model: SequenceModel, batch: Batch, temperature: number): number {
  const { B, T } = batch;
  const logits = model.logits(batch); // conditioned on the target's lower keys, as drawFrame is
  const state = model.initialState(B);
  const probs = new Float64Array(D);
  let maxErr = 0;
  for (let t = 0; t < T; t++) {
    const frames = new Float32Array(B * D);
    for (let b = 0; b < B; b++) frames.set(batch.inputs.subarray((b * T + t) * D, (b * T + t + 1) * D), b * D);
    model.step(state, frames);
    for (let b = 0; b < B; b++) {
      const row = (b * T + t) * D;
      const target = batch.targets.subarray(row, row + D);
      let key = 0;
      const forcing = { next: () => (target[key++] === 1 ? 0 : 1 - 1e-12) } as unknown as Rng;
      const on = model.drawFrame!(state, b, temperature, forcing, probs);
      assert.deepEqual(on, [...target.keys()].filter((d) => target[d] === 1));
      for (let d = 0; d < D; d++) maxErr = Math.max(maxErr, Math.abs(probs[d] - 1 / (1 + Math.exp(-logits[row + d] / temperature))));
    }
  }
  return maxErr;
}

test('key-chain head: drawFrame divides the conditional logits by the temperature', () => {
  const rng = new Rng(45);
  for (const config of [
    { kind: 'rwkv', nLayer: 1, nEmbd: 12, ffn: 16, dropout: 0, keyChain: 20 },
    { kind: 'lstm', layers: 1, hidden: 10, embed: 7, dropout: 0, keyChain: 12 },
  ] as ModelConfig[]) {
    const model = createModel(config, { seed: 7, rwkvInit: 'pytorch' });
    // The chain's output and direct weights start at zero; move everything off its init.
    for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.3 * rng.normal();
    const batch = randomBatch(rng, 2, 4, 0.25);
    for (const temperature of [0.5, 1, 1.7]) {
      const err = drawFrameError(model, batch, temperature);
      assert.ok(err < 1e-5, `${config.kind}, temperature ${temperature}: drawFrame probabilities differ by ${err}`);
    }
  }
});
