/**
 * A stand-in sequence model for exercising the benchmark harness without the real models: a per-frame
 * MLP (Linear 88->C, tanh, Linear C->C, tanh, Linear C->88) with BCE-with-logits, forward and backward
 * through the Gemm interface. Not a music model; only its GEMM-bound cost profile matters here.
 */
import type { Batch } from '../src/engine/batch.js';
import type { Gemm } from '../src/engine/gemm.js';
import type { Rng } from '../src/engine/random.js';
import { makeParam, type Param } from '../src/engine/tensor.js';
import type { LossSum, ModelConfig, RecurrentState, SequenceModel } from '../src/models/model.js';

export class StandInModel implements SequenceModel {
  readonly inputSize = 88;
  private readonly w: Param[];
  private readonly b: Param[];
  private readonly dims: number[];

  constructor(readonly config: ModelConfig, width: number, private readonly gemm: Gemm, rng: Rng) {
    this.dims = [88, width, width, 88];
    this.w = [];
    this.b = [];
    for (let l = 0; l < 3; l++) {
      const [i, o] = [this.dims[l], this.dims[l + 1]];
      const w = makeParam(`layers.${l}.weight`, [o, i], true);
      const bound = 1 / Math.sqrt(i);
      for (let k = 0; k < w.data.length; k++) w.data[k] = (rng.next() * 2 - 1) * bound;
      this.w.push(w);
      this.b.push(makeParam(`layers.${l}.bias`, [o], false));
    }
  }

  parameters(): Param[] {
    return [...this.w, ...this.b];
  }

  private forward(x: Float32Array, rows: number): Float32Array[] {
    const acts = [x];
    for (let l = 0; l < 3; l++) {
      const [i, o] = [this.dims[l], this.dims[l + 1]];
      const y = new Float32Array(rows * o);
      const bias = this.b[l].data;
      for (let r = 0; r < rows; r++) y.set(bias, r * o);
      this.gemm.gemm({ transA: false, transB: true, M: rows, N: o, K: i, A: acts[l], B: this.w[l].data, C: y, beta: 1 });
      if (l < 2) for (let k = 0; k < y.length; k++) y[k] = Math.tanh(y[k]);
      acts.push(y);
    }
    return acts;
  }

  private loss(batch: Batch, logits: Float32Array, dlogits?: Float32Array, scale = 1): LossSum {
    const { B, T, D, targets, mask } = batch;
    let nll = 0;
    let frames = 0;
    for (let r = 0; r < B * T; r++) {
      const m = mask[r];
      if (m === 0) continue;
      frames++;
      for (let d = 0; d < D; d++) {
        const z = logits[r * D + d];
        const y = targets[r * D + d];
        nll += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
        if (dlogits) dlogits[r * D + d] = scale * (1 / (1 + Math.exp(-z)) - y);
      }
    }
    return { nllSum: nll, frames };
  }

  trainStep(batch: Batch, lossScale: number): LossSum {
    const rows = batch.B * batch.T;
    const acts = this.forward(batch.inputs, rows);
    let dy: Float32Array = new Float32Array(rows * 88);
    const out = this.loss(batch, acts[3], dy, lossScale);
    for (let l = 2; l >= 0; l--) {
      const [i, o] = [this.dims[l], this.dims[l + 1]];
      if (l < 2) for (let k = 0; k < dy.length; k++) dy[k] *= 1 - acts[l + 1][k] * acts[l + 1][k];
      this.gemm.gemm({ transA: true, transB: false, M: o, N: i, K: rows, A: dy, B: acts[l], C: this.w[l].grad, beta: 1 });
      const gb = this.b[l].grad;
      for (let r = 0; r < rows; r++) for (let k = 0; k < o; k++) gb[k] += dy[r * o + k];
      if (l > 0) {
        const dx = new Float32Array(rows * i);
        this.gemm.gemm({ transA: false, transB: false, M: rows, N: i, K: o, A: dy, B: this.w[l].data, C: dx });
        dy = dx;
      }
    }
    return out;
  }

  evaluate(batch: Batch): LossSum {
    return this.loss(batch, this.logits(batch));
  }

  logits(batch: Batch): Float32Array {
    return this.forward(batch.inputs, batch.B * batch.T)[3];
  }

  initialState(batch: number): RecurrentState {
    return { batch };
  }

  step(state: RecurrentState, frames: Float32Array): Float32Array {
    return this.forward(frames, state.batch)[3];
  }
}
