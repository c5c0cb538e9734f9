import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Frame } from '../src/data/pianoroll.js';
import { sample } from '../src/generate/sampler.js';
import { createModel } from '../src/models/index.js';
import { ToyRecurrentModel } from './helpers/toy-model.js';

const primer = [[60, 64, 67], [62, 65], [], [64, 67, 71]];

test('onFrame reports every generated frame of every sample, in order, as the sampler returns them', () => {
  for (const model of [new ToyRecurrentModel(3), createModel({ kind: 'lstm', layers: 1, hidden: 8, embed: 6, dropout: 0, keyChain: 8 }, { seed: 2 })]) {
    const seen: Frame[][] = [[], []];
    const steps: number[] = [];
    const out = sample(model, {
      length: 12, temperature: 1.2, seed: 5, count: 2, primer, maxPolyphony: 4,
      onFrame: (step, frames) => {
        steps.push(step);
        frames.forEach((f, b) => seen[b].push([...f]));
      },
    });
    assert.deepEqual(steps, Array.from({ length: 12 }, (_, i) => i));
    for (const s of out) assert.deepEqual(seen[s.index], s.frames.slice(s.primerLength));
    assert.ok(seen.flat().some((f) => f.length > 0), 'the check covered frames with notes');
  }
});

test('onFrame does not change what is sampled', () => {
  const model = new ToyRecurrentModel(1);
  const options = { length: 16, temperature: 0.9, seed: 21, count: 1 };
  const [plain] = sample(model, options);
  const [watched] = sample(model, { ...options, onFrame: () => undefined });
  assert.deepEqual(watched.frames, plain.frames);
});
