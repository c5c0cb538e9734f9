import { KEY_COUNT, LOWEST_NOTE, type Frame } from '../data/pianoroll.js';
import { Rng } from '../engine/random.js';
import type { SequenceModel } from '../models/model.js';
import { UserError } from '../errors.js';
import { checkFrames, writeMultiHot } from './frames.js';

export interface SampleOptions {
  /** Number of frames to generate after the primer (>= 1). */
  length: number;
  /** Logits are divided by this before the sigmoid (> 0; below 1 sharpens, above 1 flattens). */
  temperature: number;
  /** Base seed; sample i draws from its own generator seeded with sampleSeed(seed, i). */
  seed: number;
  /** How many samples to draw; they run through the model as one batch. */
  count: number;
  /** Frames fed through the model before generation starts; they open every sample. */
  primer?: Frame[];
  /** If set, at most this many keys per generated frame: the most probable of the sampled keys are kept. */
  maxPolyphony?: number;
  /** Called after every model step with the step index and the logits [count, 88] the model returned. */
  onStep?: (step: number, logits: Float32Array) => void;
  /** Called as soon as every sample's next frame is drawn: generated frame `step` (0-based, after the primer) of each sample. */
  onFrame?: (step: number, frames: readonly Frame[]) => void;
}

export interface Sample {
  /** Primer frames followed by the generated frames. */
  frames: Frame[];
  /** How many of `frames` are the primer (0 when there is none). */
  primerLength: number;
  /** Index of this sample in its batch; its draws come from sampleSeed(seed, index). */
  index: number;
}

/**
 * The frame fed first when there is no primer: silence. The model reads it and the first generated
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
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new UserError(`seed must be a whole number from 0 to 4294967295 (got ${o.seed})`);
  if (!Number.isInteger(o.count) || o.count < 1) throw new UserError(`count must be a whole number >= 1 (got ${o.count})`);
  if (o.maxPolyphony !== undefined && (!Number.isInteger(o.maxPolyphony) || o.maxPolyphony < 1))
    throw new UserError(`max polyphony must be a whole number >= 1 (got ${o.maxPolyphony})`);
  if (o.primer) checkFrames(o.primer, 'primer');
}

/**
 * Draws `count` samples from the model in RNN mode, carrying its recurrent state from step to step.
 * The primer (or START_FRAME) is fed first; each following frame is drawn from the logits after the
 * previous one, each key an independent Bernoulli draw with p = sigmoid(logit / temperature), or, for
 * a model with a key-chain head, key by key from the lowest with model.drawFrame.
 * Sample i always draws 88 uniforms per generated frame, keys in order, from its own generator, so its
 * output depends only on (model, seed, i, options), not on `count`.
 */
export function sample(model: SequenceModel, options: SampleOptions): Sample[] {
  checkOptions(model, options);
  const { length, temperature, count, maxPolyphony, onStep, onFrame } = options;
  const primer = options.primer ?? [];
  const rngs = Array.from({ length: count }, (_, i) => new Rng(sampleSeed(options.seed, i)));
  const outputs: Frame[][] = Array.from({ length: count }, () => primer.map((f) => [...f]));
  const state = model.initialState(count);
  const input = new Float32Array(count * KEY_COUNT);
  const probs = new Float64Array(KEY_COUNT);

  const feed = (frames: readonly Frame[], step: number): Float32Array => {
    for (let b = 0; b < count; b++) writeMultiHot(frames[b], input, b * KEY_COUNT);
    const logits = model.step(state, input);
    onStep?.(step, logits);
    return logits;
  };

  let step = 0;
  let logits: Float32Array | undefined;
  const opening = primer.length > 0 ? primer : [START_FRAME];
  for (const frame of opening) logits = feed(Array(count).fill(frame), step++);

  for (let t = 0; t < length; t++) {
    const next: Frame[] = [];
    for (let b = 0; b < count; b++) {
      let frame: Frame = [];
      const rng = rngs[b];
      if (model.drawFrame) {
        frame = model.drawFrame(state, b, temperature, rng, probs).map((k) => k + LOWEST_NOTE);
      } else {
        for (let k = 0; k < KEY_COUNT; k++) {
          const p = 1 / (1 + Math.exp(-logits![b * KEY_COUNT + k] / temperature));
          probs[k] = p;
          if (rng.next() < p) frame.push(k + LOWEST_NOTE);
        }
      }
      next.push(maxPolyphony !== undefined ? keepMostProbable(frame, probs, maxPolyphony) : frame);
      outputs[b].push(next[b]);
    }
    onFrame?.(t, next);
    if (t < length - 1) logits = feed(next, step++);
  }
  return outputs.map((frames, index) => ({ frames, primerLength: primer.length, index }));
}

/** Keeps the `limit` keys of `frame` with the highest probability (ties: the lower key), sorted by note. */
export function keepMostProbable(frame: Frame, probs: Float64Array, limit: number): Frame {
  if (frame.length <= limit) return frame;
  const ranked = [...frame].sort((a, b) => probs[b - LOWEST_NOTE] - probs[a - LOWEST_NOTE] || a - b);
  return ranked.slice(0, limit).sort((a, b) => a - b);
}
