/**
 * What train() hands to the optimizer at every step: the clipped gradients and the scheduled learning
 * rate. Both are observed through the AdamW kernel (the Kernels interface train() receives), so the
 * checks hold however the loop is organised inside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tsKernels, type Kernels } from '../src/engine/kernels.js';
import { train } from '../src/train/loop.js';
import type { RunConfig } from '../src/train/config.js';
import { learningRate, type Schedule } from '../src/train/schedule.js';
import { TinyModel } from './helpers/tiny-model.js';
import { syntheticSequences } from './helpers/data.js';
import { tempRunDir, tinyRunConfig } from './helpers/run.js';

const data = { train: syntheticSequences(40, 1, 5, 70), valid: syntheticSequences(10, 2, 5, 70) };

interface Update {
  /** Global norm of the gradients the update used. */
  gradNorm: number;
  /** The learning rate, recovered from the kernel's step size lr / (1 - beta1^t). */
  lr: number;
}

/** Trains `steps` steps with the TypeScript kernels, recording every AdamW update. */
async function recordUpdates(config: RunConfig, steps: number): Promise<{ updates: Update[]; runDir: string }> {
  const runDir = tempRunDir();
  const calls: { sumSq: number; stepSize: number }[] = [];
  const spy: Kernels = {
    ...tsKernels,
    name: 'ts (recording)',
    adamwUpdate: (w, g, m, v, shrink, s) => {
      let sumSq = 0;
      for (let i = 0; i < g.length; i++) sumSq += g[i] * g[i];
      calls.push({ sumSq, stepSize: s.stepSize });
      tsKernels.adamwUpdate(w, g, m, v, shrink, s);
    },
  };
  let paramCount = 0;
  await train({
    runDir,
    config,
    resume: false,
    data,
    kernels: spy,
    buildModel: (cfg, seed) => {
      const model = new TinyModel(cfg, seed);
      paramCount = model.parameters().length;
      return model;
    },
    stop: { steps },
    log: () => {},
  });
  assert.equal(calls.length, steps * paramCount, 'one kernel call per parameter and step');
  const beta1 = config.training.optimizer.beta1;
  const updates: Update[] = [];
  for (let t = 0; t < steps; t++) {
    const group = calls.slice(t * paramCount, (t + 1) * paramCount);
    updates.push({
      gradNorm: Math.sqrt(group.reduce((s, c) => s + c.sumSq, 0)),
      lr: group[0].stepSize * (1 - Math.pow(beta1, t + 1)),
    });
  }
  return { updates, runDir };
}

function cleanup(runDir: string): void {
  rmSync(dirname(runDir), { recursive: true, force: true });
}

test('train() clips the global gradient norm before every update', async () => {
  const clip = 1e-3;
  const clipped = await recordUpdates(tinyRunConfig({ clip }), 10);
  const free = await recordUpdates(tinyRunConfig({ clip: 0 }), 10);
  try {
    // Unclipped, every step's gradient is far above the threshold, so the threshold has work to do...
    for (const [i, u] of free.updates.entries()) assert.ok(u.gradNorm > 10 * clip, `step ${i}: unclipped norm ${u.gradNorm}`);
    // ...and with it, every update sees a gradient of norm `clip` (scaled by clip / (norm + 1e-6)).
    for (const [i, u] of clipped.updates.entries()) {
      assert.ok(Math.abs(u.gradNorm - clip) < 1e-4 * clip, `step ${i}: the update used a gradient of norm ${u.gradNorm}, clip ${clip}`);
    }
  } finally {
    cleanup(clipped.runDir);
    cleanup(free.runDir);
  }
});

test('train() uses and logs the scheduled learning rate at every step', async () => {
  const schedule: Schedule = { kind: 'cosine', lr: 0.05, minLr: 0.005, warmupSteps: 3, totalSteps: 16 };
  const steps = 18; // warmup, decay and the floor after the horizon, across two epoch boundaries
  const { updates, runDir } = await recordUpdates(tinyRunConfig({ schedule, logEvery: 1 }), steps);
  try {
    const expected = (step: number) => learningRate(schedule, { step, batchInEpoch: 0, batchesInEpoch: 1 });
    assert.ok(new Set(updates.map((u) => u.lr.toPrecision(6))).size > 10, 'the schedule varies over these steps');
    for (const [step, u] of updates.entries()) {
      assert.ok(Math.abs(u.lr - expected(step)) <= 1e-12 + 1e-9 * expected(step), `step ${step}: lr ${u.lr}, schedule ${expected(step)}`);
    }
    // The step records of metrics.jsonl: `step` counts the steps taken, `lr` is the last one's rate.
    const records = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const logged = records.filter((r) => r.type === 'step');
    assert.equal(logged.length, steps);
    for (const r of logged) assert.ok(Math.abs(r.lr - expected(r.step - 1)) < 1e-15, `record at step ${r.step}: lr ${r.lr}, schedule ${expected(r.step - 1)}`);
  } finally {
    cleanup(runDir);
  }
});
