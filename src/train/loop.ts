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
import { join } from 'node:path';
import { trainedFrames } from '../data/batching.js';
import type { Frame } from '../data/pianoroll.js';
import type { Kernels } from '../engine/kernels.js';
import { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import type { ModelConfig, SequenceModel } from '../models/model.js';
import { initOutputBias } from '../models/output-bias.js';
import { listCheckpoints, removeTemporaryFiles } from '../run/checkpoints.js';
import { writeRunConfig } from '../run/config.js';
import { RUN_FILES } from '../run/files.js';
import { MetricsLog } from '../run/metrics-log.js';
import { TimeBudget } from './budget.js';
import { RUN_FORMAT_VERSION, type RunConfig } from './config.js';
import { loadCheckpoint, writeCheckpoint, type TrainState } from './checkpoint.js';
import type { EvalResult } from './evaluate.js';
import { memoryFeed, type TrainingFeed } from './feed.js';
import { AdamW, clipGradients, globalGradNorm, zeroGradients } from './optimizer.js';
import { silentProgress, type Progress } from './progress.js';
import { learningRate, type Schedule } from './schedule.js';
import { WeightAverage } from './weight-average.js';

export type StopReason = 'epochs' | 'time' | 'steps' | 'interrupted' | 'early-stopping';

export interface TrainOptions {
  runDir: string;
  /** The run's configuration (new run), or the one read from runDir/config.json (resume). */
  config: RunConfig;
  /** Continue from the run's newest checkpoint (a run with none yet starts from the beginning). */
  resume: boolean;
  /** Splits in memory, or a feed (feed.ts: e.g. a sharded dataset streamed shard by shard). */
  data: { train: Frame[][]; valid: Frame[][] } | TrainingFeed;
  buildModel: (config: ModelConfig, seed: number) => SequenceModel;
  /** Where the optimizer's update, the gradient clipping and the moving average run (default: the TypeScript kernels). */
  kernels?: Kernels;
  /** Stopping overrides for this invocation (a resumed run may train longer or shorter). */
  stop?: { epochs?: number | null; minutes?: number | null; steps?: number | null };
  progress?: Progress;
  log?: (line: string) => void;
  /** Handle SIGINT and SIGTERM: the first stops after the current step and checkpoints, a second aborts. */
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

function freshState(rng: Rng): TrainState {
  return {
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
}

/**
 * Starts the run's folder or resumes its newest checkpoint: the model's weights, the optimizer, the
 * dropout stream and the position, and the metrics log up to that position.
 */
function openRun(
  o: TrainOptions, feed: TrainingFeed, model: SequenceModel, optimizer: AdamW, average: WeightAverage | null, rng: Rng, log: (line: string) => void,
): { st: TrainState; metrics: MetricsLog; statePath: string | null } {
  const metricsPath = join(o.runDir, RUN_FILES.metrics);
  removeTemporaryFiles(o.runDir);
  if (o.resume) {
    const loaded = loadCheckpoint(o.runDir, model, optimizer, log, average);
    if (loaded) {
      const { statePath, ...st } = loaded;
      rng.setState(st.rng);
      log(`resuming ${o.runDir} at epoch ${st.epoch + 1}, batch ${st.batchInEpoch}, step ${st.step}`);
      return { st: { ...st, stopped: null }, metrics: MetricsLog.resume(metricsPath, st.step, st.log), statePath };
    }
    log(`${o.runDir} stopped before its first checkpoint: starting it from the beginning with its saved settings`);
  } else {
    if (listCheckpoints(o.runDir).length > 0) throw new UserError(`${o.runDir} already holds a run; resume it or choose another folder`);
    writeRunConfig(o.runDir, o.config);
  }
  const t = o.config.training;
  const frequencies = t.initHeadBias ? feed.keyFrequencies(t.transpose) : null;
  if (frequencies) initOutputBias(model, frequencies);
  o.prepareModel?.(model);
  // The average starts from the weights training starts from.
  average?.restart();
  return { st: freshState(rng), metrics: MetricsLog.start(metricsPath), statePath: null };
}

/** SIGINT/SIGTERM: the first asks to stop after the current step; the handlers then remove themselves. */
function stopOnSignal(enabled: boolean, log: (line: string) => void): { requested: () => boolean; dispose: () => void } {
  let requested = false;
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const onSignal = (signal: NodeJS.Signals) => {
    requested = true;
    for (const s of signals) process.off(s, onSignal);
    log(`${signal === 'SIGINT' ? 'Ctrl-C: ' : `${signal}: `}stopping after the current step (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to abort)...`);
  };
  if (enabled) for (const s of signals) process.on(s, onSignal);
  return { requested: () => requested, dispose: () => signals.forEach((s) => process.off(s, onSignal)) };
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { runDir, config } = options;
  const feed = 'epoch' in options.data ? options.data : memoryFeed(options.data);
  const t = config.training;
  const now = options.now ?? (() => performance.now());
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const progress = options.progress ?? silentProgress;
  if (feed.trainFrames() === 0) throw new UserError('the training split has no sequence of 2 or more frames to learn from');
  if (feed.validFrames() === 0) throw new UserError('the validation split has no sequence of 2 or more frames to score');

  // Model, optimizer, random stream, position, log.
  const model = options.buildModel(config.model, config.seed);
  const params = model.parameters();
  const optimizer = new AdamW(params, t.optimizer, options.kernels);
  const average = t.emaDecay ? new WeightAverage(params, t.emaDecay, options.kernels) : null;
  const rng = new Rng(dropoutSeed(config.seed));
  const { st, metrics, statePath } = openRun(options, feed, model, optimizer, average, rng, log);

  // When to stop.
  const maxEpochs = options.stop?.epochs !== undefined ? options.stop.epochs : t.epochs;
  const minutes = options.stop?.minutes !== undefined ? options.stop.minutes : t.minutes;
  const maxSteps = options.stop?.steps ?? null;
  const condition = config.model.condition;
  const batching = { batchFrames: t.batchFrames, maxLength: t.maxLength, transpose: t.transpose, randomPhase: t.randomPhase, condition };
  const evalBatching = { batchFrames: t.batchFrames, maxLength: t.evalMaxLength ?? Number.MAX_SAFE_INTEGER, condition };

  // The cosine horizon, kept in the checkpoint: set on the first invocation from the config, or
  // epochs x batches per epoch, or estimated from the time budget (budget.ts); a resumed run keeps it.
  let estimateHorizon = false;
  let epochHorizon = Infinity;
  if (t.schedule.kind === 'cosine' && st.totalSteps === 0) {
    if (t.schedule.totalSteps > 0) st.totalSteps = t.schedule.totalSteps;
    else {
      if (t.epochs !== null) {
        epochHorizon = t.epochs * feed.epoch(batching, config.seed, 0).count;
        st.totalSteps = epochHorizon;
      }
      estimateHorizon = t.minutes !== null && minutes !== null;
    }
  }
  const schedule = (): Schedule =>
    t.schedule.kind === 'cosine' ? { ...t.schedule, totalSteps: st.totalSteps > 0 ? st.totalSteps : Infinity } : t.schedule;

  const start = now();
  const budget = new TimeBudget({
    budgetMs: minutes !== null ? minutes * 60_000 : Infinity,
    start,
    estimateHorizon,
    epochHorizon,
    validFrames: feed.validFrames(),
  });
  const signal = stopOnSignal(options.handleSignals === true, log);
  const elapsedBefore = st.elapsedMs;
  const elapsed = () => elapsedBefore + (now() - start);
  let lastCheckpoint = start;
  let lastValid: EvalResult | null = null;
  let validatedAtStep = -1;

  const checkpoint = () => {
    st.rng = rng.getState();
    st.elapsedMs = elapsed();
    st.log = metrics.position();
    writeCheckpoint(runDir, model, optimizer, st, average);
    lastCheckpoint = now();
  };
  /**
   * Scores the validation split (with the averaged weights when the run keeps an average); a new best
   * is recorded (its weights are published with the next checkpoint).
   */
  const validate = (): { v: EvalResult; improved: boolean } => {
    const t0 = now();
    const score = () => feed.validate(model, evalBatching);
    const v = average ? average.withAverage(score) : score();
    budget.validationDone(now() - t0);
    validatedAtStep = st.step;
    lastValid = v;
    if (!Number.isFinite(v.nll)) {
      metrics.append({ type: 'stop', step: st.step, epoch: st.epoch + 1, reason: 'non-finite validation', wallSeconds: elapsed() / 1000 });
      throw new UserError(
        `training stopped: the validation NLL at epoch ${st.epoch + 1}, step ${st.step} is ${v.nll} (the model diverged); ` +
          `${runDir} keeps its last checkpoint from before; try a lower learning rate`,
      );
    }
    const improved = st.bestValid === null || v.nll < st.bestValid;
    if (improved) {
      st.bestValid = v.nll;
      st.bestEpoch = st.epoch;
      st.bestStep = st.step;
    }
    return { v, improved };
  };

  let stopped: StopReason | null = null;
  try {
    while (stopped === null) {
      if (maxEpochs !== null && st.epoch >= maxEpochs) {
        stopped = 'epochs';
        break;
      }
      const plan = feed.epoch(batching, config.seed, st.epoch);
      const nb = plan.count;
      if (st.batchInEpoch > nb) {
        throw new UserError(`${statePath} is damaged: batchInEpoch ${st.batchInEpoch} is past the end of epoch ${st.epoch + 1}, which has ${nb} batches`);
      }
      const epochStart = now();
      let epochStepFrames = 0;
      progress.startEpoch(st.epoch, nb, st.batchInEpoch);

      while (st.batchInEpoch < nb) {
        if (signal.requested()) stopped = 'interrupted';
        else if (maxSteps !== null && st.step >= maxSteps) stopped = 'steps';
        else if (budget.exhausted(now())) stopped = 'time';
        if (stopped !== null) break;

        const stepStart = now();
        const batch = plan.batch(st.batchInEpoch);
        const frames = trainedFrames(batch);
        const lr = learningRate(schedule(), { step: st.step, batchInEpoch: st.batchInEpoch, batchesInEpoch: nb });
        zeroGradients(params);
        const loss = model.trainStep(batch, 1 / frames, rng);
        const norm = globalGradNorm(params, options.kernels);
        const finite = Number.isFinite(loss.nllSum) && Number.isFinite(norm);
        if (!finite) {
          st.nonFinite++;
          zeroGradients(params);
          const what = Number.isFinite(loss.nllSum) ? 'gradient' : 'loss';
          metrics.append({ type: 'skip', step: st.step, epoch: st.epoch + 1, reason: `non-finite ${what}`, lr });
          log(`step ${st.step}: non-finite ${what}, step skipped (${st.nonFinite} in a row)`);
          if (st.nonFinite >= t.maxNonFinite) {
            st.step++;
            st.batchInEpoch++;
            checkpoint();
            metrics.append({ type: 'stop', step: st.step, epoch: st.epoch + 1, reason: 'non-finite' });
            throw new UserError(
              `training stopped: ${st.nonFinite} steps in a row had a non-finite loss or gradient (last at step ${st.step - 1}); ` +
                `the last good weights are checkpointed in ${runDir}; try a lower learning rate`,
            );
          }
        } else {
          st.nonFinite = 0;
          clipGradients(params, norm, t.clip, options.kernels);
          optimizer.step(lr);
          average?.update(optimizer.state.step);
          st.epochNllSum += loss.nllSum;
          st.epochFrames += loss.frames;
        }
        st.step++;
        st.batchInEpoch++;
        epochStepFrames += frames;
        const stepEnd = now();
        metrics.countStep(stepEnd - stepStart, finite ? loss : null);
        const horizon = budget.stepDone(stepEnd - stepStart, frames, st.step, nb, stepEnd);
        if (horizon !== null) st.totalSteps = horizon;

        const fps = epochStepFrames / Math.max(1e-9, (stepEnd - epochStart) / 1000);
        const batchesLeft = maxEpochs !== null ? (maxEpochs - st.epoch) * nb - st.batchInEpoch : null;
        progress.update(st.batchInEpoch, loss.nllSum / loss.frames, fps, budget.runEtaSeconds(batchesLeft, stepEnd));
        metrics.stepRecordIfDue({ step: st.step, epoch: st.epoch + 1, lr, wallSeconds: elapsed() / 1000 }, t.logEvery);
        if (stepEnd - lastCheckpoint >= t.checkpointMinutes * 60_000) checkpoint();
        // Let signal handlers run between steps.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      progress.stopEpoch();
      const fps = epochStepFrames / Math.max(1e-9, (now() - epochStart) / 1000);
      const trainLoss = st.epochFrames > 0 ? st.epochNllSum / st.epochFrames : null;

      if (stopped !== null) {
        if (stopped === 'time' && validatedAtStep !== st.step) {
          // Out of time mid-epoch: still validate, so the run ends with a score and a best checkpoint.
          const { v } = validate();
          const wallSeconds = elapsed() / 1000;
          metrics.append({ type: 'final', step: st.step, epoch: st.epoch + 1, trainLoss, validNll: v.nll, validBce: v.bce, framesPerSec: fps, wallSeconds });
          log(`time budget reached at epoch ${st.epoch + 1}, step ${st.step}: valid ${v.nll.toFixed(4)} nats/frame`);
        }
        break;
      }

      // End of epoch: validate, keep the best, checkpoint, maybe stop early.
      const lr = learningRate(schedule(), { step: Math.max(0, st.step - 1), batchInEpoch: nb - 1, batchesInEpoch: nb });
      const { v, improved } = validate();
      const horizon = budget.epochDone(st.step, nb, now());
      if (horizon !== null) st.totalSteps = horizon;
      st.epochsWithoutImprovement = improved ? 0 : st.epochsWithoutImprovement + 1;
      metrics.append({
        type: 'epoch',
        step: st.step,
        epoch: st.epoch + 1,
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
        `epoch ${st.epoch + 1}${maxEpochs !== null ? `/${maxEpochs}` : ''}: train ${(trainLoss ?? NaN).toFixed(4)}, ` +
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
    metrics.append({ type: 'stop', step: st.step, epoch: st.epoch + 1, reason: stopped, wallSeconds: elapsed() / 1000 });
  } finally {
    progress.stopEpoch();
    signal.dispose();
  }
  return { stopped: stopped!, step: st.step, epoch: st.epoch, batchInEpoch: st.batchInEpoch, bestValid: st.bestValid, lastValid, model, elapsedMs: st.elapsedMs };
}
