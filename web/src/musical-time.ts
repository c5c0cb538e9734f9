/**
 * Frames as music: beats and bars (4/4, as the bundled datasets are written), tempo, note names.
 * Frame timing comes from the source (a dataset's or MIDI file's steps per quarter note).
 */
import type { FrameTiming } from '../../src/data/pianoroll.js';

export interface Meter {
  framesPerBeat: number;
  beatsPerBar: number;
}

const NAMES = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];

export function noteName(note: number): string {
  return `${NAMES[note % 12]}${Math.floor(note / 12) - 1}`;
}

/** Frames per quarter note of a timing; a timing in seconds is read as eighth notes. */
export function stepsPerQuarter(timing: FrameTiming): number {
  return timing.kind === 'grid' ? timing.stepsPerQuarter : 2;
}

/** The tempo a timing implies, in quarter notes per minute. */
export function bpmOf(timing: FrameTiming): number {
  return timing.kind === 'grid' ? timing.bpm : Math.round((60 / (timing.frameSeconds * 2)) * 100) / 100;
}

export function meterOf(stepsPerQuarterNote: number): Meter {
  return { framesPerBeat: stepsPerQuarterNote, beatsPerBar: 4 };
}

export function framesPerBar(meter: Meter): number {
  return meter.framesPerBeat * meter.beatsPerBar;
}

/** "bar 3, beat 2" for a frame index (both counted from 1). */
export function barBeat(frame: number, meter: Meter): string {
  const bar = Math.floor(frame / framesPerBar(meter)) + 1;
  const beat = Math.floor((frame % framesPerBar(meter)) / meter.framesPerBeat) + 1;
  return `bar ${bar}, beat ${beat}`;
}

export const MIN_BPM = 20;
export const MAX_BPM = 400;
