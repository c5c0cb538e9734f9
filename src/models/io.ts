/** Model files on disk (Node only): safetensors with the config in the metadata. */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-write.js';
import { UserError } from '../errors.js';
import type { Gemm } from '../engine/gemm.js';
import type { StoredDtype } from '../engine/safetensors.js';
import { defaultGemm } from '../engine/gemm-default.js';
import { defaultKernels } from '../engine/kernels-default.js';
import type { Kernels } from '../engine/kernels.js';
import type { SequenceModel } from './model.js';
import { modelFromBytes, modelToBytes } from './serialize.js';

export { loadTensorsInto, modelToTensors, modelFromBytes, modelToBytes, MODEL_FORMAT } from './serialize.js';

/** Writes the model atomically: to a temporary file next to `path`, then renamed over it. */
export function saveModelFile(path: string, model: SequenceModel, dtype: StoredDtype = 'F32'): void {
  writeFileAtomic(path, modelToBytes(model, dtype));
}

/**
 * Reads a model file; throws a UserError naming the file if it is missing, damaged or inconsistent.
 * The model computes with `options.gemm` and `options.kernels`, by default the process-wide fastest
 * ones (defaultGemm(), defaultKernels()).
 */
export function loadModelFile(path: string, options: { gemm?: Gemm; kernels?: Kernels } = {}): SequenceModel {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: cannot read the model file (${code ?? (e as Error).message})`);
  }
  return modelFromBytes(bytes, path, { gemm: options.gemm ?? defaultGemm(), kernels: options.kernels ?? defaultKernels() });
}
