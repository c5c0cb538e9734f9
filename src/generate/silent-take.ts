import type { Frame } from '../data/pianoroll.js';

/**
 * True when a take has no note at all in `frames` (pass the generated frames, not the primer): the
 * model ended in silence, which is a problem to report, not a result.
 */
export function silentTake(frames: readonly Frame[]): boolean {
  return frames.every((f) => f.length === 0);
}

/** What to try when a take came out silent, for a one-line message after it. */
export const SILENT_TAKE_ADVICE = 'try a higher temperature, another seed, a primer, or a longer length';
