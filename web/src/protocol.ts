/** Messages between the page and its worker. Frames are sorted MIDI note numbers. */
import type { Frame, FrameTiming } from '../../src/data/pianoroll.js';
import type { Melody } from '../../src/generate/harmonize.js';

export interface GenerateSettings {
  length: number;
  temperature: number;
  seed: number;
  /** Omitted = no limit. */
  maxPolyphony?: number;
  /** Semitones from the data's key (models with a key input; 0 = the data's key). */
  keyShift: number;
  primer: Frame[];
}

export interface HarmonizeSettings {
  melody: Melody;
  temperature: number;
  seed: number;
}

export type ToWorker =
  | { type: 'load'; modelId: string; bytes: ArrayBuffer }
  | { type: 'generate'; settings: GenerateSettings }
  | { type: 'harmonize'; settings: HarmonizeSettings }
  | { type: 'render'; frames: Frame[]; timing: FrameTiming };

export type FromWorker =
  | { type: 'loaded'; modelId: string; kind: string; parameters: number; canHarmonize: boolean }
  | { type: 'frame'; index: number; frame: Frame }
  | { type: 'done'; frames: Frame[]; primerLength: number; millis: number }
  | { type: 'rendered'; sampleRate: number; channels: Float32Array[]; wav: Uint8Array }
  | { type: 'error'; message: string };
