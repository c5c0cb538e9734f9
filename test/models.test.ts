import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import type { Batch } from '../src/engine/batch.js';
import { createModel, parameterCount, parameterCountOf } from '../src/models/index.js';
import type { LstmConfig, ModelConfig, RwkvConfig, SequenceModel } from '../src/models/model.js';
import { checkGrad, directionalCheck } from './gradcheck.js';
import { jitter } from './helpers/jitter.js';
import { randomBatch } from './helpers/batch.js';

const D = 88;

function zeroGrads(model: SequenceModel): void {
  for (const p of model.parameters()) p.grad.fill(0);
}

const tinyRwkv: RwkvConfig = { kind: 'rwkv', nLayer: 2, nEmbd: 8, ffn: 12, dropout: 0 };
const tinyLstm: LstmConfig = { kind: 'lstm', layers: 2, hidden: 6, embed: 5, dropout: 0 };

function gradientCheck(config: ModelConfig, seed: number, rwkvInit: 'pytorch' | 'rwkv-lm' = 'pytorch'): void {
  const rng = new Rng(seed);
  const model = createModel(config, { seed, rwkvInit });
  jitter(model, rng, 0.05);
  const batch = randomBatch(rng, 2, 6, [6, 4]);
  const dropRng = 99;
  zeroGrads(model);
  const r = model.trainStep(batch, 1, new Rng(dropRng));
  assert.equal(r.frames, 10);
  // same dropout draws for every evaluation: a fresh Rng with the same seed, lossScale 0 adds nothing
  const f = () => model.trainStep(batch, 0, new Rng(dropRng)).nllSum;
  assert.ok(Math.abs(f() - r.nllSum) < 1e-9);
  const params = model.parameters();
  const grads = params.map((p) => p.grad.slice());
  for (let j = 0; j < params.length; j++) {
    checkGrad(params[j].name, f, params[j].data, grads[j], { eps: 1e-2, rtol: 2e-2, atolFrac: 2e-2, maxEntries: 6 });
  }
  const dir = directionalCheck(f, params.map((p) => p.data), grads, rng, 1e-3);
  assert.ok(Math.abs(dir.fd - dir.an) < 2e-3 * Math.abs(dir.an), `directional derivative: fd ${dir.fd}, analytic ${dir.an}`);
}

test('RWKV: whole-model gradients match finite differences (every parameter tensor)', () => {
  gradientCheck(tinyRwkv, 31);
});

test('RWKV with dropout: gradients match finite differences for fixed dropout draws', () => {
  gradientCheck({ ...tinyRwkv, nLayer: 1, dropout: 0.2 }, 32);
});

test('RWKV with input lags: gradients match finite differences (lags longer than the batch too)', () => {
  gradientCheck({ ...tinyRwkv, inputLags: [1, 3, 8] }, 36);
});

test('LSTM: whole-model gradients match finite differences (every parameter tensor)', () => {
  gradientCheck(tinyLstm, 33);
});

test('LSTM with input lags: gradients match finite differences', () => {
  gradientCheck({ ...tinyLstm, inputLags: [2, 7] }, 37);
});

test('LSTM with dropout between layers: gradients match finite differences', () => {
  gradientCheck({ ...tinyLstm, layers: 3, dropout: 0.3 }, 34);
});

function rnnMatchesParallel(model: SequenceModel, rng: Rng): void {
  const B = 3, T = 9;
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

test('RNN-mode steps reproduce the parallel logits (RWKV, both inits; LSTM)', () => {
  const rng = new Rng(35);
  const r1 = createModel({ kind: 'rwkv', nLayer: 3, nEmbd: 16, ffn: 24, dropout: 0.1 }, { seed: 1 });
  jitter(r1, rng, 0.1); // the RWKV-LM init zeroes several matrices
  rnnMatchesParallel(r1, rng);
  rnnMatchesParallel(createModel({ kind: 'rwkv', nLayer: 2, nEmbd: 12, ffn: 20, dropout: 0 }, { seed: 2, rwkvInit: 'pytorch' }), rng);
  rnnMatchesParallel(createModel({ kind: 'lstm', layers: 2, hidden: 10, embed: 7, dropout: 0.2 }, { seed: 3 }), rng);
  // input lags: the ring of earlier frames wraps (T = 9 > longest lag 4), and a lag of 12 is never reached
  rnnMatchesParallel(createModel({ kind: 'rwkv', nLayer: 2, nEmbd: 12, ffn: 20, dropout: 0, inputLags: [1, 2, 4] }, { seed: 4, rwkvInit: 'pytorch' }), rng);
  rnnMatchesParallel(createModel({ kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0, inputLags: [3, 12] }, { seed: 5, rwkvInit: 'pytorch' }), rng);
  rnnMatchesParallel(createModel({ kind: 'lstm', layers: 2, hidden: 10, embed: 7, dropout: 0, inputLags: [1, 4] }, { seed: 6 }), rng);
});

test('padding positions change neither the loss nor the gradients', () => {
  for (const config of [tinyRwkv, tinyLstm] as ModelConfig[]) {
    const rng = new Rng(36);
    const model = createModel(config, { seed: 4, rwkvInit: 'pytorch' });
    const batch = randomBatch(rng, 3, 7, [7, 3, 5]);
    zeroGrads(model);
    const a = model.trainStep(batch, 1, new Rng(1));
    const ga = model.parameters().map((p) => p.grad.slice());
    // scribble over the padding (inputs and targets after each row's end)
    const lens = [7, 3, 5];
    for (let b = 0; b < 3; b++)
      for (let t = lens[b]; t < 7; t++)
        for (let d = 0; d < D; d++) {
          batch.inputs[(b * 7 + t) * D + d] = rng.next() < 0.5 ? 1 : 0;
          batch.targets[(b * 7 + t) * D + d] = 1;
        }
    zeroGrads(model);
    const b2 = model.trainStep(batch, 1, new Rng(1));
    assert.equal(b2.nllSum, a.nllSum);
    assert.equal(b2.frames, 15);
    model.parameters().forEach((p, j) => assert.deepEqual(p.grad, ga[j], `${config.kind} ${p.name}`));
    assert.equal(model.evaluate(batch).nllSum, a.nllSum, 'evaluate = trainStep without dropout');
  }
});

test('trainStep adds lossScale-scaled gradients; evaluate matches the logits', () => {
  const rng = new Rng(37);
  const model = createModel(tinyLstm, { seed: 5 });
  const batch = randomBatch(rng, 2, 5, [5, 5]);
  zeroGrads(model);
  model.trainStep(batch, 1, new Rng(1));
  const g1 = model.parameters().map((p) => p.grad.slice());
  model.trainStep(batch, 0.5, new Rng(1)); // accumulates: total 1.5x
  model.parameters().forEach((p, j) => {
    for (let i = 0; i < p.grad.length; i += 7) assert.ok(Math.abs(p.grad[i] - 1.5 * g1[j][i]) <= 1e-5 * (1 + Math.abs(g1[j][i])));
  });
  const logits = model.logits(batch);
  let nll = 0;
  for (let i = 0; i < logits.length; i++) {
    const z = logits[i], y = batch.targets[i];
    nll += Math.log1p(Math.exp(-Math.abs(z))) + Math.max(z, 0) - y * z;
  }
  assert.ok(Math.abs(model.evaluate(batch).nllSum - nll) < 1e-6 * nll);
});

test('the inference path (one shared layer slot) gives the training forward\'s loss, for odd and even depths', () => {
  const rng = new Rng(38);
  for (const depth of [1, 2, 3]) {
    const configs: ModelConfig[] = [
      { kind: 'rwkv', nLayer: depth, nEmbd: 8, ffn: 12, dropout: 0 },
      { kind: 'lstm', layers: depth, hidden: 6, embed: 5, dropout: 0 },
    ];
    for (const config of configs) {
      const model = createModel(config, { seed: depth, rwkvInit: 'pytorch' });
      const batch = randomBatch(rng, 2, 6, [6, 5]);
      const train = model.trainStep(batch, 1, new Rng(1)).nllSum;
      const ev = model.evaluate(batch).nllSum;
      assert.ok(Math.abs(train - ev) < 1e-9 * Math.abs(train), `${config.kind} with ${depth} layers: ${train} vs ${ev}`);
    }
  }
});

test('parameter names, shapes and counts follow RWKV-LM and PyTorch', () => {
  const rwkv = createModel({ kind: 'rwkv', nLayer: 2, nEmbd: 8, ffn: 32, dropout: 0 }, { seed: 1 });
  const shapes = Object.fromEntries(rwkv.parameters().map((p) => [p.name, p.shape]));
  assert.deepEqual(shapes['emb.weight'], [8, 88]);
  assert.deepEqual(shapes['blocks.0.ln0.weight'], [8]);
  assert.equal(shapes['blocks.1.ln0.weight'], undefined);
  assert.deepEqual(shapes['blocks.1.att.time_mix_k'], [1, 1, 8]);
  assert.deepEqual(shapes['blocks.1.att.time_decay'], [8]);
  assert.deepEqual(shapes['blocks.1.ffn.key.weight'], [32, 8]);
  assert.deepEqual(shapes['blocks.1.ffn.value.weight'], [8, 32]);
  assert.deepEqual(shapes['head.weight'], [88, 8]);
  assert.equal(rwkv.parameters().length, 2 + 2 + 2 * 18 + 2 + 2);
  for (const p of rwkv.parameters()) assert.equal(p.decay, p.name.endsWith('.weight') && p.shape.length === 2, p.name);
  const lstm = createModel({ kind: 'lstm', layers: 2, hidden: 16, embed: 12, dropout: 0 }, { seed: 1 });
  assert.deepEqual(lstm.parameters().map((p) => `${p.name}:${p.shape.join('x')}`), [
    'embed.weight:12x88', 'embed.bias:12',
    'lstm.weight_ih_l0:64x12', 'lstm.weight_hh_l0:64x16', 'lstm.bias_ih_l0:64', 'lstm.bias_hh_l0:64',
    'lstm.weight_ih_l1:64x16', 'lstm.weight_hh_l1:64x16', 'lstm.bias_ih_l1:64', 'lstm.bias_hh_l1:64',
    'head.weight:88x16', 'head.bias:88',
  ]);
  for (const m of [rwkv, lstm]) assert.equal(parameterCount(m), parameterCountOf(m.config));
  // the reference configurations
  assert.equal(parameterCountOf({ kind: 'lstm', layers: 2, hidden: 512, embed: 512, dropout: 0 }), 88 * 512 + 512 + 2 * 4 * 512 * (1024 + 2) + 88 * 512 + 88);
});

test('RWKV initialisation follows RWKV-LM (decay, bonus, mixes, orthogonal matrices) and is seeded', () => {
  const C = 16, L = 4;
  const m = createModel({ kind: 'rwkv', nLayer: L, nEmbd: C, ffn: 64, dropout: 0 }, { seed: 9 });
  const get = (name: string) => m.parameters().find((p) => p.name === name)!.data;
  const l = 1;
  const r01 = l / (L - 1), r10 = 1 - l / L;
  for (const h of [0, 5, 15]) {
    assert.ok(Math.abs(get(`blocks.${l}.att.time_decay`)[h] - (-5 + 8 * Math.pow(h / (C - 1), 0.7 + 1.3 * r01))) < 1e-5);
    assert.ok(Math.abs(get(`blocks.${l}.att.time_first`)[h] - (Math.log(0.3) + 0.5 * (((h + 1) % 3) - 1))) < 1e-6);
    assert.ok(Math.abs(get(`blocks.${l}.att.time_mix_v`)[h] - (Math.pow(h / C, r10) + 0.3 * r01)) < 1e-6);
    assert.ok(Math.abs(get(`blocks.${l}.att.time_mix_r`)[h] - Math.pow(h / C, 0.5 * r10)) < 1e-6);
    assert.ok(Math.abs(get(`blocks.${l}.ffn.time_mix_k`)[h] - Math.pow(h / C, r10)) < 1e-6);
  }
  assert.ok(get('blocks.2.att.output.weight').every((v) => v === 0));
  assert.ok(get('blocks.2.ffn.value.weight').every((v) => v === 0));
  // ffn.key [64,16]: orthonormal columns times gain 2
  const W = get('blocks.0.ffn.key.weight');
  for (const [a, b] of [[0, 0], [0, 3], [7, 7], [2, 9]]) {
    let s = 0;
    for (let r = 0; r < 64; r++) s += W[r * C + a] * W[r * C + b];
    assert.ok(Math.abs(s - (a === b ? 4 : 0)) < 1e-4, `columns ${a},${b}: ${s}`);
  }
  const again = createModel({ kind: 'rwkv', nLayer: L, nEmbd: C, ffn: 64, dropout: 0 }, { seed: 9 });
  again.parameters().forEach((p, j) => assert.deepEqual(p.data, m.parameters()[j].data));
  const other = createModel({ kind: 'rwkv', nLayer: L, nEmbd: C, ffn: 64, dropout: 0 }, { seed: 10 });
  assert.notDeepEqual(other.parameters()[0].data, m.parameters()[0].data);
});

test('key-chain head: gradients match finite differences (RWKV and LSTM)', () => {
  gradientCheck({ ...tinyRwkv, keyChain: 7 }, 41);
  gradientCheck({ ...tinyLstm, keyChain: 5, inputLags: [2] }, 42);
});

test('output dropout: gradients match finite differences for fixed draws (RWKV and LSTM, with and without a key chain)', () => {
  gradientCheck({ ...tinyRwkv, nLayer: 1, outputDropout: 0.3 }, 43);
  gradientCheck({ ...tinyRwkv, nLayer: 1, dropout: 0.2, keyChain: 7, outputDropout: 0.4 }, 44);
  gradientCheck({ ...tinyLstm, keyChain: 5, outputDropout: 0.3 }, 45);
  gradientCheck({ ...tinyLstm, dropout: 0.2, outputDropout: 0.5 }, 46);
});

test('output dropout: drawn in training only; evaluation and RNN mode are unchanged', () => {
  for (const base of [{ ...tinyRwkv, keyChain: 6 }, { ...tinyLstm, keyChain: 6 }] as ModelConfig[]) {
    const rng = new Rng(5);
    const batch = randomBatch(rng, 2, 7, [7, 5]);
    const plain = createModel(base, { seed: 3 });
    const dropped = createModel({ ...base, outputDropout: 0.5 }, { seed: 3 });
    assert.deepEqual(dropped.parameters().map((p) => p.data), plain.parameters().map((p) => p.data), 'same weights from the same seed');
    assert.equal(dropped.evaluate(batch).nllSum, plain.evaluate(batch).nllSum);
    assert.deepEqual(dropped.logits(batch), plain.logits(batch));
    const a = plain.trainStep(batch, 1, new Rng(8)).nllSum;
    const b = dropped.trainStep(batch, 1, new Rng(8)).nllSum;
    assert.notEqual(a, b, 'a training step drops features');
    assert.equal(dropped.trainStep(batch, 0, new Rng(8)).nllSum, b, 'the same draws from the same seed');
    rnnMatchesParallel(dropped, rng);
  }
});

test('output dropout config: a rate in [0, 1); 0 is the same as absent', () => {
  for (const bad of [-0.1, 1, '0.2', null]) {
    assert.throws(() => createModel({ ...tinyRwkv, outputDropout: bad } as unknown as ModelConfig, { seed: 1 }), /outputDropout must be a number in \[0, 1\)/);
  }
  assert.equal(createModel({ ...tinyLstm, outputDropout: 0 }, { seed: 1 }).config.outputDropout, undefined);
  assert.equal(createModel({ ...tinyLstm, outputDropout: 0.25 }, { seed: 1 }).config.outputDropout, 0.25);
});

/** Flips key `k` of the target frame at (b, t) and returns the logits. */
function logitsWithFlip(model: SequenceModel, batch: Batch, b: number, t: number, k: number): Float32Array {
  const targets = batch.targets.slice();
  const i = (b * batch.T + t) * D + k;
  targets[i] = 1 - targets[i];
  return model.logits({ ...batch, targets });
}

test('key-chain head: key d depends on the keys below d of its own frame only', () => {
  const rng = new Rng(43);
  for (const config of [{ ...tinyRwkv, keyChain: 16 }, { ...tinyLstm, keyChain: 9 }] as ModelConfig[]) {
    const model = createModel(config, { seed: 5, rwkvInit: 'pytorch' });
    jitter(model, rng, 0.2); // the output and direct weights start at zero
    const batch = randomBatch(rng, 2, 4, [4, 4], { density: 0.3 });
    const base = model.logits(batch);
    for (const k of [0, 1, 30, 86, 87]) {
      const flipped = logitsWithFlip(model, batch, 1, 2, k);
      let below = 0;
      let above = 0;
      let elsewhere = 0;
      for (let i = 0; i < base.length; i++) {
        const diff = Math.abs(flipped[i] - base[i]);
        const row = Math.floor(i / D);
        const d = i % D;
        if (row !== 1 * 4 + 2) elsewhere = Math.max(elsewhere, diff);
        else if (d <= k) below = Math.max(below, diff);
        else above = Math.max(above, diff);
      }
      assert.equal(below, 0, `${config.kind}: flipping key ${k} changed a logit of a key at or below it`);
      assert.equal(elsewhere, 0, `${config.kind}: flipping key ${k} changed another frame's logits`);
      if (k < 87) assert.ok(above > 1e-4, `${config.kind}: flipping key ${k} changed no key above it`);
    }
  }
});

test('key-chain head: drawFrame uses the parallel forward\'s conditional probabilities', () => {
  const rng = new Rng(44);
  for (const config of [
    { kind: 'rwkv', nLayer: 2, nEmbd: 12, ffn: 20, dropout: 0, keyChain: 24, inputLags: [1, 3] },
    { kind: 'lstm', layers: 2, hidden: 10, embed: 7, dropout: 0, keyChain: 12 },
  ] as ModelConfig[]) {
    const model = createModel(config, { seed: 6, rwkvInit: 'pytorch' });
    jitter(model, rng, 0.2);
    assert.ok(model.drawFrame, 'a key-chain model draws its own frames');
    const B = 2, T = 5;
    const batch = randomBatch(rng, B, T, [T, T], { density: 0.25 });
    const par = model.logits(batch);
    const state = model.initialState(B);
    const probs = new Float64Array(D);
    let maxErr = 0;
    for (let t = 0; t < T; t++) {
      const frames = new Float32Array(B * D);
      for (let b = 0; b < B; b++) frames.set(batch.inputs.subarray((b * T + t) * D, (b * T + t + 1) * D), b * D);
      model.step(state, frames);
      for (let b = 0; b < B; b++) {
        // a generator that turns on exactly the target's keys
        const target = batch.targets.subarray((b * T + t) * D, (b * T + t + 1) * D);
        let key = 0;
        const forcing = { next: () => (target[key++] === 1 ? 0 : 1 - 1e-12) } as unknown as Rng;
        const on: number[] = model.drawFrame!(state, b, 1, forcing, probs);
        assert.deepEqual(on, [...target.keys()].filter((d) => target[d] === 1));
        for (let d = 0; d < D; d++) maxErr = Math.max(maxErr, Math.abs(probs[d] - 1 / (1 + Math.exp(-par[(b * T + t) * D + d]))));
      }
    }
    assert.ok(maxErr < 1e-5, `${config.kind}: drawFrame probabilities differ from the parallel forward by ${maxErr}`);
  }
});

test('key-chain config: bad widths are refused, 0 means independent keys', () => {
  for (const bad of [-1, 1.5, '8', 5000]) {
    assert.throws(() => createModel({ ...tinyRwkv, keyChain: bad } as unknown as ModelConfig, { seed: 1 }), /keyChain/);
  }
  const plain = createModel({ ...tinyLstm, keyChain: 0 }, { seed: 1 });
  assert.equal(plain.config.keyChain, undefined);
  assert.equal(plain.drawFrame, undefined);
  const chained = createModel({ ...tinyLstm, keyChain: 4 }, { seed: 1 });
  assert.equal(parameterCount(chained), parameterCountOf(chained.config));
  assert.equal(parameterCount(chained) - parameterCount(plain), 4 * 6 + 4 + 4 * 88 + 88 * 4 + 88 * 88);
});
