import type { Gemm, GemmArgs } from './gemm.js';

/** Portable GEMM in TypeScript: the browser's implementation and the reference in tests. */
export const tsGemm: Gemm = {
  name: 'typescript',
  gemm(args: GemmArgs): void {
    const { transA, transB, M, N, K, A, B, C } = args;
    const alpha = args.alpha ?? 1;
    const beta = args.beta ?? 0;
    const ao = args.aOffset ?? 0;
    const bo = args.bOffset ?? 0;
    const co = args.cOffset ?? 0;
    for (let i = 0; i < M; i++) {
      const crow = co + i * N;
      if (beta === 0) C.fill(0, crow, crow + N);
      else if (beta !== 1) for (let j = 0; j < N; j++) C[crow + j] *= beta;
    }
    for (let i = 0; i < M; i++) {
      const crow = co + i * N;
      for (let p = 0; p < K; p++) {
        const a = alpha * (transA ? A[ao + p * M + i] : A[ao + i * K + p]);
        if (a === 0) continue;
        if (transB) {
          for (let j = 0; j < N; j++) C[crow + j] += a * B[bo + j * K + p];
        } else {
          const brow = bo + p * N;
          for (let j = 0; j < N; j++) C[crow + j] += a * B[brow + j];
        }
      }
    }
  },
};
