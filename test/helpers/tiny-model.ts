/**
 * A small stand-in SequenceModel for fast tests of the training code: per-key logistic regression
 * on the previous frame, logits_t = W x_t + b, with optional input dropout drawn from the step's rng
 * (so resume tests also exercise the saved random state).
 */
import type { Batch } from '../../src/engine/batch.js';
import type { Param } from '../../src/engine/tensor.js';
import { makeParam } from '../../src/engine/tensor.js';
import type { Rng } from '../../src/engine/random.js';
import type { LossSum, ModelConfig, RecurrentState, SequenceModel } from '../../src/models/model.js';

export const TINY_CONFIG = { kind: 'lstm', layers: 1, hidden: 1, embed: 1, dropout: 0.1 } as const satisfies ModelConfig;

/** softplus(z) - y z: the Bernoulli NLL of target y under logit z, computed stably. */
function bernoulliNll(z: number, y: number): number {
  return Math.max(z, 0) - y * z + Math.log1p(Math.exp(-Math.abs(z)));
}

export class TinyModel implements SequenceModel {
  readonly inputSize = 88;
  readonly w: Param;
  readonly b: Param;
  get outputBias(): Param {
    return this.b;
  }

  constructor(
    readonly config: ModelConfig,
    seed: number,
    readonly dropout = 0.1,
  ) {
    const D = this.inputSize;
    this.w = makeParam('head.weight', [D, D], true);
    this.b = makeParam('head.bias', [D], false);
    // Small deterministic initial weights from the seed (a simple LCG is enough here).
    let s = seed >>> 0 || 1;
    for (let i = 0; i < this.w.data.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      this.w.data[i] = (s / 4294967296 - 0.5) * 0.1;
    }
    this.b.data.fill(-2);
  }

  parameters(): Param[] {
    return [this.w, this.b];
  }

  private forwardRow(x: Float32Array, xo: number, out: Float64Array): void {
    const D = this.inputSize;
    const W = this.w.data;
    for (let k = 0; k < D; k++) {
      let z = this.b.data[k];
      for (let j = 0; j < D; j++) if (x[xo + j] !== 0) z += W[k * D + j] * x[xo + j];
      out[k] = z;
    }
  }

  private run(batch: Batch, lossScale: number, rng: Rng | null): LossSum {
    const D = this.inputSize;
    const z = new Float64Array(D);
    const x = new Float32Array(D);
    let nllSum = 0;
    let frames = 0;
    for (let r = 0; r < batch.B * batch.T; r++) {
      if (batch.mask[r] === 0) continue;
      for (let j = 0; j < D; j++) {
        let v = batch.inputs[r * D + j];
        if (rng && this.dropout > 0) v = rng.next() < this.dropout ? 0 : v / (1 - this.dropout);
        x[j] = v;
      }
      this.forwardRow(x, 0, z);
      frames++;
      for (let k = 0; k < D; k++) {
        const y = batch.targets[r * D + k];
        nllSum += bernoulliNll(z[k], y);
        if (rng) {
          const g = (1 / (1 + Math.exp(-z[k])) - y) * lossScale;
          this.b.grad[k] += g;
          for (let j = 0; j < D; j++) if (x[j] !== 0) this.w.grad[k * D + j] += g * x[j];
        }
      }
    }
    return { nllSum, frames };
  }

  trainStep(batch: Batch, lossScale: number, rng: Rng): LossSum {
    return this.run(batch, lossScale, rng);
  }

  evaluate(batch: Batch): LossSum {
    return this.run(batch, 0, null);
  }

  logits(batch: Batch): Float32Array {
    const D = this.inputSize;
    const out = new Float32Array(batch.B * batch.T * D);
    const z = new Float64Array(D);
    for (let r = 0; r < batch.B * batch.T; r++) {
      this.forwardRow(batch.inputs, r * D, z);
      for (let k = 0; k < D; k++) out[r * D + k] = z[k];
    }
    return out;
  }

  initialState(batch: number): RecurrentState {
    return { batch };
  }

  step(state: RecurrentState, frames: Float32Array): Float32Array {
    const D = this.inputSize;
    const out = new Float32Array(state.batch * D);
    const z = new Float64Array(D);
    for (let b = 0; b < state.batch; b++) {
      this.forwardRow(frames, b * D, z);
      for (let k = 0; k < D; k++) out[b * D + k] = z[k];
    }
    return out;
  }
}
