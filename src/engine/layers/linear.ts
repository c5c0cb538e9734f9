/**
 * Linear layer, PyTorch layout: W is [O, I] (out, in), optional bias [O].
 * All products go through the Gemm interface over all N = B*T rows at once.
 */
import type { Epilogue, Gemm } from '../gemm.js';

/**
 * out[N,O] = inp[N,I] @ W[O,I]^T + bias[O], then the epilogue if any (an activation fused into the product).
 * Rows may start at offsets (for time slices of larger buffers).
 */
export function linearForward(
  gemm: Gemm, out: Float32Array, inp: Float32Array, W: Float32Array, bias: Float32Array | null,
  N: number, I: number, O: number, outOffset = 0, inpOffset = 0, epilogue?: Epilogue,
): void {
  if (bias) {
    for (let n = 0; n < N; n++) out.set(bias, outOffset + n * O);
  }
  gemm.gemm({
    transA: false, transB: true, M: N, N: O, K: I, A: inp, aOffset: inpOffset, B: W, C: out, cOffset: outOffset,
    beta: bias ? 1 : 0, epilogue,
  });
}

/**
 * Given dout[N,O]:
 *   dW[O,I]   += dout^T @ inp
 *   dbias[O]  += sum over rows of dout
 *   dinp[N,I] = dout @ W   (or += when accumulate is true; skipped when dinp is null)
 * `sums` computes the bias gradient's column sums (the kernels' columnSums).
 */
export function linearBackward(
  gemm: Gemm, dinp: Float32Array | null, accumulate: boolean, dW: Float32Array, dbias: Float32Array | null,
  dout: Float32Array, inp: Float32Array, W: Float32Array, N: number, I: number, O: number,
  sums: typeof columnSums = columnSums,
): void {
  gemm.gemm({ transA: true, transB: false, M: O, N: I, K: N, A: dout, B: inp, C: dW, beta: 1 });
  if (dbias) addColumnSums(dbias, dout, N, O, sums);
  if (dinp) linearInputGradient(gemm, dinp, accumulate, dout, W, N, I, O);
}

/**
 * dinp[N,I] = dout[N,O] @ W[O,I] (or += with accumulate), then the epilogue if any (the backward of the
 * activation that produced the layer's input, fused into the product).
 */
export function linearInputGradient(
  gemm: Gemm, dinp: Float32Array, accumulate: boolean, dout: Float32Array, W: Float32Array, N: number, I: number,
  O: number, epilogue?: Epilogue,
): void {
  gemm.gemm({ transA: false, transB: false, M: N, N: I, K: O, A: dout, B: W, C: dinp, beta: accumulate ? 1 : 0, epilogue });
}

/** sums[O] = column sums of x[N, O] (assigned), in double precision. */
export function columnSums(sums: Float64Array, x: Float32Array, N: number, O: number): void {
  sums.fill(0, 0, O);
  for (let n = 0; n < N; n++) {
    const row = n * O;
    for (let o = 0; o < O; o++) sums[o] += x[row + o];
  }
}

/** acc[O] += sum_n x[n, O], accumulated in double precision (by `sums`: the kernels' columnSums). */
export function addColumnSums(acc: Float32Array, x: Float32Array, N: number, O: number, sums: typeof columnSums = columnSums): void {
  const sum = new Float64Array(O);
  sums(sum, x, N, O);
  for (let o = 0; o < O; o++) acc[o] += sum[o];
}
