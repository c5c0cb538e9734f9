/**
 * A run folder:
 *   config.json            model config, training config, dataset, seed, format version
 *   model.safetensors      latest weights (a model file, loadable by every command)
 *   best.safetensors       weights with the best validation NLL so far
 *   optimizer.safetensors  AdamW moments m.<param>, v.<param>
 *   state.json             position (epoch, batch in epoch, step), RNG state, best validation,
 *                          schedule horizon, and SHA-256 of the two files above
 *   metrics.jsonl          one JSON record per epoch and per logged step
 * Each file is written to a temporary name and renamed into place; the three files of a checkpoint
 * are all written first and renamed together, state.json last, and state.json's hashes tie them
 * together, so a resume never mixes weights from one step with a position from another.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { validateConfig } from '../models/config.js';
import { saveModelFile } from '../models/io.js';
import type { SequenceModel } from '../models/model.js';
import { writeFileAtomic } from '../atomic-write.js';
import { temporaryPath } from './atomic.js';
import type { RunConfig } from './config.js';
import { RUN_FORMAT_VERSION, trainingConfigProblem } from './config.js';
import type { AdamW } from './optimizer.js';
import { readTensorFile, saveWeights, writeTensorFile } from './tensor-io.js';

export const FILES = {
  config: 'config.json',
  model: 'model.safetensors',
  best: 'best.safetensors',
  optimizer: 'optimizer.safetensors',
  state: 'state.json',
  metrics: 'metrics.jsonl',
} as const;

export interface TrainState {
  format: 'rwkv-music-train-state';
  version: number;
  /** Current epoch (0-based) and the index of the next batch within it. */
  epoch: number;
  batchInEpoch: number;
  /** Batches consumed so far (including skipped non-finite ones): the schedule's position. */
  step: number;
  /** Dropout random stream state. */
  rng: number[];
  /** Cosine schedule horizon actually in use (0 when the schedule has none or it is not set yet). */
  totalSteps: number;
  bestValid: number | null;
  bestEpoch: number | null;
  bestStep: number | null;
  epochsWithoutImprovement: number;
  /** Training loss accumulated over the current epoch so far. */
  epochNllSum: number;
  epochFrames: number;
  /** Consecutive skipped steps. */
  nonFinite: number;
  /** Training wall time over all invocations, ms. */
  elapsedMs: number;
  /** Why the run last stopped. */
  stopped: string | null;
  hashes: { model: string; optimizer: string };
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** Throws if any weight is NaN or infinite: such weights must never reach a file. */
export function assertFiniteWeights(model: SequenceModel): void {
  for (const p of model.parameters()) {
    if (!allFinite(p.data)) throw new UserError(`parameter ${p.name} is not finite; refusing to write a checkpoint with NaN`);
  }
}

export function writeRunConfig(dir: string, config: RunConfig): void {
  writeFileAtomic(join(dir, FILES.config), JSON.stringify(config, null, 2) + '\n');
}

export function readRunConfig(dir: string): RunConfig {
  const path = join(dir, FILES.config);
  if (!existsSync(path)) throw new UserError(`${path} not found: not a run folder`);
  let cfg: RunConfig;
  try {
    cfg = JSON.parse(readFileSync(path, 'utf8')) as RunConfig;
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

/** Writes model weights (a model file) atomically, after checking they are finite. */
export function writeModelWeights(path: string, model: SequenceModel): void {
  assertFiniteWeights(model);
  saveModelFile(path, model);
}

/** Writes model.safetensors, optimizer.safetensors and state.json as one checkpoint. */
export function writeCheckpoint(
  dir: string,
  model: SequenceModel,
  optimizer: AdamW,
  state: Omit<TrainState, 'hashes'>,
): void {
  assertFiniteWeights(model);
  const modelTmp = temporaryPath(join(dir, FILES.model));
  const optTmp = temporaryPath(join(dir, FILES.optimizer));
  try {
    saveWeights(modelTmp, model);
    const tensors = [];
    for (const p of model.parameters()) {
      const m = optimizer.state.m.get(p.name)!;
      const v = optimizer.state.v.get(p.name)!;
      if (!allFinite(m) || !allFinite(v)) throw new UserError(`optimizer state of ${p.name} is not finite; refusing to write it`);
      tensors.push({ name: `m.${p.name}`, shape: p.shape, data: m });
      tensors.push({ name: `v.${p.name}`, shape: p.shape, data: v });
    }
    writeTensorFile(optTmp, tensors, { format: 'rwkv-music-adamw', step: String(optimizer.state.step) });
    const full: TrainState = { ...state, hashes: { model: sha256(modelTmp), optimizer: sha256(optTmp) } };
    const stateText = JSON.stringify(full, null, 2) + '\n';
    renameSync(modelTmp, join(dir, FILES.model));
    renameSync(optTmp, join(dir, FILES.optimizer));
    writeFileAtomic(join(dir, FILES.state), stateText);
  } finally {
    rmSync(modelTmp, { force: true });
    rmSync(optTmp, { force: true });
  }
}

function readState(dir: string): TrainState {
  const path = join(dir, FILES.state);
  if (!existsSync(path)) throw new UserError(`${path} not found: the run has no checkpoint to resume`);
  let s: TrainState;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as TrainState;
  } catch (err) {
    throw new UserError(`${path} is damaged: ${(err as Error).message}`);
  }
  const ints = ['epoch', 'batchInEpoch', 'step', 'totalSteps', 'epochsWithoutImprovement', 'nonFinite'] as const;
  if (!s || s.format !== 'rwkv-music-train-state' || s.version !== RUN_FORMAT_VERSION) {
    throw new UserError(`${path} is not a rwkv-music training state of format version ${RUN_FORMAT_VERSION}`);
  }
  for (const k of ints) {
    if (!Number.isInteger(s[k]) || s[k] < 0) throw new UserError(`${path} is damaged: bad ${k}`);
  }
  if (!Array.isArray(s.rng) || s.rng.length !== 4 || !s.rng.every((x) => Number.isInteger(x))) {
    throw new UserError(`${path} is damaged: bad rng state`);
  }
  if (!s.hashes || typeof s.hashes.model !== 'string' || typeof s.hashes.optimizer !== 'string') {
    throw new UserError(`${path} is damaged: missing file hashes`);
  }
  return s;
}

/**
 * Loads a checkpoint into a freshly built model and optimizer of the run's configuration; refuses
 * (UserError naming the file) anything damaged, mismatched or incompatible.
 */
export function loadCheckpoint(dir: string, model: SequenceModel, optimizer: AdamW): TrainState {
  const state = readState(dir);
  const modelPath = join(dir, FILES.model);
  const optPath = join(dir, FILES.optimizer);
  for (const [path, hash] of [
    [modelPath, state.hashes.model],
    [optPath, state.hashes.optimizer],
  ] as const) {
    if (!existsSync(path)) throw new UserError(`${path} not found: the checkpoint is incomplete`);
    if (sha256(path) !== hash) {
      throw new UserError(`${path} does not match ${join(dir, FILES.state)} (damaged or from another step)`);
    }
  }
  loadWeightsInto(modelPath, model);
  const opt = readTensorFileChecked(optPath);
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const p of model.parameters()) {
    for (const [prefix, into] of [
      ['m.', m],
      ['v.', v],
    ] as const) {
      const t = opt.tensors.get(prefix + p.name);
      if (!t || t.data.length !== p.data.length) {
        throw new UserError(`${optPath} does not match the model: ${prefix}${p.name} missing or of the wrong size`);
      }
      into.set(p.name, t.data);
    }
  }
  const step = Number(opt.metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new UserError(`${optPath} is damaged: bad step in its metadata`);
  optimizer.load(step, m, v);
  return state;
}

function readTensorFileChecked(path: string): ReturnType<typeof readTensorFile> {
  try {
    return readTensorFile(path);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path} is damaged or not a safetensors file: ${(err as Error).message}`);
  }
}

/** Copies the weights of a model file into a model built from the same configuration. */
export function loadWeightsInto(path: string, model: SequenceModel): void {
  const file = readTensorFileChecked(path);
  const names = new Set(model.parameters().map((p) => p.name));
  for (const name of file.tensors.keys()) {
    if (!names.has(name)) throw new UserError(`${path} does not match the model: unexpected tensor ${name}`);
  }
  for (const p of model.parameters()) {
    const t = file.tensors.get(p.name);
    if (!t) throw new UserError(`${path} does not match the model: tensor ${p.name} is missing`);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new UserError(`${path} does not match the model: ${p.name} has shape [${t.shape}] instead of [${p.shape}]`);
    }
    if (!allFinite(t.data)) throw new UserError(`${path} contains non-finite values in ${p.name}`);
    p.data.set(t.data);
  }
}
