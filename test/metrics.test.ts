import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  pieceMetrics,
  setMetrics,
  compareSets,
  estimateKey,
  keyName,
  overlap,
  klDivergence,
  binValues,
  barRepetition,
} from '../src/generate/metrics.js';

// Two bars of four frames: C+E held two frames, G, rest | C+E held two frames, G, C#.
const roll = [[60, 64], [60, 64], [67], [], [60, 64], [60, 64], [67], [61]];

test('descriptors of a hand-made roll match values worked out by hand', () => {
  const m = pieceMetrics(roll, 4);
  assert.equal(m.frames, 8);
  assert.equal(m.notes, 7); // C, E, G, C, E, G, C#
  assert.deepEqual(m.pitchClassCounts, [2, 1, 0, 0, 2, 0, 0, 2, 0, 0, 0, 0]);
  assert.equal(m.pitchRange, 7); // 67 - 60
  assert.equal(m.meanPolyphony, 11 / 8); // 2+2+1+0+2+2+1+1 sounding keys
  assert.equal(m.emptyShare, 1 / 8);
  assert.deepEqual(m.noteLengthCounts, [3, 4, 0, 0, 0, 0, 0, 0, 0, 0]); // three 1-frame notes, four 2-frame notes
  // Onset frames 0, 2, 4, 6, 7: intervals 2, 2, 2, 1.
  assert.deepEqual(m.ioiCounts, [1, 3, 0, 0, 0, 0, 0, 0]);
  assert.equal(m.meanIoi, 7 / 4);
  // Durations C 4, C# 1, E 4, G 2: C major correlates best (r = 0.7587; E minor next at 0.6691).
  assert.equal(keyName(m.key), 'C major');
  assert.ok(Math.abs(m.key!.correlation - 0.75865) < 1e-4);
  assert.equal(m.inKeyRatio, 6 / 7); // all but the C#
  // Bar vectors (pitch class x position): bar 1 has 5 ones, bar 2 the same 5 plus C# at position 3.
  assert.ok(Math.abs(m.repetition - 5 / Math.sqrt(5 * 6)) < 1e-12);
});

test('edge cases: silence, a single bar, unequal bars', () => {
  const silent = pieceMetrics([[], [], []], 4);
  assert.equal(silent.notes, 0);
  assert.equal(silent.pitchRange, 0);
  assert.equal(silent.emptyShare, 1);
  assert.equal(silent.key, null);
  assert.ok(Number.isNaN(silent.inKeyRatio));
  assert.ok(Number.isNaN(silent.meanIoi));
  assert.ok(Number.isNaN(silent.repetition));
  // Two identical bars and one different: pairs (1,2) = 1, (1,3) = (2,3) = 0 -> mean 1/3.
  assert.ok(Math.abs(barRepetition([[60], [62], [60], [62], [65], [67]], 2) - 1 / 3) < 1e-12);
  // An incomplete last bar is ignored; an empty bar is left out.
  assert.equal(barRepetition([[60], [], [60], [], [], [], [61]], 2), 1);
});

test('Krumhansl-Schmuckler finds clear keys', () => {
  const pcs = (weights: Record<number, number>) => Array.from({ length: 12 }, (_, i) => weights[i] ?? 0);
  assert.equal(keyName(estimateKey(pcs({ 7: 6, 11: 3, 2: 4, 0: 1, 9: 1, 4: 1, 6: 1 }))), 'G major');
  assert.equal(keyName(estimateKey(pcs({ 9: 6, 0: 4, 4: 5, 2: 1, 11: 1, 5: 1, 7: 1 }))), 'A minor');
  assert.equal(estimateKey(new Array(12).fill(2)), null);
});

test('overlap and KL between distributions', () => {
  assert.equal(overlap([0.5, 0.5, 0], [0, 0.5, 0.5]), 0.5);
  assert.equal(overlap([0.2, 0.8], [0.2, 0.8]), 1);
  assert.equal(klDivergence([0.2, 0.8], [0.2, 0.8]), 0);
  // KL(q||p) for q = (1/2, 1/2), p = (1/4, 3/4), up to the tiny smoothing: 1/2 ln 2 + 1/2 ln(2/3).
  assert.ok(Math.abs(klDivergence([0.5, 0.5], [0.25, 0.75]) - (0.5 * Math.log(2) + 0.5 * Math.log(2 / 3))) < 1e-3);
  assert.ok(klDivergence([1, 0], [0, 1]) > 5);
  assert.deepEqual(binValues([0, 0.05, 0.95, 1, NaN], [0, 0.1, 10]), [0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0.5]);
});

test('set metrics pool histograms; a set compared with itself overlaps fully', () => {
  const other = [[72], [72], [74], [76], [], [77], [79], [79]];
  const set = setMetrics([roll, other], 4);
  assert.equal(set.pieces, 2);
  assert.equal(set.notes, 7 + 5);
  // Pitch classes: roll C2 C#1 E2 G2, other C1 D1 E1 F1 G1 -> C3 C#1 D1 E3 F1 G3 of 12.
  assert.deepEqual(set.pitchClassHistogram, [3, 1, 1, 0, 3, 1, 0, 3, 0, 0, 0, 0].map((c) => c / 12));
  assert.equal(set.pitchRange.mean, 7);
  const self = compareSets(set, set);
  assert.equal(self.comparisons.length, 9);
  for (const c of self.comparisons) {
    assert.ok(Math.abs(c.overlap - 1) < 1e-12, c.metric);
    assert.equal(c.kl, 0);
  }
  assert.ok(Math.abs(self.summary - 1) < 1e-12);
  const far = setMetrics([[[21, 22, 23, 24], [21, 22, 23, 24]]], 4);
  const cmp = compareSets(far, set);
  assert.ok(cmp.summary < 0.5, `summary ${cmp.summary}`);
  assert.equal(cmp.comparisons.find((c) => c.metric === 'meanPolyphony')!.overlap, 0);
});
