/**
 * What the key-chain output head costs: the Nottingham default models (RWKV 4x256 with input lags,
 * LSTM 2x256) with and without the head, side by side. Training steps (forward + backward, no
 * optimizer) alternate between the two so both see the same machine load; then sampling, also
 * alternating. Prints median times and the ratio with / without.
 *
 *   node dist/bench/key-chain-cost.js [--model rwkv|lstm|both] [--steps 6] [--threads 1]
 */
import type { Batch } from '../src/engine/batch.js';
import { createGemm } from '../src/engine/gemm-default.js';
import { createKernels } from '../src/engine/kernels-default.js';
import { Rng } from '../src/engine/random.js';
import { sample } from '../src/generate/sampler.js';
import { createModel } from '../src/models/index.js';
import type { ModelKind, SequenceModel } from '../src/models/model.js';
import { defaultModelConfig, KEY_CHAIN_HIDDEN } from '../src/train/defaults.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function randomBatch(B: number, T: number, rng: Rng): Batch {
  const D = 88;
  const inputs = new Float32Array(B * T * D);
  for (let i = 0; i < inputs.length; i++) inputs[i] = rng.next() < 0.045 ? 1 : 0;
  const targets = new Float32Array(B * T * D);
  for (let b = 0; b < B; b++) targets.set(inputs.subarray((b * T + 1) * D, (b + 1) * T * D), b * T * D);
  return { B, T, D, inputs, targets, mask: new Float32Array(B * T).fill(1) };
}

function timed(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

function bench(kind: ModelKind, steps: number, threads: number): void {
  const gemm = createGemm({ threads });
  const kernels = createKernels({ threads });
  const base = defaultModelConfig(kind, 'nottingham');
  const models: SequenceModel[] = [0, KEY_CHAIN_HIDDEN].map((keyChain) => createModel({ ...base, keyChain }, { seed: 1, gemm, kernels }));
  const batch = randomBatch(4, 512, new Rng(3));
  const frames = batch.B * batch.T;
  const train: number[][] = [[], []];
  const gen: number[][] = [[], []];
  const rng = new Rng(5);
  for (let s = 0; s < steps + 2; s++) {
    models.forEach((m, i) => {
      const ms = timed(() => m.trainStep(batch, 1 / frames, rng));
      if (s >= 2) train[i].push(ms);
    });
  }
  for (let s = 0; s < Math.max(3, steps >> 1); s++) {
    models.forEach((m, i) => gen[i].push(timed(() => sample(m, { length: 128, temperature: 1, seed: s, count: 1 }))));
  }
  const t = train.map(median);
  const g = gen.map(median);
  console.log(`${kind}: training step (${frames} frames) ${t[0].toFixed(0)} ms without the head, ${t[1].toFixed(0)} ms with: x${(t[1] / t[0]).toFixed(3)}`);
  console.log(`${kind}: sampling 128 frames ${g[0].toFixed(0)} ms without the head, ${g[1].toFixed(0)} ms with: x${(g[1] / g[0]).toFixed(3)}`);
  console.log(`RESULT ${kind}-key-chain-train-ratio ${(t[1] / t[0]).toFixed(3)}`);
  console.log(`RESULT ${kind}-key-chain-sample-ratio ${(g[1] / g[0]).toFixed(3)}`);
}

const which = arg('--model') ?? 'both';
const steps = Number(arg('--steps') ?? 6);
const threads = Number(arg('--threads') ?? 1);
for (const kind of ['rwkv', 'lstm'] as ModelKind[]) if (which === 'both' || which === kind) bench(kind, steps, threads);
