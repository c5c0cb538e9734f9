/** A run's config.json: what the run was started with (src/train/config.ts defines its training part). */
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { UserError } from '../errors.js';
import { MAX_SMALL_FILE_BYTES } from '../limits.js';
import { validateConfig } from '../models/config.js';
import { RUN_FORMAT_VERSION, trainingConfigProblem, type RunConfig } from '../train/config.js';
import { readRegularFile, RUN_FILES } from './files.js';

export function writeRunConfig(dir: string, config: RunConfig): void {
  writeFileAtomic(join(dir, RUN_FILES.config), JSON.stringify(config, null, 2) + '\n');
}

/** True when `dir` holds a config.json (it was started as a run, whether or not it has a checkpoint). */
export function isRunFolder(dir: string): boolean {
  return readRegularFile(join(dir, RUN_FILES.config), MAX_SMALL_FILE_BYTES) !== null;
}

export function readRunConfig(dir: string): RunConfig {
  const path = join(dir, RUN_FILES.config);
  const bytes = readRegularFile(path, MAX_SMALL_FILE_BYTES);
  if (bytes === null) throw new UserError(`${path} not found: not a run folder`);
  let cfg: RunConfig;
  try {
    cfg = JSON.parse(bytes.toString('utf8')) as RunConfig;
  } catch (err) {
    throw new UserError(`${path} is damaged: ${(err as Error).message}`);
  }
  if (!cfg || cfg.format !== 'rwkv-music-run') throw new UserError(`${path} is not a rwkv-music run config`);
  if (cfg.version !== RUN_FORMAT_VERSION) {
    throw new UserError(`${path} has format version ${cfg.version}; this version reads ${RUN_FORMAT_VERSION}`);
  }
  try {
    cfg.model = validateConfig(cfg.model);
  } catch (err) {
    throw new UserError(`${path}: ${(err as Error).message}`);
  }
  if (typeof cfg.dataset !== 'string' || !Number.isInteger(cfg.seed)) throw new UserError(`${path}: missing dataset or seed`);
  const problem = cfg.training ? trainingConfigProblem(cfg.training) : 'missing training section';
  if (problem) throw new UserError(`${path}: ${problem}`);
  return cfg;
}
