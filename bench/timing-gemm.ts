/** A Gemm wrapper that accumulates the time spent in (and the calls to) the wrapped GEMM, per shape. */
import type { Gemm, GemmArgs, PackedB, PackedGemmArgs } from '../src/engine/gemm.js';

export interface ShapeStat {
  key: string;
  /** A plain product, a product against a packed B (op(B) as transB says), or the packing itself. */
  kind: 'gemm' | 'packed' | 'pack';
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

  /** The wrapped GEMM's packed products, when it has them, timed like the others (packing as "pack B"). */
  readonly packB?: Gemm['packB'];
  readonly gemmPacked?: Gemm['gemmPacked'];

  constructor(private readonly inner: Gemm) {
    this.name = inner.name;
    if (inner.packB && inner.gemmPacked) {
      const packB = inner.packB.bind(inner);
      const gemmPacked = inner.gemmPacked.bind(inner);
      this.packB = (transB: boolean, N: number, K: number, B: Float32Array, into?: PackedB): PackedB => {
        const t0 = performance.now();
        const packed = packB(transB, N, K, B, into);
        this.record(`pack B ${transB ? '(T) ' : ''}${K}x${N}`, 'pack', { transA: false, transB, M: 0, N, K }, 0, (performance.now() - t0) / 1000);
        return packed;
      };
      this.gemmPacked = (args: PackedGemmArgs) => {
        const t0 = performance.now();
        gemmPacked(args);
        const { M } = args;
        const { N, K, transB } = args.packed;
        const beta = args.beta ?? 0;
        this.record(`N${transB ? 'T' : 'N'} ${M}x${N}x${K}${beta !== 0 ? ' +C' : ''} packed`, 'packed', { transA: false, transB, M, N, K }, beta, (performance.now() - t0) / 1000);
      };
    }
  }

  gemm(args: GemmArgs): void {
    const t0 = performance.now();
    this.inner.gemm(args);
    const beta = args.beta ?? 0;
    const key = `${args.transA ? 'T' : 'N'}${args.transB ? 'T' : 'N'} ${args.M}x${args.N}x${args.K}${beta !== 0 ? ' +C' : ''}`;
    this.record(key, 'gemm', args, beta, (performance.now() - t0) / 1000);
  }

  private record(key: string, kind: ShapeStat['kind'], shape: { transA: boolean; transB: boolean; M: number; N: number; K: number }, beta: number, dt: number): void {
    const flops = 2 * shape.M * shape.N * shape.K;
    this.seconds += dt;
    this.calls++;
    this.flops += flops;
    let s = this.byShape.get(key);
    if (!s) {
      const { transA, transB, M, N, K } = shape;
      this.byShape.set(key, (s = { key, kind, transA, transB, M, N, K, beta, calls: 0, seconds: 0, flops: 0 }));
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
