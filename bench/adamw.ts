/**
 * AdamW with global-norm clipping for the training-speed benchmark, the same update as PyTorch's
 * torch.optim.AdamW after clip_grad_norm_ (what bench/torch_reference.py times).
 */
import type { Param } from '../src/engine/tensor.js';

export class BenchAdamW {
  private t = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(
    private readonly params: readonly Param[],
    private readonly lr = 6e-4,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.99,
    private readonly eps = 1e-8,
    private readonly weightDecay = 0.01,
    private readonly clip = 1.0,
  ) {
    this.m = params.map((p) => new Float32Array(p.data.length));
    this.v = params.map((p) => new Float32Array(p.data.length));
  }

  step(): void {
    let sq = 0;
    for (const p of this.params) {
      const g = p.grad;
      for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    }
    const norm = Math.sqrt(sq);
    const scale = norm > this.clip ? this.clip / (norm + 1e-6) : 1;
    const t = ++this.t;
    const stepSize = this.lr / (1 - this.beta1 ** t);
    const invSqrtBc2 = 1 / Math.sqrt(1 - this.beta2 ** t);
    const { beta1, beta2, eps } = this;
    this.params.forEach((p, k) => {
      const m = this.m[k];
      const v = this.v[k];
      const w = p.data;
      const g = p.grad;
      const shrink = p.decay ? 1 - this.lr * this.weightDecay : 1;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] * scale;
        const mi = (m[i] = beta1 * m[i] + (1 - beta1) * gi);
        const vi = (v[i] = beta2 * v[i] + (1 - beta2) * gi * gi);
        w[i] = w[i] * shrink - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
      }
    });
  }
}
