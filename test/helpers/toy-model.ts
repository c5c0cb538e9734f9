import type { Batch } from '../../src/engine/batch.js';
import type { Param } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import type { LossSum, ModelConfig, RecurrentState, SequenceModel } from '../../src/models/model.js';

const D = 88;

interface ToyState extends RecurrentState {
  h: Float64Array;
}

/**
 * A small recurrent stand-in for a trained model: h_t = tanh(W h_{t-1} + U x_t + c), logits_t = V h_t + b.
 * Its output depends on the whole history through h, so a sampler that drops the state gives different logits.
 */
export class ToyRecurrentModel implements SequenceModel {
  readonly config: ModelConfig = { kind: 'lstm', layers: 1, hidden: 16, embed: 16, dropout: 0 };
  readonly inputSize = D;
  private readonly H: number;
  private readonly W: Float64Array;
  private readonly U: Float64Array;
  private readonly V: Float64Array;
  private readonly c: Float64Array;
  private readonly b: Float64Array;

  constructor(seed: number, hidden = 16, bias = -2) {
    const rng = new Rng(seed);
    this.H = hidden;
    const init = (n: number, scale: number) => Float64Array.from({ length: n }, () => rng.normal() * scale);
    this.W = init(hidden * hidden, 1.2 / Math.sqrt(hidden));
    this.U = init(hidden * D, 0.5);
    this.V = init(D * hidden, 1.5);
    this.c = init(hidden, 0.5);
    this.b = Float64Array.from({ length: D }, () => bias + rng.normal());
  }

  parameters(): Param[] {
    return [];
  }

  trainStep(): LossSum {
    throw new Error('the toy model does not train');
  }

  initialState(batch: number): ToyState {
    return { batch, h: new Float64Array(batch * this.H) };
  }

  /** One step for one stream: updates h (length H) in place, writes logits into out at offset. */
  private advance(h: Float64Array, hOff: number, x: ArrayLike<number>, xOff: number, out: Float32Array, outOff: number): void {
    const H = this.H;
    const next = new Float64Array(H);
    for (let i = 0; i < H; i++) {
      let s = this.c[i];
      for (let j = 0; j < H; j++) s += this.W[i * H + j] * h[hOff + j];
      for (let k = 0; k < D; k++) if (x[xOff + k] !== 0) s += this.U[i * D + k] * x[xOff + k];
      next[i] = Math.tanh(s);
    }
    h.set(next, hOff);
    for (let k = 0; k < D; k++) {
      let s = this.b[k];
      for (let j = 0; j < H; j++) s += this.V[k * H + j] * next[j];
      out[outOff + k] = s;
    }
  }

  step(state: RecurrentState, frames: Float32Array): Float32Array {
    const st = state as ToyState;
    const out = new Float32Array(st.batch * D);
    for (let b = 0; b < st.batch; b++) this.advance(st.h, b * this.H, frames, b * D, out, b * D);
    return out;
  }

  logits(batch: Batch): Float32Array {
    const out = new Float32Array(batch.B * batch.T * D);
    for (let b = 0; b < batch.B; b++) {
      const h = new Float64Array(this.H);
      for (let t = 0; t < batch.T; t++) this.advance(h, 0, batch.inputs, (b * batch.T + t) * D, out, (b * batch.T + t) * D);
    }
    return out;
  }

  evaluate(batch: Batch): LossSum {
    const z = this.logits(batch);
    let nllSum = 0;
    let frames = 0;
    for (let i = 0; i < batch.B * batch.T; i++) {
      if (batch.mask[i] === 0) continue;
      frames++;
      for (let k = 0; k < D; k++) {
        const l = z[i * D + k];
        const y = batch.targets[i * D + k];
        nllSum += Math.max(l, 0) - l * y + Math.log1p(Math.exp(-Math.abs(l)));
      }
    }
    return { nllSum, frames };
  }
}
