/**
 * The training loop. Reads top to bottom like the algorithm:
 *   for each epoch: for each batch of the epoch's plan:
 *     zero grads -> forward+backward (mean NLL per frame) -> grad norm -> skip if non-finite
 *     -> clip -> AdamW step at the scheduled rate
 *   then validate, keep the best weights, checkpoint, maybe stop early.
 * Everything that decides the next update (weights, optimizer moments, dropout RNG, epoch plan,
 * position, schedule horizon) is in the checkpoint, so a resumed run repeats exactly what an
 * uninterrupted one would have done.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeBatch, trainedFrames, trainingPlan, type BatchPlan } from '../data/batching.js';
import { KEY_COUNT, LOWEST_NOTE, type Frame } from '../data/pianoroll.js';
import type { Param } from '../engine/tensor.js';
import type { Kernels } from '../engine/kernels.js';
import { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import type { ModelConfig, SequenceModel } from '../models/model.js';
import { RUN_FORMAT_VERSION, type RunConfig, type TrainingConfig } from './config.js';
import { FILES, loadCheckpoint, readRunConfig, writeCheckpoint, writeModelWeights, writeRunConfig, type TrainState } from './checkpoint.js';
import { evaluateSequences, type EvalResult } from './evaluate.js';
import { MetricsLog } from './metrics.js';
import { AdamW, clipGradients, globalGradNorm, zeroGradients } from './optimizer.js';
import { silentProgress, type Progress } from './progress.js';
import { learningRate, type Schedule } from './schedule.js';

export type StopReason = 'epochs' | 'time' | 'steps' | 'interrupted' | 'early-stopping';

export interface TrainOptions {
  runDir: string;
  /** The run's configuration (new run), or the one read from runDir/config.json (resume). */
  config: RunConfig;
  resume: boolean;
  data: { train: Frame[][]; valid: Frame[][] };
  buildModel: (config: ModelConfig, seed: number) => SequenceModel;
  /** Where the optimizer's update and the gradient clipping run (default: the TypeScript kernels). */
  kernels?: Kernels;
  /** Stopping overrides for this invocation (a resumed run may train longer or shorter). */
  stop?: { epochs?: number | null; minutes?: number | null; steps?: number | null };
  progress?: Progress;
  log?: (line: string) => void;
  /** Install a SIGINT handler: the first Ctrl-C stops after the current step, the second aborts. */
  handleSignals?: boolean;
  /** Clock in ms (tests may replace it). */
  now?: () => number;
  /** A new run only: called on the initialised model before training (e.g. to start from other weights). */
  prepareModel?: (model: SequenceModel) => void;
}

export interface TrainResult {
  stopped: StopReason;
  step: number;
  /** Epochs completed, and batches done in the next one. */
  epoch: number;
  batchInEpoch: number;
  bestValid: number | null;
  lastValid: EvalResult | null;
  model: SequenceModel;
  elapsedMs: number;
}

/** The dropout stream's seed: distinct from the weight-init seed and from the epoch-plan streams. */
function dropoutSeed(seed: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) + 0x165667b1) >>> 0;
}

/** Starts a new run folder (refusing to overwrite a run) or checks and reads an existing one. */
export function prepareRunFolder(dir: string, config: RunConfig, resume: boolean): RunConfig {
  if (resume) return readRunConfig(dir);
  mkdirSync(dir, { recursive: true });
  writeRunConfig(dir, config);
  return config;
}

/** Logit of a frequency, clamped away from 0 and 1 (as the baseline's probabilities are). */
const BIAS_CLAMP = 1e-4;

/**
 * Sets the output bias (parameter head.bias of shape [88]) to the log-odds of each key's frequency
 * over the training frames as training will see them: with random transposition by up to `transpose`
 * semitones, averaged over the shifts, so a key that only transposed tunes reach does not start at the
 * floor (a start there cost the LSTM its first epochs). The model then starts at the
 * independent-keys baseline.
 */
export function initHeadBiasFromData(params: readonly Param[], sequences: readonly Frame[][], transpose = 0): boolean {
  const bias = params.find((p) => p.name === 'head.bias');
  if (!bias || bias.data.length !== KEY_COUNT) return false;
  const counts = new Float64Array(KEY_COUNT);
  const share = 1 / (2 * transpose + 1); // each shift is equally likely
  let frames = 0;
  for (const s of sequences) {
    for (const f of s) {
      frames++;
      for (const n of f) {
        for (let shift = -transpose; shift <= transpose; shift++) {
          const k = n + shift - LOWEST_NOTE;
          if (k >= 0 && k < KEY_COUNT) counts[k] += share;
        }
      }
    }
  }
  if (frames === 0) return false;
  for (let k = 0; k < KEY_COUNT; k++) {
    const p = Math.min(1 - BIAS_CLAMP, Math.max(BIAS_CLAMP, counts[k] / frames));
    bias.data[k] = Math.log(p / (1 - p));
  }
  return true;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { runDir, config, data } = options;
  const t: TrainingConfig = config.training;
  const now = options.now ?? (() => performance.now());
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const progress = options.progress ?? silentProgress;
  if (!data.train.some((s) => s.length >= 2)) throw new UserError('the training split has no sequence of 2 or more frames to learn from');
  if (!data.valid.some((s) => s.length >= 2)) throw new UserError('the validation split has no sequence of 2 or more frames to score');

  // Model, optimizer, random stream, position.
  const model = options.buildModel(config.model, config.seed);
  const params = model.parameters();
  const optimizer = new AdamW(params, t.optimizer, options.kernels);
  const rng = new Rng(dropoutSeed(config.seed));
  let metrics: MetricsLog;
  let st: Omit<TrainState, 'hashes'>;
  if (options.resume) {
    const loaded = loadCheckpoint(runDir, model, optimizer);
    rng.setState(loaded.rng);
    const { hashes: _unused, ...rest } = loaded;
    st = { ...rest, stopped: null };
    metrics = MetricsLog.resume(join(runDir, FILES.metrics), st.step);
    log(`resuming ${runDir} at epoch ${st.epoch + 1}, batch ${st.batchInEpoch}, step ${st.step}`);
  } else {
    mkdirSync(runDir, { recursive: true });
    writeRunConfig(runDir, config);
    if (t.initHeadBias) initHeadBiasFromData(params, data.train, t.transpose);
    options.prepareModel?.(model);
    st = {
      format: 'rwkv-music-train-state',
      version: RUN_FORMAT_VERSION,
      epoch: 0,
      batchInEpoch: 0,
      step: 0,
      rng: rng.getState(),
      totalSteps: 0,
      bestValid: null,
      bestEpoch: null,
      bestStep: null,
      epochsWithoutImprovement: 0,
      epochNllSum: 0,
      epochFrames: 0,
      nonFinite: 0,
      elapsedMs: 0,
      stopped: null,
    };
    metrics = new MetricsLog(join(runDir, FILES.metrics));
  }

  const maxEpochs = options.stop?.epochs !== undefined ? options.stop.epochs : t.epochs;
  const minutes = options.stop?.minutes !== undefined ? options.stop.minutes : t.minutes;
  const maxSteps = options.stop?.steps ?? null;
  const budgetMs = minutes !== null ? minutes * 60_000 : Infinity;
  const condition = config.model.condition;
  const batching = { batchFrames: t.batchFrames, maxLength: t.maxLength, transpose: t.transpose, randomPhase: t.randomPhase, condition };
  const evalBatching = { batchFrames: t.batchFrames, maxLength: t.evalMaxLength ?? Number.MAX_SAFE_INTEGER, condition };

  // The cosine horizon, kept in the checkpoint. Set on the first invocation: from the config, or
  // epochs x batches per epoch; with a time budget, estimated from the measured speed after 13 steps
  // and refined at each epoch end, as the number of steps that fit in the budget (the smaller of the
  // two when both are given). A resumed run keeps the stored horizon.
  let refineHorizon = false;
  let epochHorizon = Infinity;
  if (t.schedule.kind === 'cosine' && st.totalSteps === 0) {
    if (t.schedule.totalSteps > 0) st.totalSteps = t.schedule.totalSteps;
    else {
      if (t.epochs !== null) {
        epochHorizon = t.epochs * trainingPlan(data.train, batching, config.seed, 0).batches.length;
        st.totalSteps = epochHorizon;
      }
      refineHorizon = t.minutes !== null && budgetMs < Infinity;
    }
  }
  const schedule = (): Schedule =>
    t.schedule.kind === 'cosine' ? { ...t.schedule, totalSteps: st.totalSteps > 0 ? st.totalSteps : Infinity } : t.schedule;

  // Ctrl-C: finish the step, checkpoint, exit. The handler removes itself, so a second Ctrl-C gets
  // the default action and ends the process at once, even in the middle of a step (the files on
  // disk stay whole: each is replaced by a rename).
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    process.off('SIGINT', onSigint);
    log('stopping after the current step (Ctrl-C again to abort)...');
  };
  if (options.handleSignals) process.on('SIGINT', onSigint);

  const start = now();
  const elapsedBefore = st.elapsedMs;
  let lastCheckpoint = start;
  let lastValid: EvalResult | null = null;
  const timingSteps: number[] = [];
  let logNll = 0;
  let logFrames = 0;
  /** Time spent in training steps since the last step record (validation excluded). */
  let logMs = 0;

  const elapsed = () => elapsedBefore + (now() - start);
  let stepsThisRun = 0;
  /** Seconds to the end of the run: the time budget, or the remaining epochs at the speed so far. */
  const runEta = (batchesPerEpoch: number, at: number): number | null => {
    const left = budgetMs - (at - start);
    let fromEpochs = Infinity;
    if (maxEpochs !== null && stepsThisRun > 0) {
      const remaining = (maxEpochs - st.epoch) * batchesPerEpoch - st.batchInEpoch;
      fromEpochs = (remaining * (at - start)) / stepsThisRun;
    }
    const ms = Math.min(left, fromEpochs);
    return Number.isFinite(ms) ? ms / 1000 : null;
  };
  const checkpoint = () => {
    st.rng = rng.getState();
    st.elapsedMs = elapsed();
    writeCheckpoint(runDir, model, optimizer, st);
    lastCheckpoint = now();
  };
  // Time the last validation took, so a time budget leaves room for the final one.
  let validationMs: number | null = null;
  let validatedAtStep = -1;
  const validFrames = data.valid.reduce((n, s) => n + Math.max(0, s.length - 1), 0);
  let trainMs = 0;
  let trainFrames = 0;
  let trainSteps = 0;
  /** Horizon = steps so far + the steps (each with its share of a validation) that fit in the time left. */
  const setTimeHorizon = (perStepMs: number, validationPerStepMs: number, at: number): void => {
    const leftMs = budgetMs - (at - start);
    const fit = Math.max(0, Math.floor((0.95 * leftMs) / Math.max(1e-6, perStepMs + validationPerStepMs)));
    st.totalSteps = Math.max(1, Math.min(epochHorizon, st.step + fit));
  };
  const reserveMs = (): number => {
    if (validationMs !== null) return validationMs;
    // Not measured yet: a forward pass costs about a third of forward + backward; allow 40%.
    return trainFrames > 0 ? (0.4 * validFrames * trainMs) / trainFrames : 0;
  };
  const validate = (): EvalResult => {
    const t0 = now();
    const r = evaluateSequences(model, data.valid, evalBatching);
    validationMs = now() - t0;
    validatedAtStep = st.step;
    lastValid = r;
    if (st.bestValid === null || r.nll < st.bestValid) {
      st.bestValid = r.nll;
      st.bestEpoch = st.epoch;
      st.bestStep = st.step;
      writeModelWeights(join(runDir, FILES.best), model);
      return r;
    }
    return r;
  };

  let stopped: StopReason | null = null;
  try {
    while (stopped === null) {
      if (maxEpochs !== null && st.epoch >= maxEpochs) {
        stopped = 'epochs';
        break;
      }
      const plan: BatchPlan = trainingPlan(data.train, batching, config.seed, st.epoch);
      const nb = plan.batches.length;
      const epochStart = now();
      let epochStepFrames = 0;
      progress.startEpoch(st.epoch, nb, st.batchInEpoch);

      while (st.batchInEpoch < nb) {
        if (interrupted) stopped = 'interrupted';
        else if (maxSteps !== null && st.step >= maxSteps) stopped = 'steps';
        else if (now() - start + reserveMs() >= budgetMs) stopped = 'time';
        if (stopped !== null) break;

        const stepStart = now();
        const batch = makeBatch(data.train, plan.batches[st.batchInEpoch], plan.condition);
        const frames = trainedFrames(batch);
        const lr = learningRate(schedule(), { step: st.step, batchInEpoch: st.batchInEpoch, batchesInEpoch: nb });
        zeroGradients(params);
        const loss = model.trainStep(batch, 1 / frames, rng);
        const norm = globalGradNorm(params, options.kernels);
        if (!Number.isFinite(loss.nllSum) || !Number.isFinite(norm)) {
          st.nonFinite++;
          zeroGradients(params);
          const what = Number.isFinite(loss.nllSum) ? 'gradient' : 'loss';
          metrics.append({ type: 'skip', step: st.step, epoch: st.epoch, reason: `non-finite ${what}`, lr });
          log(`step ${st.step}: non-finite ${what}, step skipped (${st.nonFinite} in a row)`);
          if (st.nonFinite >= t.maxNonFinite) {
            st.step++;
            st.batchInEpoch++;
            checkpoint();
            metrics.append({ type: 'stop', step: st.step, epoch: st.epoch, reason: 'non-finite' });
            throw new UserError(
              `training stopped: ${st.nonFinite} steps in a row had a non-finite loss or gradient (last at step ${st.step - 1}); ` +
                `the last good weights are checkpointed in ${runDir}; try a lower learning rate`,
            );
          }
        } else {
          st.nonFinite = 0;
          clipGradients(params, norm, t.clip, options.kernels);
          optimizer.step(lr);
          st.epochNllSum += loss.nllSum;
          st.epochFrames += loss.frames;
          logNll += loss.nllSum;
          logFrames += loss.frames;
        }
        st.step++;
        st.batchInEpoch++;
        epochStepFrames += frames;
        const stepEnd = now();
        trainMs += stepEnd - stepStart;
        logMs += stepEnd - stepStart;
        trainFrames += frames;
        trainSteps++;

        // First horizon from a time budget: the speed of steps 4..13 (the first ones warm up).
        if (refineHorizon && timingSteps.length < 13) {
          timingSteps.push(stepEnd - stepStart);
          if (timingSteps.length === 13) {
            const perStep = timingSteps.slice(3).reduce((a, b) => a + b, 0) / 10;
            setTimeHorizon(perStep, reserveMs() / nb, stepEnd);
          }
        }
        const fps = epochStepFrames / Math.max(1e-9, (stepEnd - epochStart) / 1000);
        stepsThisRun++;
        progress.update(st.batchInEpoch, loss.nllSum / loss.frames, fps, runEta(nb, stepEnd));
        if (st.step % t.logEvery === 0 && logFrames > 0) {
          const secs = logMs / 1000;
          metrics.append({
            type: 'step',
            step: st.step,
            epoch: st.epoch,
            lr,
            trainLoss: logNll / logFrames,
            framesPerSec: logFrames / Math.max(1e-9, secs),
            wallSeconds: elapsed() / 1000,
          });
          logNll = 0;
          logFrames = 0;
          logMs = 0;
        }
        if (stepEnd - lastCheckpoint >= t.checkpointMinutes * 60_000) checkpoint();
        // Let signal handlers run between steps.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      progress.stopEpoch();
      const fps = epochStepFrames / Math.max(1e-9, (now() - epochStart) / 1000);

      if (stopped !== null) {
        if (stopped === 'time' && validatedAtStep !== st.step) {
          // Out of time mid-epoch: still validate, so the run ends with a score and a best checkpoint.
          const v = validate();
          metrics.append({
            type: 'final',
            step: st.step,
            epoch: st.epoch,
            trainLoss: st.epochFrames > 0 ? st.epochNllSum / st.epochFrames : null,
            validNll: v.nll,
            validBce: v.bce,
            framesPerSec: fps,
            wallSeconds: elapsed() / 1000,
          });
          log(`time budget reached at epoch ${st.epoch + 1}, step ${st.step}: valid ${v.nll.toFixed(4)} nats/frame`);
        }
        break;
      }

      // End of epoch: validate, keep the best, checkpoint, maybe stop early.
      const trainLoss = st.epochFrames > 0 ? st.epochNllSum / st.epochFrames : NaN;
      const lr = learningRate(schedule(), { step: Math.max(0, st.step - 1), batchInEpoch: nb - 1, batchesInEpoch: nb });
      const previousBest = st.bestValid;
      const v = validate();
      if (refineHorizon && trainSteps > 0) setTimeHorizon(trainMs / trainSteps, (validationMs ?? 0) / nb, now());
      const improved = previousBest === null || v.nll < previousBest;
      st.epochsWithoutImprovement = improved ? 0 : st.epochsWithoutImprovement + 1;
      metrics.append({
        type: 'epoch',
        step: st.step,
        epoch: st.epoch,
        lr,
        trainLoss,
        validNll: v.nll,
        validBce: v.bce,
        validFrames: v.frames,
        framesPerSec: fps,
        wallSeconds: elapsed() / 1000,
        best: improved,
      });
      log(
        `epoch ${st.epoch + 1}${maxEpochs !== null ? `/${maxEpochs}` : ''}: train ${trainLoss.toFixed(4)}, ` +
          `valid ${v.nll.toFixed(4)} nats/frame${improved ? ' (best)' : ''}, ${Math.round(fps)} frames/s, step ${st.step}, ` +
          `${(elapsed() / 60_000).toFixed(1)} min`,
      );
      st.epoch++;
      st.batchInEpoch = 0;
      st.epochNllSum = 0;
      st.epochFrames = 0;
      if (t.patience !== null && st.epochsWithoutImprovement >= t.patience) stopped = 'early-stopping';
      checkpoint();
    }
    st.stopped = stopped;
    checkpoint();
    metrics.append({ type: 'stop', step: st.step, epoch: st.epoch, reason: stopped, wallSeconds: elapsed() / 1000 });
  } finally {
    progress.stopEpoch();
    if (options.handleSignals) process.off('SIGINT', onSigint);
  }
  return { stopped: stopped!, step: st.step, epoch: st.epoch, batchInEpoch: st.batchInEpoch, bestValid: st.bestValid, lastValid, model, elapsedMs: st.elapsedMs };
}
