import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeldOutIndex, passages } from '../src/data/overlap.js';
import type { Frame } from '../src/data/pianoroll.js';

const chorale: Frame[] = [[48, 55, 64, 72], [48, 55, 64, 72], [50, 57, 65, 74], [52, 59, 67, 76], [53, 60, 69, 77], [55, 62, 71, 79], [57, 64, 72, 81], [59, 65, 74, 83], [60, 67, 76, 84], [62, 69, 77, 86]];

test('passages ignore held frames, rests and the key', () => {
  const slower = chorale.flatMap((f) => [f, f, []]);
  const up = chorale.map((f) => f.map((n) => n + 5));
  const p = passages(chorale, 8);
  assert.equal(p.size, 2); // 9 chord changes give two passages of 8
  assert.deepEqual([...passages(slower, 8)], [...p]);
  assert.deepEqual([...passages(up, 8)], [...p]);
  assert.equal(passages(chorale.slice(0, 8), 8).size, 0); // 7 changes: no passage
});

test('a held-out piece is found in another source only', () => {
  const index = new HeldOutIndex([{ name: 'a/test/0', source: 'a', frames: chorale }], 8);
  const copy = [[40, 47], ...chorale.map((f) => f.map((n) => n - 2)), [41]];
  assert.deepEqual(index.shared(copy, 'b'), [{ heldOut: 'a/test/0', passages: 2 }]);
  assert.deepEqual(index.shared(copy, 'a'), []);
  const other = chorale.map((f, i) => (i === 4 ? [f[0] + 1, ...f.slice(1)] : f));
  assert.deepEqual(index.shared(other, 'b'), []); // one changed chord breaks every passage through it
});
