/** The train module's window on tensor files: the shared safetensors codec and model-file format. */
import { readFileSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../engine/safetensors.js';
import type { SequenceModel } from '../models/model.js';
import { modelToBytes } from '../models/io.js';

export type { NamedTensor };

/** Writes a model file (weights and config) to `path` (not atomic: callers pass a temporary path). */
export function saveWeights(path: string, model: SequenceModel): void {
  writeFileSync(path, modelToBytes(model));
}

export function writeTensorFile(path: string, tensors: readonly NamedTensor[], metadata: Record<string, string>): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}

export function readTensorFile(path: string): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new UserError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const content = decodeSafetensors(bytes, path);
  return { tensors: new Map(content.tensors.map((t) => [t.name, t])), metadata: content.metadata };
}
