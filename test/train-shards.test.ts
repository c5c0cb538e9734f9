import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBatch, predictedFrameCount, type TrainBatchingOptions } from '../src/data/batching.js';
import { keyFrequencies } from '../src/data/key-frequencies.js';
import { openShardedSplit, readShardedDataset, shardedTrainingPlan, writeShardedDataset, RESIDENT_SHARDS } from '../src/data/shards.js';
import { DEFAULT_TIMING } from '../src/data/pianoroll.js';
import { trainModel } from '../src/index.js';
import { shardedFeed } from '../src/train/feed.js';
import { evaluateSequences } from '../src/train/evaluate.js';
import { train } from '../src/train/loop.js';
import type { Progress } from '../src/train/progress.js';
import { parseMetrics } from '../src/run/metrics.js';
import { syntheticSequences } from './helpers/data.js';
import { TinyModel } from './helpers/tiny-model.js';
import { tempRunDir, tinyRunConfig } from './helpers/run.js';

const tmp = mkdtempSync(join(tmpdir(), 'rwkv-music-train-shards-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

const dataset = {
  name: 'synthetic', timing: DEFAULT_TIMING,
  train: syntheticSequences(60, 1, 5, 70), valid: syntheticSequences(12, 2, 5, 70), test: syntheticSequences(4, 3, 5, 20),
};
const dir = join(tmp, 'shards');
writeShardedDataset(dir, dataset, 400);
const options: TrainBatchingOptions = { batchFrames: 200, maxLength: 30, transpose: 2, randomPhase: true, condition: { start: true, keyShifts: 2 } };

test('an epoch over a sharded split visits each shard once, in a seeded order, from the manifest alone', () => {
  const split = openShardedSplit(dir, 'train');
  assert.ok(split.shardCount >= 4, `${split.shardCount} shards`);
  const plan = shardedTrainingPlan(split, options, 5, 0);
  assert.equal(split.reads, 0, 'planning reads no shard');
  const runs = plan.filter((b, i) => i === 0 || plan[i - 1].shard !== b.shard).map((b) => b.shard);
  assert.deepEqual([...runs].sort((a, b) => a - b), [...Array(split.shardCount).keys()], "a shard's batches come one after another");
  assert.deepEqual(shardedTrainingPlan(split, options, 5, 0), plan);
  assert.notDeepEqual(shardedTrainingPlan(split, options, 5, 1), plan);
  assert.notDeepEqual(shardedTrainingPlan(split, options, 6, 0), plan);

  // every frame is scored once, every piece's first frame is trained from its start step
  let scored = 0;
  let startSteps = 0;
  for (const b of plan) {
    const batch = makeBatch(split.sequences(b.shard), b.pieces, options.condition);
    assert.ok(split.residentShards <= RESIDENT_SHARDS);
    for (let i = 0; i < batch.mask.length; i++) {
      scored += batch.mask[i];
      startSteps += batch.trainMask![i] - batch.mask[i];
    }
  }
  assert.equal(scored, predictedFrameCount(dataset.train));
  assert.equal(startSteps, dataset.train.filter((s) => s.length >= 2).length);
  assert.equal(split.reads, split.shardCount, 'each shard read once');

  // the output bias starts from the manifest's key counts as from the sequences
  const feed = shardedFeed(dir);
  const fromManifest = feed.keyFrequencies(2)!;
  const fromFrames = keyFrequencies(dataset.train, 2)!;
  for (let k = 0; k < 88; k++) assert.ok(Math.abs(fromManifest[k] - fromFrames[k]) <= 1e-12, `key ${k}`);
  assert.equal(feed.train.reads, 0);
});

test('the trainer streams a sharded dataset: at most two shards resident, each read at most once an epoch', async () => {
  const feed = shardedFeed(dir);
  const resident: number[] = [];
  const progress: Progress = { startEpoch() {}, update: () => resident.push(feed.train.residentShards), stopEpoch() {} };
  const runDir = tempRunDir();
  const config = tinyRunConfig({ epochs: 2, initHeadBias: true });
  const result = await train({ runDir, config, resume: false, data: feed, buildModel: (cfg, seed) => new TinyModel(cfg, seed), progress, log: () => {} });
  assert.equal(result.stopped, 'epochs');
  assert.ok(resident.length >= 2 * feed.train.shardCount, `${resident.length} steps`);
  assert.ok(Math.max(...resident) <= RESIDENT_SHARDS, `at most ${Math.max(...resident)} shards resident`);
  assert.ok(feed.train.reads <= 2 * feed.train.shardCount, `${feed.train.reads} reads of ${feed.train.shardCount} shards in 2 epochs`);
  assert.ok(feed.valid.residentShards <= RESIDENT_SHARDS);
  // validation streamed shard by shard scores what the whole split scores
  const whole = readShardedDataset(dir).valid;
  const v = evaluateSequences(result.model, whole, { batchFrames: 200, maxLength: Number.MAX_SAFE_INTEGER });
  assert.equal(result.lastValid!.frames, v.frames);
  assert.ok(Math.abs(result.lastValid!.nll - v.nll) <= 1e-9 * v.nll);
  const epochs = parseMetrics(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')).records.filter((r) => r.type === 'epoch');
  assert.equal(epochs.length, 2);
});

test('a run on shards resumed mid-epoch ends with the weights of an uninterrupted one', async () => {
  const config = tinyRunConfig({ epochs: 2 });
  const run = (runDir: string, resume: boolean, steps?: number) =>
    train({ runDir, config, resume, data: shardedFeed(dir), buildModel: (cfg, seed) => new TinyModel(cfg, seed), log: () => {}, stop: steps ? { steps } : undefined });
  const whole = await run(tempRunDir(), false);
  const partsDir = tempRunDir();
  assert.equal((await run(partsDir, false, 5)).stopped, 'steps');
  const parts = await run(partsDir, true);
  assert.equal(parts.step, whole.step);
  const w = (r: typeof whole) => r.model.parameters().map((p) => Array.from(p.data));
  assert.deepEqual(w(parts), w(whole));
});

test('trainModel trains a conditioned model on a sharded dataset folder', async () => {
  const runDir = join(tmp, 'run-lib');
  const result = await trainModel({
    kind: 'lstm', dataset: dir, runDir, log: () => {},
    settings: { model: { layers: 1, hidden: 8, embed: 8, keyChain: 8 }, training: { epochs: 1, batchFrames: 400, maxLength: 40 } },
  });
  assert.equal(result.stopped, 'epochs');
  assert.deepEqual(result.model.config.condition, { start: true, keyShifts: 3 });
  const whole = readShardedDataset(dir).valid;
  const v = evaluateSequences(result.model, whole, { batchFrames: 400, maxLength: Number.MAX_SAFE_INTEGER });
  assert.ok(Math.abs(result.lastValid!.nll - v.nll) <= 1e-6 * v.nll, `${result.lastValid!.nll} vs ${v.nll}`);
});
