import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/engine/random.js';
import { parseMetrics } from '../src/run/metrics.js';
import { train } from '../src/train/loop.js';
import { crashTestConfig, crashTestData } from './helpers/crash-run.js';
import { latestCheckpoint, tempRunDir } from './helpers/run.js';
import { TinyModel } from './helpers/tiny-model.js';

const CHILD = fileURLToPath(new URL('./helpers/train-child.js', import.meta.url));
const STEPS = 14;

/** Runs the training child; kills it at its `killAtRename`-th rename, or with kill -9 after `killAfterMs`. */
function runChild(runDir: string, o: { killAtRename?: number; killAfterMs?: number }): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, RWKV_MUSIC_KILL_AT_RENAME: String(o.killAtRename ?? 0) };
    const child = spawn(process.execPath, [CHILD, runDir, String(STEPS)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = o.killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), o.killAfterMs) : null;
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

/** What a finished run is judged by: its final weights, optimizer, best weights and logged scores. */
function outcome(runDir: string) {
  const ckpt = latestCheckpoint(runDir);
  const records = parseMetrics(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')).records;
  return {
    model: readFileSync(join(ckpt, 'model.safetensors')),
    optimizer: readFileSync(join(ckpt, 'optimizer.safetensors')),
    best: readFileSync(join(runDir, 'best.safetensors')),
    // Time-dependent fields differ between runs; everything else must not.
    records: records.map(({ wallSeconds: _w, framesPerSec: _f, ...rest }: any) => rest),
  };
}

test('training killed at random points, inside checkpoint writes too, always resumes to the weights of an uninterrupted run', async () => {
  const reference = tempRunDir();
  const crashed = tempRunDir();
  try {
    await train({ runDir: reference, config: crashTestConfig(), resume: false, data: crashTestData(), buildModel: (c, s) => new TinyModel(c, s), stop: { steps: STEPS }, log: () => {} });
    const expected = outcome(reference);

    const rng = new Rng(2024);
    const kills: string[] = [];
    for (let attempt = 0; ; attempt++) {
      assert.ok(attempt < 60, `the run did not finish after ${attempt} attempts (kills: ${kills.join(', ')})`);
      // Mostly a kill at one of the next few renames (a run makes about two per step: each crash window
      // of a checkpoint, the log and best.safetensors); sometimes a kill -9 at a random time.
      const byRename = rng.next() < 0.75;
      const o = byRename ? { killAtRename: 1 + rng.int(6) } : { killAfterMs: 50 + rng.int(400) };
      const r = await runChild(crashed, kills.length < 10 ? o : {});
      if (r.code === 0) break;
      assert.equal(r.signal, 'SIGKILL', `the child failed instead of being killed: ${r.stderr}`);
      kills.push(byRename ? `rename ${o.killAtRename}` : `${o.killAfterMs} ms`);
    }
    assert.ok(kills.length >= 6, `only ${kills.length} kills happened`);
    const got = outcome(crashed);
    assert.deepEqual(got.records, expected.records);
    assert.ok(got.model.equals(expected.model), 'final weights');
    assert.ok(got.optimizer.equals(expected.optimizer), 'optimizer moments');
    assert.ok(got.best.equals(expected.best), 'best weights');
    for (const dir of [crashed, join(crashed, 'checkpoints')]) {
      assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], `temporary files left in ${dir}`);
    }
  } finally {
    rmSync(dirname(reference), { recursive: true, force: true });
    rmSync(dirname(crashed), { recursive: true, force: true });
  }
});
