/**
 * Starting a new run from another model's weights: every parameter the two models share by name and
 * shape is copied; an embedding that reads more columns than the source's (a model that gains the
 * conditioning inputs of input-stage.ts) takes the source's columns and keeps zero in the new ones,
 * so it computes what the source computed until training uses them. A key-chain head whose order
 * differs from the source's keeps its fresh initialisation.
 */
import { UserError } from '../errors.js';
import type { SequenceModel } from '../models/model.js';

const EMBEDDINGS = new Set(['emb.weight', 'embed.weight']);

/** Copies `source`'s weights into `model`; returns one line per parameter group saying what was done. */
export function warmStart(model: SequenceModel, source: SequenceModel, sourceName: string): string[] {
  if (model.config.kind !== source.config.kind) {
    throw new UserError(`--init-from ${sourceName}: a ${source.config.kind} model cannot start a ${model.config.kind} run`);
  }
  const sameOrder = (model.config.keyChainOrder ?? 'up') === (source.config.keyChainOrder ?? 'up');
  const from = new Map(source.parameters().map((p) => [p.name, p]));
  let copied = 0;
  const kept: string[] = [];
  const notes: string[] = [];
  for (const p of model.parameters()) {
    const q = from.get(p.name);
    if (p.name.startsWith('chain.') && !sameOrder) {
      kept.push(p.name);
      continue;
    }
    if (!q) {
      kept.push(p.name);
      continue;
    }
    if (q.data.length === p.data.length && q.shape.join() === p.shape.join()) {
      p.data.set(q.data);
      copied++;
      continue;
    }
    if (EMBEDDINGS.has(p.name) && p.shape.length === 2 && q.shape.length === 2 && p.shape[0] === q.shape[0] && q.shape[1] < p.shape[1]) {
      const [rows, cols] = p.shape;
      const srcCols = q.shape[1];
      for (let r = 0; r < rows; r++) {
        p.data.set(q.data.subarray(r * srcCols, (r + 1) * srcCols), r * cols);
        p.data.fill(0, r * cols + srcCols, (r + 1) * cols);
      }
      copied++;
      notes.push(`${p.name}: the ${srcCols} input columns of ${sourceName} copied, ${cols - srcCols} new columns start at zero`);
      continue;
    }
    throw new UserError(`--init-from ${sourceName}: parameter ${p.name} is ${q.shape.join('x')} there and ${p.shape.join('x')} here; the models differ in size`);
  }
  if (copied === 0) throw new UserError(`--init-from ${sourceName}: no parameter in common with the new model`);
  const lines = [`started from ${sourceName}: ${copied} parameters copied`, ...notes];
  if (kept.length > 0) lines.push(`kept the fresh initialisation of ${kept.length} parameters (${kept.slice(0, 4).join(', ')}${kept.length > 4 ? ', ...' : ''})`);
  return lines;
}
