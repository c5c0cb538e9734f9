/**
 * What a training checkpoint holds: the weights, the AdamW moments and step, and the training state
 * (position, random stream, best validation, schedule horizon). src/run/checkpoints.ts stores them
 * atomically in the run folder; this file turns them into bytes and back, and checks them.
 */
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../engine/safetensors.js';
import { modelToBytes } from '../models/io.js';
import type { SequenceModel } from '../models/model.js';
import { commitCheckpoint, publishBest, readLatestCheckpoint } from '../run/checkpoints.js';
import { CHECKPOINT_FILES } from '../run/files.js';
import type { LogPosition } from '../run/metrics-log.js';
import { RUN_FORMAT_VERSION } from './config.js';
import type { AdamW } from './optimizer.js';
import type { WeightAverage } from './weight-average.js';

export interface TrainState {
  format: 'rwkv-music-train-state';
  version: number;
  /** Epochs completed (so the epoch in progress is epoch + 1, counted from 1) and batches done in it. */
  epoch: number;
  batchInEpoch: number;
  /** Batches consumed so far (including skipped non-finite ones): the schedule's position. */
  step: number;
  /** Dropout random stream state. */
  rng: number[];
  /** Cosine schedule horizon actually in use (0 when the schedule has none or it is not set yet). */
  totalSteps: number;
  bestValid: number | null;
  /** Epochs completed and step when the best validation was measured. */
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
  /**
   * Where metrics.jsonl stood (records written, and the counts since the last step record), so a
   * resumed run logs exactly what an uninterrupted one would (absent in checkpoints of earlier versions).
   */
  log?: LogPosition;
}

/** A state loaded from a checkpoint, with where it came from. */
export interface LoadedState extends TrainState {
  statePath: string;
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

const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;
const isAmount = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/** Checks every field of a state.json; a UserError names the file and the first bad field. */
export function checkTrainState(raw: unknown, path: string): asserts raw is TrainState {
  const bad = (what: string): never => {
    throw new UserError(`${path} is damaged: bad ${what}`);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad('content (not a JSON object)');
  const s = raw as Record<string, unknown>;
  if (s.format !== 'rwkv-music-train-state' || s.version !== RUN_FORMAT_VERSION) {
    throw new UserError(`${path} is not a rwkv-music training state of format version ${RUN_FORMAT_VERSION}`);
  }
  for (const k of ['epoch', 'batchInEpoch', 'step', 'totalSteps', 'epochsWithoutImprovement', 'epochFrames', 'nonFinite']) {
    if (!isCount(s[k])) bad(k);
  }
  for (const k of ['epochNllSum', 'elapsedMs']) if (!isAmount(s[k])) bad(k);
  if (!Array.isArray(s.rng) || s.rng.length !== 4 || !s.rng.every((x) => isCount(x) && x <= 0xffffffff)) bad('rng state');
  if (s.bestValid === null) {
    if (s.bestEpoch !== null || s.bestStep !== null) bad('bestEpoch/bestStep (set without bestValid)');
  } else {
    if (!isAmount(s.bestValid)) bad('bestValid');
    if (!isCount(s.bestEpoch) || !isCount(s.bestStep) || s.bestStep > (s.step as number)) bad('bestEpoch/bestStep');
  }
  if (s.stopped !== null && typeof s.stopped !== 'string') bad('stopped');
  if (s.log !== undefined) {
    const p = s.log as Record<string, unknown> | null;
    if (!p || !isCount(p.records) || !isAmount(p.nllSum) || !isCount(p.frames) || !isAmount(p.ms)) bad('log position');
  }
}

function optimizerBytes(model: SequenceModel, optimizer: AdamW, live: Map<string, Float32Array> | null): Uint8Array {
  const tensors: NamedTensor[] = [];
  for (const p of model.parameters()) {
    const w = live?.get(p.name);
    if (w) tensors.push({ name: `w.${p.name}`, shape: p.shape, data: w });
    const m = optimizer.state.m.get(p.name)!;
    const v = optimizer.state.v.get(p.name)!;
    if (!allFinite(m) || !allFinite(v)) throw new UserError(`optimizer state of ${p.name} is not finite; refusing to write it`);
    tensors.push({ name: `m.${p.name}`, shape: p.shape, data: m });
    tensors.push({ name: `v.${p.name}`, shape: p.shape, data: v });
  }
  return encodeSafetensors(tensors, { format: 'rwkv-music-adamw', step: String(optimizer.state.step) });
}

/**
 * Writes a checkpoint (weights, optimizer, state) as one atomic step; when its weights are the best
 * validated ones (validated at this very step), they become the run's best.safetensors after the commit.
 * With a weight average the model file holds the average (what is validated and published) and the
 * optimizer file the live weights too (as w.<name>), so a resumed run goes on from both.
 */
export function writeCheckpoint(runDir: string, model: SequenceModel, optimizer: AdamW, state: TrainState, average: WeightAverage | null = null): void {
  assertFiniteWeights(model);
  const optimizerFile = optimizerBytes(model, optimizer, average ? average.liveWeights() : null);
  const averaged = (): Uint8Array => {
    assertFiniteWeights(model);
    return modelToBytes(model);
  };
  const weights = average ? average.withAverage(averaged) : modelToBytes(model);
  const dir = commitCheckpoint(runDir, state.step, { model: weights, optimizer: optimizerFile }, state);
  if (state.bestStep === state.step) publishBest(runDir, dir);
}

function decodeChecked(bytes: Uint8Array, path: string): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  try {
    const content = decodeSafetensors(bytes, path);
    return { tensors: new Map(content.tensors.map((t) => [t.name, t])), metadata: content.metadata };
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path} is damaged or not a safetensors file: ${(err as Error).message}`);
  }
}

/**
 * Loads the newest whole checkpoint of a run into a freshly built model and optimizer of the run's
 * configuration; null when the run has none yet. Refuses (UserError naming the file) anything
 * damaged, mismatched or incompatible.
 */
export function loadCheckpoint(
  runDir: string, model: SequenceModel, optimizer: AdamW, warn: (line: string) => void, average: WeightAverage | null = null,
): LoadedState | null {
  const loaded = readLatestCheckpoint(runDir, checkTrainState, warn);
  if (loaded === null) return null;
  const state = loaded.state as TrainState;
  const modelPath = join(loaded.dir, CHECKPOINT_FILES.model);
  const optPath = join(loaded.dir, CHECKPOINT_FILES.optimizer);
  copyWeights(decodeChecked(loaded.model, modelPath).tensors, modelPath, model);
  const content = decodeChecked(loaded.optimizer, optPath);
  const opt = content.tensors;
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const p of model.parameters()) {
    for (const [prefix, into] of [
      ['m.', m],
      ['v.', v],
    ] as const) {
      const t = opt.get(prefix + p.name);
      if (!t || t.data.length !== p.data.length) {
        throw new UserError(`${optPath} does not match the model: ${prefix}${p.name} missing or of the wrong size`);
      }
      into.set(p.name, t.data);
    }
  }
  const step = Number(content.metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new UserError(`${optPath} is damaged: bad step in its metadata`);
  optimizer.load(step, m, v);
  if (average) {
    const live = new Map<string, Float32Array>();
    for (const p of model.parameters()) {
      const t = opt.get(`w.${p.name}`);
      if (!t || t.data.length !== p.data.length || !allFinite(t.data)) {
        throw new UserError(`${optPath} does not match a run with a weight average: the live weights w.${p.name} are missing, of the wrong size or not finite`);
      }
      live.set(p.name, t.data);
    }
    average.load(live);
  }
  // A crash between the commit and publishing best.safetensors: publish it now.
  if (state.bestStep === state.step) publishBest(runDir, loaded.dir);
  const { hashes: _hashes, ...rest } = state as TrainState & { hashes?: unknown };
  return { ...rest, statePath: loaded.statePath };
}

function copyWeights(tensors: Map<string, NamedTensor>, path: string, model: SequenceModel): void {
  const names = new Set(model.parameters().map((p) => p.name));
  for (const name of tensors.keys()) {
    if (!names.has(name)) throw new UserError(`${path} does not match the model: unexpected tensor ${name}`);
  }
  for (const p of model.parameters()) {
    const t = tensors.get(p.name);
    if (!t) throw new UserError(`${path} does not match the model: tensor ${p.name} is missing`);
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new UserError(`${path} does not match the model: ${p.name} has shape [${t.shape}] instead of [${p.shape}]`);
    }
    if (!allFinite(t.data)) throw new UserError(`${path} contains non-finite values in ${p.name}`);
    p.data.set(t.data);
  }
}
