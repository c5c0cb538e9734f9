import type { Frame } from '../data/pianoroll.js';

/** A note on the frame grid: `pitch` sounds from frame `start` for `length` frames. */
export interface GridNote {
  pitch: number;
  start: number;
  length: number;
}

/**
 * Turns frames into notes: a pitch that stays on in consecutive frames is one held note.
 * Sorted by start, then pitch.
 */
export function framesToNotes(frames: readonly Frame[]): GridNote[] {
  const open = new Map<number, number>();
  const notes: GridNote[] = [];
  const close = (pitch: number, end: number) => {
    notes.push({ pitch, start: open.get(pitch)!, length: end - open.get(pitch)! });
    open.delete(pitch);
  };
  frames.forEach((frame, t) => {
    const now = new Set(frame);
    for (const pitch of [...open.keys()]) if (!now.has(pitch)) close(pitch, t);
    for (const pitch of now) if (!open.has(pitch)) open.set(pitch, t);
  });
  for (const pitch of [...open.keys()]) close(pitch, frames.length);
  return notes.sort((a, b) => a.start - b.start || a.pitch - b.pitch);
}
