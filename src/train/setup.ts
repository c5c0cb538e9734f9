/**
 * Assembling a run's configuration: defaults for the model and dataset, then a --config JSON file,
 * then command-line flags (each later source overrides the earlier ones field by field).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { BUNDLED_DATASETS } from '../data/dataset.js';
import { UserError } from '../errors.js';
import { MAX_KEY_SHIFTS, validateConfig } from '../models/config.js';
import type { ModelConfig, ModelKind } from '../models/model.js';
import { checkTrainingConfig, RUN_FORMAT_VERSION, type RunConfig, type TrainingConfig } from './config.js';
import { defaultModelConfig, defaultTrainingConfig } from './defaults.js';

/** What a --config file may contain: partial model and training sections. */
export interface ConfigFile {
  model?: Partial<ModelConfig>;
  training?: Partial<TrainingConfig>;
}

/** Overrides from command-line flags (undefined = not given). */
export interface FlagOverrides {
  epochs?: number;
  minutes?: number;
  lr?: number;
  batchFrames?: number;
  maxLength?: number;
  transpose?: number;
  patience?: number;
  emaDecay?: number;
  schedule?: 'cosine' | 'triangular' | 'constant';
}

// The settings a config file may give: every default, and the optional ones with no default.
const TRAINING_KEYS = new Set([...Object.keys(defaultTrainingConfig('rwkv', 'nottingham')), 'emaDecay']);

export function readConfigFile(path: string): ConfigFile {
  if (!existsSync(path)) throw new UserError(`${path}: config file not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UserError(`${path}: expected a JSON object`);
  let obj = raw as Record<string, unknown>;
  // A run's config.json: reuse its model and training sections.
  if (obj.format === 'rwkv-music-run') obj = { model: obj.model, training: obj.training };
  for (const key of Object.keys(obj)) {
    if (key !== 'model' && key !== 'training') throw new UserError(`${path}: unknown section "${key}" (expected "model" and/or "training")`);
  }
  if (obj.training !== undefined) {
    if (obj.training === null || typeof obj.training !== 'object') throw new UserError(`${path}: "training" must be an object`);
    for (const key of Object.keys(obj.training)) {
      if (!TRAINING_KEYS.has(key)) throw new UserError(`${path}: unknown training setting "${key}" (known: ${[...TRAINING_KEYS].join(', ')})`);
    }
  }
  if (obj.model !== undefined && (obj.model === null || typeof obj.model !== 'object')) throw new UserError(`${path}: "model" must be an object`);
  return obj as ConfigFile;
}

/**
 * Models learn how a piece starts and which key it is in by default (docs/generation.md): a start
 * step and a key input as wide as the training transposition. A config that sets `condition` keeps
 * it, and must cover the transposition.
 */
function withCondition(model: ModelConfig, explicit: boolean, transpose: number, where: string): ModelConfig {
  if (!explicit) {
    return { ...model, condition: { start: true, keyShifts: transpose <= MAX_KEY_SHIFTS ? transpose : 0 } };
  }
  const k = model.condition?.keyShifts ?? 0;
  if (k > 0 && transpose > k) {
    throw new UserError(`${where}: the model's key input covers ±${k} semitones but training transposes by up to ±${transpose}; raise condition.keyShifts or lower --transpose`);
  }
  return model;
}

/** The name a dataset is recorded under: bundled names as they are, paths made absolute. */
export function datasetReference(dataset: string): string {
  return (BUNDLED_DATASETS as readonly string[]).includes(dataset) ? dataset : resolve(dataset);
}

/** A short label for run folder names. */
export function datasetLabel(dataset: string): string {
  return basename(dataset).replace(/\.json(\.gz)?$/, '').replace(/[^A-Za-z0-9_-]+/g, '-') || 'data';
}

export function buildRunConfig(
  kind: ModelKind,
  dataset: string,
  seed: number,
  file: ConfigFile | null,
  flags: FlagOverrides,
  packageVersion: string,
): RunConfig {
  const where = file ? 'config' : 'settings';
  const modelConfig = (() => {
    const merged = { ...defaultModelConfig(kind, datasetLabel(dataset)), ...(file?.model ?? {}) };
    if (merged.kind !== kind) throw new UserError(`the config file's model kind "${merged.kind}" differs from --model ${kind}`);
    try {
      return validateConfig(merged);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
  })();

  const base = defaultTrainingConfig(kind, datasetLabel(dataset));
  const t: TrainingConfig = {
    ...base,
    ...(file?.training ?? {}),
    // A schedule of another kind replaces the default one; one of the same kind overrides its fields.
    schedule: (file?.training?.schedule?.kind !== undefined && file.training.schedule.kind !== base.schedule.kind
      ? file.training.schedule
      : { ...base.schedule, ...(file?.training?.schedule ?? {}) }) as TrainingConfig['schedule'],
    optimizer: { ...base.optimizer, ...(file?.training?.optimizer ?? {}) },
  };
  if (flags.epochs !== undefined) t.epochs = flags.epochs;
  if (flags.minutes !== undefined) {
    t.minutes = flags.minutes;
    // A time budget alone decides the length unless epochs were asked for too.
    if (flags.epochs === undefined && file?.training?.epochs === undefined) t.epochs = null;
  }
  if (flags.batchFrames !== undefined) t.batchFrames = flags.batchFrames;
  if (flags.maxLength !== undefined) t.maxLength = flags.maxLength;
  if (flags.transpose !== undefined) t.transpose = flags.transpose;
  if (flags.patience !== undefined) t.patience = flags.patience;
  if (flags.emaDecay !== undefined) t.emaDecay = flags.emaDecay;
  if (flags.schedule !== undefined && flags.schedule !== t.schedule.kind) {
    const peak = t.schedule.kind === 'cosine' || t.schedule.kind === 'constant' ? t.schedule.lr : t.schedule.hi;
    if (flags.schedule === 'cosine') {
      const warmupSteps = base.schedule.kind === 'cosine' ? base.schedule.warmupSteps : 0;
      t.schedule = { kind: 'cosine', lr: peak, minLr: peak / 10, warmupSteps, totalSteps: 0 };
    }
    else if (flags.schedule === 'constant') t.schedule = { kind: 'constant', lr: peak };
    else t.schedule = { kind: 'triangular', lo: peak / 10, hi: peak };
  }
  if (flags.lr !== undefined) {
    const s = t.schedule;
    if (s.kind === 'cosine') t.schedule = { ...s, lr: flags.lr, minLr: flags.lr / 10 };
    else if (s.kind === 'constant') t.schedule = { ...s, lr: flags.lr };
    else t.schedule = { ...s, lo: flags.lr / 10, hi: flags.lr };
  }
  checkTrainingConfig(t, where);
  const model = withCondition(modelConfig, file?.model?.condition !== undefined, t.transpose, where);
  return {
    format: 'rwkv-music-run',
    version: RUN_FORMAT_VERSION,
    package: packageVersion,
    model,
    training: t,
    dataset: datasetReference(dataset),
    seed,
  };
}
