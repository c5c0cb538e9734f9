/**
 * GEMM throughput: the TypeScript GEMM and the ONNX Runtime (MLAS) GEMM at the layer shapes of the two
 * reference configurations, and ORT against size (to place the TypeScript fallback threshold).
 *
 *   node dist/bench/gemm-speed.js [--threads n] [--spin] [--no-ts] [--sweep-only] [--layers-only] [--beta] [--rows] [--blocked] [--packed] [--reps n]
 *
 * --blocked adds, at the layer shapes, the native addon's blocked GEMM (on the addon's pool, --threads
 * threads) beside ORT, with the product each shape would use in training (useBlockedGemm).
 *
 * --packed (and nothing else) compares, for the LSTM's recurrent products (few rows against one weight, once per time step),
 * ORT and the blocked GEMM with the blocked GEMM's products against a B packed once (Gemm.packB), and
 * prints what one packing costs.
 *
 * --rows compares, for products of 1 to 16 rows, ORT with the native addon's rows GEMM (on the calling
 * thread) and the TypeScript GEMM.
 *
 * --beta compares the ways of accumulating into C on ORT: beta = 1 in the Gemm (C as input and output)
 * against computing into scratch and adding in JavaScript.
 *
 * GFLOP/s = 2*M*N*K / time; each figure is the median of --reps timed runs (default 5), each run long
 * enough (>= 0.1 s, at least one call) to be above timer noise.
 */
import { availableParallelism, loadavg } from 'node:os';
import type { Gemm } from '../src/engine/gemm.js';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { createOrtGemm } from '../src/engine/gemm-ort.js';
import { loadNativeBlockedGemm, loadNativeKernels, loadNativeRowsGemm } from '../src/engine/kernels-native.js';
import { useBlockedGemm } from '../src/engine/gemm-default.js';
import { Rng } from '../src/engine/random.js';

interface Shape {
  label: string;
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const has = (name: string) => process.argv.includes(name);

const threads = Number(arg('--threads') ?? availableParallelism());
const reps = Number(arg('--reps') ?? 5);
const spin = has('--spin');

/** Linear y[R, out] = x[R, in] W[out, in]^T and its two gradients, PyTorch's weight layout. */
function linear(label: string, rows: number, inF: number, outF: number, withDx = true): Shape[] {
  const s: Shape[] = [{ label: `${label} fwd`, transA: false, transB: true, M: rows, N: outF, K: inF }];
  if (withDx) s.push({ label: `${label} dx`, transA: false, transB: false, M: rows, N: inF, K: outF });
  s.push({ label: `${label} dW`, transA: true, transB: false, M: outF, N: inF, K: rows });
  return s;
}

const LSTM_ROWS = 32 * 128;
const RWKV_ROWS = 16 * 256;
const LAYER_SHAPES: Array<{ model: string; shapes: Shape[]; perStep: number[] }> = [
  {
    model: 'LSTM (88->512, 2x512 LSTM, 512->88; B 32, T 128)',
    shapes: [
      ...linear('embed 88->512', LSTM_ROWS, 88, 512, false),
      ...linear('lstm W_ih 512->2048', LSTM_ROWS, 512, 2048),
      { label: 'lstm W_hh step fwd', transA: false, transB: true, M: 32, N: 2048, K: 512 },
      { label: 'lstm W_hh step dh', transA: false, transB: false, M: 32, N: 512, K: 2048 },
      { label: 'lstm W_hh dW (all t)', transA: true, transB: false, M: 2048, N: 512, K: LSTM_ROWS },
      ...linear('head 512->88', LSTM_ROWS, 512, 88),
    ],
    // how many times each shape runs in one training step (2 LSTM layers, 128 steps)
    perStep: [1, 1, 2, 2, 2, 256, 256, 2, 1, 1, 1],
  },
  {
    model: 'RWKV (4 layers, n_embd 512, ffn 2048; B 16, T 256)',
    shapes: [
      ...linear('embed 88->512', RWKV_ROWS, 88, 512, false),
      ...linear('att k/v/r/o 512->512', RWKV_ROWS, 512, 512),
      ...linear('ffn key 512->2048', RWKV_ROWS, 512, 2048),
      ...linear('ffn value 2048->512', RWKV_ROWS, 2048, 512),
      ...linear('head 512->88', RWKV_ROWS, 512, 88),
    ],
    // 4 layers: att k, v, r, o + ffn receptance (5 x 512->512), ffn key, ffn value
    perStep: [1, 1, 20, 20, 20, 4, 4, 4, 4, 4, 4, 1, 1, 1],
  },
];

function fill(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Seconds per call of `call`: the median of `reps` runs of enough calls to last minSeconds (2 runs for
 * calls slower than half a second, as the TypeScript GEMM at full layer shapes).
 */
function timeCall(call: () => void, minSeconds = 0.1): number {
  call();
  let t0 = performance.now();
  call();
  const once = (performance.now() - t0) / 1000;
  const calls = Math.max(1, Math.ceil(minSeconds / Math.max(once, 1e-7)));
  const times: number[] = [once];
  const runs = once > 0.5 ? 2 : reps;
  for (let r = 0; r < runs; r++) {
    t0 = performance.now();
    for (let c = 0; c < calls; c++) call();
    times.push((performance.now() - t0) / 1000 / calls);
  }
  return median(times);
}

/** Median seconds per call of one shape (C accumulated: beta 1). */
function timeGemm(gemm: Gemm, s: Shape, minSeconds = 0.1): number {
  const rng = new Rng(1);
  const A = fill(rng, s.M * s.K);
  const B = fill(rng, s.K * s.N);
  const C = new Float32Array(s.M * s.N);
  return timeCall(() => gemm.gemm({ transA: s.transA, transB: s.transB, M: s.M, N: s.N, K: s.K, A, B, C, beta: 1 }), minSeconds);
}

const gflops = (s: Shape, t: number) => (2 * s.M * s.N * s.K) / t / 1e9;
const pad = (x: string | number, n: number) => String(x).padStart(n);

/**
 * Products of few rows, as an RNN-mode step makes them (the bundled RWKV's widths): ORT against the
 * native addon's single-thread rows GEMM and the TypeScript GEMM.
 */
function rowsSweep(ort: Gemm): void {
  const native = loadNativeRowsGemm();
  console.log('\nFew rows (NT, y = x W^T): microseconds per call, and the largest difference from the TypeScript GEMM');
  console.log(`${'M x N x K'.padEnd(16)} ${pad('ORT us', 9)} ${pad('native us', 10)} ${pad('TS us', 9)} ${pad('native GF/s', 12)} ${pad('max |diff|', 11)}`);
  for (const M of [1, 2, 4, 8, 16])
    for (const [N, K] of [[256, 256], [1024, 256], [256, 1024], [256, 1144]]) {
      const s: Shape = { label: '', transA: false, transB: true, M, N, K };
      const tOrt = timeGemm(ort, s, 0.05);
      const tNat = timeGemm(native, s, 0.05);
      const tTs = timeGemm(tsGemm, s, 0.05);
      const rng = new Rng(5);
      const A = fill(rng, M * K);
      const B = fill(rng, N * K);
      const C1 = new Float32Array(M * N);
      const C2 = new Float32Array(M * N);
      native.gemm({ transA: false, transB: true, M, N, K, A, B, C: C1 });
      tsGemm.gemm({ transA: false, transB: true, M, N, K, A, B, C: C2 });
      let diff = 0;
      for (let i = 0; i < C1.length; i++) diff = Math.max(diff, Math.abs(C1[i] - C2[i]));
      console.log(`${`${M}x${N}x${K}`.padEnd(16)} ${pad((tOrt * 1e6).toFixed(1), 9)} ${pad((tNat * 1e6).toFixed(1), 10)} ${pad((tTs * 1e6).toFixed(1), 9)} ${pad(gflops(s, tNat).toFixed(1), 12)} ${pad(diff.toExponential(1), 11)}`);
    }
}

/** The LSTM's recurrent products (A not transposed, one B for the whole loop over time) at a few batch sizes. */
function packedSweep(ort: Gemm, blocked: Gemm): void {
  console.log('\nRecurrent products (GFLOP/s): ORT | blocked | blocked against a packed B; one packing in microseconds');
  console.log(`${'product'.padEnd(22)} ${pad('ORT', 7)} ${pad('blocked', 8)} ${pad('packed', 7)} ${pad('pack us', 8)}`);
  for (const M of [4, 6, 8, 16, 32, 64])
    for (const [transB, N, K] of [[true, 2048, 512], [false, 512, 2048]] as Array<[boolean, number, number]>) {
      const s: Shape = { label: '', transA: false, transB, M, N, K };
      const rng = new Rng(3);
      const A = fill(rng, M * K);
      const B = fill(rng, K * N);
      const C = new Float32Array(M * N);
      const packed = blocked.packB!(transB, N, K, B);
      const tPacked = timeCall(() => blocked.gemmPacked!({ M, A, packed, C, beta: 1 }));
      const tPack = timeCall(() => blocked.packB!(transB, N, K, B, packed), 0.05);
      const label = `N${transB ? 'T' : 'N'} ${M}x${N}x${K}`;
      console.log(`${label.padEnd(22)} ${pad(gflops(s, timeGemm(ort, s)).toFixed(1), 7)} ${pad(gflops(s, timeGemm(blocked, s)).toFixed(1), 8)} ${pad(gflops(s, tPacked).toFixed(1), 7)} ${pad((tPack * 1e6).toFixed(0), 8)}`);
    }
}

function main(): void {
  const ort = createOrtGemm({ threads, spin, minMacs: 0 });
  console.log(`GEMM speed: ${ort.name}${spin ? ' spinning' : ''} vs TypeScript; ${availableParallelism()} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  let blocked: Gemm | undefined;
  if (has('--blocked') || has('--packed')) {
    loadNativeKernels(threads);
    blocked = loadNativeBlockedGemm();
  }
  if (has('--packed')) {
    packedSweep(ort, blocked!);
    ort.dispose();
    return;
  }
  if (!has('--sweep-only')) {
    for (const m of LAYER_SHAPES) {
      console.log(`\n${m.model}`);
      const blockedHead = blocked ? ` ${pad('blocked GF/s', 13)} ${pad('used ms/step', 13)}` : '';
      console.log(`${'shape'.padEnd(26)} ${'op'.padEnd(3)} ${pad('M', 5)} ${pad('N', 5)} ${pad('K', 5)} ${pad('ORT GF/s', 9)} ${pad('TS GF/s', 8)} ${pad('ORT ms/step', 12)}${blockedHead}`);
      let stepMs = 0;
      let usedMs = 0;
      m.shapes.forEach((s, idx) => {
        const tOrt = timeGemm(ort, s);
        const tTs = has('--no-ts') ? NaN : timeGemm(tsGemm, s, 0.05);
        const ms = tOrt * 1000 * m.perStep[idx];
        stepMs += ms;
        let extra = '';
        if (blocked) {
          const tBlocked = timeGemm(blocked, s);
          const used = (useBlockedGemm({ ...s, A: new Float32Array(0), B: new Float32Array(0), C: new Float32Array(0) }) ? tBlocked : tOrt) * 1000 * m.perStep[idx];
          usedMs += used;
          extra = ` ${pad(gflops(s, tBlocked).toFixed(1), 13)} ${pad(used.toFixed(1), 13)}`;
        }
        const op = `${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'}`;
        console.log(`${s.label.padEnd(26)} ${op.padEnd(3)} ${pad(s.M, 5)} ${pad(s.N, 5)} ${pad(s.K, 5)} ${pad(gflops(s, tOrt).toFixed(1), 9)} ${pad(Number.isNaN(tTs) ? '-' : gflops(s, tTs).toFixed(2), 8)} ${pad(ms.toFixed(1), 12)}${extra}`);
      });
      console.log(`GEMM time of one training step on ORT (sum of the shapes x calls per step): ${stepMs.toFixed(0)} ms`);
      if (blocked) console.log(`... with the blocked GEMM where useBlockedGemm picks it: ${usedMs.toFixed(0)} ms`);
    }
  }
  if (has('--beta')) {
    console.log('\nAccumulating into C (ms per call): beta=0 | beta=1 in the Gemm | scratch + JavaScript add');
    for (const [transA, transB, M, N, K] of [[false, true, 4096, 512, 512], [true, false, 512, 512, 4096], [false, true, 32, 2048, 512], [false, true, 4096, 88, 512]] as const) {
      const rng = new Rng(2);
      const A = fill(rng, M * K);
      const B = fill(rng, K * N);
      const C = new Float32Array(M * N);
      const S = new Float32Array(M * N);
      const variants: Array<[string, () => void]> = [
        ['beta=0', () => ort.gemm({ transA, transB, M, N, K, A, B, C })],
        ['beta=1', () => ort.gemm({ transA, transB, M, N, K, A, B, C, beta: 1 })],
        ['scratch+add', () => {
          ort.gemm({ transA, transB, M, N, K, A, B, C: S });
          for (let i = 0; i < C.length; i++) C[i] += S[i];
        }],
      ];
      const times = variants.map(() => [] as number[]);
      const calls = M < 100 ? 50 : 5;
      for (let r = 0; r < reps; r++)
        variants.forEach(([, f], v) => {
          const t0 = performance.now();
          for (let c = 0; c < calls; c++) f();
          times[v].push((performance.now() - t0) / calls);
        });
      console.log(`${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${M}x${N}x${K}: ${variants.map(([n], v) => `${n} ${median(times[v]).toFixed(2)}`).join(' | ')}`);
    }
  }
  if (has('--rows')) rowsSweep(ort);
  if (!has('--layers-only')) {
    console.log('\nSize sweep (NT, M=N=K=n, and the batch-1 step M=1): microseconds per call');
    console.log(`${pad('n', 5)} ${pad('MACs', 11)} ${pad('ORT us', 9)} ${pad('TS us', 9)} ${pad('ORT GF/s', 9)} ${pad('TS GF/s', 8)} faster`);
    const sweep: Shape[] = [];
    for (const n of [2, 4, 8, 12, 16, 20, 24, 32, 48, 64, 96, 128, 256, 512, 1024])
      sweep.push({ label: `${n}`, transA: false, transB: true, M: n, N: n, K: n });
    for (const [M, N, K] of [[1, 88, 512], [1, 512, 512], [1, 2048, 512], [1, 512, 2048], [16, 512, 512], [16, 2048, 512], [32, 2048, 512]])
      sweep.push({ label: `${M}x${N}x${K}`, transA: false, transB: true, M, N, K });
    for (const s of sweep) {
      const tOrt = timeGemm(ort, s, 0.05);
      const tTs = timeGemm(tsGemm, s, 0.05);
      console.log(`${pad(s.label, 5)} ${pad(s.M * s.N * s.K, 11)} ${pad((tOrt * 1e6).toFixed(1), 9)} ${pad((tTs * 1e6).toFixed(1), 9)} ${pad(gflops(s, tOrt).toFixed(1), 9)} ${pad(gflops(s, tTs).toFixed(2), 8)} ${tOrt < tTs ? 'ORT' : 'TS'}`);
    }
  }
  ort.dispose();
}

main();
