/**
 * Inverted dropout (training only): each element is kept with probability 1 - p and scaled by
 * 1/(1 - p), so evaluation needs no rescaling.
 *
 * The keep decision for element i of a mask is a hash of (mask seed, i), so the backward pass
 * recomputes it instead of storing a mask: one 32-bit seed per mask and step, drawn from the
 * model's Rng, makes the whole thing reproducible.
 */
import type { Rng } from '../random.js';

export interface DropoutMask {
  seed: number;
  /** Keep element i when dropHash(seed, i) >= threshold (threshold = p * 2^31). */
  threshold: number;
  /** 1 / (1 - p) */
  scale: number;
}

export function newDropoutMask(): DropoutMask {
  return { seed: 0, threshold: 0, scale: 1 };
}

/** Draws a fresh mask for rate p. */
export function drawDropout(mask: DropoutMask, p: number, rng: Rng): void {
  mask.seed = rng.nextU32();
  mask.threshold = Math.floor(p * 2147483648);
  mask.scale = 1 / (1 - p);
}

/** 31-bit integer hash of (seed, i) (a multiply-xorshift finaliser), uniform over [0, 2^31). */
export function dropHash(seed: number, i: number): number {
  let x = (Math.imul(i, 0x9e3779b1) + seed) | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 1;
}

/**
 * 1 when element i is kept, else 0, without a branch: threshold - hash - 1 is negative exactly
 * when hash >= threshold, and both are below 2^31, so its sign bit is the answer.
 */
export function dropKeep(seed: number, threshold: number, i: number): number {
  return (threshold - dropHash(seed, i) - 1) >>> 31;
}

/** The factor (0 or 1/(1-p)) of element i. */
export function dropFactor(m: DropoutMask, i: number): number {
  return dropKeep(m.seed, m.threshold, i) * m.scale;
}

/** x[i] *= factor(i) for i < n (the forward in place, and also the backward). */
export function applyDropout(x: Float32Array, m: DropoutMask, n: number): void {
  const { seed, threshold, scale } = m;
  for (let i = 0; i < n; i++) x[i] *= dropKeep(seed, threshold, i) * scale;
}

/** out[i] = x[i] * factor(i). */
export function dropoutInto(out: Float32Array, x: Float32Array, m: DropoutMask, n: number): void {
  const { seed, threshold, scale } = m;
  for (let i = 0; i < n; i++) out[i] = x[i] * (dropKeep(seed, threshold, i) * scale);
}
