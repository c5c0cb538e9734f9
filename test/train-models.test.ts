/** The training loop and the train/eval commands with the real (tiny) RWKV and LSTM models. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createModel } from '../src/models/index.js';
import type { ModelConfig } from '../src/models/model.js';
import { saveDataset } from '../src/data/dataset.js';
import { DEFAULT_TIMING } from '../src/data/pianoroll.js';
import { main } from '../src/cli/main.js';
import { train } from '../src/train/loop.js';
import { listCheckpoints } from '../src/run/checkpoints.js';
import { CHECKPOINT_FILES } from '../src/run/files.js';
import { syntheticSequences } from './helpers/data.js';
import { tempRunDir, tinyRunConfig } from './helpers/run.js';

const data = { train: syntheticSequences(24, 21, 5, 60), valid: syntheticSequences(6, 22, 5, 60) };
const tinyModels: ModelConfig[] = [
  { kind: 'rwkv', nLayer: 2, nEmbd: 8, ffn: 16, dropout: 0.1 },
  { kind: 'rwkv6', nLayer: 2, nEmbd: 8, ffn: 16, headSize: 4, decayLora: 4, dropout: 0.1 },
  { kind: 'lstm', layers: 2, hidden: 8, embed: 8, dropout: 0.1 },
];

for (const modelConfig of tinyModels) {
  test(`${modelConfig.kind}: stop after k steps and resume gives bitwise the weights of an uninterrupted run`, async () => {
    const config = tinyRunConfig({ epochs: 3, batchFrames: 150, schedule: { kind: 'cosine', lr: 3e-3, minLr: 3e-4, warmupSteps: 2, totalSteps: 0 } }, modelConfig);
    const buildModel = (cfg: ModelConfig, seed: number) => createModel(cfg, { seed });
    const common = { config, data, buildModel, log: () => {} };
    const full = tempRunDir();
    const split = tempRunDir();
    try {
      const n = 13;
      const a = await train({ ...common, runDir: full, resume: false, stop: { steps: n } });
      assert.ok(a.epoch >= 1, 'the run crosses an epoch boundary');
      await train({ ...common, runDir: split, resume: false, stop: { steps: 4 } });
      const b = await train({ ...common, runDir: split, resume: true, stop: { steps: n } });
      assert.equal(b.step, n);
      const pa = a.model.parameters();
      const pb = b.model.parameters();
      for (let i = 0; i < pa.length; i++) assert.deepEqual(pb[i].data, pa[i].data, pa[i].name);
      const optimizerOf = (run: string) => readFileSync(join(listCheckpoints(run)[0], CHECKPOINT_FILES.optimizer));
      assert.deepEqual(optimizerOf(split), optimizerOf(full));
    } finally {
      rmSync(dirname(full), { recursive: true, force: true });
      rmSync(dirname(split), { recursive: true, force: true });
    }
  });
}

test('train, resume and eval commands end to end on a small dataset file', async () => {
  const runDir = tempRunDir();
  const root = dirname(runDir);
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  const write = process.stderr.write;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  process.stderr.write = ((chunk: string) => (err.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const datasetPath = join(root, 'tiny.json.gz');
    saveDataset(datasetPath, { name: 'tiny', train: data.train, valid: data.valid, test: syntheticSequences(5, 23, 5, 60), timing: DEFAULT_TIMING });
    const cfgPath = join(root, 'cfg.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(cfgPath, JSON.stringify({ model: { nLayer: 1, nEmbd: 8, ffn: 16 }, training: { batchFrames: 300 } }));
    const code = await main(['train', '--model', 'rwkv', '--dataset', datasetPath, '--config', cfgPath, '--epochs', '1', '--out', runDir, '--seed', '3']);
    assert.equal(code, 0, err.join('\n'));
    assert.ok(out.some((l) => l.includes('stopped (epochs)')));
    assert.equal(await main(['train', '--resume', runDir, '--epochs', '2']), 0, err.join('\n'));
    const metrics = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(metrics.filter((m) => m.type === 'epoch').map((m) => m.epoch), [1, 2]);
    assert.equal(await main(['train', '--resume', runDir, '--lr', '1']), 1);
    assert.ok(err.some((l) => l.includes('--lr')));
    out.length = 0;
    assert.equal(await main(['eval', '--checkpoint', runDir, '--split', 'test', '--json']), 0, err.join('\n'));
    const r = JSON.parse(out[0]);
    const testFrames = syntheticSequences(5, 23, 5, 60).reduce((n, s) => n + s.length - 1, 0);
    assert.equal(r.frames, testFrames);
    assert.ok(r.nll > 0 && Math.abs(r.bce * 88 - r.nll) < 1e-9);
    assert.equal(await main(['eval', '--checkpoint', join(runDir, 'config.json'), '--dataset', datasetPath]), 1);
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
    rmSync(root, { recursive: true, force: true });
  }
});
