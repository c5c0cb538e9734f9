/** Small seeded synthetic piano-roll splits for tests: chords that repeat with occasional changes. */
import { Rng } from '../../src/engine/random.js';
import type { Frame } from '../../src/data/pianoroll.js';

export function syntheticSequences(count: number, seed: number, minLength = 5, maxLength = 40): Frame[][] {
  const rng = new Rng(seed);
  const out: Frame[][] = [];
  for (let s = 0; s < count; s++) {
    const length = minLength + rng.int(maxLength - minLength + 1);
    const frames: Frame[] = [];
    let root = 48 + rng.int(12);
    for (let t = 0; t < length; t++) {
      if (rng.next() < 0.25) root = 48 + rng.int(12);
      const frame = rng.next() < 0.1 ? [] : [root, root + 4, root + 7];
      if (rng.next() < 0.5) frame.push(root + 12 + rng.int(12));
      frames.push([...new Set(frame)].sort((a, b) => a - b));
    }
    out.push(frames);
  }
  return out;
}
