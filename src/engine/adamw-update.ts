/** The elementwise part of an AdamW step, per parameter array (the optimizer itself is src/train/optimizer.ts). */

/** Per-step constants shared by every parameter. */
export interface AdamWStep {
  beta1: number;
  beta2: number;
  eps: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** 1 / sqrt(1 - beta2^t) */
  invSqrtBc2: number;
}

/**
 * m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2,
 * w = w * shrink - stepSize m / (sqrt(v) invSqrtBc2 + eps)    (shrink = 1 - lr * weightDecay, or 1)
 */
export function adamwUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, shrink: number, s: AdamWStep): void {
  const { beta1, beta2, eps, stepSize, invSqrtBc2 } = s;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const mi = (m[i] = beta1 * m[i] + (1 - beta1) * gi);
    const vi = (v[i] = beta2 * v[i] + (1 - beta2) * gi * gi);
    w[i] = w[i] * shrink - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
  }
}
