import { KEY_COUNT, LOWEST_NOTE, type Frame } from '../../src/data/pianoroll.js';
import type { Batch } from '../../src/engine/batch.js';
import type { SequenceModel } from '../../src/models/model.js';
import { sample, START_FRAME, type SampleOptions, type Sample } from '../../src/generate/sampler.js';

/**
 * Samples with the given options while recording the logits of every RNN step, then runs the model's
 * parallel forward over the same input sequences (start frame or primer, then the generated frames)
 * and returns the largest absolute difference between the two, plus the samples.
 */
export function rnnVersusParallel(model: SequenceModel, options: Omit<SampleOptions, 'onStep'>): { maxDiff: number; samples: Sample[]; steps: number } {
  const seen: Float32Array[] = [];
  const samples = sample(model, { ...options, onStep: (_, logits) => seen.push(logits.slice()) });
  const B = options.count;
  const T = seen.length;
  const inputs = new Float32Array(B * T * KEY_COUNT);
  for (let b = 0; b < B; b++) {
    const s = samples[b];
    const fed: Frame[] = s.primerLength > 0 ? s.frames.slice(0, s.frames.length - 1) : [START_FRAME, ...s.frames.slice(0, s.frames.length - 1)];
    if (fed.length !== T) throw new Error(`expected ${T} fed frames, have ${fed.length}`);
    fed.forEach((frame, t) => {
      for (const note of frame) inputs[(b * T + t) * KEY_COUNT + note - LOWEST_NOTE] = 1;
    });
  }
  const batch: Batch = { B, T, D: KEY_COUNT, inputs, targets: new Float32Array(B * T * KEY_COUNT), mask: new Float32Array(B * T).fill(1) };
  const parallel = model.logits(batch);
  let maxDiff = 0;
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++)
      for (let k = 0; k < KEY_COUNT; k++)
        maxDiff = Math.max(maxDiff, Math.abs(seen[t][b * KEY_COUNT + k] - parallel[(b * T + t) * KEY_COUNT + k]));
  return { maxDiff, samples, steps: T };
}
