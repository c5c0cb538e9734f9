import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveCheckpoint, bundledModelNames } from '../src/generate/resolve-checkpoint.js';
import { UserError } from '../src/errors.js';

test('checkpoints resolve from a bundled name, a run folder or a file; anything else is a clear error', () => {
  const root = mkdtempSync(join(tmpdir(), 'resolve-'));
  try {
    const bundled = join(root, 'models');
    mkdirSync(join(bundled, 'rwkv'), { recursive: true });
    writeFileSync(join(bundled, 'rwkv', 'best.safetensors'), 'x');
    mkdirSync(join(bundled, 'empty'));
    const run = join(root, 'runs', 'r1');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'best.safetensors'), 'x');
    writeFileSync(join(root, 'm.safetensors'), 'x');
    mkdirSync(join(root, 'norun'));
    writeFileSync(join(root, 'norun', 'last.safetensors'), 'x');
    writeFileSync(join(root, 'notes.txt'), 'x');

    assert.deepEqual(bundledModelNames(bundled), ['rwkv']);
    assert.deepEqual(resolveCheckpoint('rwkv', bundled), { file: join(bundled, 'rwkv', 'best.safetensors'), name: 'rwkv', source: 'bundled' });
    assert.deepEqual(resolveCheckpoint(run, bundled), { file: join(run, 'best.safetensors'), name: 'r1', source: 'run' });
    assert.deepEqual(resolveCheckpoint(join(root, 'm.safetensors'), bundled), { file: join(root, 'm.safetensors'), name: 'm', source: 'file' });
    assert.throws(() => resolveCheckpoint('gru', bundled), (e: Error) => e instanceof UserError && /unknown model "gru".*bundled models: rwkv/.test(e.message));
    assert.throws(() => resolveCheckpoint('empty', bundled), UserError);
    assert.throws(() => resolveCheckpoint(join(root, 'norun'), bundled), /no best.safetensors \(it has last.safetensors/);
    assert.throws(() => resolveCheckpoint(join(root, 'notes.txt'), bundled), UserError);
    assert.throws(() => resolveCheckpoint('', bundled), UserError);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
