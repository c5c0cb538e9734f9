/**
 * Stand-in for src/generate/harmonize.ts (same exports and signatures) until that module exists;
 * this file is removed and its importers point there instead. It offers harmonizing for no model.
 */
import type { Frame } from '../../src/data/pianoroll.js';
import type { SequenceModel } from '../../src/models/model.js';

export type Melody = (number | null)[];

/** The top voice: per frame the highest MIDI note, or null in a silent frame. */
export function melodyFromFrames(frames: Frame[]): Melody {
  return frames.map((f) => (f.length > 0 ? Math.max(...f) : null));
}

export function canHarmonize(model: SequenceModel): boolean {
  return (model.config as { keyChainOrder?: string }).keyChainOrder === 'down';
}

export function harmonize(model: SequenceModel, melody: Melody, options: { temperature: number; seed: number; onFrame?: (t: number, frame: Frame) => void }): Frame[] {
  void model, melody, options;
  throw new Error('this build cannot harmonize');
}
