/**
 * The names of the files in a run folder. A bundled model's folder (models/<name>/) has the same
 * layout minus the checkpoints, plus a card:
 *   config.json     model config, training config, dataset, seed, format version
 *   best.safetensors  the weights with the best validation NLL (a model file)
 *   metrics.jsonl   the training log (src/run/metrics.ts)
 *   card.json       a bundled model's description and scores
 *   checkpoints/<n>-step-<step>/   one complete checkpoint each (src/run/checkpoints.ts)
 */
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';

export const RUN_FILES = {
  config: 'config.json',
  best: 'best.safetensors',
  metrics: 'metrics.jsonl',
  card: 'card.json',
  checkpoints: 'checkpoints',
} as const;

/** The files inside one checkpoint folder. */
export const CHECKPOINT_FILES = {
  model: 'model.safetensors',
  optimizer: 'optimizer.safetensors',
  state: 'state.json',
} as const;

/** Folder of the bundled models: models/<name>/best.safetensors (plus a card) in the package. */
export const BUNDLED_MODELS_DIR = fileURLToPath(new URL('../../../models/', import.meta.url));

/**
 * Reads a file that must be a regular file of at most maxBytes (following symbolic links, so a link
 * to /dev/zero or a folder is refused rather than read forever). Returns null if it does not exist.
 */
export function readRegularFile(path: string, maxBytes: number): Buffer | null {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!st.isFile()) throw new UserError(`${path}: not a regular file`);
  if (st.size > maxBytes) throw new UserError(`${path}: ${st.size} bytes, more than the ${maxBytes} read (docs/limits.md)`);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UserError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
