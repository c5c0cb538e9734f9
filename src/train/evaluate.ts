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
  const plan = evaluationPlan(sequences, { ...options, condition: model.config.condition });
  let nllSum = 0;
  let frames = 0;
  for (const pieces of plan.batches) {
    const r = model.evaluate(makeBatch(sequences, pieces, plan.condition));
    nllSum += r.nllSum;
    frames += r.frames;
  }
  const nll = frames > 0 ? nllSum / frames : NaN;
  return { nll, bce: nll / KEY_COUNT, frames, nllSum };
}

/**
 * NLL of the first frame of each sequence, predicted from the start step (models with a start input
 * only; the benchmark metric leaves these frames out). Nats per first frame.
 */
export function evaluateFirstFrames(model: SequenceModel, sequences: readonly Frame[][], options: BatchingOptions): EvalResult {
  if (!model.config.condition?.start) throw new Error('evaluateFirstFrames: the model has no start input');
  const plan = evaluationPlan(sequences, { ...options, condition: model.config.condition });
  let nllSum = 0;
  let frames = 0;
  for (const pieces of plan.batches) {
    const batch = makeBatch(sequences, pieces, plan.condition);
    const first = new Float32Array(batch.mask.length);
    for (let i = 0; i < first.length; i++) first[i] = batch.trainMask![i] - batch.mask[i];
    const r = model.evaluate({ ...batch, mask: first });
    nllSum += r.nllSum;
    frames += r.frames;
  }
  const nll = frames > 0 ? nllSum / frames : NaN;
  return { nll, bce: nll / KEY_COUNT, frames, nllSum };
}

export interface MelodySplitResult {
  /** NLL per frame of the whole frame (the benchmark metric). */
  frame: number;
  /** NLL per frame of the top voice: every key from the frame's highest note up. */
  melody: number;
  /** NLL per frame of the keys below the top voice given it: frame - melody. */
  accompaniment: number;
  frames: number;
}

/**
 * Splits the frame NLL of a model whose key chain runs from the highest key down into the top
 * voice's part and the accompaniment's part given the top voice (exact for such a chain: the top
 * voice is a prefix of it). Scored frames as in the benchmark metric.
 */
export function evaluateGivenMelody(model: SequenceModel, sequences: readonly Frame[][], options: BatchingOptions): MelodySplitResult {
  if (model.config.keyChainOrder !== 'down') throw new Error('evaluateGivenMelody: the model\'s key chain must run from the highest key down');
  const plan = evaluationPlan(sequences, { ...options, condition: model.config.condition });
  const D = KEY_COUNT;
  let frameSum = 0;
  let melodySum = 0;
  let frames = 0;
  for (const pieces of plan.batches) {
    const batch = makeBatch(sequences, pieces, plan.condition);
    const logits = model.logits(batch);
    for (let i = 0; i < batch.B * batch.T; i++) {
      if (batch.mask[i] === 0) continue;
      frames++;
      let top = -1;
      for (let k = D - 1; k >= 0; k--) if (batch.targets[i * D + k] > 0) { top = k; break; }
      for (let k = 0; k < D; k++) {
        const z = logits[i * D + k];
        const y = batch.targets[i * D + k];
        // -log sigmoid(z) for an on key, -log(1 - sigmoid(z)) for an off one, computed stably
        const nll = Math.max(y > 0 ? -z : z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
        frameSum += nll;
        if (k >= top) melodySum += nll;
      }
    }
  }
  return { frame: frameSum / frames, melody: melodySum / frames, accompaniment: (frameSum - melodySum) / frames, frames };
}
