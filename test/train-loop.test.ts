import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { train, type TrainOptions } from '../src/train/loop.js';
import { decodeSafetensors } from '../src/engine/safetensors.js';
import { UserError } from '../src/errors.js';
import { keyFrequencies } from '../src/data/key-frequencies.js';
import { initOutputBias } from '../src/models/output-bias.js';
import { listCheckpoints } from '../src/run/checkpoints.js';
import { writeRunConfig } from '../src/run/config.js';
import { parseMetrics } from '../src/run/metrics.js';
import type { SequenceModel } from '../src/models/model.js';
import type { RunConfig } from '../src/train/config.js';
import { TinyModel } from './helpers/tiny-model.js';
import { syntheticSequences } from './helpers/data.js';
import { latestCheckpoint, latestState, tempRunDir, tinyRunConfig } from './helpers/run.js';

const data = { train: syntheticSequences(40, 1, 5, 70), valid: syntheticSequences(10, 2, 5, 70) };
const quiet = () => {};

function options(runDir: string, config: RunConfig, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    runDir,
    config,
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

function readTensorFile(path: string) {
  const c = decodeSafetensors(readFileSync(path), path);
  return { tensors: new Map(c.tensors.map((t) => [t.name, t])), metadata: c.metadata };
}

function metricsOf(dir: string) {
  return parseMetrics(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).records;
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
    for (const f of ['model.safetensors', 'optimizer.safetensors']) {
      assert.deepEqual(readFileSync(join(latestCheckpoint(split), f)), readFileSync(join(latestCheckpoint(full), f)), f);
    }
    assert.deepEqual(readFileSync(join(split, 'best.safetensors')), readFileSync(join(full, 'best.safetensors')));
    const sa = latestState(full);
    const sb = latestState(split);
    for (const k of ['epoch', 'batchInEpoch', 'step', 'rng', 'totalSteps', 'bestValid', 'epochNllSum', 'epochFrames']) {
      assert.deepEqual(sb[k], sa[k], k);
    }
    // Metrics: the resumed run logs the same epochs with the same losses.
    const epochs = (dir: string) =>
      metricsOf(dir)
        .filter((r) => r.type === 'epoch')
        .map((r) => (r.type === 'epoch' ? [r.epoch, r.step, r.trainLoss, r.validNll] : []));
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
    for (const f of ['config.json', 'best.safetensors', 'metrics.jsonl']) assert.ok(existsSync(join(dir, f)), f);
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'state.json']) assert.ok(existsSync(join(latestCheckpoint(dir), f)), f);
    // The newest checkpoint and the one before it are kept; nothing temporary is left.
    assert.equal(listCheckpoints(dir).length, 2);
    assert.deepEqual(readdirSync(join(dir, 'checkpoints')).filter((n) => n.endsWith('.tmp')), []);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], { format: 'rwkv-music-metrics', version: 2 });
    const recs: any[] = lines.slice(1);
    const epochs = recs.filter((x) => x.type === 'epoch');
    assert.equal(epochs.length, 4);
    assert.deepEqual(epochs.map((e) => e.epoch), [1, 2, 3, 4], 'epochs are counted from 1');
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
    assert.equal(latestState(dir).stopped, 'epochs');
    // best.safetensors holds the weights of the checkpoint written after the best validation.
    const bestEpoch = epochs.findIndex((e) => e.best && e.validNll === r.bestValid);
    assert.ok(bestEpoch >= 0);
  } finally {
    cleanup(dir);
  }
});

test('a damaged checkpoint is skipped for the one before it; with none whole, resume is refused naming the file', async () => {
  const dir = tempRunDir();
  try {
    const config = tinyRunConfig({ checkpointMinutes: 1e-9 }); // a checkpoint after every step
    await train(options(dir, config, { stop: { steps: 3 } }));
    const warnings: string[] = [];
    const resume = async (steps: number) => train(options(dir, config, { resume: true, stop: { steps }, log: (l) => warnings.push(l) }));
    const damage = (path: string, how: (b: Buffer) => Buffer) => {
      const good = readFileSync(path);
      writeFileSync(path, how(good));
      return () => writeFileSync(path, good);
    };
    const truncate = (b: Buffer) => b.subarray(0, b.length - 10);
    const flip = (b: Buffer) => {
      const c = Buffer.from(b);
      c[c.length - 1] ^= 0xff;
      return c;
    };
    for (const [file, how] of [['model.safetensors', truncate], ['optimizer.safetensors', flip], ['state.json', truncate]] as const) {
      const [newest, previous] = listCheckpoints(dir);
      damage(join(newest, file), how);
      const restorePrevious = damage(join(previous, file), how);
      await assert.rejects(resume(5), (e: Error) => e instanceof UserError && e.message.includes(join(newest, file)), file);
      restorePrevious();
      warnings.length = 0;
      const r = await resume(3);
      assert.equal(r.step, 3, `${file}: resumed from the previous checkpoint and trained one step again`);
      assert.ok(warnings.some((w) => w.includes(join(newest, file)) && w.includes('previous checkpoint')), warnings.join('\n'));
      assert.ok(!existsSync(newest), 'the damaged checkpoint is replaced by newer ones');
    }

    const configPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
    writeFileSync(configPath, JSON.stringify({ ...cfg, version: 99 }));
    const { readRunConfig } = await import('../src/run/config.js');
    assert.throws(() => readRunConfig(dir), (e: Error) => e instanceof UserError && e.message.includes('config.json'));
    writeFileSync(configPath, JSON.stringify(cfg));

    // A model of another shape cannot take these weights.
    await assert.rejects(
      train({ ...options(dir, config, { resume: true }), buildModel: () => new WideModel() }),
      (e: Error) => e instanceof UserError && e.message.includes('model.safetensors'),
    );
    const r = await resume(5);
    assert.equal(r.step, 5);
  } finally {
    cleanup(dir);
  }
});

test('every field of state.json is checked: a bad one is refused with one line naming the file', async () => {
  const dir = tempRunDir();
  try {
    const config = tinyRunConfig();
    await train(options(dir, config, { stop: { steps: 2 } }));
    const statePath = join(latestCheckpoint(dir), 'state.json');
    const good = readFileSync(statePath, 'utf8');
    const state = JSON.parse(good);
    for (const [field, value] of [
      ['bestValid', 'abc'],
      ['elapsedMs', 'x'],
      ['epochNllSum', -1],
      ['rng', [1, 2, 3]],
      ['stopped', 7],
      ['bestStep', 99],
      ['batchInEpoch', 999999],
    ] as const) {
      writeFileSync(statePath, JSON.stringify({ ...state, [field]: value, ...(field === 'bestValid' || field === 'bestStep' ? { bestEpoch: 0, bestStep: field === 'bestStep' ? 99 : 0 } : {}) }));
      await assert.rejects(
        train(options(dir, config, { resume: true, stop: { steps: 4 } })),
        (e: Error) => e instanceof UserError && e.message.includes(statePath) && e.message.includes(field),
        field,
      );
    }
    writeFileSync(statePath, good);
    // metrics.jsonl that is a folder: refused up front, not an EISDIR stack later.
    rmSync(join(dir, 'metrics.jsonl'));
    mkdirSync(join(dir, 'metrics.jsonl'));
    await assert.rejects(train(options(dir, config, { resume: true, stop: { steps: 4 } })), (e: Error) => e instanceof UserError && /metrics\.jsonl: not a regular file/.test(e.message));
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
      const weights = readTensorFile(join(latestCheckpoint(dir2), 'model.safetensors'));
      for (const t of weights.tensors.values()) assert.ok(t.data.every(Number.isFinite));
      const state = latestState(dir2);
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
    const state = latestState(dir);
    assert.equal(state.step, 4);
    assert.equal(state.stopped, 'interrupted');
    const again = await train(options(dir, tinyRunConfig(), { resume: true, stop: { steps: 6 } }));
    assert.equal(again.step, 6);
  } finally {
    cleanup(dir);
  }
});

test('SIGTERM checkpoints like Ctrl-C', async () => {
  const dir = tempRunDir();
  try {
    let updates = 0;
    const r = await train({
      ...options(dir, tinyRunConfig()),
      handleSignals: true,
      progress: { startEpoch() {}, stopEpoch() {}, update() { if (++updates === 3) process.emit('SIGTERM'); } },
    });
    assert.equal(r.stopped, 'interrupted');
    assert.equal(process.listenerCount('SIGTERM'), 0);
    assert.equal(latestState(dir).step, 3);
    assert.equal(latestState(dir).stopped, 'interrupted');
  } finally {
    cleanup(dir);
  }
});

test('a run that stopped before its first checkpoint resumes from the beginning, as if never started', async () => {
  const config = tinyRunConfig();
  const full = tempRunDir();
  const killed = tempRunDir();
  const fresh = tempRunDir();
  try {
    const a = await train(options(full, config, { stop: { steps: 9 } }));
    // What a kill before the first checkpoint leaves: config.json, maybe a log line and temporary files.
    mkdirSync(join(killed, 'checkpoints'), { recursive: true });
    writeRunConfig(killed, config);
    writeFileSync(join(killed, 'metrics.jsonl'), '{"format":"rwkv-music-metrics","version":2}\n{"type":"skip","step":3,"epoch":1,"reason":"x","lr":1}\n');
    writeFileSync(join(killed, 'best.safetensors.123.456.tmp'), 'partial');
    mkdirSync(join(killed, 'checkpoints', '.000001-step-4.123.tmp'));
    const b = await train(options(killed, config, { resume: true, stop: { steps: 9 } }));
    assert.equal(b.step, 9);
    weightsOf(a.model).forEach((w, i) => assert.deepEqual(weightsOf(b.model)[i], w));
    const timeless = (dir: string) => metricsOf(dir).map(({ wallSeconds: _w, framesPerSec: _f, ...rest }: any) => rest);
    assert.deepEqual(timeless(killed), timeless(full));
    assert.ok(!existsSync(join(killed, 'best.safetensors.123.456.tmp')));
    assert.deepEqual(readdirSync(join(killed, 'checkpoints')).filter((n) => n.endsWith('.tmp')), []);
    // A new run may also take over a folder with no checkpoint: nothing would be lost.
    writeRunConfig(fresh, config);
    assert.equal((await train(options(fresh, config, { stop: { steps: 1 } }))).step, 1);
    // A folder with a checkpoint is never taken over by a new run.
    await assert.rejects(train(options(killed, config, { stop: { steps: 1 } })), /already holds a run/);
  } finally {
    cleanup(full);
    cleanup(killed);
    cleanup(fresh);
  }
});

test('a NaN validation is not a best: the run stops with a clear error and keeps no NaN score', async () => {
  const dir = tempRunDir();
  try {
    class NanModel extends TinyModel {
      override evaluate(...args: Parameters<TinyModel['evaluate']>) {
        const r = super.evaluate(...args);
        return { nllSum: NaN, frames: r.frames };
      }
    }
    await assert.rejects(
      train({ ...options(dir, tinyRunConfig({ epochs: 2 })), buildModel: (cfg, seed) => new NanModel(cfg, seed) }),
      (e: Error) => e instanceof UserError && /validation NLL at epoch 1, step \d+ is NaN/.test(e.message) && /lower learning rate/.test(e.message),
    );
    assert.ok(!existsSync(join(dir, 'best.safetensors')));
    const recs = metricsOf(dir);
    assert.equal(recs.filter((r) => r.type === 'epoch').length, 0);
    assert.deepEqual(recs.filter((r) => r.type === 'stop').map((r) => (r as any).reason), ['non-finite validation']);
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
    const state = latestState(dir);
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
  const model = new TinyModel(tinyRunConfig().model, 1);
  const initHeadBiasFromData = (m: SequenceModel, seqs: number[][][], transpose = 0) => {
    const f = keyFrequencies(seqs, transpose);
    return f !== null && initOutputBias(m, f);
  };
  const seqs = [[[60, 64], [60], []], [[60], [21]]];
  assert.ok(initHeadBiasFromData(model, seqs));
  const logit = (p: number) => Math.log(p / (1 - p));
  assert.ok(Math.abs(model.b.data[60 - 21] - logit(3 / 5)) < 1e-6);
  assert.ok(Math.abs(model.b.data[64 - 21] - logit(1 / 5)) < 1e-6);
  assert.ok(Math.abs(model.b.data[0] - logit(1 / 5)) < 1e-6);
  assert.ok(Math.abs(model.b.data[87] - logit(1e-4)) < 1e-5);
  assert.equal(initHeadBiasFromData(model, []), false);
  assert.equal(initOutputBias({ ...model, parameters: () => [], outputBias: undefined } as unknown as SequenceModel, new Float64Array(88)), false);
  // with transposition by up to 1 semitone: each note counts a third on itself and each neighbour;
  // note 21 shifted down leaves the keyboard
  assert.ok(initHeadBiasFromData(model, seqs, 1));
  assert.ok(Math.abs(model.b.data[61 - 21] - logit(3 / 15)) < 1e-6);
  assert.ok(Math.abs(model.b.data[60 - 21] - logit(3 / 15)) < 1e-6);
  assert.ok(Math.abs(model.b.data[65 - 21] - logit(1 / 15)) < 1e-6);
  assert.ok(Math.abs(model.b.data[0] - logit(1 / 15)) < 1e-6);
  assert.ok(Math.abs(model.b.data[1] - logit(1 / 15)) < 1e-6);
  assert.ok(Math.abs(model.b.data[2] - logit(1e-4)) < 1e-5);
});

test('publishing the same best weights twice leaves no temporary link behind (rename of two links to one file does nothing)', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, readdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { publishBest } = await import('../src/run/checkpoints.js');
  const run = mkdtempSync(join(tmpdir(), 'rwkv-music-best-'));
  try {
    const ckpt = join(run, 'checkpoints', '000001-step-3');
    mkdirSync(ckpt, { recursive: true });
    writeFileSync(join(ckpt, 'model.safetensors'), 'weights');
    publishBest(run, ckpt);
    publishBest(run, ckpt);
    assert.deepEqual(readdirSync(run).filter((n) => n.endsWith('.tmp')), []);
    assert.equal(readFileSync(join(run, 'best.safetensors'), 'utf8'), 'weights');
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});
