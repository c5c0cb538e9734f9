import type { SequenceModel } from './model.js';

/** Frequencies are clamped to [BIAS_CLAMP, 1 - BIAS_CLAMP] (as the baseline's probabilities are). */
const BIAS_CLAMP = 1e-4;

/**
 * Sets the model's output bias to the log-odds of each key's frequency (data/key-frequencies.ts), so
 * the model starts at the independent-keys baseline instead of p = 0.5 per key. Returns false (and
 * changes nothing) when the model has no per-key output bias.
 */
export function initOutputBias(model: SequenceModel, frequencies: Float64Array): boolean {
  const bias = model.outputBias;
  if (!bias || bias.data.length !== frequencies.length) return false;
  for (let k = 0; k < frequencies.length; k++) {
    const p = Math.min(1 - BIAS_CLAMP, Math.max(BIAS_CLAMP, frequencies[k]));
    bias.data[k] = Math.log(p / (1 - p));
  }
  return true;
}
