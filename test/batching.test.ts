import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chunkBounds,
  evaluationPlan,
  makeBatch,
  maskedFrames,
  predictedFrameCount,
  trainingPlan,
  type BatchPlan,
} from '../src/data/batching.js';
import { loadDataset } from '../src/data/dataset.js';
import type { Frame } from '../src/data/pianoroll.js';
import { syntheticSequences } from './helpers/data.js';

/** For every sequence, how many times each frame index is a prediction target in the plan. */
function targetCounts(sequences: Frame[][], plan: BatchPlan): number[][] {
  const counts = sequences.map((s) => new Array<number>(s.length).fill(0));
  for (const batch of plan.batches) for (const p of batch) for (let i = p.start + 1; i < p.end; i++) counts[p.seq][i]++;
  return counts;
}

test('chunks overlap by one frame so every frame after the first is predicted exactly once', () => {
  for (const maxLength of [2, 3, 7, 16]) {
    for (let length = 0; length < 60; length++) {
      for (const phase of [0, 1, Math.max(0, maxLength - 2)]) {
        const chunks = chunkBounds(length, maxLength, phase);
        const hits = new Array<number>(length).fill(0);
        for (const [s, e] of chunks) {
          assert.ok(e - s >= 2 && e - s <= maxLength, `chunk [${s},${e}) of max ${maxLength}`);
          for (let i = s + 1; i < e; i++) hits[i]++;
        }
        for (let i = 1; i < length; i++) assert.equal(hits[i], 1, `length ${length} max ${maxLength} phase ${phase} frame ${i}`);
        if (length > 0) assert.equal(hits[0], 0);
        for (let c = 1; c < chunks.length; c++) assert.equal(chunks[c][0], chunks[c - 1][1] - 1);
      }
    }
  }
});

test('evaluation batching scores every predicted frame of a split exactly once (Nottingham valid)', () => {
  const valid = loadDataset('nottingham').valid;
  const total = valid.reduce((n, s) => n + s.length, 0);
  for (const options of [
    { batchFrames: 4096, maxLength: Number.MAX_SAFE_INTEGER },
    { batchFrames: 4096, maxLength: 256 },
    { batchFrames: 1000, maxLength: 100 },
  ]) {
    const plan = evaluationPlan(valid, options);
    let scored = 0;
    for (const pieces of plan.batches) {
      const batch = makeBatch(valid, pieces);
      scored += maskedFrames(batch);
      assert.ok(batch.B === 1 || batch.B * batch.T <= options.batchFrames, 'batch within the frame budget');
    }
    assert.equal(scored, total - valid.length);
    assert.equal(scored, predictedFrameCount(valid));
    for (const counts of targetCounts(valid, plan)) {
      assert.equal(counts[0], 0);
      assert.ok(counts.slice(1).every((c) => c === 1));
    }
  }
});

test('a batch aligns inputs and targets one frame apart, with padding only at the end', () => {
  const seqs: Frame[][] = [
    [[60], [62], [64, 67], []],
    [[21], [108]],
  ];
  const batch = makeBatch(seqs, [
    { seq: 0, start: 0, end: 4, shift: 0 },
    { seq: 1, start: 0, end: 2, shift: 0 },
  ]);
  assert.deepEqual([batch.B, batch.T, batch.D], [2, 3, 88]);
  const on = (a: Float32Array, b: number, t: number) => {
    const notes: number[] = [];
    for (let k = 0; k < 88; k++) if (a[(b * batch.T + t) * 88 + k] === 1) notes.push(k + 21);
    return notes;
  };
  assert.deepEqual(on(batch.inputs, 0, 0), [60]);
  assert.deepEqual(on(batch.targets, 0, 0), [62]);
  assert.deepEqual(on(batch.inputs, 0, 2), [64, 67]);
  assert.deepEqual(on(batch.targets, 0, 2), []);
  assert.deepEqual(on(batch.inputs, 1, 0), [21]);
  assert.deepEqual(on(batch.targets, 1, 0), [108]);
  assert.deepEqual(Array.from(batch.mask), [1, 1, 1, 1, 0, 0]);
  assert.deepEqual(on(batch.inputs, 1, 1), []);
});

test('transposition shifts inputs and targets alike and drops notes leaving the keyboard', () => {
  const seqs: Frame[][] = [[[21, 60], [107, 108], [22]]];
  const up = makeBatch(seqs, [{ seq: 0, start: 0, end: 3, shift: 1 }]);
  const down = makeBatch(seqs, [{ seq: 0, start: 0, end: 3, shift: -1 }]);
  const notes = (a: Float32Array, t: number) => {
    const out: number[] = [];
    for (let k = 0; k < 88; k++) if (a[t * 88 + k]) out.push(k + 21);
    return out;
  };
  assert.deepEqual(notes(up.inputs, 0), [22, 61]);
  assert.deepEqual(notes(up.targets, 0), [108]);
  assert.deepEqual(notes(up.inputs, 1), [108]);
  assert.deepEqual(notes(down.inputs, 0), [59]);
  assert.deepEqual(notes(down.targets, 0), [106, 107]);
  assert.deepEqual(notes(down.targets, 1), [21]);
});

test('training plans are seeded per epoch, cover every frame once, and respect the budget', () => {
  const seqs = syntheticSequences(60, 3, 5, 120);
  const options = { batchFrames: 300, maxLength: 50, transpose: 3, randomPhase: true };
  const a = trainingPlan(seqs, options, 11, 0);
  const again = trainingPlan(seqs, options, 11, 0);
  const next = trainingPlan(seqs, options, 11, 1);
  const otherSeed = trainingPlan(seqs, options, 12, 0);
  assert.deepEqual(a, again);
  assert.notDeepEqual(a, next);
  assert.notDeepEqual(a, otherSeed);
  for (const plan of [a, next]) {
    for (const counts of targetCounts(seqs, plan)) assert.ok(counts.slice(1).every((c) => c === 1));
    for (const pieces of plan.batches) {
      const T = Math.max(...pieces.map((p) => p.end - p.start - 1));
      assert.ok(pieces.length === 1 || pieces.length * T <= options.batchFrames);
      assert.ok(pieces.every((p) => Math.abs(p.shift) <= 3));
    }
    // A sequence keeps one shift within an epoch.
    const shifts = new Map<number, Set<number>>();
    for (const pieces of plan.batches) for (const p of pieces) (shifts.get(p.seq) ?? shifts.set(p.seq, new Set()).get(p.seq)!).add(p.shift);
    assert.ok([...shifts.values()].every((s) => s.size === 1));
    assert.ok(new Set([...shifts.values()].map((s) => [...s][0])).size > 1, 'several shifts drawn');
  }
});

test('batches group pieces of similar length', () => {
  const seqs = syntheticSequences(200, 5, 5, 200);
  const plan = evaluationPlan(seqs, { batchFrames: 2000, maxLength: 1000 });
  let padded = 0;
  let real = 0;
  for (const pieces of plan.batches) {
    const b = makeBatch(seqs, pieces);
    padded += b.B * b.T;
    real += maskedFrames(b);
  }
  assert.ok(real / padded > 0.9, `padding overhead too large: ${real}/${padded}`);
});
