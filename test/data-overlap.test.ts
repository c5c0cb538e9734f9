import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeldOutIndex, passages, phrases } from '../src/data/overlap.js';
import type { Frame } from '../src/data/pianoroll.js';

const chorale: Frame[] = [[48, 55, 64, 72], [48, 55, 64, 72], [50, 57, 65, 74], [52, 59, 67, 76], [53, 60, 69, 77], [55, 62, 71, 79], [57, 64, 72, 81], [59, 65, 74, 83], [60, 67, 76, 84], [62, 69, 77, 86]];
/** A tune of 20 notes with a different chord under every note. */
const tune = [72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 74, 76, 74, 72, 71, 69, 71, 72, 74];
const harmonized = (bass: number): Frame[] => tune.map((top, i) => [bass + (i % 5), top]);

test('passages ignore held frames, rests and the key', () => {
  const slower = chorale.flatMap((f) => [f, f, []]);
  const up = chorale.map((f) => f.map((n) => n + 5));
  const p = passages(chorale, 8);
  assert.equal(p.size, 2); // 9 chord changes give two passages of 8
  assert.deepEqual([...passages(slower, 8)], [...p]);
  assert.deepEqual([...passages(up, 8)], [...p]);
  assert.equal(passages(chorale.slice(0, 8), 8).size, 0); // 7 changes: no passage
});

test('phrases follow the top voice in any key and under any harmony', () => {
  const p = phrases(harmonized(48), 12);
  assert.equal(p.size, 8); // 20 pitches, 19 intervals: 8 runs of 12
  assert.deepEqual([...phrases(harmonized(40).map((f) => f.map((n) => n + 2)), 12)], [...p]);
});

test('a held-out piece is found in another source only', () => {
  const index = new HeldOutIndex([{ name: 'a/test/0', source: 'a', frames: chorale }], 8, 12);
  const copy = [[40, 47], ...chorale.map((f) => f.map((n) => n - 2)), [41]];
  assert.deepEqual(index.shared(copy, 'b').map((s) => [s.heldOut, s.passages]), [['a/test/0', 2]]);
  assert.deepEqual(index.shared(copy, 'a'), []);
  const other = chorale.map((f, i) => (i === 4 ? [f[0] + 1, ...f.slice(1)] : f));
  assert.deepEqual(index.shared(other, 'b'), []); // one changed chord breaks every passage through it
});

test('the same tune under another harmony counts once its share of phrases is reached', () => {
  const index = new HeldOutIndex([{ name: 'a/valid/3', source: 'a', frames: harmonized(48) }], 8, 12);
  const reharmonized = harmonized(36).map((f) => [f[0] - 1, f[1]]);
  const found = index.shared(reharmonized, 'b');
  assert.equal(found.length, 1);
  assert.equal(found[0].passages, 0);
  assert.equal(found[0].tune, 1);
  const half = [...harmonized(36).slice(0, 14), ...tune.slice(0, 14).map((n) => [n - 24, n - 1])];
  assert.ok(index.shared(half, 'b', 0.1).length === 1 && index.shared(half, 'b', 0.9).length === 0);
});
