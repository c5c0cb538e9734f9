/**
 * Harmonizing a melody: every frame keeps the melody's note as its top voice and the model draws the
 * keys below it. With a key chain that runs from the highest key down (keyChainOrder 'down'), "the
 * keys above the melody note are off and the note is on" is a prefix of the chain, so the keys below
 * are drawn from the model's exact conditional distribution given the melody note and the past; no
 * rejection or heuristic is involved, and the melody comes out exactly as given.
 *
 * Where the melody rests, the accompaniment may go on, below the melody's previous note (or its
 * next one at the start), so the melody stays the top voice.
 */
import { HIGHEST_NOTE, KEY_COUNT, LOWEST_NOTE, type Frame } from '../data/pianoroll.js';
import { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import type { SequenceModel } from '../models/model.js';
import { writeMultiHot } from './frames.js';
import { estimateKey } from './metrics.js';
import { frameDrawer, openingFrames, sampleSeed } from './sampler.js';

/** Per frame, the melody's MIDI note, or null where it rests. */
export type Melody = (number | null)[];

/** The top voice of a piano roll: per frame its highest note, or null for an empty frame. */
export function melodyFromFrames(frames: readonly Frame[]): Melody {
  return frames.map((f) => (f.length > 0 ? Math.max(...f) : null));
}

/** Whether the model can harmonize exactly: a key-chain head that runs from the highest key down. */
export function canHarmonize(model: SequenceModel): boolean {
  return model.drawFrame !== undefined && model.config.keyChainOrder === 'down';
}

export interface HarmonizeOptions {
  /** Frame temperature, as for sample() (1: the model's own conditional). */
  temperature: number;
  seed: number;
  /** Semitones from the data's key, for models with a key input. */
  keyShift?: number;
  /** Called with every finished frame (melody and accompaniment), in order. */
  onFrame?: (t: number, frame: Frame) => void;
}

/** Checks a melody: whole MIDI notes on the keyboard, at least one note. */
export function checkMelody(melody: Melody, what = 'melody'): void {
  if (melody.length === 0) throw new UserError(`${what}: no frames`);
  let notes = 0;
  melody.forEach((n, t) => {
    if (n === null) return;
    if (!Number.isInteger(n) || n < LOWEST_NOTE || n > HIGHEST_NOTE) throw new UserError(`${what}: frame ${t} has note ${n}, outside the piano range ${LOWEST_NOTE}..${HIGHEST_NOTE}`);
    notes++;
  });
  if (notes === 0) throw new UserError(`${what}: the melody has no notes`);
}

/** The ceiling of each frame: the melody note, or where it rests the previous (else the next) note. */
function ceilings(melody: Melody): number[] {
  const out: number[] = new Array(melody.length);
  let last: number | null = null;
  for (let t = 0; t < melody.length; t++) {
    if (melody[t] !== null) last = melody[t];
    out[t] = last ?? -1;
  }
  let next = -1;
  for (let t = melody.length - 1; t >= 0; t--) {
    if (melody[t] !== null) next = melody[t]!;
    if (out[t] < 0) out[t] = next;
  }
  return out;
}

/**
 * Generates an accompaniment under `melody` and returns one frame per melody frame: the melody note
 * (where it sounds) and the keys the model drew below it. Seeded: the same options give the same frames.
 */
export function harmonize(model: SequenceModel, melody: Melody, options: HarmonizeOptions): Frame[] {
  if (!canHarmonize(model)) {
    throw new UserError('this model cannot harmonize: it needs a key-chain head that runs from the highest key down (the bundled "harmonizer" model has one)');
  }
  checkMelody(melody);
  if (!(Number.isFinite(options.temperature) && options.temperature > 0)) throw new UserError(`temperature must be a number > 0 (got ${options.temperature})`);
  const rng = new Rng(sampleSeed(options.seed, 0));
  const state = model.initialState(1, { keyShift: options.keyShift ?? 0 });
  const input = new Float32Array(KEY_COUNT);
  const fixed = new Int8Array(KEY_COUNT);
  const draw = frameDrawer(model, { temperature: options.temperature }, fixed);
  const top = ceilings(melody);
  let logits: Float32Array = new Float32Array(KEY_COUNT);
  for (const frame of openingFrames(model, [])) {
    writeMultiHot(frame, input, 0);
    logits = model.step(state, input);
  }
  const out: Frame[] = [];
  for (let t = 0; t < melody.length; t++) {
    const note = melody[t];
    const ceiling = top[t] - LOWEST_NOTE; // keys from here up are the melody's
    for (let k = 0; k < KEY_COUNT; k++) fixed[k] = k < ceiling ? -1 : 0;
    if (note !== null) fixed[note - LOWEST_NOTE] = 1;
    const { frame } = draw(state, 0, logits, rng);
    out.push(frame);
    options.onFrame?.(t, frame);
    if (t < melody.length - 1) {
      writeMultiHot(frame, input, 0);
      logits = model.step(state, input);
    }
  }
  return out;
}

/**
 * The tune's tonic as semitones from C in -5..6 (Krumhansl-Schmuckler key finding on the melody's
 * sounding frames), or 0 when it cannot tell.
 */
export function melodyTonicShift(melody: Melody): number {
  const durations = new Array(12).fill(0);
  for (const n of melody) if (n !== null) durations[n % 12]++;
  const key = estimateKey(durations);
  if (!key) return 0;
  const pc = key.tonic % 12;
  return pc > 6 ? pc - 12 : pc;
}

/**
 * Harmonizes a tune in any key with a model trained on data in C: the tune is moved to C by its
 * tonic's shift (found by melodyTonicShift unless given), harmonized there, and the result moved
 * back, so the melody's notes come out exactly as given. Returns the frames and the shift used.
 */
export function harmonizeInKey(model: SequenceModel, melody: Melody, options: HarmonizeOptions & { tonicShift?: number }): { frames: Frame[]; tonicShift: number } {
  const tonicShift = options.tonicShift ?? melodyTonicShift(melody);
  checkMelody(melody);
  const moved = melody.map((n) => (n === null ? null : n - tonicShift));
  if (moved.some((n) => n !== null && (n < LOWEST_NOTE || n > HIGHEST_NOTE))) {
    throw new UserError(`melody: moved by ${-tonicShift} semitones to the model's key it leaves the piano range`);
  }
  const { onFrame, ...rest } = options;
  const back = (f: Frame) => f.map((n) => n + tonicShift).filter((n) => n >= LOWEST_NOTE && n <= HIGHEST_NOTE);
  const frames = harmonize(model, moved, { ...rest, keyShift: 0, onFrame: onFrame ? (t, f) => onFrame(t, back(f)) : undefined });
  return { frames: frames.map(back), tonicShift };
}
