/** The inputs of one WKV test case: keys and values [B, T, C], per-channel decay and first-step bonus. */
export interface WkvCase {
  B: number;
  T: number;
  C: number;
  k: Float32Array;
  v: Float32Array;
  td: Float32Array;
  tf: Float32Array;
}
