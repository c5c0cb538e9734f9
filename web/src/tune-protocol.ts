/** Messages between the "Make it yours" panel and its worker. Frames are sorted MIDI note numbers. */
import type { Frame } from '../../src/data/pianoroll.js';

export interface TuneSettings {
  steps: number;
  lr: number;
  seed: number;
}

export interface PairSettings {
  length: number;
  temperature: number;
  seed: number;
}

export type ToTuneWorker =
  | { type: 'load'; modelId: string; bytes: ArrayBuffer }
  | { type: 'tune'; pieces: Frame[][]; settings: TuneSettings }
  | { type: 'cancel' }
  | { type: 'style'; name: string; bytes: ArrayBuffer }
  | { type: 'pair'; settings: PairSettings };

export type FromTuneWorker =
  | { type: 'loaded'; modelId: string }
  | { type: 'progress'; step: number; steps: number; nll: number }
  | { type: 'styled'; name: string }
  | { type: 'tuned'; steps: number; stopped: boolean; seconds: number; nllBefore: number; nllAfter: number; style: Uint8Array }
  | { type: 'pair'; before: Frame[]; after: Frame[]; beforeWav: Uint8Array; afterWav: Uint8Array; sampleRate: number; beforeAudio: Float32Array[]; afterAudio: Float32Array[] }
  | { type: 'error'; message: string };
