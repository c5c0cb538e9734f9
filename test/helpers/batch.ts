/** Random piano-roll batches for the model tests. */
import type { Batch } from '../../src/engine/batch.js';
import type { Rng } from '../../src/engine/random.js';

const D = 88;

/**
 * Random multi-hot rolls: row b is `lens[b]` frames long (mask 1 there, padding after), each key on
 * with probability `density` in inputs and targets (targets all off with `zeroTargets`).
 */
export function randomBatch(rng: Rng, B: number, T: number, lens: number[], options: { density?: number; zeroTargets?: boolean } = {}): Batch {
  const { density = 0.15, zeroTargets = false } = options;
  const inputs = new Float32Array(B * T * D);
  const targets = new Float32Array(B * T * D);
  const mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const inside = t < lens[b];
      mask[b * T + t] = inside ? 1 : 0;
      for (let d = 0; d < D; d++) {
        const i = (b * T + t) * D + d;
        inputs[i] = inside && rng.next() < density ? 1 : 0;
        targets[i] = inside && !zeroTargets && rng.next() < density ? 1 : 0;
      }
    }
  return { B, T, D, inputs, targets, mask };
}
