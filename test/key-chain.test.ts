/**
 * The key-chain output head (src/models/key-chain.ts) at sampling time: drawFrame against the
 * parallel forward at temperatures other than 1, and bit for bit against a plain draw over masked
 * copies of the weights. Its gradients and masks are checked in models.test.ts, and against PyTorch
 * in models-torch.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Batch } from '../src/engine/batch.js';
import { Rng } from '../src/engine/random.js';
import { ParamList } from '../src/models/common.js';
import { createModel } from '../src/models/index.js';
import { hiddenDegree, KeyChainHead, newChainStepState } from '../src/models/key-chain.js';
import type { KeyChainOrder, ModelConfig, SequenceModel } from '../src/models/model.js';
import { jitter } from './helpers/jitter.js';

const D = 88;

function randomBatch(rng: Rng, B: number, T: number, density: number): Batch {
  const inputs = new Float32Array(B * T * D);
  const targets = new Float32Array(B * T * D);
  for (let i = 0; i < inputs.length; i++) {
    inputs[i] = rng.next() < density ? 1 : 0;
    targets[i] = rng.next() < density ? 1 : 0;
  }
  return { B, T, D, inputs, targets, mask: new Float32Array(B * T).fill(1) };
}

/**
 * Steps the model over the batch in RNN mode and, at each frame, lets drawFrame draw exactly the
 * target's keys (a generator that says "on" at those keys only); returns the largest difference
 * between the probabilities drawFrame used and sigmoid(parallel logit / temperature).
 */
function drawFrameError(model: SequenceModel, batch: Batch, temperature: number): number {
  const { B, T } = batch;
  const logits = model.logits(batch); // conditioned on the target's lower keys, as drawFrame is
  const state = model.initialState(B);
  const probs = new Float64Array(D);
  let maxErr = 0;
  for (let t = 0; t < T; t++) {
    const frames = new Float32Array(B * D);
    for (let b = 0; b < B; b++) frames.set(batch.inputs.subarray((b * T + t) * D, (b * T + t + 1) * D), b * D);
    model.step(state, frames);
    for (let b = 0; b < B; b++) {
      const row = (b * T + t) * D;
      const target = batch.targets.subarray(row, row + D);
      let key = 0;
      const forcing = { next: () => (target[key++] === 1 ? 0 : 1 - 1e-12) } as unknown as Rng;
      const on = model.drawFrame!(state, b, temperature, forcing, probs);
      assert.deepEqual(on, [...target.keys()].filter((d) => target[d] === 1));
      for (let d = 0; d < D; d++) maxErr = Math.max(maxErr, Math.abs(probs[d] - 1 / (1 + Math.exp(-logits[row + d] / temperature))));
    }
  }
  return maxErr;
}

test('key-chain head: drawFrame divides the conditional logits by the temperature', () => {
  const rng = new Rng(45);
  for (const config of [
    { kind: 'rwkv', nLayer: 1, nEmbd: 12, ffn: 16, dropout: 0, keyChain: 20 },
    { kind: 'lstm', layers: 1, hidden: 10, embed: 7, dropout: 0, keyChain: 12 },
  ] as ModelConfig[]) {
    const model = createModel(config, { seed: 7, rwkvInit: 'pytorch' });
    jitter(model, rng, 0.3);
    const batch = randomBatch(rng, 2, 4, 0.25);
    for (const temperature of [0.5, 1, 1.7]) {
      const err = drawFrameError(model, batch, temperature);
      assert.ok(err < 1e-5, `${config.kind}, temperature ${temperature}: drawFrame probabilities differ by ${err}`);
    }
  }
});

/**
 * The draw written out plainly from the MADE masks of the module comment: every weight multiplied by
 * its mask, every sum over all hidden units in ascending order. The head's drawFrame skips the masked
 * terms, so it must give the same bits.
 */
function referenceDraw(
  W: { out: Float32Array; keys: Float32Array; direct: Float32Array }, H: number, order: KeyChainOrder,
  base: Float32Array, context: Float32Array, temperature: number, rng: Rng, probs: Float64Array, fixed?: Int8Array,
): number[] {
  const rank = (d: number) => (order === 'up' ? d : D - 1 - d);
  const out = W.out.map((w, i) => (hiddenDegree(i % H) <= rank(Math.floor(i / H)) ? w : 0));
  const keys = W.keys.map((w, i) => (rank(i % D) < hiddenDegree(Math.floor(i / D)) ? w : 0));
  const direct = W.direct.map((w, i) => (rank(i % D) < rank(Math.floor(i / D)) ? w : 0));
  const a = Float64Array.from(context);
  const z = a.map((v) => (v > 0 ? v : 0));
  const on: number[] = [];
  for (let r = 0; r < D; r++) {
    const d = order === 'up' ? r : D - 1 - r;
    let logit = base[d];
    for (let k = 0; k < H; k++) logit += out[d * H + k] * z[k];
    for (const j of on) logit += direct[d * D + j];
    const p = 1 / (1 + Math.exp(-logit / temperature));
    probs[d] = p;
    const forced = fixed ? fixed[d] : -1;
    if (forced === 1 || (forced < 0 && rng.next() < p)) {
      on.push(d);
      for (let k = 0; k < H; k++) {
        if (keys[k * D + d] !== 0) {
          a[k] += keys[k * D + d];
          z[k] = a[k] > 0 ? a[k] : 0;
        }
      }
    }
  }
  return order === 'up' ? on : on.reverse();
}

test('key-chain head: drawFrame gives the same bits as the plain draw over masked weights', () => {
  const rng = new Rng(3);
  // widths below one block of degrees, across blocks, and the bundled models' 256
  for (const H of [40, 200, 256]) {
    for (const order of ['up', 'down'] as KeyChainOrder[]) {
      const pl = new ParamList();
      const head = new KeyChainHead(pl, 8, H, order);
      const byName = new Map(pl.list.map((p) => [p.name, p.data]));
      // every weight non-zero, the masked ones included: drawFrame must not read them
      for (const p of pl.list) for (let i = 0; i < p.data.length; i++) p.data[i] = 0.4 * rng.normal();
      const W = { out: byName.get('chain.out.weight')!, keys: byName.get('chain.keys.weight')!, direct: byName.get('chain.direct.weight')! };
      const B = 3;
      const state = newChainStepState(B, H);
      for (let i = 0; i < state.base.length; i++) state.base[i] = rng.normal() - 2;
      for (let i = 0; i < state.context.length; i++) state.context[i] = rng.normal();
      const fixed = new Int8Array(D).fill(-1);
      for (let d = 0; d < D; d += 7) fixed[d] = d % 2;
      for (const [temperature, fix] of [[1, undefined], [0.7, fixed]] as const) {
        for (let b = 0; b < B; b++) {
          const seed = 100 * H + b;
          const got = new Float64Array(D);
          const want = new Float64Array(D);
          const on = head.drawFrame(state, b, temperature, new Rng(seed), got, fix);
          const ctx = state.context.subarray(b * H, (b + 1) * H);
          const expected = referenceDraw(W, H, order, state.base.subarray(b * D, (b + 1) * D), ctx, temperature, new Rng(seed), want, fix);
          assert.deepEqual(on, expected, `H ${H}, ${order}, stream ${b}: keys`);
          assert.deepEqual(got, want, `H ${H}, ${order}, stream ${b}: probabilities`);
          assert.ok(on.length > 0 && on.length < D, `H ${H}, ${order}: a frame with some keys on and some off (${on.length})`);
        }
      }
    }
  }
});
