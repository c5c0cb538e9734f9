import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { train, prepareRunFolder, type TrainOptions } from '../src/train/loop.js';
import { readTensorFile } from '../src/train/tensor-io.js';
import { UserError } from '../src/errors.js';
import type { SequenceModel } from '../src/models/model.js';
import type { RunConfig } from '../src/train/config.js';
import { TinyModel } from './helpers/tiny-model.js';
import { syntheticSequences } from './helpers/data.js';
import { tempRunDir, tinyRunConfig } from './helpers/run.js';

const data = { train: syntheticSequences(40, 1, 5, 70), valid: syntheticSequences(10, 2, 5, 70) };
const quiet = () => {};

function options(runDir: string, config: RunConfig, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    runDir,
    config: prepareRunFolder(runDir, config, extra.resume ?? false),
    resume: false,
    data,
    buildModel: (cfg, seed) => new TinyModel(cfg, seed),
    log: quiet,
    ...extra,
  };
}

function weightsOf(model: SequenceModel): Float32Array[] {
  return model.parameters().map((p) => p.data.slice());
}

function cleanup(runDir: string): void {
  rmSync(dirname(runDir), { recursive: true, force: true });
}

test('train k steps, stop, resume to n steps: bitwise the same weights as n steps in one go', async () => {
  const config = tinyRunConfig();
  const full = tempRunDir();
  const split = tempRunDir();
  try {
    const n = 17; // crosses two epoch boundaries (about 7 batches per epoch)
    const a = await train(options(full, config, { stop: { steps: n } }));
    assert.equal(a.stopped, 'steps');
    assert.ok(a.epoch >= 2, `expected to cross epochs, at epoch ${a.epoch}`);
    const first = await train(options(split, config, { stop: { steps: 6 } }));
    assert.equal(first.step, 6);
    const b = await train(options(split, config, { resume: true, stop: { steps: n } }));
    assert.equal(b.step, n);
    const wa = weightsOf(a.model);
    const wb = weightsOf(b.model);
    for (let i = 0; i < wa.length; i++) assert.deepEqual(wb[i], wa[i]);
    // The files agree too, including the optimizer moments and the random state.
    assert.deepEqual(readFileSync(join(split, 'model.safetensors')), readFileSync(join(full, 'model.safetensors')));
    assert.deepEqual(readFileSync(join(split, 'optimizer.safetensors')), readFileSync(join(full, 'optimizer.safetensors')));
    const sa = JSON.parse(readFileSync(join(full, 'state.json'), 'utf8'));
    const sb = JSON.parse(readFileSync(join(split, 'state.json'), 'utf8'));
    for (const k of ['epoch', 'batchInEpoch', 'step', 'rng', 'totalSteps', 'bestValid', 'epochNllSum', 'epochFrames']) {
      assert.deepEqual(sb[k], sa[k], k);
    }
    // Metrics: the resumed run logs the same epochs with the same losses.
    const epochs = (dir: string) =>
      readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((r) => r.type === 'epoch')
        .map((r) => [r.epoch, r.step, r.trainLoss, r.validNll]);
    assert.deepEqual(epochs(split), epochs(full));
  } finally {
    cleanup(full);
    cleanup(split);
  }
});

test('training lowers the validation loss, keeps the best weights and writes the run files', async () => {
  const dir = tempRunDir();
  try {
    const r = await train(options(dir, tinyRunConfig({ epochs: 4 })));
    assert.equal(r.stopped, 'epochs');
    for (const f of ['config.json', 'model.safetensors', 'best.safetensors', 'optimizer.safetensors', 'state.json', 'metrics.jsonl']) {
      assert.ok(existsSync(join(dir, f)), f);
    }
    const recs = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const epochs = recs.filter((x) => x.type === 'epoch');
    assert.equal(epochs.length, 4);
    const initial = new TinyModel(tinyRunConfig().model, 5);
    const { evaluateSequences } = await import('../src/train/evaluate.js');
    const before = evaluateSequences(initial, data.valid, { batchFrames: 200, maxLength: 1e9 }).nll;
    assert.ok(epochs[3].validNll < before * 0.8, `valid ${epochs[3].validNll} vs initial ${before}`);
    assert.equal(r.bestValid, Math.min(...epochs.map((e) => e.validNll)));
    for (const e of epochs) {
      for (const k of ['step', 'epoch', 'lr', 'trainLoss', 'validNll', 'framesPerSec', 'wallSeconds']) assert.equal(typeof e[k], 'number', k);
    }
    assert.ok(recs.some((x) => x.type === 'step'));
    // best.safetensors holds the weights of the best epoch, loadable as a model file.
    const best = readTensorFile(join(dir, 'best.safetensors'));
    assert.equal(best.metadata.format, 'rwkv-music');
    assert.ok(best.tensors.has('head.weight'));
    const leftovers = readFileSync(join(dir, 'state.json'), 'utf8');
    assert.equal(JSON.parse(leftovers).stopped, 'epochs');
  } finally {
    cleanup(dir);
  }
});

test('a damaged or incompatible checkpoint is refused with a message naming the file', async () => {
  const dir = tempRunDir();
  try {
    await train(options(dir, tinyRunConfig(), { stop: { steps: 3 } }));
    const resume = async () => train(options(dir, tinyRunConfig(), { resume: true, stop: { steps: 5 } }));
    const modelPath = join(dir, 'model.safetensors');
    const good = readFileSync(modelPath);
    writeFileSync(modelPath, good.subarray(0, good.length - 10));
    await assert.rejects(resume(), (e: Error) => e instanceof UserError && e.message.includes('model.safetensors'));
    writeFileSync(modelPath, good);

    const statePath = join(dir, 'state.json');
    const state = readFileSync(statePath, 'utf8');
    writeFileSync(statePath, state.slice(0, 40));
    await assert.rejects(resume(), (e: Error) => e instanceof UserError && e.message.includes('state.json'));
    writeFileSync(statePath, state);

    const optPath = join(dir, 'optimizer.safetensors');
    const opt = readFileSync(optPath);
    const flipped = Buffer.from(opt);
    flipped[flipped.length - 1] ^= 0xff;
    writeFileSync(optPath, flipped);
    await assert.rejects(resume(), (e: Error) => e instanceof UserError && e.message.includes('optimizer.safetensors'));
    writeFileSync(optPath, opt);

    const configPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
    writeFileSync(configPath, JSON.stringify({ ...cfg, version: 99 }));
    await assert.rejects(resume(), (e: Error) => e instanceof UserError && e.message.includes('config.json'));
    writeFileSync(configPath, JSON.stringify(cfg));

    // A model of another shape cannot take these weights.
    await assert.rejects(
      train({ ...options(dir, tinyRunConfig(), { resume: true }), buildModel: () => new WideModel() }),
      (e: Error) => e instanceof UserError && e.message.includes('model.safetensors'),
    );
    // Intact again: resumes fine.
    const r = await resume();
    assert.equal(r.step, 5);
  } finally {
    cleanup(dir);
  }
});

/** A stand-in with an extra parameter, to check the incompatible-checkpoint path. */
class WideModel extends TinyModel {
  constructor() {
    super(tinyRunConfig().model, 1);
    this.extra.data.fill(0);
  }
  readonly extra = { name: 'extra', shape: [2], data: new Float32Array(2), grad: new Float32Array(2), decay: false };
  override parameters() {
    return [...super.parameters(), this.extra];
  }
}

/** Wraps the stand-in so chosen steps produce a non-finite loss. */
class FlakyModel extends TinyModel {
  calls = 0;
  constructor(private readonly bad: (call: number) => boolean) {
    super(tinyRunConfig().model, 5);
  }
  override trainStep(...args: Parameters<TinyModel['trainStep']>) {
    const call = this.calls++;
    const r = super.trainStep(...args);
    if (this.bad(call)) {
      this.w.grad[0] = NaN;
      return { nllSum: NaN, frames: r.frames };
    }
    return r;
  }
}

test('non-finite steps are skipped and logged; if they persist, training stops and the checkpoint stays finite', async () => {
  const dir = tempRunDir();
  try {
    const r = await train({
      ...options(dir, tinyRunConfig({ epochs: 1 })),
      buildModel: () => new FlakyModel((c) => c === 2),
    });
    assert.equal(r.stopped, 'epochs');
    const skips = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"skip"'));
    assert.equal(skips.length, 1);
    for (const p of r.model.parameters()) assert.ok(p.data.every(Number.isFinite));

    const dir2 = tempRunDir();
    try {
      await assert.rejects(
        train({ ...options(dir2, tinyRunConfig()), buildModel: () => new FlakyModel((c) => c >= 3) }),
        (e: Error) => e instanceof UserError && /5 steps in a row/.test(e.message),
      );
      const weights = readTensorFile(join(dir2, 'model.safetensors'));
      for (const t of weights.tensors.values()) assert.ok(t.data.every(Number.isFinite));
      const state = JSON.parse(readFileSync(join(dir2, 'state.json'), 'utf8'));
      assert.equal(state.step, 8);
    } finally {
      cleanup(dir2);
    }
  } finally {
    cleanup(dir);
  }
});

test('Ctrl-C finishes the current step and writes a checkpoint that resumes', async () => {
  const dir = tempRunDir();
  try {
    let updates = 0;
    const r = await train({
      ...options(dir, tinyRunConfig()),
      handleSignals: true,
      progress: {
        startEpoch() {},
        stopEpoch() {},
        update() {
          if (++updates === 4) process.emit('SIGINT');
        },
      },
    });
    assert.equal(r.stopped, 'interrupted');
    assert.equal(r.step, 4);
    assert.equal(process.listenerCount('SIGINT'), 0);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    assert.equal(state.step, 4);
    assert.equal(state.stopped, 'interrupted');
    const again = await train(options(dir, tinyRunConfig(), { resume: true, stop: { steps: 6 } }));
    assert.equal(again.step, 6);
  } finally {
    cleanup(dir);
  }
});

test('a time budget stops training, validates and keeps a best checkpoint', async () => {
  const dir = tempRunDir();
  try {
    let clock = 0;
    const r = await train({
      ...options(dir, tinyRunConfig({ epochs: null, minutes: 1 })),
      now: () => (clock += 1000), // every reading of the clock is one second later
    });
    assert.equal(r.stopped, 'time');
    assert.ok(r.step > 0 && r.lastValid !== null);
    assert.ok(existsSync(join(dir, 'best.safetensors')));
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    assert.ok(state.totalSteps > 0, 'cosine horizon estimated from the measured speed');
  } finally {
    cleanup(dir);
  }
});

test('early stopping ends the run after `patience` epochs without improvement', async () => {
  const dir = tempRunDir();
  try {
    const r = await train(options(dir, tinyRunConfig({ epochs: 20, patience: 2, schedule: { kind: 'constant', lr: 0 } })));
    assert.equal(r.stopped, 'early-stopping');
    assert.equal(r.epoch, 3);
  } finally {
    cleanup(dir);
  }
});

test('the output bias can start at the log-odds of each key in the training frames', async () => {
  const { initHeadBiasFromData } = await import('../src/train/loop.js');
  const model = new TinyModel(tinyRunConfig().model, 1);
  const seqs = [[[60, 64], [60], []], [[60], [21]]];
  assert.ok(initHeadBiasFromData(model.parameters(), seqs));
  const logit = (p: number) => Math.log(p / (1 - p));
  assert.ok(Math.abs(model.b.data[60 - 21] - logit(3 / 5)) < 1e-6);
  assert.ok(Math.abs(model.b.data[64 - 21] - logit(1 / 5)) < 1e-6);
  assert.ok(Math.abs(model.b.data[0] - logit(1 / 5)) < 1e-6);
  assert.ok(Math.abs(model.b.data[87] - logit(1e-4)) < 1e-5);
  assert.equal(initHeadBiasFromData([], seqs), false);
  // with transposition by up to 1 semitone: each note counts a third on itself and each neighbour;
  // note 21 shifted down leaves the keyboard
  assert.ok(initHeadBiasFromData(model.parameters(), seqs, 1));
  assert.ok(Math.abs(model.b.data[61 - 21] - logit(3 / 15)) < 1e-6);
  assert.ok(Math.abs(model.b.data[60 - 21] - logit(3 / 15)) < 1e-6);
  assert.ok(Math.abs(model.b.data[65 - 21] - logit(1 / 15)) < 1e-6);
  assert.ok(Math.abs(model.b.data[0] - logit(1 / 15)) < 1e-6);
  assert.ok(Math.abs(model.b.data[1] - logit(1 / 15)) < 1e-6);
  assert.ok(Math.abs(model.b.data[2] - logit(1e-4)) < 1e-5);
});
