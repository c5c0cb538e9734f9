/**
 * The evaluation metric: frame-level Bernoulli NLL in nats per frame. Per predicted frame, the NLL
 * is summed over the 88 keys; it is summed over every predicted frame of the split (the first frame
 * of each sequence is never predicted) and divided by their count. Per-key BCE is that / 88.
 */
import type { Frame } from '../data/pianoroll.js';
import { KEY_COUNT } from '../data/pianoroll.js';
import { evaluationPlan, makeBatch, type BatchingOptions } from '../data/batching.js';
import type { SequenceModel } from '../models/model.js';

export interface EvalResult {
  /** Mean NLL per predicted frame, nats. */
  nll: number;
  /** nll / 88. */
  bce: number;
  /** Number of predicted frames averaged over. */
  frames: number;
  /** Total NLL in nats. */
  nllSum: number;
}

export function evaluateSequences(
  model: SequenceModel,
  sequences: readonly Frame[][],
  options: BatchingOptions,
): EvalResult {
  const plan = evaluationPlan(sequences, options);
  let nllSum = 0;
  let frames = 0;
  for (const pieces of plan.batches) {
    const r = model.evaluate(makeBatch(sequences, pieces));
    nllSum += r.nllSum;
    frames += r.frames;
  }
  const nll = frames > 0 ? nllSum / frames : NaN;
  return { nll, bce: nll / KEY_COUNT, frames, nllSum };
}
