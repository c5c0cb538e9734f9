/**
 * What the training loop reads its data through: the epoch's batches, the key frequencies that start
 * the output bias, and the validation score. A dataset in memory is planned as one split
 * (batching.ts); a sharded dataset (data/shards.ts) is streamed: the training batches come shard by
 * shard with at most two shards resident, and validation reads one validation shard at a time.
 */
import { makeBatch, trainingPlan, type BatchingOptions, type TrainBatchingOptions } from '../data/batching.js';
import { loadDataset } from '../data/dataset.js';
import { keyFrequencies } from '../data/key-frequencies.js';
import { KEY_COUNT, type Frame } from '../data/pianoroll.js';
import { isShardedDataset, openShardedSplit, shardedTrainingPlan, type ShardedSplit } from '../data/shards.js';
import type { Batch } from '../engine/batch.js';
import type { SequenceModel } from '../models/model.js';
import { evaluateSequences, type EvalResult } from './evaluate.js';

/** One epoch's batches, made when asked for. */
export interface EpochBatches {
  readonly count: number;
  batch(i: number): Batch;
}

export interface TrainingFeed {
  /** Predicted frames of the training and validation splits. */
  trainFrames(): number;
  validFrames(): number;
  /** Each key's share of training frames over the transpositions training applies (keyFrequencies). */
  keyFrequencies(transpose: number): Float64Array | null;
  /** The batches of epoch `epoch`, fully determined by (seed, epoch). */
  epoch(options: TrainBatchingOptions, seed: number, epoch: number): EpochBatches;
  /** The validation metric (evaluate.ts). */
  validate(model: SequenceModel, options: BatchingOptions): EvalResult;
}

/** Splits held in memory: exactly what the loop did before shards existed. */
export function memoryFeed(data: { train: Frame[][]; valid: Frame[][] }): TrainingFeed {
  const predicted = (seqs: Frame[][]) => seqs.reduce((n, s) => n + Math.max(0, s.length - 1), 0);
  return {
    trainFrames: () => predicted(data.train),
    validFrames: () => predicted(data.valid),
    keyFrequencies: (transpose) => keyFrequencies(data.train, transpose),
    epoch(options, seed, epoch) {
      const plan = trainingPlan(data.train, options, seed, epoch);
      return { count: plan.batches.length, batch: (i) => makeBatch(data.train, plan.batches[i], plan.condition) };
    },
    validate: (model, options) => evaluateSequences(model, data.valid, options),
  };
}

/** A sharded dataset's training and validation splits, streamed. */
export interface ShardedFeed extends TrainingFeed {
  readonly train: ShardedSplit;
  readonly valid: ShardedSplit;
}

export function shardedFeed(dir: string): ShardedFeed {
  const train = openShardedSplit(dir, 'train');
  const valid = openShardedSplit(dir, 'valid');
  return {
    train,
    valid,
    trainFrames: () => train.predictedFrames(),
    validFrames: () => valid.predictedFrames(),
    keyFrequencies(transpose) {
      const { counts, frames } = train.keyCounts();
      return frames > 0 ? shiftedFrequencies(counts, frames, transpose) : null;
    },
    epoch(options, seed, epoch) {
      const plan = shardedTrainingPlan(train, options, seed, epoch);
      return { count: plan.length, batch: (i) => makeBatch(train.sequences(plan[i].shard), plan[i].pieces, options.condition) };
    },
    validate(model, options) {
      // every piece is scored on its own, so the sum over shards is the metric of the whole split
      let nllSum = 0;
      let frames = 0;
      for (let i = 0; i < valid.shardCount; i++) {
        const r = evaluateSequences(model, valid.sequences(i), options);
        nllSum += r.nllSum;
        frames += r.frames;
      }
      const nll = frames > 0 ? nllSum / frames : NaN;
      return { nll, bce: nll / KEY_COUNT, frames, nllSum };
    },
  };
}

/** keyFrequencies from per-key counts: each count spread evenly over the shifts -transpose..transpose. */
function shiftedFrequencies(counts: Float64Array, frames: number, transpose: number): Float64Array {
  const out = new Float64Array(KEY_COUNT);
  const share = 1 / (2 * transpose + 1);
  for (let j = 0; j < KEY_COUNT; j++) {
    for (let shift = -transpose; shift <= transpose; shift++) {
      const k = j + shift;
      if (k >= 0 && k < KEY_COUNT) out[k] += counts[j] * share;
    }
  }
  for (let k = 0; k < KEY_COUNT; k++) out[k] /= frames;
  return out;
}

/** The training data of a run's dataset: streamed when it is a sharded folder, else loaded whole. */
export function openTrainingData(dataset: string): TrainingFeed {
  if (isShardedDataset(dataset)) return shardedFeed(dataset);
  const ds = loadDataset(dataset);
  return memoryFeed({ train: ds.train, valid: ds.valid });
}
