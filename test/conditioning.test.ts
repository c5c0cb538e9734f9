import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import { conditionWidth } from '../src/engine/condition.js';
import { evaluationPlan, makeBatch, trainingPlan } from '../src/data/batching.js';
import type { Frame } from '../src/data/pianoroll.js';
import { createModel } from '../src/models/index.js';
import type { ConditionConfig, ModelConfig } from '../src/models/model.js';
import { openingFrames, sample } from '../src/generate/sampler.js';
import { evaluateFirstFrames, evaluateSequences } from '../src/train/evaluate.js';
import { warmStart } from '../src/train/warm-start.js';
import { checkGrad } from './gradcheck.js';
import { jitter } from './helpers/jitter.js';

const D = 88;
const cond: ConditionConfig = { start: true, keyShifts: 2 };

function randomPieces(rng: Rng, count: number, len: () => number): Frame[][] {
  return Array.from({ length: count }, () => Array.from({ length: len() }, () => {
    const f: number[] = [];
    for (let k = 0; k < 88; k++) if (rng.next() < 0.08) f.push(21 + k);
    return f;
  }));
}

test('batching: a piece that starts its sequence is read after a start step, trained but not scored', () => {
  const seqs: Frame[][] = [[[60], [62], [64], [65]], [[48, 52], [50]]];
  const plan = evaluationPlan(seqs, { batchFrames: 100, maxLength: 100, condition: cond });
  assert.equal(plan.batches.length, 1);
  const batch = makeBatch(seqs, plan.batches[0], plan.condition);
  const W = conditionWidth(cond);
  assert.equal(W, 1 + 5);
  assert.equal(batch.T, 4); // start step + 3 predictions of the longer piece
  const b = plan.batches[0].findIndex((p) => p.seq === 0);
  const row = (t: number) => (b * batch.T + t);
  // start step: empty input, flag on, target = first frame, scored 0, trained 1
  assert.deepEqual([...batch.inputs.subarray(row(0) * D, row(0) * D + D)].filter((x) => x !== 0), []);
  assert.equal(batch.targets[row(0) * D + 60 - 21], 1);
  assert.equal(batch.mask[row(0)], 0);
  assert.equal(batch.trainMask![row(0)], 1);
  assert.equal(batch.condition![row(0) * W], 1);
  // later steps: the previous frame in, flag off, key one-hot at shift 0 (index keyShifts)
  assert.equal(batch.inputs[row(1) * D + 60 - 21], 1);
  assert.equal(batch.targets[row(1) * D + 62 - 21], 1);
  assert.equal(batch.mask[row(1)], 1);
  assert.equal(batch.condition![row(1) * W], 0);
  assert.deepEqual([...batch.condition!.subarray(row(1) * W + 1, row(1) * W + W)], [0, 0, 1, 0, 0]);
  // scored frames are exactly the benchmark's: all frames but the first of each sequence
  let scored = 0;
  for (const m of batch.mask) scored += m;
  assert.equal(scored, 3 + 1);
});

test('batching: transposition and the key input agree (the one-hot names the shift the frames moved by)', () => {
  const rng = new Rng(5);
  const seqs = randomPieces(rng, 12, () => 20);
  const plan = trainingPlan(seqs, { batchFrames: 64, maxLength: 12, transpose: 2, randomPhase: true, condition: cond }, 3, 0);
  const W = conditionWidth(cond);
  let seen = 0;
  for (const pieces of plan.batches) {
    const batch = makeBatch(seqs, pieces, plan.condition);
    pieces.forEach((p, b) => {
      const lead = p.start === 0 ? 1 : 0;
      for (let t = lead; t < p.end - p.start - 1 + lead; t++) {
        const i = b * batch.T + t;
        const hot = [...batch.condition!.subarray(i * W + 1, i * W + W)].indexOf(1);
        assert.equal(hot - cond.keyShifts, p.shift);
        const src = seqs[p.seq][p.start + t - lead];
        for (const n of src) {
          const k = n + p.shift - 21;
          if (k >= 0 && k < 88) assert.equal(batch.inputs[i * D + k], 1);
        }
        seen++;
      }
    });
  }
  assert.ok(seen > 100);
});

const conditioned: ModelConfig[] = [
  { kind: 'rwkv', nLayer: 2, nEmbd: 8, ffn: 12, dropout: 0, condition: cond, inputLags: [1, 3], keyChain: 6 },
  { kind: 'lstm', layers: 2, hidden: 6, embed: 5, dropout: 0, condition: cond, keyChain: 5, keyChainOrder: 'down' },
  { kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0, condition: { start: false, keyShifts: 1 } },
];

test('conditioned models: gradients of every parameter match finite differences, first frames included', () => {
  const rng = new Rng(7);
  for (const config of conditioned) {
    const model = createModel(config, { seed: 3, rwkvInit: 'pytorch' });
    jitter(model, rng, 0.05);
    const seqs = randomPieces(rng, 3, () => 5);
    const plan = trainingPlan(seqs, { batchFrames: 100, maxLength: 100, transpose: 1, randomPhase: false, condition: config.condition }, 1, 0);
    const batch = makeBatch(seqs, plan.batches[0], plan.condition);
    for (const p of model.parameters()) p.grad.fill(0);
    const r = model.trainStep(batch, 1, new Rng(1));
    assert.equal(r.frames, config.condition!.start ? 15 : 12);
    const f = () => model.trainStep(batch, 0, new Rng(1)).nllSum;
    const params = model.parameters();
    const grads = params.map((p) => p.grad.slice());
    for (let j = 0; j < params.length; j++) {
      checkGrad(`${config.kind} ${params[j].name}`, f, params[j].data, grads[j], { eps: 3e-3, rtol: 2e-2, atolFrac: 2e-2, maxEntries: 6 });
    }
  }
});

test('conditioned models: RNN steps from the start step reproduce the parallel logits, in any key', () => {
  const rng = new Rng(8);
  for (const config of conditioned) {
    const model = createModel(config, { seed: 4, rwkvInit: 'pytorch' });
    jitter(model, rng, 0.1);
    for (const shift of [0, -1, 1]) {
      const seq = randomPieces(rng, 1, () => 7);
      const shifted = seq.map((s) => s.map((f) => f.map((n) => n + shift).filter((n) => n >= 21 && n <= 108)));
      const plan = evaluationPlan(shifted, { batchFrames: 100, maxLength: 100, condition: config.condition });
      // the plan has shift 0; ask for the key by editing the pieces as training would
      const pieces = plan.batches[0].map((p) => ({ ...p, shift: 0 }));
      const batch = makeBatch(shifted, pieces, plan.condition);
      // make the batch read `shift` in its key columns
      if (config.condition!.keyShifts > 0) {
        const W = conditionWidth(config.condition);
        const off = config.condition!.start ? 1 : 0;
        for (let t = 0; t < batch.T; t++) {
          batch.condition!.fill(0, t * W + off, t * W + W);
          batch.condition![t * W + off + config.condition!.keyShifts + shift] = 1;
        }
      }
      const par = model.logits(batch);
      const state = model.initialState(1, { keyShift: shift });
      let maxErr = 0;
      for (let t = 0; t < batch.T; t++) {
        const out = model.step(state, batch.inputs.slice(t * D, (t + 1) * D));
        // with a key chain, step() gives the logits for an empty frame; compare the base where the frame is empty
        const empty = !batch.targets.subarray(t * D, (t + 1) * D).some((x) => x > 0);
        if (config.keyChain && !empty) continue;
        for (let d = 0; d < D; d++) maxErr = Math.max(maxErr, Math.abs(out[d] - par[t * D + d]));
      }
      assert.ok(maxErr < 1e-4, `${config.kind} shift ${shift}: steps differ by ${maxErr}`);
      if (config.keyChain) {
        // drawFrame's probabilities equal the parallel forward's conditionals for the target frame
        const st = model.initialState(1, { keyShift: shift });
        for (let t = 0; t < batch.T; t++) {
          model.step(st, batch.inputs.slice(t * D, (t + 1) * D));
          const fixed = new Int8Array(D);
          for (let d = 0; d < D; d++) fixed[d] = batch.targets[t * D + d] > 0 ? 1 : 0;
          const probs = new Float64Array(D);
          model.drawFrame!(st, 0, 1, new Rng(1), probs, fixed);
          for (let d = 0; d < D; d++) {
            const p = 1 / (1 + Math.exp(-par[t * D + d]));
            assert.ok(Math.abs(p - probs[d]) < 1e-5, `${config.kind} t=${t} key ${d}: ${probs[d]} vs ${p}`);
          }
        }
      }
    }
  }
});

test('a descending key chain: key d reads only the keys above it', () => {
  const rng = new Rng(9);
  const model = createModel({ kind: 'lstm', layers: 1, hidden: 6, embed: 5, dropout: 0, keyChain: 12, keyChainOrder: 'down' }, { seed: 2 });
  jitter(model, rng, 0.2);
  const seqs = randomPieces(rng, 1, () => 4);
  const plan = evaluationPlan(seqs, { batchFrames: 100, maxLength: 100 });
  const batch = makeBatch(seqs, plan.batches[0]);
  const base = model.logits(batch);
  for (const k of [0, 30, 60, 87]) {
    const flipped = { ...batch, targets: batch.targets.slice() };
    flipped.targets[1 * D + k] = 1 - flipped.targets[1 * D + k];
    const out = model.logits(flipped);
    for (let d = 0; d < D; d++) {
      const changed = Math.abs(out[D + d] - base[D + d]) > 1e-7;
      if (d >= k) assert.ok(!changed, `flipping key ${k} changed logit ${d}`);
    }
    assert.ok([...Array(k).keys()].some((d) => Math.abs(out[D + d] - base[D + d]) > 1e-7) || k === 0, `flipping key ${k} changed no key below it`);
    for (let d = 0; d < D; d++) assert.equal(out[d], base[d], 'another frame changed');
  }
});

test('first frames: scored by evaluateFirstFrames only, the benchmark NLL counts the others', () => {
  const rng = new Rng(10);
  const model = createModel(conditioned[0], { seed: 5 });
  const seqs = randomPieces(rng, 4, () => 6);
  const r = evaluateSequences(model, seqs, { batchFrames: 64, maxLength: 100 });
  assert.equal(r.frames, 4 * 5);
  const first = evaluateFirstFrames(model, seqs, { batchFrames: 64, maxLength: 100 });
  assert.equal(first.frames, 4);
  assert.ok(first.nll > 0 && Number.isFinite(first.nll));
});

test('sampling from a model with a start input feeds the start step, then the primer', () => {
  const model = createModel(conditioned[0], { seed: 5 });
  assert.deepEqual(openingFrames(model, [[60]]), [[], [60]]);
  const old = createModel({ kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0 }, { seed: 5 });
  assert.deepEqual(openingFrames(old, [[60]]), [[60]]);
  assert.deepEqual(openingFrames(old, []), [[]]);
  const a = sample(model, { length: 8, temperature: 1, seed: 3, count: 2, keyShift: 1 });
  const b = sample(model, { length: 8, temperature: 1, seed: 3, count: 2, keyShift: 1 });
  assert.deepEqual(a, b);
  const c = sample(model, { length: 8, temperature: 1, seed: 3, count: 2, keyShift: -1 });
  assert.notDeepEqual(a.map((s) => s.frames), c.map((s) => s.frames), 'the key input changes what is drawn');
  assert.throws(() => sample(model, { length: 8, temperature: 1, seed: 3, count: 1, keyShift: 3 }), /-2\.\.2/);
});

test('warm start: a model gaining the conditioning inputs computes what its source computed', () => {
  const rng = new Rng(11);
  const source = createModel({ kind: 'lstm', layers: 1, hidden: 6, embed: 5, dropout: 0, keyChain: 4 }, { seed: 1 });
  jitter(source, rng, 0.1);
  const target = createModel({ kind: 'lstm', layers: 1, hidden: 6, embed: 5, dropout: 0, keyChain: 4, condition: { start: false, keyShifts: 2 } }, { seed: 2 });
  const lines = warmStart(target, source, 'source');
  assert.match(lines.join('\n'), /new columns start at zero/);
  const seqs = randomPieces(rng, 2, () => 6);
  const a = evaluateSequences(source, seqs, { batchFrames: 64, maxLength: 100 });
  const b = evaluateSequences(target, seqs, { batchFrames: 64, maxLength: 100 });
  assert.ok(Math.abs(a.nll - b.nll) < 1e-6, `${a.nll} vs ${b.nll}`);
  const rwkv = createModel({ kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0 }, { seed: 1 });
  assert.throws(() => warmStart(target, rwkv, 'rwkv'), /cannot start/);
});

test('warm start: embedding inputs are matched by what they read when the layouts differ', () => {
  const rng = new Rng(12);
  const base = { kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0, keyChain: 4 } as const;
  const source = createModel({ ...base, condition: { start: true, keyShifts: 2 } }, { seed: 1 });
  jitter(source, rng, 0.1);
  // wider key input and input lags: the source's start and key columns keep their meaning
  const wider = createModel({ ...base, inputLags: [1, 3], condition: { start: true, keyShifts: 4 } }, { seed: 2 });
  assert.match(warmStart(wider, source, 'source').join('\n'), /new columns start at zero/);
  const seqs = randomPieces(rng, 2, () => 7);
  const nll = (m: typeof source) => evaluateSequences(m, seqs, { batchFrames: 64, maxLength: 100 }).nll;
  assert.ok(Math.abs(nll(source) - nll(wider)) < 1e-6, `${nll(source)} vs ${nll(wider)}`);
  const draw = (m: typeof source) => sample(m, { length: 6, temperature: 1, seed: 5, count: 2, keyShift: -2 }).map((s) => s.frames);
  assert.deepEqual(draw(wider), draw(source), 'key shift -2 reads the same weights in both');
  // narrower again: the columns without a counterpart are dropped, the rest still match
  const narrower = createModel({ ...base, condition: { start: true, keyShifts: 2 } }, { seed: 3 });
  assert.match(warmStart(narrower, wider, 'wider').join('\n'), /no counterpart here and are dropped/);
  assert.ok(Math.abs(nll(source) - nll(narrower)) < 1e-6, `${nll(source)} vs ${nll(narrower)}`);
});
