/**
 * Model <-> named tensors and safetensors bytes, without the file system (usable in the browser).
 * Metadata: `format` = "rwkv-music", `config` = the model config as JSON.
 */
import { UserError } from '../errors.js';
import type { Gemm } from '../engine/gemm.js';
import type { Kernels } from '../engine/kernels.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor, type StoredDtype } from '../engine/safetensors.js';
import { validateConfig } from './config.js';
import { createModel } from './index.js';
import type { SequenceModel } from './model.js';

export const MODEL_FORMAT = 'rwkv-music';

/** The model's parameters as named tensors (views of the live data, no copy). */
export function modelToTensors(model: SequenceModel): NamedTensor[] {
  return model.parameters().map((p) => ({ name: p.name, shape: p.shape.slice(), data: p.data }));
}

/**
 * Copies tensors into the model's parameters by name. Every parameter must be present with its exact
 * shape, no unknown tensor may be present, and every value must be finite.
 */
export function loadTensorsInto(model: SequenceModel, tensors: readonly NamedTensor[], source: string): void {
  const byName = new Map<string, NamedTensor>();
  for (const t of tensors) byName.set(t.name, t);
  const params = model.parameters();
  const known = new Set(params.map((p) => p.name));
  const unknown = tensors.filter((t) => !known.has(t.name)).map((t) => t.name);
  if (unknown.length > 0) throw new UserError(`${source}: unexpected tensor(s) for this model: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}`);
  for (const p of params) {
    const t = byName.get(p.name);
    if (!t) throw new UserError(`${source}: missing tensor "${p.name}"`);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new UserError(`${source}: tensor "${p.name}" has shape [${t.shape}], the model expects [${p.shape}]`);
    }
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) throw new UserError(`${source}: tensor "${p.name}" contains a non-finite value (${t.data[i]}) at index ${i}`);
    }
  }
  for (const p of params) p.data.set(byName.get(p.name)!.data);
}

/** Serialises a model (weights and config) to safetensors bytes; F16 halves the size (bundled models). */
export function modelToBytes(model: SequenceModel, dtype: StoredDtype = 'F32'): Uint8Array {
  return encodeSafetensors(modelToTensors(model), { format: MODEL_FORMAT, config: JSON.stringify(model.config) }, dtype);
}

/** Rebuilds a model from safetensors bytes written by `modelToBytes`. */
export function modelFromBytes(bytes: Uint8Array, source: string, options: { gemm?: Gemm; kernels?: Kernels } = {}): SequenceModel {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  if (metadata.format !== MODEL_FORMAT) {
    throw new UserError(`${source}: not an ${MODEL_FORMAT} model file (metadata format is ${JSON.stringify(metadata.format ?? null)})`);
  }
  if (metadata.config === undefined) throw new UserError(`${source}: the model file has no config in its metadata`);
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.config);
  } catch {
    throw new UserError(`${source}: the model config in the metadata is not valid JSON`);
  }
  let config;
  try {
    config = validateConfig(raw);
  } catch (e) {
    throw new UserError(`${source}: ${(e as Error).message}`);
  }
  const model = createModel(config, { seed: 0, gemm: options.gemm, kernels: options.kernels, uninitialized: true });
  loadTensorsInto(model, tensors, source);
  return model;
}
