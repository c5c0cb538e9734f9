import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../src/models/index.js';
import { rnnVersusParallel } from './helpers/parallel-check.js';

// Tiny real models; RWKV with PyTorch-style initialisation so that every block (and so the state) matters.
const rwkv = () => createModel({ kind: 'rwkv', nLayer: 2, nEmbd: 16, ffn: 32, dropout: 0 }, { seed: 3, rwkvInit: 'pytorch' });
const lstm = () => createModel({ kind: 'lstm', layers: 2, hidden: 16, embed: 12, dropout: 0 }, { seed: 4 });

for (const [name, make] of [['RWKV', rwkv], ['LSTM', lstm]] as const) {
  test(`${name}: logits seen while sampling in RNN mode equal the parallel forward over the sample`, () => {
    const model = make();
    const plain = rnnVersusParallel(model, { length: 20, temperature: 1, seed: 11, count: 3 });
    assert.ok(plain.maxDiff < 1e-4, `max difference ${plain.maxDiff}`);
    const primed = rnnVersusParallel(model, { length: 12, temperature: 1.2, seed: 12, count: 2, primer: [[60, 64, 67], [], [62, 65]] });
    assert.ok(primed.maxDiff < 1e-4, `max difference ${primed.maxDiff}`);
    const notes = plain.samples.reduce((n, s) => n + s.frames.reduce((m, f) => m + f.length, 0), 0);
    assert.ok(notes > 0, 'the samples hold notes');
  });
}
