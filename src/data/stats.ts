import { SPLITS, type Dataset, type SplitName } from './dataset.js';
import { KEY_COUNT, LOWEST_NOTE, type Frame } from './pianoroll.js';

/** Key probabilities are kept inside [P_CLAMP, 1 - P_CLAMP] so that a key never seen in training costs a finite amount. */
export const P_CLAMP = 1e-7;

export interface SplitStats {
  split: SplitName;
  sequences: number;
  frames: number;
  meanLength: number;
  minLength: number;
  maxLength: number;
  meanNotesPerFrame: number;
  /** Lowest and highest sounding note, or null when the split is silent or empty. */
  pitchRange: { low: number; high: number } | null;
  /** Frames that are scored by the baseline: all frames except the first of each sequence. */
  predictedFrames: number;
  /** Trivial baseline NLL in nats per predicted frame (see baselineNll); NaN when nothing is predicted. */
  baselineNll: number;
}

/**
 * Each key's frequency over all frames of the training split (first frames included),
 * clamped to [P_CLAMP, 1 - P_CLAMP]. Index k is MIDI note k + 21.
 */
export function keyFrequencies(train: readonly Frame[][]): Float64Array {
  const counts = new Float64Array(KEY_COUNT);
  let frames = 0;
  for (const seq of train) {
    frames += seq.length;
    for (const frame of seq) for (const note of frame) counts[note - LOWEST_NOTE]++;
  }
  const p = new Float64Array(KEY_COUNT);
  for (let k = 0; k < KEY_COUNT; k++) {
    const f = frames > 0 ? counts[k] / frames : 0;
    p[k] = Math.min(1 - P_CLAMP, Math.max(P_CLAMP, f));
  }
  return p;
}

/**
 * Negative log-likelihood in nats per frame of the sequences under independent Bernoulli keys
 * with probabilities p: for each scored frame, -sum_k [x_k log p_k + (1 - x_k) log(1 - p_k)],
 * averaged over the scored frames. The first frame of each sequence is not scored (a model has
 * seen nothing yet when predicting it), matching how the models are evaluated.
 */
export function baselineNll(sequences: readonly Frame[][], p: Float64Array): { nll: number; frames: number } {
  let allOff = 0; // cost of a silent frame
  for (let k = 0; k < KEY_COUNT; k++) allOff -= Math.log(1 - p[k]);
  const onExtra = new Float64Array(KEY_COUNT); // extra cost when key k sounds instead of being silent
  for (let k = 0; k < KEY_COUNT; k++) onExtra[k] = -Math.log(p[k]) + Math.log(1 - p[k]);
  let total = 0;
  let frames = 0;
  for (const seq of sequences) {
    for (let t = 1; t < seq.length; t++) {
      let nll = allOff;
      for (const note of seq[t]) nll += onExtra[note - LOWEST_NOTE];
      total += nll;
      frames++;
    }
  }
  return { nll: frames > 0 ? total / frames : NaN, frames };
}

/** Per-split statistics of a dataset, with the baseline fitted on its training split. */
export function datasetStats(ds: Dataset): SplitStats[] {
  const p = keyFrequencies(ds.train);
  return SPLITS.map((split) => {
    const seqs = ds[split];
    let frames = 0;
    let notes = 0;
    let minLength = Infinity;
    let maxLength = 0;
    let low = Infinity;
    let high = -Infinity;
    for (const seq of seqs) {
      frames += seq.length;
      if (seq.length < minLength) minLength = seq.length;
      if (seq.length > maxLength) maxLength = seq.length;
      for (const frame of seq) {
        notes += frame.length;
        if (frame.length > 0) {
          if (frame[0] < low) low = frame[0];
          if (frame[frame.length - 1] > high) high = frame[frame.length - 1];
        }
      }
    }
    const { nll, frames: predictedFrames } = baselineNll(seqs, p);
    return {
      split,
      sequences: seqs.length,
      frames,
      meanLength: seqs.length > 0 ? frames / seqs.length : NaN,
      minLength: seqs.length > 0 ? minLength : NaN,
      maxLength: seqs.length > 0 ? maxLength : NaN,
      meanNotesPerFrame: frames > 0 ? notes / frames : NaN,
      pitchRange: low === Infinity ? null : { low, high },
      predictedFrames,
      baselineNll: nll,
    };
  });
}
