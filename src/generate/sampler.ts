import { KEY_COUNT, LOWEST_NOTE, type Frame } from '../data/pianoroll.js';
import { Rng } from '../engine/random.js';
import type { RecurrentState, SequenceModel } from '../models/model.js';
import { UserError } from '../errors.js';
import { checkFrames, writeMultiHot } from './frames.js';

export interface SampleOptions {
  /** Number of frames to generate after the primer (>= 1). */
  length: number;
  /**
   * How adventurous the music is, frame by frame (> 0; 1 samples the model as it is). Below 1 each
   * frame is chosen among `candidates` frames drawn from the model, favouring the ones the model
   * finds likely (weights p^(1/temperature - 1)); above 1, the unlikely ones. Whole frames are
   * tempered, so a low temperature keeps the music's density instead of switching keys off.
   */
  temperature: number;
  /**
   * Per-key temperature (default 1): each key's logit is divided by it before the sigmoid. Below 1
   * every uncertain key tends to off, so frames thin out towards silence; kept for experiments.
   */
  keyTemperature?: number;
  /** Frames drawn per step to choose from when temperature is not 1 (default FRAME_CANDIDATES). */
  candidates?: number;
  /** Base seed; sample i draws from its own generator seeded with sampleSeed(seed, i). */
  seed: number;
  /** How many samples to draw; they run through the model as one batch. */
  count: number;
  /** Frames fed through the model before generation starts; they open every sample. */
  primer?: Frame[];
  /** If set, at most this many keys per generated frame: the most probable of the sampled keys are kept. */
  maxPolyphony?: number;
  /** Semitones from the data's key, for models with a key input (default 0: the data's own key). */
  keyShift?: number;
  /** Called after every model step with the step index and the logits [count, 88] the model returned. */
  onStep?: (step: number, logits: Float32Array) => void;
  /** Called as soon as every sample's next frame is drawn: generated frame `step` (0-based, after the primer) of each sample. */
  onFrame?: (step: number, frames: readonly Frame[]) => void;
}

/** Candidate frames per step for a frame temperature other than 1. */
export const FRAME_CANDIDATES = 16;

export interface Sample {
  /** Primer frames followed by the generated frames. */
  frames: Frame[];
  /** How many of `frames` are the primer (0 when there is none). */
  primerLength: number;
  /** Index of this sample in its batch; its draws come from sampleSeed(seed, index). */
  index: number;
}

/**
 * The frame fed first: silence. A model with a start input reads it as the start step, before the
 * primer if there is one; an older model reads it only when there is no primer. The first generated
 * frame is drawn from the logits that follow; the start frame itself is not part of the output.
 */
export const START_FRAME: Frame = [];

/** Seed of sample `index`'s generator, so a sample does not depend on how many others share its batch. */
export function sampleSeed(seed: number, index: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x2c1b3c6d) >>> 0;
  z = Math.imul(z ^ (z >>> 12), 0x297a2d39) >>> 0;
  return (z ^ (z >>> 15)) >>> 0;
}

function checkOptions(model: SequenceModel, o: SampleOptions): void {
  if (model.inputSize !== KEY_COUNT) throw new UserError(`the model reads ${model.inputSize} features per frame, not ${KEY_COUNT} keys`);
  if (!Number.isInteger(o.length) || o.length < 1) throw new UserError(`length must be a whole number of frames >= 1 (got ${o.length})`);
  if (!(Number.isFinite(o.temperature) && o.temperature > 0)) throw new UserError(`temperature must be a number > 0 (got ${o.temperature})`);
  if (o.keyTemperature !== undefined && !(Number.isFinite(o.keyTemperature) && o.keyTemperature > 0)) throw new UserError(`key temperature must be a number > 0 (got ${o.keyTemperature})`);
  if (o.candidates !== undefined && !(Number.isInteger(o.candidates) && o.candidates >= 1 && o.candidates <= 1024)) throw new UserError(`candidates must be a whole number from 1 to 1024 (got ${o.candidates})`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new UserError(`seed must be a whole number from 0 to 4294967295 (got ${o.seed})`);
  if (!Number.isInteger(o.count) || o.count < 1) throw new UserError(`count must be a whole number >= 1 (got ${o.count})`);
  if (o.maxPolyphony !== undefined && (!Number.isInteger(o.maxPolyphony) || o.maxPolyphony < 1))
    throw new UserError(`max polyphony must be a whole number >= 1 (got ${o.maxPolyphony})`);
  if (o.primer) checkFrames(o.primer, 'primer');
}

/**
 * Draws `count` samples from the model in RNN mode, carrying its recurrent state from step to step.
 * The start frame and the primer are fed first (see START_FRAME); each following frame is drawn from
 * the logits after the previous one: each key an independent Bernoulli draw with
 * p = sigmoid(logit / keyTemperature), or, for a model with a key-chain head, key by key in the
 * chain's order with model.drawFrame. With a frame temperature other than 1 the frame is chosen among
 * several such draws (SampleOptions.temperature). Without a primer, an empty first frame is drawn
 * again (OPENING_DRAWS). Sample i draws from its own generator, so its
 * output depends only on (model, seed, i, options), not on `count`.
 */
export function sample(model: SequenceModel, options: SampleOptions): Sample[] {
  checkOptions(model, options);
  const { length, count, maxPolyphony, onStep, onFrame } = options;
  const primer = options.primer ?? [];
  const rngs = Array.from({ length: count }, (_, i) => new Rng(sampleSeed(options.seed, i)));
  const outputs: Frame[][] = Array.from({ length: count }, () => primer.map((f) => [...f]));
  const state = model.initialState(count, { keyShift: options.keyShift ?? 0 });
  const input = new Float32Array(count * KEY_COUNT);
  const draw = frameDrawer(model, options);

  const feed = (frames: readonly Frame[], step: number): Float32Array => {
    for (let b = 0; b < count; b++) writeMultiHot(frames[b], input, b * KEY_COUNT);
    const logits = model.step(state, input);
    onStep?.(step, logits);
    return logits;
  };

  let step = 0;
  let logits: Float32Array | undefined;
  for (const frame of openingFrames(model, primer)) logits = feed(Array(count).fill(frame), step++);

  for (let t = 0; t < length; t++) {
    const next: Frame[] = [];
    const opensPiece = t === 0 && primer.length === 0;
    for (let b = 0; b < count; b++) {
      let { frame, probs } = draw(state, b, logits!, rngs[b]);
      for (let tries = 1; opensPiece && frame.length === 0 && tries < OPENING_DRAWS; tries++) ({ frame, probs } = draw(state, b, logits!, rngs[b]));
      next.push(maxPolyphony !== undefined ? keepMostProbable(frame, probs, maxPolyphony) : frame);
      outputs[b].push(next[b]);
    }
    onFrame?.(t, next);
    if (t < length - 1) logits = feed(next, step++);
  }
  return outputs.map((frames, index) => ({ frames, primerLength: primer.length, index }));
}

/**
 * Draws at most this many first frames of an unprimed take while they come out empty. Pieces start
 * with sound (0.4% of Nottingham's tunes open on an empty frame), but a model's first frame is learnt
 * from one example per piece, and models pretrained with MuseData and Piano-midi.de (whose MIDI files
 * often open on silence) draw an empty one for 8-9% of takes (one trained on Nottingham alone, 4-5%);
 * some then stay silent for the whole take (docs/results.md). Redrawing samples the model's first
 * frame given that it sounds.
 */
export const OPENING_DRAWS = 64;

/** What is fed before the first drawn frame: the start frame (see START_FRAME) and the primer. */
export function openingFrames(model: SequenceModel, primer: readonly Frame[]): Frame[] {
  if (model.config.condition?.start) return [START_FRAME, ...primer];
  return primer.length > 0 ? [...primer] : [START_FRAME];
}

type FrameDraw = (state: RecurrentState, stream: number, logits: Float32Array, rng: Rng) => { frame: Frame; probs: Float64Array };

/** Draws one frame of one stream after a step, with the options' key and frame temperatures. */
export function frameDrawer(model: SequenceModel, options: Pick<SampleOptions, 'temperature' | 'keyTemperature' | 'candidates'>, fixed?: Int8Array): FrameDraw {
  const keyTemperature = options.keyTemperature ?? 1;
  const frameTemperature = options.temperature;
  const candidates = frameTemperature === 1 ? 1 : options.candidates ?? FRAME_CANDIDATES;
  const probs = Array.from({ length: candidates }, () => new Float64Array(KEY_COUNT));
  const once = (state: RecurrentState, b: number, logits: Float32Array, rng: Rng, out: Float64Array): number[] => {
    if (model.drawFrame) return model.drawFrame(state, b, keyTemperature, rng, out, fixed);
    const on: number[] = [];
    for (let k = 0; k < KEY_COUNT; k++) {
      const p = 1 / (1 + Math.exp(-logits[b * KEY_COUNT + k] / keyTemperature));
      out[k] = p;
      const forced = fixed ? fixed[k] : -1;
      if (forced === 1 || (forced < 0 && rng.next() < p)) on.push(k);
    }
    return on;
  };
  const runs = new Map<number, { keys: number[]; length: number }>();
  return (state, b, logits, rng) => {
    if (candidates === 1) {
      const keys = once(state, b, logits, rng, probs[0]);
      return { frame: keys.map((k) => k + LOWEST_NOTE), probs: probs[0] };
    }
    const drawn: number[][] = [];
    const surprise: number[] = [];
    for (let i = 0; i < candidates; i++) {
      const keys = once(state, b, logits, rng, probs[i]);
      drawn.push(keys);
      surprise.push(-frameLogProb(keys, probs[i], fixed));
    }
    const logw = candidateLogWeights(surprise, frameTemperature);
    const run = runs.get(b);
    if (frameTemperature < 1 && run && run.length >= longestRun(run.keys)) leaveRun(drawn, logw, run.keys);
    const pick = chooseWeighted(logw, rng);
    if (run && sameKeys(run.keys, drawn[pick])) run.length++;
    else runs.set(b, { keys: drawn[pick], length: 1 });
    return { frame: drawn[pick].map((k) => k + LOWEST_NOTE), probs: probs[pick] };
  };
}

/**
 * Below temperature 1, the longest run of one frame the sampler keeps while a drawn candidate differs:
 * a rest is not stretched past one frame (the tunes have no two empty frames in a row in valid or
 * test), a chord is not held past HELD_FRAMES_LIMIT frames.
 */
function longestRun(keys: readonly number[]): number {
  return keys.length === 0 ? 1 : HELD_FRAMES_LIMIT;
}

/**
 * Frames one chord is held at most below temperature 1 (while a candidate differs). In Nottingham 99.9%
 * of the runs of one sounding frame are at most 10 to 12 frames long (train, valid, test); without a
 * limit, one "conservative" RWKV take held a chord for 99 frames (docs/results.md).
 */
export const HELD_FRAMES_LIMIT = 12;

/**
 * Drops the candidates that would prolong the current run (the same keys as the previous frame) unless
 * every candidate does. Preferring the typical candidate otherwise keeps a model that has drifted into
 * silence or one held chord there, since the frames that would lead out of it are the surprising ones
 * (docs/results.md: 3 of 32 RWKV takes at 0.7 fell nearly silent before this rule).
 */
function leaveRun(drawn: readonly number[][], logw: number[], previous: readonly number[]): void {
  if (drawn.every((keys) => sameKeys(keys, previous))) return;
  for (let i = 0; i < drawn.length; i++) if (sameKeys(drawn[i], previous)) logw[i] = -Infinity;
}

function sameKeys(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** log q(frame) of a drawn frame under the probabilities it was drawn with (fixed keys excluded). */
export function frameLogProb(on: readonly number[], probs: Float64Array, fixed?: Int8Array): number {
  let lp = 0;
  let j = 0;
  for (let k = 0; k < KEY_COUNT; k++) {
    const isOn = j < on.length && on[j] === k;
    if (isOn) j++;
    if (fixed && fixed[k] >= 0) continue;
    const p = Math.min(1 - 1e-12, Math.max(1e-12, probs[k]));
    lp += isOn ? Math.log(p) : Math.log(1 - p);
  }
  return lp;
}

/**
 * Log-weights of candidate frames drawn from the model, given their surprise s = -log q(frame).
 * Above 1 the surprising ones gain: q^(1/T - 1), so the chosen frame follows q^(1/T). Below 1 the
 * ones whose surprise is near the candidates' mean (an estimate of the step's entropy) gain, and the
 * outliers on both sides lose: the odd frames, but also the degenerate ones (the held chord or the
 * empty frame that tempering q towards its mode would pick at every step, until the music stops).
 * This is "locally typical sampling" (Meister, Pimentel, Wiher and Cotterell 2023) over whole frames.
 */
export function candidateLogWeights(surprise: readonly number[], temperature: number): number[] {
  if (temperature >= 1) return surprise.map((s) => (1 - 1 / temperature) * s);
  const mean = surprise.reduce((a, b) => a + b, 0) / surprise.length;
  return surprise.map((s) => -(1 / temperature - 1) * Math.abs(s - mean));
}

/** Index i with probability proportional to exp(logw[i]), from one uniform. */
function chooseWeighted(logw: readonly number[], rng: Rng): number {
  const top = Math.max(...logw);
  const w = logw.map((x) => Math.exp(x - top));
  let total = 0;
  for (const x of w) total += x;
  let u = rng.next() * total;
  for (let i = 0; i < w.length; i++) {
    u -= w[i];
    if (u < 0) return i;
  }
  return w.length - 1;
}

/** Keeps the `limit` keys of `frame` with the highest probability (ties: the lower key), sorted by note. */
export function keepMostProbable(frame: Frame, probs: Float64Array, limit: number): Frame {
  if (frame.length <= limit) return frame;
  const ranked = [...frame].sort((a, b) => probs[b - LOWEST_NOTE] - probs[a - LOWEST_NOTE] || a - b);
  return ranked.slice(0, limit).sort((a, b) => a - b);
}
