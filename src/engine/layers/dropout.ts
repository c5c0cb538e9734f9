/**
 * Inverted dropout (training only): each element is kept with probability 1 - p and scaled by
 * 1/(1 - p), so evaluation needs no rescaling. The mask stores the factor (0 or 1/(1-p)) per element.
 */
import type { Rng } from '../random.js';

/** Draws a fresh mask[n] for rate p. */
export function dropoutMask(mask: Float32Array, n: number, p: number, rng: Rng): void {
  const scale = 1 / (1 - p);
  // integer threshold: keep when u32 >= p * 2^32
  const threshold = Math.floor(p * 4294967296);
  for (let i = 0; i < n; i++) mask[i] = rng.nextU32() >= threshold ? scale : 0;
}

/** x[n] *= mask[n] (in place); also the backward: dx[n] *= mask[n]. */
export function applyMask(x: Float32Array, mask: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) x[i] *= mask[i];
}

/** out[n] = x[n] * mask[n]. */
export function maskInto(out: Float32Array, x: Float32Array, mask: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i] * mask[i];
}
