import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeSafetensors } from '../src/engine/safetensors.js';
import { makeParam } from '../src/engine/tensor.js';
import { Rng } from '../src/engine/random.js';
import { UserError } from '../src/errors.js';
import { evaluateSequences } from '../src/train/evaluate.js';
import { train, type TrainOptions } from '../src/train/loop.js';
import { averageDecay, WeightAverage } from '../src/train/weight-average.js';
import type { RunConfig } from '../src/train/config.js';
import { trainingConfigProblem } from '../src/train/config.js';
import { buildRunConfig } from '../src/train/setup.js';
import { TinyModel } from './helpers/tiny-model.js';
import { syntheticSequences } from './helpers/data.js';
import { latestCheckpoint, tempRunDir, tinyRunConfig } from './helpers/run.js';

const data = { train: syntheticSequences(40, 1, 5, 70), valid: syntheticSequences(10, 2, 5, 70) };

function options(runDir: string, config: RunConfig, extra: Partial<TrainOptions> = {}): TrainOptions {
  return { runDir, config, resume: false, data, buildModel: (cfg, seed) => new TinyModel(cfg, seed), log: () => {}, ...extra };
}

function tensors(path: string): Map<string, Float32Array> {
  return new Map(decodeSafetensors(readFileSync(path), path).tensors.map((t) => [t.name, t.data]));
}

test('the weight average follows avg = d avg + (1 - d) w with the warmed-up decay, against a float64 reference', () => {
  const a = makeParam('a', [3, 4], true);
  const b = makeParam('b', [5], false);
  const rng = new Rng(7);
  for (const p of [a, b]) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.next() - 0.5;
  const average = new WeightAverage([a, b], 0.6);
  const reference = [Array.from(a.data), Array.from(b.data)];
  for (let n = 1; n <= 40; n++) {
    for (const p of [a, b]) for (let i = 0; i < p.data.length; i++) p.data[i] += 0.1 * (rng.next() - 0.5);
    average.update(n);
    // Warm-up until (1 + n) / (10 + n) reaches the decay, after update 12.
    const d = n <= 12 ? (1 + n) / (10 + n) : 0.6;
    assert.equal(averageDecay(0.6, n), d);
    [a, b].forEach((p, k) => reference[k].forEach((r, i) => (reference[k][i] = d * r + (1 - d) * p.data[i])));
  }
  [0, 1].forEach((k) => average.average[k].forEach((x, i) => assert.ok(Math.abs(x - reference[k][i]) < 1e-6, `${k}[${i}]: ${x} vs ${reference[k][i]}`)));

  // withAverage shows the average and puts the live weights back exactly, even when f throws.
  const live = [a.data.slice(), b.data.slice()];
  const seen = average.withAverage(() => [a.data.slice(), b.data.slice()]);
  assert.deepEqual(seen, average.average);
  assert.deepEqual([a.data, b.data], live);
  assert.throws(() => average.withAverage(() => { throw new Error('boom'); }), /boom/);
  assert.deepEqual([a.data, b.data], live);
});

test('with a weight average, training validates and publishes the average; the live weights train as without it', async () => {
  const plainDir = tempRunDir();
  const averagedDir = tempRunDir();
  try {
    const plain = await train(options(plainDir, tinyRunConfig({ epochs: 3 })));
    const averaged = await train(options(averagedDir, tinyRunConfig({ epochs: 3, emaDecay: 0.8 })));
    // The average does not change the updates: the live weights (w.* in the optimizer file) are the plain run's.
    const live = tensors(join(latestCheckpoint(averagedDir), 'optimizer.safetensors'));
    const plainWeights = tensors(join(latestCheckpoint(plainDir), 'model.safetensors'));
    for (const [name, w] of plainWeights) assert.deepEqual(live.get(`w.${name}`), w, name);
    // The model file holds the average, which differs from the live weights.
    const averagedWeights = tensors(join(latestCheckpoint(averagedDir), 'model.safetensors'));
    assert.notDeepEqual(averagedWeights.get('head.weight'), live.get('w.head.weight'));
    // best.safetensors scores exactly the best validation NLL the run recorded.
    const model = new TinyModel(tinyRunConfig().model, 5);
    const best = tensors(join(averagedDir, 'best.safetensors'));
    for (const p of model.parameters()) p.data.set(best.get(p.name)!);
    const score = evaluateSequences(model, data.valid, { batchFrames: 200, maxLength: Number.MAX_SAFE_INTEGER }).nll;
    assert.equal(score, averaged.bestValid);
    assert.notEqual(averaged.bestValid, plain.bestValid);
  } finally {
    rmSync(dirname(plainDir), { recursive: true, force: true });
    rmSync(dirname(averagedDir), { recursive: true, force: true });
  }
});

test('a run with a weight average resumes bit for bit: the average and the live weights', async () => {
  const full = tempRunDir();
  const split = tempRunDir();
  const config = tinyRunConfig({ emaDecay: 0.9 });
  try {
    await train(options(full, config, { stop: { steps: 17 } }));
    await train(options(split, config, { stop: { steps: 6 } }));
    await train(options(split, config, { resume: true, stop: { steps: 17 } }));
    for (const f of ['model.safetensors', 'optimizer.safetensors']) {
      assert.deepEqual(readFileSync(join(latestCheckpoint(split), f)), readFileSync(join(latestCheckpoint(full), f)), f);
    }
    assert.deepEqual(readFileSync(join(split, 'best.safetensors')), readFileSync(join(full, 'best.safetensors')));
  } finally {
    rmSync(dirname(full), { recursive: true, force: true });
    rmSync(dirname(split), { recursive: true, force: true });
  }
});

test('a weight-average decay outside (0, 1) is refused, in a config and on the command line', () => {
  for (const bad of [0, 1, 1.5, -0.1, Number.NaN]) {
    assert.match(trainingConfigProblem(tinyRunConfig({ emaDecay: bad }).training) ?? '', /emaDecay must be a number between 0 and 1/);
  }
  assert.equal(trainingConfigProblem(tinyRunConfig({ emaDecay: null }).training), null);
  assert.equal(buildRunConfig('lstm', 'nottingham', 1, null, { emaDecay: 0.999 }, 'test').training.emaDecay, 0.999);
  assert.throws(
    () => buildRunConfig('lstm', 'nottingham', 1, { training: { emaDecay: 2 } }, {}, 'test'),
    (e: Error) => e instanceof UserError && /emaDecay must be a number between 0 and 1/.test(e.message),
  );
});
