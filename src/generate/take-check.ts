/**
 * Whether a generated take is worth keeping as music: a take with no note, or one that is silent
 * most of the time, is reported as a problem (with what to try) instead of as a success.
 */
import type { Frame } from '../data/pianoroll.js';

/** A take is near-silent when more than this share of its generated frames is empty. */
export const NEAR_SILENT_EMPTY_SHARE = 0.5;

export interface TakeProblem {
  kind: 'silent' | 'near-silent';
  /** Notes started in the generated part. */
  notes: number;
  /** Empty generated frames. */
  emptyFrames: number;
  frames: number;
  /** One line for the user: what happened and what to try. */
  message: string;
}

/** What to try when a take comes out (nearly) silent. */
export const SILENT_TAKE_ADVICE = 'try another seed, a primer, or a higher temperature';

/** Checks the generated part of a take (frames from `primerLength` on); null when it has music. */
export function takeProblem(frames: readonly Frame[], primerLength = 0): TakeProblem | null {
  const generated = frames.slice(primerLength);
  let empty = 0;
  let notes = 0;
  let previous: ReadonlySet<number> = new Set(primerLength > 0 ? frames[primerLength - 1] : []);
  for (const frame of generated) {
    if (frame.length === 0) empty++;
    for (const note of frame) if (!previous.has(note)) notes++;
    previous = new Set(frame);
  }
  const n = generated.length;
  if (n === 0) return null;
  if (notes === 0) {
    return { kind: 'silent', notes, emptyFrames: empty, frames: n, message: `no note in ${n} generated frames: ${SILENT_TAKE_ADVICE}` };
  }
  if (empty / n > NEAR_SILENT_EMPTY_SHARE) {
    const share = Math.round((100 * empty) / n);
    return { kind: 'near-silent', notes, emptyFrames: empty, frames: n, message: `${share}% of the ${n} generated frames are silent (${notes} notes): ${SILENT_TAKE_ADVICE}` };
  }
  return null;
}
