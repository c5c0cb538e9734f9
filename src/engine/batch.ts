/**
 * A training/evaluation batch of B sequences of T steps over D features (D = 88 keys for music).
 * Row-major: element (b, t, d) is at (b * T + t) * D + d.
 * targets[b, t] is the frame the model must predict after reading inputs[b, 0..t];
 * mask[b, t] is 1 where that prediction is scored (inside the sequence), 0 on padding.
 * Padding is always at the end of a row, never at the front.
 * A model with conditioning inputs also reads condition[b, t] (its config's columns: a start-of-piece
 * flag, the piece's key), and trains on trainMask where it differs from mask (the first frame of a
 * piece is predicted from the start step and trained, but not scored by the benchmark metric).
 */
export interface Batch {
  B: number;
  T: number;
  D: number;
  inputs: Float32Array;
  targets: Float32Array;
  mask: Float32Array;
  /** [B, T, width] conditioning columns, for models whose config has them. */
  condition?: Float32Array;
  /** [B, T] positions trained on, when not the same as mask. */
  trainMask?: Float32Array;
}
