/** The 88 piano keys: MIDI note numbers 21 (A0) to 108 (C8). Key index k is MIDI note k + 21. */
export const LOWEST_NOTE = 21;
export const HIGHEST_NOTE = 108;
export const KEY_COUNT = 88;

/** One time step: the sorted MIDI note numbers sounding during it (empty = silence). */
export type Frame = number[];

/** How long one frame lasts when the roll is played or written as MIDI. */
export type FrameTiming =
  | { kind: 'grid'; stepsPerQuarter: number; bpm: number }
  | { kind: 'seconds'; frameSeconds: number };

/** A polyphonic piece on the 88-key grid: the one music type every part of the toolkit shares. */
export interface PianoRoll {
  frames: Frame[];
  timing: FrameTiming;
}

/** Default timing when a source does not record one: eighth notes at 120 bpm (0.25 s per frame). */
export const DEFAULT_TIMING: FrameTiming = { kind: 'grid', stepsPerQuarter: 2, bpm: 120 };

export function frameSeconds(timing: FrameTiming): number {
  return timing.kind === 'seconds' ? timing.frameSeconds : 60 / timing.bpm / timing.stepsPerQuarter;
}
