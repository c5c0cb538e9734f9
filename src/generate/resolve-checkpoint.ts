import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';

/** Folder of the bundled models: models/<name>/best.safetensors (plus a card) in the package. */
export const BUNDLED_MODELS_DIR = fileURLToPath(new URL('../../../models/', import.meta.url));
/** The weights a run folder or bundled model folder is expected to hold. */
export const WEIGHTS_FILE = 'best.safetensors';

export interface ResolvedCheckpoint {
  /** Path of the .safetensors file to load. */
  file: string;
  /** Short name for output files and titles: the bundled name, the run folder's or the file's name. */
  name: string;
  source: 'bundled' | 'run' | 'file';
}

/** Names of the bundled models present in `dir`. */
export function bundledModelNames(dir = BUNDLED_MODELS_DIR): string[] {
  if (!existsSync(dir)) return [];
  // existsSync follows symbolic links, so a linked model folder counts too.
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, WEIGHTS_FILE)))
    .sort();
}

/**
 * Finds the model file for `--checkpoint`: a .safetensors file, a run folder holding best.safetensors,
 * or the name of a bundled model. A path that exists wins over a bundled name.
 */
export function resolveCheckpoint(spec: string, bundledDir = BUNDLED_MODELS_DIR): ResolvedCheckpoint {
  if (spec.trim() === '') throw new UserError('--checkpoint needs a bundled model name, a run folder or a .safetensors file');
  if (existsSync(spec)) {
    const path = resolve(spec);
    if (statSync(path).isDirectory()) {
      const file = join(path, WEIGHTS_FILE);
      if (!existsSync(file)) {
        const found = readdirSync(path).filter((f) => f.endsWith('.safetensors'));
        const hint = found.length ? ` (it has ${found.join(', ')}; pass one of those files directly)` : '';
        throw new UserError(`${spec}: this folder has no ${WEIGHTS_FILE}${hint}`);
      }
      return { file, name: basename(path), source: 'run' };
    }
    if (!path.endsWith('.safetensors')) throw new UserError(`${spec}: expected a .safetensors model file, a run folder or a bundled model name`);
    return { file: path, name: basename(path, '.safetensors'), source: 'file' };
  }
  if (/^[a-z0-9][a-z0-9_-]*$/i.test(spec)) {
    const file = join(bundledDir, spec, WEIGHTS_FILE);
    if (existsSync(file)) return { file, name: spec, source: 'bundled' };
  }
  const names = bundledModelNames(bundledDir);
  const known = names.length ? `bundled models: ${names.join(', ')}` : 'no bundled models are installed';
  throw new UserError(`unknown model "${spec}": not a bundled model name, a run folder or a .safetensors file (${known})`);
}
