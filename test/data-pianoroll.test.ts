import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import {
  KEY_COUNT,
  countNotes,
  frameProblem,
  frameSeconds,
  fromDense,
  makeFrame,
  noteName,
  pitchRange,
  toDense,
  transposeFrames,
  transposeRoll,
  type Frame,
} from '../src/data/pianoroll.js';

function randomFrames(rng: Rng, T: number, density: number): Frame[] {
  return Array.from({ length: T }, () => {
    const frame: Frame = [];
    for (let note = 21; note <= 108; note++) if (rng.next() < density) frame.push(note);
    return frame;
  });
}

test('dense conversion round-trips and puts note n at column n - 21', () => {
  const frames: Frame[] = [[21, 60, 108], [], [64]];
  const dense = toDense(frames);
  assert.equal(dense.length, 3 * KEY_COUNT);
  assert.equal(dense[0], 1);
  assert.equal(dense[60 - 21], 1);
  assert.equal(dense[KEY_COUNT - 1], 1);
  assert.equal(dense[2 * KEY_COUNT + 64 - 21], 1);
  assert.equal(dense.reduce((a, b) => a + b, 0), 4);
  assert.deepEqual(fromDense(dense), frames);

  const random = randomFrames(new Rng(3), 50, 0.1);
  assert.deepEqual(fromDense(toDense(random), 50), random);
});

test('fromDense applies the threshold and toDense clears a reused buffer', () => {
  const probs = new Float32Array(2 * KEY_COUNT);
  probs[39] = 0.7; // note 60
  probs[40] = 0.3; // note 61
  probs[KEY_COUNT + 5] = 0.5; // note 26, frame 1
  assert.deepEqual(fromDense(probs), [[60], [26]]);
  assert.deepEqual(fromDense(probs, 2, 0.25), [[60, 61], [26]]);
  assert.deepEqual(fromDense(probs, 1, 0.6), [[60]]);

  const buffer = new Float32Array(2 * KEY_COUNT).fill(1);
  toDense([[22], []], buffer);
  assert.deepEqual(fromDense(buffer), [[22], []]);
});

test('transposition shifts notes and drops (and counts) what leaves 21..108', () => {
  const frames: Frame[] = [[21, 60], [100, 108], []];
  assert.deepEqual(transposeFrames(frames, 2), { frames: [[23, 62], [102], []], dropped: 1 });
  assert.deepEqual(transposeFrames(frames, -1), { frames: [[59], [99, 107], []], dropped: 1 });
  assert.deepEqual(transposeFrames(frames, 0), { frames, dropped: 0 });
  const { roll, dropped } = transposeRoll({ frames, timing: { kind: 'seconds', frameSeconds: 0.3 } }, 12);
  assert.deepEqual(roll.frames, [[33, 72], [], []]);
  assert.equal(dropped, 2);
  assert.deepEqual(roll.timing, { kind: 'seconds', frameSeconds: 0.3 });
  assert.throws(() => transposeFrames(frames, 0.5), /integer/);
});

test('frameProblem names each kind of bad frame', () => {
  assert.equal(frameProblem([]), null);
  assert.equal(frameProblem([21, 60, 108]), null);
  assert.match(frameProblem([17]) ?? '', /note 17 out of range 21\.\.108/);
  assert.match(frameProblem([60, 109]) ?? '', /note 109 out of range/);
  assert.match(frameProblem([60.5]) ?? '', /not an integer/);
  assert.match(frameProblem(['60']) ?? '', /not an integer/);
  assert.match(frameProblem([64, 60]) ?? '', /not sorted \(64 before 60\)/);
  assert.match(frameProblem([60, 60]) ?? '', /duplicate note 60/);
  assert.match(frameProblem(60) ?? '', /expected a list/);
});

test('helpers: makeFrame, pitchRange, countNotes, noteName, frameSeconds', () => {
  assert.deepEqual(makeFrame([64, 60, 64]), [60, 64]);
  assert.throws(() => makeFrame([20]), /out of range/);
  assert.deepEqual(pitchRange([[], [40, 50], [30]]), { low: 30, high: 50 });
  assert.equal(pitchRange([[], []]), null);
  assert.equal(countNotes([[1, 2], [], [3]]), 3);
  assert.equal(noteName(60), 'C4');
  assert.equal(noteName(21), 'A0');
  assert.equal(noteName(108), 'C8');
  assert.equal(frameSeconds({ kind: 'grid', stepsPerQuarter: 2, bpm: 120 }), 0.25);
  assert.equal(frameSeconds({ kind: 'seconds', frameSeconds: 0.3 }), 0.3);
});
