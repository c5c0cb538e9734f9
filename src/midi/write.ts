import tonejsMidi from '@tonejs/midi';
import { KEY_COUNT, LOWEST_NOTE, isPianoNote, type FrameTiming, type PianoRoll } from '../data/pianoroll.js';

const { Midi } = tonejsMidi; // a CommonJS package: named imports are not visible to Node's ESM loader

export interface RollToMidiOptions {
  /** Note-on velocity, 1..127 (default 90). */
  velocity?: number;
  /** General MIDI program, 0..127 (default 0, acoustic grand piano). */
  program?: number;
}

/** Largest tempo a MIDI file can store: microseconds per quarter note in 24 bits. */
const MAX_MICROS_PER_QUARTER = 0xffffff;

/**
 * How frames map onto MIDI time: ticks per quarter (ppq), ticks per frame, and the tempo in whole
 * microseconds per quarter note (the unit a MIDI file stores).
 * - grid timing: a frame is 1/stepsPerQuarter of a quarter; tempo = bpm.
 * - seconds timing: a frame is an eighth note (a quarter when frames are longer than 8.3 s) and the
 *   tempo is chosen so that a frame lasts frameSeconds, to the microsecond.
 */
export function midiTimeBase(timing: FrameTiming): { ppq: number; ticksPerFrame: number; microsPerQuarter: number } {
  if (timing.kind === 'grid') {
    const spq = timing.stepsPerQuarter;
    if (!Number.isInteger(spq) || spq < 1 || spq > 960) throw new RangeError(`stepsPerQuarter must be an integer in 1..960, got ${spq}`);
    if (!(timing.bpm > 0) || !Number.isFinite(timing.bpm)) throw new RangeError(`bpm must be positive, got ${timing.bpm}`);
    const ticksPerFrame = Math.max(1, Math.round(480 / spq));
    const microsPerQuarter = Math.round(60_000_000 / timing.bpm);
    if (microsPerQuarter < 1 || microsPerQuarter > MAX_MICROS_PER_QUARTER) throw new RangeError(`bpm ${timing.bpm} cannot be written to a MIDI file`);
    return { ppq: ticksPerFrame * spq, ticksPerFrame, microsPerQuarter };
  }
  const micros = timing.frameSeconds * 1e6;
  if (!(micros >= 1) || !Number.isFinite(micros)) throw new RangeError(`frameSeconds must be at least 1 microsecond, got ${timing.frameSeconds}`);
  const framesPerQuarter = 2 * micros <= MAX_MICROS_PER_QUARTER ? 2 : 1;
  const microsPerQuarter = Math.round(framesPerQuarter * micros);
  if (microsPerQuarter > MAX_MICROS_PER_QUARTER) throw new RangeError(`frameSeconds ${timing.frameSeconds} is too long for a MIDI tempo`);
  return { ppq: 480, ticksPerFrame: 480 / framesPerQuarter, microsPerQuarter };
}

/**
 * Writes a piano roll as a standard MIDI file (format 1): one piano track on channel 1, one note per
 * run of consecutive frames in which a key is active, and a tempo that makes each frame last as long
 * as the roll's timing says. Silence after the last note is not represented.
 */
export function rollToMidi(roll: PianoRoll, options: RollToMidiOptions = {}): Uint8Array {
  const velocity = options.velocity ?? 90;
  const program = options.program ?? 0;
  if (!Number.isInteger(velocity) || velocity < 1 || velocity > 127) throw new RangeError(`velocity must be an integer in 1..127, got ${velocity}`);
  if (!Number.isInteger(program) || program < 0 || program > 127) throw new RangeError(`program must be an integer in 0..127, got ${program}`);
  const { ppq, ticksPerFrame, microsPerQuarter } = midiTimeBase(roll.timing);

  const midi = new Midi();
  // The library stores bpm and writes floor(60e6 / bpm); aiming half a microsecond above the
  // wanted value makes that floor land exactly on it despite rounding in the division.
  midi.header.fromJSON({
    name: '',
    ppq,
    meta: [],
    tempos: [{ ticks: 0, bpm: 60_000_000 / (microsPerQuarter + 0.5) }],
    timeSignatures: [{ ticks: 0, timeSignature: [4, 4] }],
    keySignatures: [],
  });
  const track = midi.addTrack();
  track.name = 'Piano';
  track.channel = 0;
  track.instrument.number = program;

  // start[k] = frame where key k's current run began, or -1 when the key is up.
  const start = new Int32Array(KEY_COUNT).fill(-1);
  const T = roll.frames.length;
  const active = new Uint8Array(KEY_COUNT);
  // The library writes floor(velocity * 127); the half step keeps that from rounding down.
  const scaledVelocity = (velocity + 0.5) / 127;
  const close = (k: number, end: number) => {
    track.addNote({ midi: k + LOWEST_NOTE, ticks: start[k] * ticksPerFrame, durationTicks: (end - start[k]) * ticksPerFrame, velocity: scaledVelocity });
    start[k] = -1;
  };
  for (let t = 0; t < T; t++) {
    active.fill(0);
    for (const note of roll.frames[t]) {
      if (!isPianoNote(note)) throw new RangeError(`frame ${t}: note ${note} out of range 21..108`);
      active[note - LOWEST_NOTE] = 1;
    }
    for (let k = 0; k < KEY_COUNT; k++) {
      if (active[k] && start[k] < 0) start[k] = t;
      else if (!active[k] && start[k] >= 0) close(k, t);
    }
  }
  for (let k = 0; k < KEY_COUNT; k++) if (start[k] >= 0) close(k, T);
  return midi.toArray();
}
