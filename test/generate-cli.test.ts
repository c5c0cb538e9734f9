import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './helpers/cli.js';
import { createModel } from '../src/models/index.js';
import { saveModelFile } from '../src/models/io.js';

test('generate writes every requested file, the same seed gives the same files, metrics read them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gen-cli-'));
  try {
    const file = join(dir, 'tiny.safetensors');
    saveModelFile(file, createModel({ kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 16, dropout: 0 }, { seed: 1, rwkvInit: 'pytorch' }));
    const args = ['generate', '--checkpoint', file, '--length', '24', '--count', '2', '--seed', '5', '--primer-dataset', 'nottingham:test:3', '--primer-frames', '8', '--format', 'mid,json,svg'];
    const a = await run([...args, '--out', join(dir, 'a')]);
    assert.equal(a.code, 0, a.err);
    const files = readdirSync(join(dir, 'a')).sort();
    assert.deepEqual(files, ['tiny-seed5-01.json', 'tiny-seed5-01.mid', 'tiny-seed5-01.svg', 'tiny-seed5-02.json', 'tiny-seed5-02.mid', 'tiny-seed5-02.svg']);
    for (const f of files) assert.ok(a.out.includes(join(dir, 'a', f)), `printed ${f}`);
    const b = await run([...args, '--out', join(dir, 'b'), '--count', '1']);
    assert.equal(b.code, 0, b.err);
    // Sample 1 is the same whether it ran in a batch of 2 or alone.
    assert.deepEqual(readFileSync(join(dir, 'b', 'tiny-seed5-01.mid')), readFileSync(join(dir, 'a', 'tiny-seed5-01.mid')));
    const sample = JSON.parse(readFileSync(join(dir, 'a', 'tiny-seed5-01.json'), 'utf8'));
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'b', 'tiny-seed5-01.json'), 'utf8')).frames, sample.frames);
    assert.notDeepEqual(JSON.parse(readFileSync(join(dir, 'a', 'tiny-seed5-02.json'), 'utf8')).frames, sample.frames);
    assert.equal(sample.primerLength, 8);
    assert.equal(sample.frames.length, 32);
    assert.equal(sample.settings.seed, 5);
    const bad = await run(['generate', '--checkpoint', file, '--primer', join(dir, 'missing.mid'), '--out', join(dir, 'c')]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /missing\.mid/);
    assert.equal(bad.err.trim().split('\n').length, 1);
    const badPrimer = await run(['generate', '--checkpoint', file, '--primer-dataset', 'nottingham:test:99999']);
    assert.match(badPrimer.err, /has \d+ pieces/);
    const m = await run(['metrics', join(dir, 'a'), '--against', 'nottingham:test', '--json']);
    assert.equal(m.code, 0, m.err);
    const metrics = JSON.parse(m.out);
    assert.equal(metrics.metrics.pieces, 2);
    assert.equal(metrics.metrics.frames, 48); // primers left out
    assert.ok(metrics.summary >= 0 && metrics.summary <= 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad generate arguments get one clear line and exit code 1', async () => {
  const cases: [string[], RegExp][] = [
    [['--checkpoint', 'no-such-model'], /unknown model "no-such-model"/],
    [['--checkpoint', 'x', '--length', '-5'], /--length must be a whole number/],
    [['--checkpoint', 'x', '--temperature', '0'], /--temperature must be a number > 0/],
    [['--checkpoint', 'x', '--temperature', 'hot'], /--temperature must be a number > 0/],
    [['--checkpoint', 'x', '--count', '0'], /--count must be a whole number/],
    [['--checkpoint', 'x', '--format', 'mp3'], /unknown output format "mp3"/],
    [['--checkpoint', 'x', '--max-polyphony', '0'], /--max-polyphony must be a whole number/],
  ];
  for (const [args, pattern] of cases) {
    const r = await run(['generate', ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.err, pattern);
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  }
});
