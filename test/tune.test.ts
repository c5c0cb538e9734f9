/** State tuning (src/tune/tune.ts): what learns, that the tuning pieces' NLL falls, determinism. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../src/models/index.js';
import { hasStartState, type StartTensor } from '../src/models/start-state.js';
import { tuneStart } from '../src/tune/tune.js';
import { Rng } from '../src/engine/random.js';
import type { Frame } from '../src/data/pianoroll.js';
import { jitter } from './helpers/jitter.js';

function tinyRwkv() {
  const model = createModel({ kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0, inputLags: [1, 4] }, { seed: 2, rwkvInit: 'pytorch' });
  jitter(model, new Rng(3), 0.3);
  if (!hasStartState(model)) throw new Error('no start state');
  return model;
}

function pieces(seed: number): Frame[][] {
  const rng = new Rng(seed);
  return Array.from({ length: 3 }, () => Array.from({ length: 24 }, () => [60, 64, 67].filter(() => rng.next() < 0.7)));
}

const tensor = (start: StartTensor[], name: string) => start.find((t) => t.name === name)!.data;
const options = { steps: 20, lr: 0.05, seed: 1, maxLength: 64, batchFrames: 4096 };

test('state tuning lowers the NLL of its pieces and learns the WKV state, not the lag history, unless asked', async () => {
  const model = tinyRwkv();
  const data = pieces(7);
  const guess = await tuneStart(model, data, { ...options, steps: 0 });
  const tuned = await tuneStart(model, data, options);
  const withLags = await tuneStart(model, data, { ...options, lags: true });
  assert.ok(tuned.nllFinal < tuned.nllInit, `NLL ${tuned.nllInit} -> ${tuned.nllFinal}`);
  assert.deepEqual(tensor(tuned.start, 'lags'), tensor(guess.start, 'lags'));
  assert.notDeepEqual(tensor(withLags.start, 'lags'), tensor(guess.start, 'lags'));
  for (const name of ['blocks.0.att.wkv_value', 'blocks.0.att.shift']) assert.notDeepEqual(tensor(tuned.start, name), tensor(guess.start, name), name);
  assert.deepEqual((await tuneStart(model, data, options)).start, tuned.start);
});
