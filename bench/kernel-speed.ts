/**
 * Per-kernel timings at the reference RWKV and LSTM shapes, TypeScript against native, in one process
 * (so both see the same machine load): the median of several calls after a warm-up call.
 *
 *   node dist/bench/kernel-speed.js [--reps 5] [--threads n]
 */
import { Rng } from '../src/engine/random.js';
import { tsKernels, type Kernels } from '../src/engine/kernels.js';
import { createKernels } from '../src/engine/kernels-default.js';
import { allocWkvSaved, newWkvState, resetWkvState } from '../src/engine/layers/wkv.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const reps = Number(arg('--reps') ?? 5);
const threads = arg('--threads') ? Number(arg('--threads')) : undefined;
const native = createKernels({ backend: 'native', threads });
const rng = new Rng(1);
const randn = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(f: () => void): number {
  f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

function row(name: string, run: (K: Kernels) => void): void {
  const a = time(() => run(tsKernels));
  const b = time(() => run(native));
  console.log(`${name.padEnd(28)} ${a.toFixed(2).padStart(9)} ${b.toFixed(2).padStart(9)} ${(a / b).toFixed(1).padStart(7)}x`);
}

// RWKV reference: B 16, T 256, C 512, F 2048
const [B, T, C, F] = [16, 256, 512, 2048];
const N = B * T;
const n = N * C;
const k = randn(n, 2), v = randn(n), r = randn(n), y = new Float32Array(n), rw = new Float32Array(n);
// kernels that overwrite their input get a copy in a buffer allocated once (fresh pages are slow)
const rCopy = new Float32Array(n);
const freshR = () => {
  rCopy.set(r);
  return rCopy;
};
const td = randn(C), tf = randn(C);
const saved = allocWkvSaved(n);
const state = newWkvState(B, C);
const resetState = () => {
  resetWkvState(state, B * C);
  return state;
};
const x = randn(n), o = [0, 1, 2].map(() => new Float32Array(n)), mus = [0, 1, 2].map(() => randn(C));
const mean = new Float32Array(N), rstd = new Float32Array(N), w = randn(C), bias = randn(C);
console.log(`kernel (RWKV B${B} T${T} C${C} F${F}; LSTM B32 H512)   ts ms native ms  speed-up   [${native.name}]`);
row('wkvForward (save, gate)', (K) => K.wkvForward(y, k, v, td, tf, resetState(), B, T, C, saved, new Float64Array(5 * C), { r: freshR(), rw }));
row('wkvBackward (gate)', (K) => K.wkvBackward(o[0], o[1], new Float32Array(C), new Float32Array(C), x, v, y, saved, td, B, T, C, new Float64Array(6 * C), { r, dpre: o[2] }));
row('tokenShiftMixForward x3', (K) => K.tokenShiftMixForward(o, x, mus, null, B, T, C));
row('tokenShiftMixBackward x3', (K) => K.tokenShiftMixBackward(y, false, mus.map(() => new Float32Array(C)), o, x, mus, B, T, C, new Float64Array(3 * C)));
row('tokenShiftMixLnBackward x3', (K) => K.tokenShiftMixLnBackward(y, mus.map(() => new Float32Array(C)), o, x, mus,
  { inp: k, mean, rstd, weight: w, dweight: new Float32Array(C), dbias: new Float32Array(C) }, B, T, C, new Float64Array(8 * C)));
row('layerNormForward', (K) => K.layerNormForward(y, mean, rstd, x, w, bias, N, C));
row('addLayerNormForward', (K) => K.addLayerNormForward(o[0], y, mean, rstd, x, k, null, w, bias, N, C));
row('layerNormBackward', (K) => K.layerNormBackward(o[1], false, new Float32Array(C), new Float32Array(C), k, x, mean, rstd, w, N, C, new Float64Array(2 * C)));
row('sigmoidGate', (K) => K.sigmoidGate(o[2], freshR(), k, n));
const P = 13_750_000;
const pw = randn(P), pg = randn(P, 0.01), pm = new Float32Array(P), pv = new Float32Array(P);
row('adamwUpdate (13.75M)', (K) => K.adamwUpdate(pw, pg, pm, pv, 0.99999, { beta1: 0.9, beta2: 0.99, eps: 1e-8, stepSize: 1e-3, invSqrtBc2: 10 }));
// LSTM reference: T 128, B 32, H 512
const [LT, LB, H] = [128, 32, 512];
const gates0 = randn(LT * LB * 4 * H, 2), gates = new Float32Array(gates0.length);
const c = new Float32Array((LT + 1) * LB * H), h = new Float32Array((LT + 1) * LB * H), tc = new Float32Array(LT * LB * H);
row('lstmCellForward x128 steps', (K) => {
  gates.set(gates0);
  for (let t = 0; t < LT; t++) K.lstmCellForward(gates, c, h, tc, t, LB, H);
});
const dG = new Float32Array(gates.length), dc = new Float32Array(LB * H), dh = randn(LT * LB * H);
row('lstmCellBackward x128 steps', (K) => {
  dc.fill(0);
  for (let t = LT - 1; t >= 0; t--) K.lstmCellBackward(dG, dc, dh, gates, c, tc, t, LB, H);
});
