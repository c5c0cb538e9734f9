/** A Gemm wrapper that accumulates the time spent in (and the calls to) the wrapped GEMM, per shape. */
import type { Gemm, GemmArgs } from '../src/engine/gemm.js';

export interface ShapeStat {
  key: string;
  /** The call's shape and flags (operands are not kept). */
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  beta: number;
  calls: number;
  seconds: number;
  flops: number;
}

export class TimingGemm implements Gemm {
  readonly name: string;
  seconds = 0;
  calls = 0;
  flops = 0;
  private readonly byShape = new Map<string, ShapeStat>();

  constructor(private readonly inner: Gemm) {
    this.name = inner.name;
  }

  gemm(args: GemmArgs): void {
    const t0 = performance.now();
    this.inner.gemm(args);
    const dt = (performance.now() - t0) / 1000;
    const flops = 2 * args.M * args.N * args.K;
    this.seconds += dt;
    this.calls++;
    this.flops += flops;
    const beta = args.beta ?? 0;
    const key = `${args.transA ? 'T' : 'N'}${args.transB ? 'T' : 'N'} ${args.M}x${args.N}x${args.K}${beta !== 0 ? ' +C' : ''}`;
    let s = this.byShape.get(key);
    if (!s) {
      const { transA, transB, M, N, K } = args;
      this.byShape.set(key, (s = { key, transA, transB, M, N, K, beta, calls: 0, seconds: 0, flops: 0 }));
    }
    s.calls++;
    s.seconds += dt;
    s.flops += flops;
  }

  reset(): void {
    this.seconds = 0;
    this.calls = 0;
    this.flops = 0;
    this.byShape.clear();
  }

  shapes(): ShapeStat[] {
    return [...this.byShape.values()].sort((a, b) => b.seconds - a.seconds);
  }
}
