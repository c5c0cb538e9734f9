/** The training configuration stored in a run's config.json, and its validation. */
import { UserError } from '../errors.js';
import type { ModelConfig } from '../models/model.js';
import type { AdamWConfig } from './optimizer.js';
import { scheduleProblem, type Schedule } from './schedule.js';
import { isAverageDecay } from './weight-average.js';

export interface TrainingConfig {
  /** Stop after this many epochs (null: no epoch limit, the time budget decides). */
  epochs: number | null;
  /** Stop after this many minutes of this invocation (null: no time limit). */
  minutes: number | null;
  /** Upper bound on padded predicted positions (B * T) per batch. */
  batchFrames: number;
  /** Longest training/evaluation chunk in frames; longer sequences are cut (overlapping by one frame). */
  maxLength: number;
  /** Longest chunk at evaluation (null = whole sequences, the usual way to report the metric). */
  evalMaxLength: number | null;
  /** Random transposition of each training sequence by up to this many semitones (0 = off). */
  transpose: number;
  /** Move the chunk boundaries of long sequences randomly between epochs. */
  randomPhase: boolean;
  /**
   * Learning-rate schedule. For 'cosine', totalSteps 0 means "derive it": epochs x batches per
   * epoch, or, with only a time budget, an estimate from the measured speed of the first steps.
   */
  schedule: Schedule;
  optimizer: AdamWConfig;
  /**
   * Start the output bias (the parameter named head.bias, one per key) at the log-odds of each key's
   * frequency in the training split, so training begins at the independent-keys baseline instead of
   * p = 0.5 per key. Only on a fresh run; ignored if the model has no such parameter.
   */
  initHeadBias: boolean;
  /** Global gradient-norm clip (0 = off). */
  clip: number;
  /** Stop when validation has not improved for this many epochs (null = never). */
  patience: number | null;
  /** Write a step line to metrics.jsonl every this many steps. */
  logEvery: number;
  /** Write a checkpoint at least this often (minutes), besides every epoch end. */
  checkpointMinutes: number;
  /** Consecutive non-finite steps after which training stops. */
  maxNonFinite: number;
  /**
   * Decay of the moving average of the weights that is validated, kept as the best and published
   * (weight-average.ts), e.g. 0.999; null or absent: the live weights are used.
   */
  emaDecay?: number | null;
}

/** Everything config.json records about a run. */
export interface RunConfig {
  format: 'rwkv-music-run';
  version: number;
  package: string;
  model: ModelConfig;
  training: TrainingConfig;
  dataset: string;
  seed: number;
}

export const RUN_FORMAT_VERSION = 1;

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isPosInt = (x: unknown): x is number => Number.isInteger(x) && (x as number) > 0;

/** Returns the first problem found in a training configuration, or null. */
export function trainingConfigProblem(t: TrainingConfig): string | null {
  if (t.epochs !== null && !isPosInt(t.epochs)) return 'epochs must be a positive integer';
  if (t.minutes !== null && !(isNum(t.minutes) && t.minutes > 0)) return 'minutes must be a positive number';
  if (!isPosInt(t.batchFrames)) return 'batchFrames must be a positive integer';
  if (!Number.isInteger(t.maxLength) || t.maxLength < 2) return 'maxLength must be an integer >= 2';
  if (t.evalMaxLength !== null && (!Number.isInteger(t.evalMaxLength) || t.evalMaxLength < 2)) {
    return 'evalMaxLength must be an integer >= 2 or null';
  }
  if (t.epochs === null && t.minutes === null) return 'give a number of epochs or a time budget in minutes';
  if (!Number.isInteger(t.transpose) || t.transpose < 0 || t.transpose > 12) return 'transpose must be an integer in 0..12';
  if (typeof t.randomPhase !== 'boolean') return 'randomPhase must be true or false';
  if (!t.schedule || typeof t.schedule !== 'object') return 'schedule must be an object';
  const s = scheduleProblem(t.schedule);
  if (s) return s;
  const o = t.optimizer;
  if (!o || !isNum(o.beta1) || !isNum(o.beta2) || !isNum(o.eps) || !isNum(o.weightDecay)) {
    return 'optimizer needs numbers beta1, beta2, eps, weightDecay';
  }
  if (o.beta1 < 0 || o.beta1 >= 1 || o.beta2 < 0 || o.beta2 >= 1) return 'optimizer betas must be in [0, 1)';
  if (o.eps <= 0 || o.weightDecay < 0) return 'optimizer eps must be > 0 and weightDecay >= 0';
  if (typeof t.initHeadBias !== 'boolean') return 'initHeadBias must be true or false';
  if (!isNum(t.clip) || t.clip < 0) return 'clip must be a number >= 0';
  if (t.patience !== null && !isPosInt(t.patience)) return 'patience must be a positive integer or null';
  if (!isPosInt(t.logEvery)) return 'logEvery must be a positive integer';
  if (!isNum(t.checkpointMinutes) || t.checkpointMinutes <= 0) return 'checkpointMinutes must be a positive number';
  if (!isPosInt(t.maxNonFinite)) return 'maxNonFinite must be a positive integer';
  if (t.emaDecay !== undefined && t.emaDecay !== null && !isAverageDecay(t.emaDecay)) {
    return 'emaDecay must be a number between 0 and 1 (exclusive) or null';
  }
  return null;
}

export function checkTrainingConfig(t: TrainingConfig, where: string): void {
  const problem = trainingConfigProblem(t);
  if (problem) throw new UserError(`${where}: ${problem}`);
}
