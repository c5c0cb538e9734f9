/**
 * The public API for the browser (`import ... from 'rwkv-music/browser'`) and any runtime without
 * Node's file system: models from bytes or a URL, sampling, MIDI <-> piano roll, WAV and SVG rendering.
 * It only re-exports the modules that own these (plus loadModelFromUrl); nothing here may import
 * Node built-ins or native addons. src/index.ts adds files, datasets and training for Node.
 */
import type { Gemm } from './engine/gemm.js';
import type { Kernels } from './engine/kernels.js';
import type { SequenceModel } from './models/model.js';
import { modelFromBytes } from './models/serialize.js';
import { UserError } from './errors.js';

export {
  KEY_COUNT, LOWEST_NOTE, HIGHEST_NOTE, DEFAULT_TIMING, frameSeconds, toDense, fromDense, transposeRoll,
  type Frame, type FrameTiming, type PianoRoll,
} from './data/pianoroll.js';
export { UserError } from './errors.js';
export type { Gemm } from './engine/gemm.js';
export type { Kernels } from './engine/kernels.js';
export { createModel, parameterCount, type CreateOptions } from './models/index.js';
export type { ModelConfig, ModelKind, RwkvConfig, Rwkv6Config, LstmConfig, SequenceModel, RecurrentState } from './models/model.js';
export { modelFromBytes, modelToBytes } from './models/serialize.js';
export { sample, sampleSeed, type Sample, type SampleOptions } from './generate/sampler.js';
export { midiToRoll, type MidiReadOptions, type MidiReadResult } from './midi/read.js';
export { rollToMidi, type RollToMidiOptions } from './midi/write.js';
export { synthesize, type Audio, type SynthOptions } from './render/synth.js';
export { encodeWav, rollToWav } from './render/wav.js';
export { rollToSvg, type RollImageOptions } from './render/pianoroll-image.js';

/** Fetches a model file written by this package (.safetensors, e.g. a bundled model's best.safetensors) and builds it. */
export async function loadModelFromUrl(url: string | URL, options: { gemm?: Gemm; kernels?: Kernels } = {}): Promise<SequenceModel> {
  const response = await fetch(url);
  if (!response.ok) throw new UserError(`${String(url)}: HTTP ${response.status} ${response.statusText}`.trim());
  return modelFromBytes(new Uint8Array(await response.arrayBuffer()), String(url), options);
}
