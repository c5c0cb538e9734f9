import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_COUNT, LOWEST_NOTE } from '../src/data/pianoroll.js';
import { sample, sampleSeed, keepMostProbable, HELD_FRAMES_LIMIT } from '../src/generate/sampler.js';
import { UserError } from '../src/errors.js';
import { ToyRecurrentModel } from './helpers/toy-model.js';
import { rnnVersusParallel } from './helpers/parallel-check.js';
import { createModel } from '../src/models/index.js';
import { Rng } from '../src/engine/random.js';
import { jitter } from './helpers/jitter.js';

const primer = [[60, 64, 67], [60, 64, 67], [], [62, 65, 69]];

/** A stateless model whose keys are independent, each on with the same p, so that `emptyShare` of its frames are empty. */
function constantModel(emptyShare: number): Parameters<typeof sample>[0] {
  const p = 1 - Math.pow(emptyShare, 1 / KEY_COUNT);
  const logit = Math.log(p / (1 - p));
  return {
    inputSize: KEY_COUNT,
    config: { kind: 'lstm' },
    initialState: () => ({}),
    step: (_state: unknown, frames: Float32Array) => new Float32Array(frames.length).fill(logit),
  } as unknown as Parameters<typeof sample>[0];
}

test('RNN-mode sampling sees the same logits as the parallel forward over the sampled sequence', () => {
  const model = new ToyRecurrentModel(3);
  const plain = rnnVersusParallel(model, { length: 24, temperature: 1, seed: 5, count: 3 });
  assert.equal(plain.steps, 24);
  assert.ok(plain.maxDiff < 1e-5, `max difference ${plain.maxDiff}`);
  const primed = rnnVersusParallel(model, { length: 20, temperature: 0.8, seed: 6, count: 2, primer });
  assert.equal(primed.steps, primer.length + 19);
  assert.ok(primed.maxDiff < 1e-5, `max difference ${primed.maxDiff}`);
  // The samples are not trivially silent, so the comparison covered real inputs.
  const notes = primed.samples.flatMap((s) => s.frames.slice(s.primerLength)).reduce((n, f) => n + f.length, 0);
  assert.ok(notes > 10, `only ${notes} notes sampled`);
});

test('the toy model is stateful: a fresh state gives different logits for the same frame', () => {
  const model = new ToyRecurrentModel(3);
  const x = new Float32Array(KEY_COUNT);
  x[60 - LOWEST_NOTE] = 1;
  const carried = model.initialState(1);
  const first = model.step(carried, x);
  const second = model.step(carried, x);
  const fresh = model.step(model.initialState(1), x);
  assert.deepEqual(Array.from(fresh), Array.from(first));
  assert.ok(second.some((v, i) => Math.abs(v - first[i]) > 1e-3));
});

test('the output opens with the primer, marked by its length', () => {
  const [s] = sample(new ToyRecurrentModel(1), { length: 8, temperature: 1, seed: 1, count: 1, primer });
  assert.equal(s.primerLength, primer.length);
  assert.equal(s.frames.length, primer.length + 8);
  assert.deepEqual(s.frames.slice(0, primer.length), primer);
  for (const f of s.frames) for (const n of f) assert.ok(n >= 21 && n <= 108);
});

test('same seed gives identical samples; a sample does not depend on the batch it ran in', () => {
  const model = new ToyRecurrentModel(2);
  const opts = { length: 32, temperature: 1, seed: 42, count: 3, primer };
  const a = sample(model, opts);
  const b = sample(model, opts);
  assert.deepEqual(a, b);
  const alone = sample(model, { ...opts, count: 1 });
  assert.deepEqual(alone[0].frames, a[0].frames);
  const other = sample(model, { ...opts, seed: 43 });
  assert.notDeepEqual(other[0].frames, a[0].frames);
  assert.notDeepEqual(a[0].frames, a[1].frames);
  assert.notEqual(sampleSeed(42, 0), sampleSeed(42, 1));
  assert.notEqual(sampleSeed(42, 1), sampleSeed(43, 0));
});

test('a very low per-key temperature turns on exactly the keys with positive logits', () => {
  const model = new ToyRecurrentModel(4, 16, 0);
  const logits: Float32Array[] = [];
  const [s] = sample(model, { length: 10, temperature: 1, keyTemperature: 1e-4, seed: 9, count: 1, onStep: (_, l) => logits.push(l.slice()) });
  for (let t = 0; t < 10; t++) {
    const expected = [];
    for (let k = 0; k < KEY_COUNT; k++) if (logits[t][k] > 0) expected.push(k + LOWEST_NOTE);
    assert.deepEqual(s.frames[t], expected);
  }
});

test('max polyphony keeps the most probable of the sampled keys', () => {
  const model = new ToyRecurrentModel(5, 16, 1);
  const logits: Float32Array[] = [];
  const free = sample(model, { length: 12, temperature: 1, seed: 3, count: 1 });
  assert.ok(free[0].frames.some((f) => f.length > 3), 'the unconstrained sample should be dense');
  const [s] = sample(model, { length: 12, temperature: 1, seed: 3, count: 1, maxPolyphony: 3, onStep: (_, l) => logits.push(l.slice()) });
  // The first frame comes from the same logits and uniforms as the unconstrained one.
  const kept = s.frames[0];
  assert.ok(kept.length <= 3);
  for (const n of kept) assert.ok(free[0].frames[0].includes(n));
  const dropped = free[0].frames[0].filter((n) => !kept.includes(n));
  for (const d of dropped) for (const n of kept) assert.ok(logits[0][n - LOWEST_NOTE] >= logits[0][d - LOWEST_NOTE]);
  for (const f of s.frames) assert.ok(f.length <= 3);
  assert.deepEqual(keepMostProbable([60, 62, 64], Float64Array.from({ length: 88 }, (_, k) => (k === 62 - 21 ? 0.9 : 0.5)), 2), [60, 62]);
});

test('bad arguments are refused with a UserError', () => {
  const model = new ToyRecurrentModel(1);
  const base = { length: 4, temperature: 1, seed: 1, count: 1 };
  for (const bad of [{ length: -1 }, { length: 0 }, { length: 2.5 }, { temperature: 0 }, { temperature: -1 }, { temperature: NaN }, { count: 0 }, { seed: -3 }, { maxPolyphony: 0 }, { primer: [[200]] }])
    assert.throws(() => sample(model, { ...base, ...bad }), UserError, JSON.stringify(bad));
});

test('the RNN-versus-parallel check catches a model step that forgets its state', () => {
  // The defect of the original project: each frame fed with a fresh state (a first-order Markov chain).
  const model = new ToyRecurrentModel(3);
  const forgetful = Object.create(model) as ToyRecurrentModel;
  forgetful.step = (state, frames) => model.step(model.initialState(state.batch), frames);
  const { maxDiff } = rnnVersusParallel(forgetful, { length: 16, temperature: 1, seed: 5, count: 2 });
  assert.ok(maxDiff > 0.1, `difference ${maxDiff} should be large`);
});

test('a key-chain model samples through its own frame draws: seeded, batch-independent, RNN = parallel', () => {
  const model = createModel({ kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0, keyChain: 16 }, { seed: 3, rwkvInit: 'pytorch' });
  const rng = new Rng(9);
  jitter(model, rng, 0.3);
  const options = { length: 12, temperature: 1, seed: 21, count: 3, primer };
  const { maxDiff, samples } = rnnVersusParallel(model, options);
  assert.ok(maxDiff < 1e-4, `max difference ${maxDiff}`);
  assert.deepEqual(sample(model, options), samples);
  assert.deepEqual(sample(model, { ...options, count: 1 })[0], samples[0]);
  const notes = samples.flatMap((s) => s.frames.slice(s.primerLength)).reduce((n, f) => n + f.length, 0);
  assert.ok(notes > 5, `only ${notes} notes sampled`);
});

test('every sample of a batch follows the seed, not only the first', () => {
  const model = new ToyRecurrentModel(2);
  const opts = { length: 24, temperature: 1, count: 4, primer };
  const runs = [42, 43, 44].map((seed) => sample(model, { ...opts, seed }));
  for (let i = 0; i < opts.count; i++) {
    const generated = runs.map((r) => JSON.stringify(r[i].frames.slice(primer.length)));
    assert.equal(new Set(generated).size, runs.length, `sample ${i} is the same for seeds 42, 43 and 44`);
  }
  assert.deepEqual(sample(model, { ...opts, seed: 43 }), runs[1]);
});

test('below temperature 1 a rest is not stretched while a drawn candidate plays', () => {
  // Every key independent with p such that half of all frames are empty, whatever came before.
  const model = constantModel(0.5);
  const longestRest = (frames: number[][]) => {
    let run = 0;
    let longest = 0;
    for (const f of frames) {
      run = f.length === 0 ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    return longest;
  };
  const [plain] = sample(model, { length: 200, temperature: 1, seed: 4, count: 1 });
  const [conservative] = sample(model, { length: 200, temperature: 0.6, seed: 4, count: 1 });
  assert.ok(longestRest(plain.frames) >= 2, 'at temperature 1 the model rests for several frames');
  assert.ok(conservative.frames.some((f) => f.length === 0), 'single rests remain');
  assert.equal(longestRest(conservative.frames), 1);
});

test('below temperature 1 a chord is not held past the limit while a drawn candidate differs', () => {
  // Every key keeps its previous state with probability 0.9975: long held chords at temperature 1.
  const model = {
    inputSize: KEY_COUNT,
    config: { kind: 'lstm' },
    initialState: () => ({}),
    step: (_state: unknown, frames: Float32Array) => frames.map((x) => (x > 0 ? 6 : -6)),
  } as unknown as Parameters<typeof sample>[0];
  const longestHold = (frames: number[][]) => {
    let run = 0;
    let longest = 0;
    for (let t = 0; t < frames.length; t++) {
      const same = t > 0 && frames[t].length > 0 && frames[t].join() === frames[t - 1].join();
      run = same ? run + 1 : 1;
      if (frames[t].length > 0) longest = Math.max(longest, run);
    }
    return longest;
  };
  const [plain] = sample(model, { length: 400, temperature: 1, seed: 4, count: 1 });
  const [conservative] = sample(model, { length: 400, temperature: 0.6, seed: 4, count: 1 });
  assert.ok(longestHold(plain.frames) > HELD_FRAMES_LIMIT + 2, `at temperature 1 a chord is held ${longestHold(plain.frames)} frames`);
  const holds = longestHold(conservative.frames);
  assert.ok(holds >= HELD_FRAMES_LIMIT / 2 && holds <= HELD_FRAMES_LIMIT + 2, `held ${holds} frames at 0.6`);
});

test('an unprimed take opens with sound; a primed one may rest, and a model that only rests still does', () => {
  // Half of this model's frames are empty, whatever came before.
  const model = constantModel(0.5);
  const unprimed = sample(model, { length: 4, temperature: 1, seed: 9, count: 64 });
  assert.equal(unprimed.filter((s) => s.frames[0].length === 0).length, 0);
  assert.ok(unprimed.some((s) => s.frames.slice(1).some((f) => f.length === 0)), 'later frames still rest');
  const conservative = sample(model, { length: 2, temperature: 0.7, seed: 9, count: 32 });
  assert.equal(conservative.filter((s) => s.frames[0].length === 0).length, 0);
  const primed = sample(model, { length: 1, temperature: 1, seed: 9, count: 64, primer: [[60]] });
  const restingOpenings = primed.filter((s) => s.frames[1].length === 0).length;
  assert.ok(restingOpenings > 16 && restingOpenings < 48, `${restingOpenings} of 64 primed takes rest first`);
  // A model all but certain of silence is sampled as it is, after a bounded number of draws.
  const silent = sample(constantModel(1 - 1e-9), { length: 3, temperature: 1, seed: 9, count: 4 });
  for (const s of silent) assert.deepEqual(s.frames, [[], [], []]);
});
