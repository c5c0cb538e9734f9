/**
 * Learnable start states: the gradient with respect to the start tensors (through WKV, WKV6, token shift,
 * the LSTM's h0 and c0, and input lags) against finite differences, the parameter gradients when a
 * piece starts from a state, and RNN-mode stepping from a start state against the parallel forward.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';
import type { Batch } from '../src/engine/batch.js';
import { createModel } from '../src/models/index.js';
import type { ModelConfig, SequenceModel } from '../src/models/model.js';
import { addStartGradient, hasStartState, startFromState, stateFromStart, zeroStart, type StartStateModel, type StartTensor } from '../src/models/start-state.js';
import { checkGrad } from './gradcheck.js';
import { assertClose } from './helpers/native.js';
import { jitter } from './helpers/jitter.js';
import { randomBatch } from './helpers/batch.js';

const D = 88;

const configs: Record<string, ModelConfig> = {
  rwkv: { kind: 'rwkv', nLayer: 2, nEmbd: 8, ffn: 12, dropout: 0.1, inputLags: [1, 3] },
  'rwkv key-chain': { kind: 'rwkv', nLayer: 2, nEmbd: 8, ffn: 12, dropout: 0, inputLags: [2], keyChain: 6 },
  rwkv6: { kind: 'rwkv6', nLayer: 2, nEmbd: 8, ffn: 12, headSize: 4, decayLora: 3, dropout: 0.1, inputLags: [1, 3] },
  lstm: { kind: 'lstm', layers: 2, hidden: 6, embed: 5, dropout: 0.2, inputLags: [1, 3] },
  'lstm key-chain': { kind: 'lstm', layers: 2, hidden: 6, embed: 5, dropout: 0, keyChain: 6 },
};

function tunable(config: ModelConfig, seed: number): StartStateModel {
  const rng = new Rng(seed);
  const model = createModel(config, { seed, rwkvInit: 'pytorch' });
  jitter(model, rng, 0.05);
  // RWKV-6: a decay that depends on the input enough for finite differences to see time_maa_w
  for (const p of model.parameters()) if (p.name.includes('time_decay_w')) for (let i = 0; i < p.data.length; i++) p.data[i] = 0.3 * rng.normal();
  assert.ok(hasStartState(model));
  return model;
}

function randomStart(model: SequenceModel, rng: Rng): StartTensor[] {
  const start = zeroStart(model);
  for (const t of start)
    for (let i = 0; i < t.data.length; i++) {
      if (t.name === 'lags') t.data[i] = rng.next();
      else if (t.name.endsWith('wkv_log_weight')) t.data[i] = rng.normal();
      else t.data[i] = 0.7 * rng.normal();
    }
  return start;
}

function startGradient(model: StartStateModel, batch: Batch, start: StartTensor[]): { nll: number; grad: StartTensor[] } {
  const grad = zeroStart(model).map((t) => ({ ...t, data: new Float32Array(t.data.length) }));
  const g = model.initialState(batch.B);
  const r = model.trainFrom(batch, stateFromStart(model, start, batch.B), g, 1);
  addStartGradient(model, g, grad);
  return { nll: r.nllSum, grad };
}

for (const [name, config] of Object.entries(configs)) {
  test(`${name}: start-state gradient agrees with finite differences`, () => {
    const rng = new Rng(41);
    const model = tunable(config, 41);
    const batch = randomBatch(rng, 2, 6, [6, 4]);
    const start = randomStart(model, rng);
    const { nll, grad } = startGradient(model, batch, start);
    const f = () => model.trainFrom(batch, stateFromStart(model, start, batch.B), model.initialState(batch.B), 0).nllSum;
    assert.ok(Math.abs(f() - nll) < 1e-9, 'the forward does not modify the start state');
    for (let j = 0; j < start.length; j++) {
      let gmax = 0;
      for (const x of grad[j].data) gmax = Math.max(gmax, Math.abs(x));
      assert.ok(gmax > 1e-4, `${start[j].name}: gradient is not zero`);
      checkGrad(start[j].name, f, start[j].data, grad[j].data, { eps: 1e-2, rtol: 2e-2, atolFrac: 2e-2, maxEntries: 8 });
    }
  });

  test(`${name}: parameter gradients when pieces start from a state agree with finite differences`, () => {
    const rng = new Rng(42);
    const model = tunable(config, 42);
    const batch = randomBatch(rng, 2, 5, [5, 3]);
    const start = randomStart(model, rng);
    for (const p of model.parameters()) p.grad.fill(0);
    model.trainFrom(batch, stateFromStart(model, start, batch.B), model.initialState(batch.B), 1);
    const f = () => model.trainFrom(batch, stateFromStart(model, start, batch.B), model.initialState(batch.B), 0).nllSum;
    for (const p of model.parameters()) {
      checkGrad(p.name, f, p.data, p.grad.slice(), { eps: 1e-2, rtol: 2e-2, atolFrac: 2e-2, maxEntries: 3 });
    }
  });

  test(`${name}: RNN-mode steps from a start state equal the parallel forward from it`, () => {
    const rng = new Rng(43);
    const model = tunable(config, 43);
    const B = 2, T = 7;
    // zero targets: a key-chain head's step logits are those of a frame with every lower key off
    const batch = randomBatch(rng, B, T, [T, T], { zeroTargets: true });
    const start = randomStart(model, rng);
    const parallel = model.logitsFrom(batch, stateFromStart(model, start, B));
    const state = stateFromStart(model, start, B);
    const frame = new Float32Array(B * D);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) frame.set(batch.inputs.subarray((b * T + t) * D, (b * T + t + 1) * D), b * D);
      const logits = model.step(state, frame);
      const want = new Float32Array(B * D);
      for (let b = 0; b < B; b++) want.set(parallel.subarray((b * T + t) * D, (b * T + t + 1) * D), b * D);
      assertClose(`step ${t}`, logits, want, 1e-4, 1e-5);
    }
  });

  test(`${name}: the zero start state is the model's default, and a state survives the round trip through start tensors`, () => {
    const rng = new Rng(44);
    const model = tunable(config, 44);
    const batch = randomBatch(rng, 2, 6, [6, 6]);
    assertClose('zero start', model.logitsFrom(batch, stateFromStart(model, zeroStart(model), 2)), model.logits(batch), 1e-5, 1e-6);
    // run a piece, take the state after it as a start, continue from both
    const first = randomBatch(rng, 1, 9, [9]);
    const after = stateFromStart(model, zeroStart(model), 1);
    model.logitsFrom(first, after);
    const next = randomBatch(rng, 1, 6, [6]);
    const fromStart = model.logitsFrom(next, stateFromStart(model, startFromState(model, after, 0), 1));
    assertClose('continued', fromStart, model.logitsFrom(next, after), 1e-4, 1e-5);
  });
}
