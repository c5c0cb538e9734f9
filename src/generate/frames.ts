import { KEY_COUNT, LOWEST_NOTE, HIGHEST_NOTE, type Frame } from '../data/pianoroll.js';
import { UserError } from '../errors.js';

/** Writes a frame (sorted MIDI note numbers) as a multi-hot row into `out` at key offset `offset`. */
export function writeMultiHot(frame: Frame, out: Float32Array, offset: number): void {
  out.fill(0, offset, offset + KEY_COUNT);
  for (const note of frame) out[offset + note - LOWEST_NOTE] = 1;
}

/** Checks that every frame holds whole MIDI note numbers on the 88-key grid; `what` names the source in the error. */
export function checkFrames(frames: readonly Frame[], what: string): void {
  frames.forEach((frame, t) => {
    for (const note of frame)
      if (!Number.isInteger(note) || note < LOWEST_NOTE || note > HIGHEST_NOTE)
        throw new UserError(`${what}: frame ${t} has note ${note}, outside the piano range ${LOWEST_NOTE}..${HIGHEST_NOTE}`);
  });
}
