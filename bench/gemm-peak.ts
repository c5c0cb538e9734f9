/**
 * The GEMM's own best rate at the shapes a training step used, measured in the same process right
 * after the step: each shape runs alone on fresh operands until at least `minSeconds` have passed, and
 * its fastest call counts. The step's products would take sum(calls x fastest call) at that rate;
 * dividing the step's GEMM work by it gives the peak the step can be held against.
 */
import type { Gemm } from '../src/engine/gemm.js';
import { Rng } from '../src/engine/random.js';
import type { ShapeStat } from './timing-gemm.js';

export interface GemmPeak {
  /** Seconds the step's products would take if each ran at its shape's fastest measured call. */
  seconds: number;
  /** The step's GEMM FLOPs over `seconds`. */
  flopsPerSecond: number;
}

function randomMatrix(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.next() - 0.5;
  return a;
}

/** Fastest single call of one shape, in seconds. */
function fastestCall(gemm: Gemm, s: ShapeStat, minSeconds: number, rng: Rng): number {
  const A = randomMatrix(s.M * s.K, rng);
  const B = randomMatrix(s.K * s.N, rng);
  const C = randomMatrix(s.M * s.N, rng);
  const args = { transA: s.transA, transB: s.transB, M: s.M, N: s.N, K: s.K, A, B, C, beta: s.beta };
  // A GEMM without pre-packed operands (MLAS alone) runs a packed product as the plain one it stands for.
  const packed = s.kind === 'packed' && gemm.packB ? gemm.packB(s.transB, s.N, s.K, B) : undefined;
  const call = packed ? () => gemm.gemmPacked!({ M: s.M, A, packed, C, beta: s.beta }) : () => gemm.gemm(args);
  call(); // first touch of the operands and of the backend's session for these flags
  let best = Infinity;
  const start = performance.now();
  for (let n = 0; n < 3 || performance.now() - start < minSeconds * 1000; n++) {
    const t0 = performance.now();
    call();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

export function measureGemmPeak(gemm: Gemm, shapes: readonly ShapeStat[], minSeconds = 0.05): GemmPeak {
  const rng = new Rng(11);
  let seconds = 0;
  let flops = 0;
  for (const s of shapes) {
    if (s.kind === 'pack') continue; // no arithmetic: its time counts against the step, not the peak
    seconds += s.calls * fastestCall(gemm, s, minSeconds, rng);
    flops += s.flops;
  }
  return { seconds, flopsPerSecond: flops / seconds };
}
