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

/** True when `note` is an integer MIDI note number on the 88-key range. */
export function isPianoNote(note: number): boolean {
  return Number.isInteger(note) && note >= LOWEST_NOTE && note <= HIGHEST_NOTE;
}

/**
 * Describes what is wrong with a frame (non-integer, out of range, unsorted or duplicate notes),
 * or returns null when the frame is valid.
 */
export function frameProblem(frame: unknown): string | null {
  if (!Array.isArray(frame)) return `frame is ${describe(frame)}, expected a list of note numbers`;
  for (let i = 0; i < frame.length; i++) {
    const note: unknown = frame[i];
    if (typeof note !== 'number' || !Number.isInteger(note)) return `note ${describe(note)} is not an integer`;
    if (note < LOWEST_NOTE || note > HIGHEST_NOTE) return `note ${note} out of range ${LOWEST_NOTE}..${HIGHEST_NOTE}`;
    if (i > 0) {
      const prev = frame[i - 1] as number;
      if (note === prev) return `duplicate note ${note}`;
      if (note < prev) return `notes not sorted (${prev} before ${note})`;
    }
  }
  return null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? value.slice(0, 20) + '...' : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * Dense multi-hot form for the models: frames -> Float32Array of shape [T, 88], row-major,
 * element (t, k) = 1 when MIDI note k + 21 sounds in frame t. Writes into `out` when given.
 */
export function toDense(frames: readonly Frame[], out?: Float32Array): Float32Array {
  const dense = out ?? new Float32Array(frames.length * KEY_COUNT);
  if (dense.length < frames.length * KEY_COUNT) throw new RangeError(`toDense: output holds ${dense.length} values, needs ${frames.length * KEY_COUNT}`);
  dense.fill(0, 0, frames.length * KEY_COUNT);
  for (let t = 0; t < frames.length; t++) {
    const row = t * KEY_COUNT - LOWEST_NOTE;
    for (const note of frames[t]) dense[row + note] = 1;
  }
  return dense;
}

/**
 * Back from dense form: `dense` holds T rows of 88 values (probabilities or 0/1);
 * a key is active where its value is >= threshold (default 0.5). T defaults to dense.length / 88.
 */
export function fromDense(dense: ArrayLike<number>, T = Math.floor(dense.length / KEY_COUNT), threshold = 0.5): Frame[] {
  if (T * KEY_COUNT > dense.length) throw new RangeError(`fromDense: ${T} frames need ${T * KEY_COUNT} values, got ${dense.length}`);
  const frames: Frame[] = new Array(T);
  for (let t = 0; t < T; t++) {
    const frame: Frame = [];
    const row = t * KEY_COUNT;
    for (let k = 0; k < KEY_COUNT; k++) if (dense[row + k] >= threshold) frame.push(k + LOWEST_NOTE);
    frames[t] = frame;
  }
  return frames;
}

/**
 * Shifts every note by k semitones (k may be negative). Notes that would leave 21..108 are
 * dropped, not refused, and counted: transposition is used for data augmentation, where losing
 * an occasional extreme note is better than losing the whole piece.
 */
export function transposeFrames(frames: readonly Frame[], k: number): { frames: Frame[]; dropped: number } {
  if (!Number.isInteger(k)) throw new RangeError(`transpose: semitones must be an integer, got ${k}`);
  let dropped = 0;
  const out = frames.map((frame) => {
    const shifted: Frame = [];
    for (const note of frame) {
      const n = note + k;
      if (n >= LOWEST_NOTE && n <= HIGHEST_NOTE) shifted.push(n);
      else dropped++;
    }
    return shifted;
  });
  return { frames: out, dropped };
}

/** Transposes a whole roll (see transposeFrames); the timing is kept. */
export function transposeRoll(roll: PianoRoll, k: number): { roll: PianoRoll; dropped: number } {
  const { frames, dropped } = transposeFrames(roll.frames, k);
  return { roll: { frames, timing: { ...roll.timing } }, dropped };
}

/** Builds a frame from any list of note numbers: sorted, duplicates removed. Throws on notes off the 88 keys. */
export function makeFrame(notes: Iterable<number>): Frame {
  const frame = [...new Set(notes)].sort((a, b) => a - b);
  for (const n of frame) if (!isPianoNote(n)) throw new RangeError(`note ${n} out of range ${LOWEST_NOTE}..${HIGHEST_NOTE}`);
  return frame;
}

/** Lowest and highest note sounding anywhere in the frames, or null for an all-silent roll. */
export function pitchRange(frames: readonly Frame[]): { low: number; high: number } | null {
  let low = Infinity;
  let high = -Infinity;
  for (const frame of frames) {
    if (frame.length === 0) continue;
    if (frame[0] < low) low = frame[0];
    if (frame[frame.length - 1] > high) high = frame[frame.length - 1];
  }
  return low === Infinity ? null : { low, high };
}

/** Total number of (frame, note) pairs: how many keys are down, summed over frames. */
export function countNotes(frames: readonly Frame[]): number {
  let n = 0;
  for (const frame of frames) n += frame.length;
  return n;
}

/** Scientific pitch name of a MIDI note number, e.g. 60 -> C4, 21 -> A0. */
export function noteName(note: number): string {
  const names = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];
  return `${names[note % 12]}${Math.floor(note / 12) - 1}`;
}
