import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledModelNames, resolveModel } from '../src/run/resolve.js';
import { UserError } from '../src/errors.js';

test('model names resolve from a bundled name, a run folder or a file; anything else is a clear error', () => {
  const root = mkdtempSync(join(tmpdir(), 'resolve-'));
  try {
    const bundled = join(root, 'models');
    mkdirSync(join(bundled, 'rwkv'), { recursive: true });
    writeFileSync(join(bundled, 'rwkv', 'best.safetensors'), 'x');
    mkdirSync(join(bundled, 'empty'));
    const run = join(root, 'runs', 'r1');
    mkdirSync(join(run, 'checkpoints', '000002-step-20'), { recursive: true });
    mkdirSync(join(run, 'checkpoints', '000001-step-10'), { recursive: true });
    mkdirSync(join(run, 'checkpoints', '.000003-step-30.99.tmp'), { recursive: true });
    writeFileSync(join(run, 'best.safetensors'), 'x');
    const early = join(root, 'runs', 'early');
    mkdirSync(join(early, 'checkpoints', '000001-step-5'), { recursive: true });
    writeFileSync(join(root, 'm.safetensors'), 'x');
    mkdirSync(join(root, 'norun'));
    writeFileSync(join(root, 'norun', 'last.safetensors'), 'x');
    writeFileSync(join(root, 'notes.txt'), 'x');
    const opts = { bundledDir: bundled };

    assert.deepEqual(bundledModelNames(bundled), ['rwkv']);
    assert.deepEqual(resolveModel('rwkv', opts), { file: join(bundled, 'rwkv', 'best.safetensors'), name: 'rwkv', source: 'bundled', runDir: join(bundled, 'rwkv') });
    assert.deepEqual(resolveModel(run, opts), { file: join(run, 'best.safetensors'), name: 'r1', source: 'run', runDir: run });
    // The latest weights are the newest complete checkpoint's (a temporary folder is not one).
    assert.equal(resolveModel(run, { ...opts, weights: 'latest' }).file, join(run, 'checkpoints', '000002-step-20', 'model.safetensors'));
    assert.throws(() => resolveModel(early, opts), /no best.safetensors yet .*--weights latest/);
    assert.deepEqual(resolveModel(join(root, 'm.safetensors'), opts), { file: join(root, 'm.safetensors'), name: 'm', source: 'file', runDir: null });
    assert.throws(() => resolveModel('gru', opts), (e: Error) => e instanceof UserError && /unknown model "gru".*bundled models: rwkv/.test(e.message));
    assert.throws(() => resolveModel('rwkv', { ...opts, weights: 'latest' }), /only its best weights/);
    assert.throws(() => resolveModel('empty', opts), UserError);
    assert.throws(() => resolveModel(join(root, 'norun'), opts), /no best.safetensors \(it has last.safetensors/);
    assert.throws(() => resolveModel(join(root, 'notes.txt'), opts), UserError);
    assert.throws(() => resolveModel('', opts), UserError);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
