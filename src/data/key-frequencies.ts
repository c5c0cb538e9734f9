import { KEY_COUNT, LOWEST_NOTE, type Frame } from './pianoroll.js';

/**
 * The share of frames in which each of the 88 keys sounds, as training sees the frames: with random
 * transposition by up to `transpose` semitones each note counts equally on every shift it can take
 * (notes shifted off the keyboard count nowhere). Null when there are no frames.
 */
export function keyFrequencies(sequences: readonly Frame[][], transpose = 0): Float64Array | null {
  const counts = new Float64Array(KEY_COUNT);
  const share = 1 / (2 * transpose + 1); // each shift is equally likely
  let frames = 0;
  for (const s of sequences) {
    for (const f of s) {
      frames++;
      for (const n of f) {
        for (let shift = -transpose; shift <= transpose; shift++) {
          const k = n + shift - LOWEST_NOTE;
          if (k >= 0 && k < KEY_COUNT) counts[k] += share;
        }
      }
    }
  }
  if (frames === 0) return null;
  for (let k = 0; k < KEY_COUNT; k++) counts[k] /= frames;
  return counts;
}
