import type { Gemm } from '../engine/gemm.js';
/**
 * Lagged inputs: the embedding of frame t reads [x_t, x_{t-l1}, x_{t-l2}, ...] (zeros before the
 * start of the sequence). RWKV-4 itself only sees one step back through token shift and otherwise
 * an exponentially decaying average, so an exact look one or two bars back (repeats in the music)
 * is hard for it to form; giving the embedding those frames directly is cheap.
 *
 * In RNN mode the last max(lags) frames of every stream are kept in a ring (LagHistory), so a step
 * sees exactly what the parallel forward sees at the same position.
 */

export interface LagHistory {
  /** [B, H, D] ring of earlier frames, H = the longest lag. */
  readonly frames: Float32Array;
  readonly span: number;
  /** Frames seen so far (the ring slot of frame s is s mod H). */
  seen: number;
}

export function newLagHistory(batch: number, lags: readonly number[], D: number): LagHistory {
  const span = lags.length > 0 ? lags[lags.length - 1] : 0;
  return { frames: new Float32Array(batch * span * D), span, seen: 0 };
}

/**
 * out [B*T, D*(1+lags.length)] from inputs [B,T,D] (rows W apart when wider, e.g. to leave room for
 * conditioning columns after them). Frames before the first are taken from `history` (RNN mode)
 * where it has them, else zeros; the history is then advanced by T frames.
 */
export function expandLaggedInputs(
  out: Float32Array, inputs: Float32Array, B: number, T: number, D: number,
  lags: readonly number[], history: LagHistory | null, W = (1 + lags.length) * D,
): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * W;
      out.set(inputs.subarray((b * T + t) * D, (b * T + t + 1) * D), row);
      for (let j = 0; j < lags.length; j++) {
        const dst = row + (j + 1) * D;
        const src = t - lags[j];
        if (src >= 0) out.set(inputs.subarray((b * T + src) * D, (b * T + src + 1) * D), dst);
        else if (history && history.seen + src >= 0) {
          const slot = (history.seen + src) % history.span;
          const at = (b * history.span + slot) * D;
          out.set(history.frames.subarray(at, at + D), dst);
        } else out.fill(0, dst, dst + D);
      }
    }
  }
  if (history && history.span > 0) {
    for (let t = Math.max(0, T - history.span); t < T; t++) {
      const slot = (history.seen + t) % history.span;
      for (let b = 0; b < B; b++) {
        history.frames.set(inputs.subarray((b * T + t) * D, (b * T + t + 1) * D), (b * history.span + slot) * D);
      }
    }
    history.seen += T;
  }
}

/**
 * Backward of expandLaggedInputs into the history it read from, for one stream b: dRows [M, D*(1+lags)]
 * is the gradient of that stream's first M lagged input rows, and the parts that came from `history`
 * (as it was before the forward) are added into grad [B, span, D] (the history's ring layout).
 */
export function lagHistoryBackward(
  grad: Float32Array, dRows: Float32Array, b: number, M: number, D: number, lags: readonly number[], history: LagHistory,
  W = (1 + lags.length) * D,
): void {
  const { span, seen } = history;
  for (let t = 0; t < M; t++) {
    for (let j = 0; j < lags.length; j++) {
      const src = t - lags[j];
      if (src >= 0 || seen + src < 0) continue;
      const at = (b * span + ((seen + src) % span)) * D;
      const from = t * W + (j + 1) * D;
      for (let d = 0; d < D; d++) grad[at + d] += dRows[from + d];
    }
  }
}

/**
 * The start history's gradient from d(embedding output) dOut [B,T,C] of a Linear embedding with weight
 * [C, width]: only the first min(T, span) rows of each stream read the history. grad is assigned.
 */
export function embeddingLagHistoryBackward(
  gemm: Gemm, dOut: Float32Array, weight: Float32Array, width: number, C: number, B: number, T: number,
  D: number, lags: readonly number[], history: LagHistory, grad: LagHistory,
): void {
  const M = Math.min(T, history.span);
  const rows = new Float32Array(M * width);
  grad.frames.fill(0);
  for (let b = 0; b < B; b++) {
    gemm.gemm({ transA: false, transB: false, M, N: width, K: C, A: dOut, aOffset: b * T * C, B: weight, C: rows, beta: 0 });
    lagHistoryBackward(grad.frames, rows, b, M, D, lags, history, width);
  }
}

export function cloneLagHistory(h: LagHistory): LagHistory {
  return { frames: h.frames.slice(), span: h.span, seen: h.seen };
}
