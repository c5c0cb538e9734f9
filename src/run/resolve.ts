/** Which model file a name means: a bundled model's name, a run folder, or a .safetensors file. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { listCheckpoints } from './checkpoints.js';
import { BUNDLED_MODELS_DIR, CHECKPOINT_FILES, RUN_FILES } from './files.js';

export interface ResolvedModel {
  /** Path of the .safetensors file to load. */
  file: string;
  /** Short name for output files and titles: the bundled name, the run folder's or the file's name. */
  name: string;
  source: 'bundled' | 'run' | 'file';
  /** The folder with the run's config.json and metrics.jsonl (bundled models and runs), else null. */
  runDir: string | null;
}

/** Which weights of a run: the best validated ones, or those of the newest checkpoint. */
export type WhichWeights = 'best' | 'latest';

const BUNDLED_NAME = /^[a-z0-9][a-z0-9_-]*$/i;

/** Names of the bundled models present in `dir`. */
export function bundledModelNames(dir = BUNDLED_MODELS_DIR): string[] {
  if (!existsSync(dir)) return [];
  // existsSync follows symbolic links, so a linked model folder counts too.
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, RUN_FILES.best)))
    .sort();
}

/** The model file of a run folder: best.safetensors, or the newest checkpoint's weights. */
export function runModelFile(dir: string, weights: WhichWeights): string {
  const checkpoints = listCheckpoints(dir);
  if (weights === 'latest') {
    if (checkpoints.length > 0) return join(checkpoints[0], CHECKPOINT_FILES.model);
    // a run written by the PyTorch trainer (python/) keeps its latest weights at the top
    const top = join(dir, CHECKPOINT_FILES.model);
    if (existsSync(top)) return top;
    throw new UserError(`${dir}: the run has no checkpoint yet`);
  }
  const best = join(dir, RUN_FILES.best);
  if (existsSync(best)) return best;
  if (checkpoints.length > 0) throw new UserError(`${dir}: no ${RUN_FILES.best} yet (no validation has finished); use its latest weights with --weights latest`);
  const found = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
  const hint = found.length ? ` (it has ${found.join(', ')}; pass one of those files directly)` : '';
  throw new UserError(`${dir}: this folder has no ${RUN_FILES.best}${hint}`);
}

/**
 * Finds the model file a name means: a .safetensors file, a run folder (its best weights, or with
 * weights 'latest' its newest checkpoint's), or a bundled model's name. A path that exists wins over a
 * bundled name.
 */
export function resolveModel(spec: string, options: { weights?: WhichWeights; bundledDir?: string } = {}): ResolvedModel {
  const bundledDir = options.bundledDir ?? BUNDLED_MODELS_DIR;
  const weights = options.weights ?? 'best';
  if (spec.trim() === '') throw new UserError('--checkpoint needs a bundled model name, a run folder or a .safetensors file');
  if (existsSync(spec)) {
    const path = resolve(spec);
    const st = statSync(path);
    if (st.isDirectory()) return { file: runModelFile(path, weights), name: basename(path), source: 'run', runDir: path };
    if (!st.isFile() || !path.endsWith('.safetensors')) throw new UserError(`${spec}: expected a .safetensors model file, a run folder or a bundled model name`);
    return { file: path, name: basename(path, '.safetensors'), source: 'file', runDir: null };
  }
  if (BUNDLED_NAME.test(spec)) {
    const dir = join(bundledDir, spec);
    const file = join(dir, RUN_FILES.best);
    if (existsSync(file)) {
      if (weights === 'latest') throw new UserError(`${spec}: a bundled model has only its best weights; drop --weights latest`);
      return { file, name: spec, source: 'bundled', runDir: dir };
    }
  }
  const names = bundledModelNames(bundledDir);
  const known = names.length ? `bundled models: ${names.join(', ')}` : 'no bundled models are installed';
  throw new UserError(`unknown model "${spec}": not a bundled model name, a run folder or a .safetensors file (${known})`);
}
