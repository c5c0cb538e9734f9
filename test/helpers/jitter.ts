import type { Rng } from '../../src/engine/random.js';
import type { SequenceModel } from '../../src/models/model.js';

/**
 * Moves every parameter off its structured init, as training does: a fresh model's zero matrices (an
 * RWKV's output projections, the key chain's weights) would hide terms and zero whole gradients.
 */
export function jitter(model: Pick<SequenceModel, 'parameters'>, rng: Rng, scale: number): void {
  for (const p of model.parameters()) for (let i = 0; i < p.data.length; i++) p.data[i] += scale * rng.normal();
}
