/**
 * General matrix multiply, row-major, the one interface every layer uses:
 *   C[M,N] = alpha * op(A) @ op(B) + beta * C
 * op(A) is A[M,K] (transA false) or A[K,M] transposed (transA true); op(B) is B[K,N] or B[N,K] transposed.
 * Offsets let layers address sub-matrices of larger buffers without copying.
 */
export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha?: number;
  A: Float32Array;
  aOffset?: number;
  B: Float32Array;
  bOffset?: number;
  beta?: number;
  C: Float32Array;
  cOffset?: number;
}

export interface Gemm {
  readonly name: string;
  gemm(args: GemmArgs): void;
}
