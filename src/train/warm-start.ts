/**
 * Starting a new run from another model's weights: every parameter the two models share by name and
 * shape is copied. An embedding whose inputs are laid out differently (a model that gains input lags,
 * a start step or a wider key input, input-stage.ts) takes the source's weight for every input the two
 * share, matched by what the column reads, and zero for the inputs the source lacks, so it computes
 * what the source computed until training uses them. A key-chain head whose order differs from the
 * source's keeps its fresh initialisation.
 */
import { UserError } from '../errors.js';
import { embeddingInputColumns } from '../models/input-stage.js';
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
  const targetColumns = embeddingInputColumns(model.config);
  const sourceColumns = embeddingInputColumns(source.config);
  const sameInputs = targetColumns.join() === sourceColumns.join();
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
    if (EMBEDDINGS.has(p.name) && p.shape.length === 2 && q.shape.length === 2 && p.shape[0] === q.shape[0] && !sameInputs) {
      const note = copyEmbeddingByInput(p.data, p.shape[1], q.data, q.shape[1], targetColumns, sourceColumns, sourceName);
      if (note) {
        copied++;
        notes.push(`${p.name}: ${note}`);
        continue;
      }
    }
    if (q.data.length === p.data.length && q.shape.join() === p.shape.join()) {
      p.data.set(q.data);
      copied++;
      continue;
    }
    throw new UserError(`--init-from ${sourceName}: parameter ${p.name} is ${q.shape.join('x')} there and ${p.shape.join('x')} here; the models differ in size`);
  }
  if (copied === 0) throw new UserError(`--init-from ${sourceName}: no parameter in common with the new model`);
  const lines = [`started from ${sourceName}: ${copied} parameters copied`, ...notes];
  if (kept.length > 0) lines.push(`kept the fresh initialisation of ${kept.length} parameters (${kept.slice(0, 4).join(', ')}${kept.length > 4 ? ', ...' : ''})`);
  return lines;
}

/**
 * Copies the columns of a source embedding [rows, srcCols] into a target [rows, cols] by the input each
 * column reads; inputs the source lacks start at zero. Returns what was done, or null when the column
 * names do not describe these weights (then the models differ in size).
 */
function copyEmbeddingByInput(
  target: Float32Array, cols: number, source: Float32Array, srcCols: number,
  targetColumns: string[], sourceColumns: string[], sourceName: string,
): string | null {
  if (targetColumns.length !== cols || sourceColumns.length !== srcCols) return null;
  const sourceIndex = new Map(sourceColumns.map((name, i) => [name, i]));
  const from = targetColumns.map((name) => sourceIndex.get(name) ?? -1);
  const shared = from.filter((i) => i >= 0).length;
  if (shared === 0) return null;
  const rows = target.length / cols;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) target[r * cols + c] = from[c] >= 0 ? source[r * srcCols + from[c]] : 0;
  }
  const parts = [`the ${shared} input columns shared with ${sourceName} copied`];
  if (cols > shared) parts.push(`${cols - shared} new columns start at zero`);
  if (srcCols > shared) parts.push(`${srcCols - shared} of its columns have no counterpart here and are dropped`);
  return parts.join(', ');
}
