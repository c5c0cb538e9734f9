/** The RWKV-6 model: gradients, RNN mode, carried state, config checks, training. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import { createModel, parameterCount, parameterCountOf } from '../src/models/index.js';
import { validateConfig } from '../src/models/config.js';
import type { Rwkv6Config, SequenceModel } from '../src/models/model.js';
import type { Rwkv6State } from '../src/models/rwkv6.js';
import { AdamW } from '../src/train/optimizer.js';
import { UserError } from '../src/errors.js';
import { checkGrad, directionalCheck } from './gradcheck.js';
import { jitter } from './helpers/jitter.js';
import { randomBatch } from './helpers/batch.js';

const D = 88;
const tiny: Rwkv6Config = { kind: 'rwkv6', nLayer: 2, nEmbd: 8, ffn: 12, headSize: 4, decayLora: 3, dropout: 0 };

function zeroGrads(model: SequenceModel): void {
  for (const p of model.parameters()) p.grad.fill(0);
}

function gradientCheck(config: Rwkv6Config, seed: number, T = 6): void {
  const rng = new Rng(seed);
  const model = createModel(config, { seed, rwkvInit: 'pytorch' });
  jitter(model, rng, 0.05);
  // a decay that depends on the input enough for finite differences to see it
  for (const p of model.parameters()) if (p.name.includes('time_decay_w')) for (let i = 0; i < p.data.length; i++) p.data[i] = 0.3 * rng.normal();
  const batch = randomBatch(rng, 2, T, [T, T - 2]);
  zeroGrads(model);
  const r = model.trainStep(batch, 1, new Rng(99));
  const f = () => model.trainStep(batch, 0, new Rng(99)).nllSum;
  assert.ok(Math.abs(f() - r.nllSum) < 1e-9);
  const params = model.parameters();
  const grads = params.map((p) => p.grad.slice());
  for (let j = 0; j < params.length; j++) {
    checkGrad(params[j].name, f, params[j].data, grads[j], { eps: 1e-2, rtol: 2e-2, atolFrac: 2e-2, maxEntries: 6 });
  }
  // a small step: exp(-exp(.)) of the decay curves enough that h = 1e-3 is 0.3% off (quadratically less with h)
  const dir = directionalCheck(f, params.map((p) => p.data), grads, rng, 2.5e-4);
  assert.ok(Math.abs(dir.fd - dir.an) < 2e-3 * Math.abs(dir.an), `directional derivative: fd ${dir.fd}, analytic ${dir.an}`);
}

test('RWKV-6: whole-model gradients match finite differences (every parameter tensor)', () => {
  gradientCheck(tiny, 41);
});

test('RWKV-6 with dropout and input lags, over more than one WKV6 chunk: gradients match finite differences', () => {
  gradientCheck({ ...tiny, nLayer: 1, dropout: 0.2, inputLags: [1, 3] }, 42, 19);
});

test('RWKV-6 at its RWKV-LM init: the branches learn from the first step (the zero-started projections get gradients)', () => {
  const model = createModel({ ...tiny, nEmbd: 16, headSize: 8 }, { seed: 3 });
  const batch = randomBatch(new Rng(4), 2, 9, [9, 9]);
  zeroGrads(model);
  model.trainStep(batch, 1, new Rng(1));
  // att.output, ffn.value and ffn.receptance start at zero, so of the branches only att.output and
  // ffn.value learn at the first step; a zero key or gate would have left att.output without a gradient
  for (const name of ['emb.weight', 'blocks.0.att.output.weight', 'blocks.1.att.output.weight', 'blocks.0.ffn.value.weight', 'blocks.1.ffn.value.weight']) {
    const p = model.parameters().find((q) => q.name === name)!;
    assert.ok(p.grad.some((g) => g !== 0), `${name} has no gradient`);
  }
});

function rnnMatchesParallel(model: SequenceModel, rng: Rng): void {
  const B = 3, T = 20;
  const batch = randomBatch(rng, B, T, [T, T, T], { density: 0.2 });
  const par = model.logits(batch);
  const state = model.initialState(B);
  let maxErr = 0;
  for (let t = 0; t < T; t++) {
    const frames = new Float32Array(B * D);
    for (let b = 0; b < B; b++) frames.set(batch.inputs.subarray((b * T + t) * D, (b * T + t + 1) * D), b * D);
    const out = model.step(state, frames);
    for (let b = 0; b < B; b++)
      for (let d = 0; d < D; d++) maxErr = Math.max(maxErr, Math.abs(out[b * D + d] - par[(b * T + t) * D + d]));
  }
  assert.ok(maxErr < 1e-4, `RNN steps differ from the parallel forward by ${maxErr}`);
}

test('RWKV-6 RNN-mode steps reproduce the parallel logits (both inits, input lags)', () => {
  const rng = new Rng(43);
  const m1 = createModel({ ...tiny, nLayer: 3, nEmbd: 16, headSize: 8, dropout: 0.1 }, { seed: 1 });
  jitter(m1, rng, 0.1);
  rnnMatchesParallel(m1, rng);
  rnnMatchesParallel(createModel({ ...tiny, inputLags: [1, 2, 4] }, { seed: 2, rwkvInit: 'pytorch' }), rng);
});

test('RWKV-6: a sequence run in two parts with the carried state equals one run; cloned states are independent', () => {
  const rng = new Rng(44);
  const model = createModel({ ...tiny, nEmbd: 12, headSize: 4 }, { seed: 5, rwkvInit: 'pytorch' }) as SequenceModel & {
    logitsFrom(batch: ReturnType<typeof randomBatch>, state: Rwkv6State): Float32Array;
    cloneState(s: Rwkv6State): Rwkv6State;
  };
  const B = 2, T = 23, split = 17;
  const batch = randomBatch(rng, B, T, [T, T]);
  const whole = model.logits(batch);
  const part = (t0: number, t1: number) => {
    const L = t1 - t0;
    const sub = (a: Float32Array, w: number) => {
      const out = new Float32Array(B * L * w);
      for (let b = 0; b < B; b++) out.set(a.subarray((b * T + t0) * w, (b * T + t1) * w), b * L * w);
      return out;
    };
    return { B, T: L, D, inputs: sub(batch.inputs, D), targets: sub(batch.targets, D), mask: sub(batch.mask, 1) };
  };
  const state = model.initialState(B) as Rwkv6State;
  const first = model.logitsFrom(part(0, split), state);
  const copy = model.cloneState(state);
  const second = model.logitsFrom(part(split, T), state);
  assert.notDeepEqual(copy.wkv[0], state.wkv[0], 'the clone does not share memory with the original');
  assert.notDeepEqual(copy.attXx[0], state.attXx[0]);
  const again = model.logitsFrom(part(split, T), copy);
  assert.deepEqual(again, second, 'the clone continues as the original did');
  assert.deepEqual(copy.wkv, state.wkv);
  let maxErr = 0;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let d = 0; d < D; d++) {
        const got = t < split ? first[(b * split + t) * D + d] : second[(b * (T - split) + t - split) * D + d];
        maxErr = Math.max(maxErr, Math.abs(got - whole[(b * T + t) * D + d]));
      }
  assert.ok(maxErr < 1e-5, `two parts differ from one run by ${maxErr}`);
});

test('RWKV-6 trainFrom: the start state\'s gradient matches finite differences (token shifts and WKV6 states)', () => {
  const rng = new Rng(45);
  const model = createModel(tiny, { seed: 6, rwkvInit: 'pytorch' }) as SequenceModel & {
    trainFrom(batch: ReturnType<typeof randomBatch>, start: Rwkv6State, grad: Rwkv6State, lossScale: number): { nllSum: number };
  };
  jitter(model, rng, 0.05);
  const B = 2, T = 7;
  const batch = randomBatch(rng, B, T, [T, T]);
  const start = model.initialState(B) as Rwkv6State;
  for (const x of [...start.attXx, ...start.ffnXx]) for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  for (const s of start.wkv) for (let i = 0; i < s.length; i++) s[i] = 0.5 * rng.normal();
  const grad = model.initialState(B) as Rwkv6State;
  zeroGrads(model);
  model.trainFrom(batch, start, grad, 1);
  const f = () => model.trainFrom(batch, start, model.initialState(B) as Rwkv6State, 0).nllSum;
  for (let l = 0; l < tiny.nLayer; l++) {
    checkGrad(`attXx[${l}]`, f, start.attXx[l], grad.attXx[l], { eps: 1e-2, rtol: 2e-2, atolFrac: 2e-2, maxEntries: 6 });
    checkGrad(`ffnXx[${l}]`, f, start.ffnXx[l], grad.ffnXx[l], { eps: 1e-2, rtol: 2e-2, atolFrac: 2e-2, maxEntries: 6 });
    const s = start.wkv[l];
    const g = grad.wkv[l];
    let gmax = 0;
    for (const x of g) gmax = Math.max(gmax, Math.abs(x));
    assert.ok(gmax > 0);
    for (let i = 0; i < s.length; i += 7) {
      const o = s[i];
      s[i] = o + 1e-2;
      const fp = f();
      s[i] = o - 1e-2;
      const fm = f();
      s[i] = o;
      const fd = (fp - fm) / 2e-2;
      assert.ok(Math.abs(fd - g[i]) <= 2e-2 * Math.abs(fd) + 2e-2 * gmax, `wkv[${l}][${i}]: analytic ${g[i]}, fd ${fd}`);
    }
  }
});

test('RWKV-6 config: validation errors, parameter counts without building the model', () => {
  const bad = (over: Record<string, unknown>, message: RegExp) =>
    assert.throws(() => validateConfig({ ...tiny, ...over }), (e: Error) => e instanceof UserError && message.test(e.message));
  bad({ headSize: 3 }, /headSize must divide nEmbd, got headSize 3 and nEmbd 8/);
  bad({ headSize: 0 }, /headSize must be a positive integer/);
  bad({ headSize: undefined }, /headSize must be a positive integer/);
  bad({ decayLora: 1.5 }, /decayLora must be a positive integer/);
  bad({ ffn: -1 }, /ffn must be a positive integer/);
  bad({ dropout: 1 }, /dropout must be a number in \[0, 1\)/);
  bad({ keyChainOrder: 'down' }, /keyChainOrder needs a key-chain head/);
  assert.throws(() => validateConfig({ kind: 'rwkv7' }), /expected "rwkv", "rwkv6" or "lstm"/);
  assert.deepEqual(validateConfig({ ...tiny, keyChain: 4, inputLags: [1, 2] }), { ...tiny, keyChain: 4, inputLags: [1, 2] });
  for (const config of [tiny, { ...tiny, inputLags: [1, 4], keyChain: 7, condition: { start: true, keyShifts: 2 } }] as Rwkv6Config[]) {
    const model = createModel(config, { seed: 1 });
    assert.equal(parameterCount(model), parameterCountOf(config));
  }
  const names = createModel(tiny, { seed: 1 }).parameters().map((p) => p.name);
  for (const n of ['time_decay', 'time_faaaa', 'time_maa_r', 'time_maa_k', 'time_maa_v', 'time_maa_g', 'time_maa_w',
    'time_decay_w1', 'time_decay_w2', 'receptance.weight', 'key.weight', 'value.weight', 'gate.weight', 'output.weight', 'ln_x.weight', 'ln_x.bias']) {
    assert.ok(names.includes(`blocks.1.att.${n}`), n);
  }
});

test('RWKV-6: a short training run on a tiny dataset lowers the loss', () => {
  const rng = new Rng(46);
  const model = createModel({ ...tiny, nEmbd: 16, headSize: 8, ffn: 32 }, { seed: 7 });
  const batch = randomBatch(rng, 4, 24, [24, 24, 20, 16], { density: 0.1 });
  batch.targets.set(batch.inputs); // a learnable target: the current frame
  const params = model.parameters();
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 });
  const frames = batch.mask.reduce((a, b) => a + b, 0);
  const first = model.evaluate(batch).nllSum / frames;
  for (let s = 0; s < 40; s++) {
    zeroGrads(model);
    model.trainStep(batch, 1 / frames, rng);
    opt.step(3e-3);
  }
  const last = model.evaluate(batch).nllSum / frames;
  assert.ok(last < 0.7 * first, `loss per frame ${first} -> ${last}`);
});

test('RWKV-6 in the browser entry: a model file loads through loadModelFromUrl and generates', async () => {
  const browser = await import('../src/browser.js');
  const model = browser.createModel({ ...tiny, keyChain: 6 }, { seed: 8 });
  const bytes = browser.modelToBytes(model);
  const url = `data:application/octet-stream;base64,${Buffer.from(bytes).toString('base64')}`;
  const loaded = await browser.loadModelFromUrl(url);
  assert.deepEqual(loaded.config, model.config);
  const batch = randomBatch(new Rng(9), 1, 5, [5]);
  assert.deepEqual(loaded.logits(batch), model.logits(batch));
  const [a] = browser.sample(loaded, { length: 12, temperature: 1, seed: 3, count: 1 });
  const [b] = browser.sample(model, { length: 12, temperature: 1, seed: 3, count: 1 });
  assert.equal(a.frames.length, 12);
  assert.deepEqual(a.frames, b.frames);
});

test('train --model: rwkv6 has defaults like rwkv\'s; an unknown kind is refused naming all three', async () => {
  const { defaultModelConfig, defaultTrainingConfig } = await import('../src/train/defaults.js');
  const { run } = await import('./helpers/cli.js');
  assert.deepEqual(defaultModelConfig('rwkv6', 'jsb-chorales'), { kind: 'rwkv6', nLayer: 2, nEmbd: 256, ffn: 512, headSize: 32, decayLora: 32, dropout: 0.3, keyChain: 256 });
  assert.deepEqual(defaultModelConfig('rwkv6', 'nottingham').inputLags, defaultModelConfig('rwkv', 'nottingham').inputLags);
  assert.deepEqual(defaultTrainingConfig('rwkv6', 'nottingham'), defaultTrainingConfig('rwkv', 'nottingham'));
  const r = await run(['train', '--model', 'gru', '--dataset', 'jsb-chorales']);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /--model must be rwkv, rwkv6 or lstm, got "gru"/);
});
