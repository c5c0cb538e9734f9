/**
 * General matrix multiply, row-major, the one interface every layer uses:
 *   C[M,N] = alpha * op(A) @ op(B) + beta * C
 * op(A) is A[M,K] (transA false) or A[K,M] transposed (transA true); op(B) is B[K,N] or B[N,K] transposed.
 * Offsets let layers address sub-matrices of larger buffers without copying.
 * With `epilogue`, each element of C is then transformed (see Epilogue).
 */
import { reluSquare, reluSquareGrad } from './layers/elementwise.js';

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
  epilogue?: Epilogue;
}

/**
 * What becomes of each element of C once its sum is complete: ChannelMix's activation relu(x)^2, or
 * its backward given the activation's output (`squares`, [M,N] laid out as C from `squaresOffset`):
 *   reluSquare       C = max(C, 0)^2
 *   reluSquareGrad   C = C * 2 sqrt(squares)     (sqrt(relu(x)^2) is relu(x), unless the square underflowed)
 * The native blocked GEMM applies it to each tile as it stores it; every other backend after the
 * product, with applyEpilogue. Both give the same bits (native/activation.h has the same formulas).
 */
export type Epilogue = { kind: 'reluSquare' } | { kind: 'reluSquareGrad'; squares: Float32Array; squaresOffset?: number };

/** Applies args.epilogue, if any, to C (the product is already in it). */
export function applyEpilogue(args: GemmArgs): void {
  const e = args.epilogue;
  if (!e) return;
  const c0 = args.cOffset ?? 0;
  const n = args.M * args.N;
  if (e.kind === 'reluSquare') reluSquare(args.C, c0, n);
  else reluSquareGrad(args.C, c0, e.squares, e.squaresOffset ?? 0, n);
}

/** op(B) laid out once (Gemm.packB) for many products against it. */
export interface PackedB {
  /** How B was stored: op(B) = B^T ([N,K]) or B ([K,N]). */
  readonly transB: boolean;
  readonly N: number;
  readonly K: number;
  readonly data: Float32Array;
}

/** C[M,N] = alpha * A[M,K] @ op(B) + beta * C, op(B) packed. */
export interface PackedGemmArgs {
  M: number;
  alpha?: number;
  A: Float32Array;
  aOffset?: number;
  packed: PackedB;
  beta?: number;
  C: Float32Array;
  cOffset?: number;
}

export interface Gemm {
  readonly name: string;
  gemm(args: GemmArgs): void;
  /**
   * Optional, for many products of few rows against one B (the LSTM's recurrent weight, once per time
   * step): lays op(B) out once, into `into` when its buffer is the size needed, so that no product re-reads B in
   * its stored order. Backends without it take every product through gemm().
   */
  packB?(transB: boolean, N: number, K: number, B: Float32Array, into?: PackedB): PackedB;
  gemmPacked?(args: PackedGemmArgs): void;
}

/**
 * Fewest rows for packed products. From 4 rows up they ran 1.6-3.3x as fast as ORT (bench/gemm-speed.js
 * --packed, 1 and 2 threads), and from 3 rows faster than the native rows GEMM, which keeps 1 and 2
 * (the bundled LSTM's batch of 4: 4 x 512 x 128 in 8.5 us against 17; docs/decisions.md §16).
 */
export const PACKED_MIN_ROWS = 3;

/** C[cOffset..] (M x N) = A[aOffset..] (M x K) @ op(B) + beta * C, for one fixed op(B). */
export type ProductWith = (M: number, A: Float32Array, aOffset: number, C: Float32Array, cOffset: number, beta: number) => void;

/**
 * `count` products of `rows` rows each against one B, for as long as B does not change: packed once
 * where the backend can and there is enough work to repay it, through gemm() otherwise.
 * `scratch.packed` keeps the packed buffer between calls, so that packing again allocates nothing.
 */
export function productsWith(
  gemm: Gemm, transB: boolean, N: number, K: number, B: Float32Array, uses: { rows: number; count: number },
  scratch: { packed?: PackedB },
): ProductWith {
  if (gemm.packB && gemm.gemmPacked && uses.rows >= PACKED_MIN_ROWS && uses.count > 1) {
    const packed = gemm.packB(transB, N, K, B, scratch.packed);
    scratch.packed = packed;
    const run = gemm.gemmPacked.bind(gemm);
    return (M, A, aOffset, C, cOffset, beta) => run({ M, A, aOffset, packed, C, cOffset, beta });
  }
  return (M, A, aOffset, C, cOffset, beta) => gemm.gemm({ transA: false, transB, M, N, K, A, aOffset, B, C, cOffset, beta });
}
