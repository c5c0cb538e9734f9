/**
 * Bernoulli negative log-likelihood with logits, summed over the D keys of every scored frame:
 *   nll = sum_{n,d} mask[n] * (softplus(z) - y z),  softplus(z) = max(z,0) + log1p(e^{-|z|})
 *   dz  = scale * mask[n] * (sigmoid(z) - y)
 * logits, targets, dlogits: [N,D]; mask: [N].
 */

/** Returns the summed NLL (in double precision). */
export function bceLoss(logits: Float32Array, targets: Float32Array, mask: Float32Array, N: number, D: number): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const m = mask[n];
    if (m === 0) continue;
    const row = n * D;
    let s = 0;
    for (let d = 0; d < D; d++) {
      const z = logits[row + d];
      s += (z > 0 ? z : 0) + Math.log1p(Math.exp(-Math.abs(z))) - targets[row + d] * z;
    }
    total += m * s;
  }
  return total;
}

/** Loss and gradient in one pass: dlogits = scale * d(loss)/d(logits) (assigned). Returns the loss. */
export function bceLossBackward(
  dlogits: Float32Array, logits: Float32Array, targets: Float32Array, mask: Float32Array,
  N: number, D: number, scale: number,
): number {
  let total = 0;
  for (let n = 0; n < N; n++) {
    const m = mask[n];
    const row = n * D;
    if (m === 0) {
      dlogits.fill(0, row, row + D);
      continue;
    }
    const sm = scale * m;
    let s = 0;
    for (let d = 0; d < D; d++) {
      const z = logits[row + d];
      const y = targets[row + d];
      const e = Math.exp(-Math.abs(z));
      s += (z > 0 ? z : 0) + Math.log1p(e) - y * z;
      // sigmoid(z) from e = exp(-|z|), stable for both signs
      const sig = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      dlogits[row + d] = sm * (sig - y);
    }
    total += m * s;
  }
  return total;
}

/** Number of scored frames (sum of the mask). */
export function maskSum(mask: Float32Array, N: number): number {
  let s = 0;
  for (let n = 0; n < N; n++) s += mask[n];
  return s;
}
