import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, isAbsolute } from 'node:path';
import { buildRunConfig, readConfigFile } from '../src/train/setup.js';
import { UserError } from '../src/errors.js';
import { KEY_CHAIN_HIDDEN, RWKV_INPUT_LAGS } from '../src/train/defaults.js';

test('defaults, then the config file, then flags', () => {
  const d = buildRunConfig('rwkv', 'nottingham', 3, null, {}, '0.1.0');
  assert.deepEqual(d.model, { kind: 'rwkv', nLayer: 2, nEmbd: 256, ffn: 512, dropout: 0.3, keyChain: KEY_CHAIN_HIDDEN, inputLags: RWKV_INPUT_LAGS, condition: { start: true, keyShifts: 3 } });
  assert.equal(d.training.schedule.kind, 'cosine');
  assert.equal(d.training.transpose, 3);
  // the input lags are a Nottingham default only
  const jsb = buildRunConfig('rwkv', 'jsb-chorales', 3, null, {}, '0.1.0');
  assert.deepEqual(jsb.model, { kind: 'rwkv', nLayer: 2, nEmbd: 256, ffn: 512, dropout: 0.3, keyChain: KEY_CHAIN_HIDDEN, condition: { start: true, keyShifts: 3 } });
  assert.equal(d.dataset, 'nottingham');
  assert.equal(d.seed, 3);
  const c = buildRunConfig(
    'lstm',
    'nottingham',
    1,
    { model: { hidden: 128 }, training: { batchFrames: 2048, optimizer: { weightDecay: 0 } as never } },
    { lr: 2e-3, minutes: 5 },
    '0.1.0',
  );
  assert.equal(c.model.kind === 'lstm' && c.model.hidden, 128);
  assert.equal(c.model.keyChain, KEY_CHAIN_HIDDEN);
  assert.equal(c.training.transpose, 3);
  assert.equal(c.training.batchFrames, 2048);
  assert.equal(c.training.optimizer.weightDecay, 0);
  assert.equal(c.training.optimizer.beta2, 0.99);
  assert.deepEqual(c.training.schedule.kind === 'cosine' && [c.training.schedule.lr, c.training.schedule.minLr], [2e-3, 2e-4]);
  assert.equal(c.training.minutes, 5);
  assert.equal(c.training.epochs, null, 'a time budget alone decides the length');
  const tri = buildRunConfig('rwkv', 'some/data.json.gz', 1, null, { schedule: 'triangular', lr: 1e-2 }, 'x');
  assert.deepEqual(tri.training.schedule, { kind: 'triangular', lo: 1e-3, hi: 1e-2 });
  assert.ok(isAbsolute(tri.dataset));
});

test('bad settings and config files are refused with one-line messages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rwkv-music-setup-'));
  try {
    const path = join(dir, 'cfg.json');
    writeFileSync(path, JSON.stringify({ training: { batchFrame: 10 } }));
    assert.throws(() => readConfigFile(path), (e: Error) => e instanceof UserError && e.message.includes('batchFrame'));
    writeFileSync(path, '{ not json');
    assert.throws(() => readConfigFile(path), (e: Error) => e instanceof UserError && e.message.includes(path));
    assert.throws(
      () => buildRunConfig('rwkv', 'nottingham', 1, { model: { nLayer: 0 } }, {}, 'x'),
      (e: Error) => e instanceof UserError && e.message.includes('nLayer'),
    );
    for (const inputLags of [[0], [2, 2], [4, 1], [1.5], 'x', [2000]] as unknown as number[][]) {
      assert.throws(
        () => buildRunConfig('rwkv', 'nottingham', 1, { model: { inputLags } }, {}, 'x'),
        (e: Error) => e instanceof UserError && e.message.includes('inputLags'),
      );
    }
    assert.throws(
      () => buildRunConfig('rwkv', 'nottingham', 1, { training: { clip: -1 } }, {}, 'x'),
      (e: Error) => e instanceof UserError && e.message.includes('clip'),
    );
    assert.throws(
      () => buildRunConfig('rwkv', 'nottingham', 1, { model: { kind: 'lstm' } }, {}, 'x'),
      (e: Error) => e instanceof UserError,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('configs/ holds exactly the settings of the bundled models', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const configs = fileURLToPath(new URL('../../configs/', import.meta.url));
  const models = fileURLToPath(new URL('../../models/', import.meta.url));
  const files = readdirSync(configs).filter((f) => f.endsWith('.json')).sort();
  const bundled = readdirSync(models).filter((m) => existsSync(join(models, m, 'config.json'))).sort();
  assert.deepEqual(files, bundled.map((m) => `${m}.json`).sort());
  for (const name of bundled) {
    const run = JSON.parse(readFileSync(join(models, name, 'config.json'), 'utf8'));
    const file = readConfigFile(join(configs, `${name}.json`));
    assert.deepEqual(buildRunConfig(run.model.kind, run.dataset, run.seed, file, {}, run.package), run, name);
  }
});

test("a run's config.json can be reused as a --config file", () => {
  const dir = mkdtempSync(join(tmpdir(), 'rwkv-music-setup-'));
  try {
    const run = buildRunConfig('lstm', 'nottingham', 4, { model: { hidden: 64 } }, { lr: 3e-3, epochs: 7 }, 'x');
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify(run));
    const again = buildRunConfig('lstm', 'nottingham', 4, readConfigFile(path), {}, 'x');
    assert.deepEqual(again, run);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
