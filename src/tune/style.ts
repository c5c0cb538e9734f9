/**
 * Style files: a tuned start state (src/models/start-state.ts) as safetensors, with the identity of
 * the model it was tuned for in the metadata so that it is refused by any other model. A few tens of
 * kilobytes; browser-safe (bytes in, bytes out).
 */
import { decodeSafetensors, encodeSafetensors } from '../engine/safetensors.js';
import { UserError } from '../errors.js';
import type { SequenceModel } from '../models/model.js';
import { startLayout, type StartTensor } from '../models/start-state.js';
import { modelIdentity } from './identity.js';

export const STYLE_FORMAT = 'rwkv-music-style';
export const STYLE_VERSION = '1';

/** What a style file says about itself besides its tensors (all optional except the identity). */
export interface StyleInfo {
  /** modelIdentity() of the model it was tuned for. */
  model: string;
  /** Free-form facts: the model's name, pieces, steps, seed, NLLs. */
  notes: Record<string, string>;
}

export function encodeStyle(model: SequenceModel, start: readonly StartTensor[], notes: Record<string, string> = {}): Uint8Array {
  const metadata: Record<string, string> = { ...notes, format: STYLE_FORMAT, version: STYLE_VERSION, model: modelIdentity(model), kind: model.config.kind };
  return encodeSafetensors(start.map((t) => ({ name: t.name, shape: [...t.shape], data: t.data })), metadata);
}

/**
 * Reads a style for `model`; a UserError naming `fileName` if it is not a style file, was tuned for
 * another model (a different identity), or does not have the tensors this model's start state has.
 * `identity` may be passed when it is already known (it costs one pass over the weights).
 */
export function decodeStyle(bytes: Uint8Array, fileName: string, model: SequenceModel, identity = modelIdentity(model)): { start: StartTensor[]; info: StyleInfo } {
  const content = decodeSafetensors(bytes, fileName);
  const meta = content.metadata;
  if (meta.format !== STYLE_FORMAT) throw new UserError(`${fileName}: not a style file (made by \`rwkv-music tune\`)`);
  if (meta.version !== STYLE_VERSION) throw new UserError(`${fileName}: style file version ${meta.version}, this program reads version ${STYLE_VERSION}`);
  if (meta.model !== identity) {
    const what = meta.name ? ` ${meta.name}` : '';
    throw new UserError(`${fileName}: this style was tuned for another model (${meta.kind ?? '?'}${what}, identity ${meta.model}), not this ${model.config.kind} (identity ${identity})`);
  }
  const byName = new Map(content.tensors.map((t) => [t.name, t]));
  const start = startLayout(model).map(({ name, shape }) => {
    const t = byName.get(name);
    if (!t || t.shape.join(',') !== shape.join(',')) throw new UserError(`${fileName}: tensor ${name} [${shape.join(', ')}] is missing or has another shape`);
    for (const x of t.data) if (!Number.isFinite(x)) throw new UserError(`${fileName}: tensor ${name} holds a value that is not a number`);
    return { name, shape, data: t.data };
  });
  const notes: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (!['format', 'version', 'model', 'kind'].includes(k)) notes[k] = v;
  return { start, info: { model: meta.model, notes } };
}
