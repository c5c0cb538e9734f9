/**
 * The native kernels (Node only): the C++ addon in native/, built by `npm install` into
 * build/Release/rwkv_music_native.node, behind the same Kernels interface as the TypeScript ones.
 * Its functions take the arrays flat (optional groups as null) and check every length.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { applyEpilogue, type Epilogue, type Gemm, type GemmArgs, type PackedB, type PackedGemmArgs } from './gemm.js';
import type { Kernels } from './kernels.js';
import { UserError } from '../errors.js';

/** Must equal kAbiVersion in native/addon.cc: a stale build is refused instead of misread. */
const ABI_VERSION = 9;

export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../../build/Release/rwkv_music_native.node', import.meta.url));

type F32 = Float32Array;
type F64 = Float64Array;
type Opt<T> = T | null;

interface Addon {
  abiVersion: number;
  /** The blocked GEMM's vector width: 512 when built with AVX-512, 256 with AVX2 and FMA, else 0 (not usable). */
  wideVectorBits: number;
  threads(): number;
  setThreads(n: number): number;
  wkvForward(y: F32, k: F32, v: F32, td: F32, tf: F32, aa: F64, bb: F64, pp: F64, B: number, T: number, C: number,
    decay: Opt<F32>, ek: Opt<F32>, g: Opt<F32>, cu: Opt<F32>, r: Opt<F32>, rw: Opt<F32>): void;
  wkvBackward(dk: F32, dv: F32, dtd: F32, dtf: F32, dy: F32, v: F32, y: F32, decay: F32, ek: F32, g: F32, cu: F32,
    td: F32, B: number, T: number, C: number, r: Opt<F32>, dpre: Opt<F32>,
    aa0: Opt<F64>, bb0: Opt<F64>, daa: Opt<F64>, dbb: Opt<F64>, dpp: Opt<F64>): void;
  wkv6Forward(y: F32, r: F32, k: F32, v: F32, w: F32, u: F32, state: F64, B: number, T: number, C: number, S: number,
    save: Opt<F64>): void;
  wkv6Backward(dr: F32, dk: F32, dv: F32, dw: F32, du: F32, dy: F32, r: F32, k: F32, v: F32, w: F32, u: F32, saved: F64,
    B: number, T: number, C: number, S: number, dstate: Opt<F64>): void;
  tokenShiftMixForward(o0: F32, o1: F32, o2: Opt<F32>, x: F32, m0: F32, m1: F32, m2: Opt<F32>, prev: Opt<F32>,
    B: number, T: number, C: number): void;
  tokenShiftMixBackward(dx: F32, accumulate: boolean, dm0: F32, dm1: F32, dm2: Opt<F32>, d0: F32, d1: F32, d2: Opt<F32>,
    x: F32, m0: F32, m1: F32, m2: Opt<F32>, B: number, T: number, C: number): void;
  tokenShiftMixLnBackward(dinp: F32, dm0: F32, dm1: F32, dm2: Opt<F32>, d0: F32, d1: F32, d2: Opt<F32>, x: F32,
    m0: F32, m1: F32, m2: Opt<F32>, inp: F32, mean: F32, rstd: F32, weight: F32, dweight: F32, dbias: F32,
    B: number, T: number, C: number): void;
  layerNormForward(out: F32, mean: F32, rstd: F32, inp: F32, weight: F32, bias: F32, N: number, C: number): void;
  addLayerNormForward(sum: F32, out: F32, mean: F32, rstd: F32, a: F32, branch: F32, weight: F32, bias: F32,
    N: number, C: number, dropOn: boolean, seed: number, threshold: number, scale: number): void;
  layerNormBackward(dinp: F32, accumulate: boolean, dweight: F32, dbias: F32, dout: F32, inp: F32, mean: F32,
    rstd: F32, weight: F32, N: number, C: number): void;
  relu(out: F32, x: F32, n: number): void;
  reluBackward(dx: F32, x: F32, n: number): void;
  sigmoidGate(out: F32, r: F32, z: F32, n: number): void;
  gatedProductBackward(dz: F32, dpre: F32, dout: F32, r: F32, z: F32, n: number): void;
  adamwUpdate(w: F32, g: F32, m: F32, v: F32, shrink: number, beta1: number, beta2: number, eps: number,
    stepSize: number, invSqrtBc2: number): void;
  lstmCellForward(gates: F32, c: F32, h: F32, tc: F32, t: number, B: number, H: number): void;
  lstmCellBackward(dG: F32, dc: F32, dh: F32, gates: F32, c: F32, tc: F32, t: number, B: number, H: number): void;
  gemmRows(transB: boolean, M: number, N: number, K: number, alpha: number, A: F32, aOffset: number, B: F32, bOffset: number,
    beta: number, C: F32, cOffset: number): void;
  gemmBlocked(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: F32, aOffset: number,
    B: F32, bOffset: number, beta: number, C: F32, cOffset: number, epilogue: number, squares: F32 | null,
    squaresOffset: number): void;
  packedBLength(N: number, K: number): number;
  packB(transB: boolean, N: number, K: number, B: F32, bOffset: number, packed: F32): void;
  gemmPacked(M: number, N: number, K: number, alpha: number, A: F32, aOffset: number, packed: F32, beta: number, C: F32,
    cOffset: number): void;
  fmaPeak(vectorBits: number, iterations: number): number;
  averageInto(avg: F32, w: F32, d: number): void;
  sumSquares(x: F32): number;
  scaleInPlace(x: F32, s: number): void;
  columnSums(sums: F64, x: F32, N: number, O: number): void;
  dropout(out: F32, x: F32, n: number, seed: number, threshold: number, scale: number): void;
  bceLossBackward(dlogits: F32, logits: F32, targets: F32, mask: F32, N: number, D: number, scale: number): number;
}

let addon: Addon | undefined;

function loadAddon(): Addon {
  if (addon) return addon;
  let loaded: Addon;
  try {
    loaded = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Addon;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'MODULE_NOT_FOUND' ? 'not built' : (e as Error).message.split('\n')[0];
    throw new UserError(`native kernels unavailable (${why}); build them with \`npm run build:native\``);
  }
  if (loaded.abiVersion !== ABI_VERSION) {
    throw new UserError(`native kernels are out of date (ABI ${loaded.abiVersion}, expected ${ABI_VERSION}); rebuild them with \`npm run build:native\``);
  }
  addon = loaded;
  return addon;
}

function mixCount(n: number, what: string): void {
  if (n !== 2 && n !== 3) throw new Error(`${what}: 2 or 3 mixes`);
}

/**
 * Loads the addon (throws if it is missing or stale) and sets its thread count: `threads`, default
 * all cores. The addon has one thread pool per process, so the last call's count applies to all.
 */
export function loadNativeKernels(threads: number): Kernels {
  const n = loadAddon();
  const running = n.setThreads(threads);
  return {
    name: `native (${running} thread${running === 1 ? '' : 's'})`,
    wkvForward: (y, k, v, td, tf, state, B, T, C, save, _scratch, gate = null) =>
      n.wkvForward(y, k, v, td, tf, state.aa, state.bb, state.pp, B, T, C,
        save?.decay ?? null, save?.ek ?? null, save?.g ?? null, save?.cu ?? null, gate?.r ?? null, gate?.rw ?? null),
    wkvBackward: (dk, dv, dtd, dtf, dy, v, y, saved, td, B, T, C, _scratch, gate = null, start = null) =>
      n.wkvBackward(dk, dv, dtd, dtf, dy, v, y, saved.decay, saved.ek, saved.g, saved.cu, td, B, T, C,
        gate?.r ?? null, gate?.dpre ?? null, start?.start.aa ?? null, start?.start.bb ?? null,
        start?.grad.aa ?? null, start?.grad.bb ?? null, start?.grad.pp ?? null),
    wkv6Forward: (y, r, k, v, w, u, state, B, T, C, S, save) => n.wkv6Forward(y, r, k, v, w, u, state, B, T, C, S, save),
    wkv6Backward: (dr, dk, dv, dw, du, dy, r, k, v, w, u, saved, B, T, C, S, dstate) =>
      n.wkv6Backward(dr, dk, dv, dw, du, dy, r, k, v, w, u, saved, B, T, C, S, dstate),
    tokenShiftMixForward: (outs, x, mus, prev, B, T, C) => {
      mixCount(outs.length, 'tokenShiftMixForward');
      n.tokenShiftMixForward(outs[0], outs[1], outs[2] ?? null, x, mus[0], mus[1], mus[2] ?? null, prev, B, T, C);
    },
    tokenShiftMixBackward: (dx, accumulate, dmus, douts, x, mus, B, T, C) => {
      mixCount(douts.length, 'tokenShiftMixBackward');
      n.tokenShiftMixBackward(dx, accumulate, dmus[0], dmus[1], dmus[2] ?? null, douts[0], douts[1], douts[2] ?? null,
        x, mus[0], mus[1], mus[2] ?? null, B, T, C);
    },
    tokenShiftMixLnBackward: (dinp, dmus, douts, x, mus, ln, B, T, C) => {
      mixCount(douts.length, 'tokenShiftMixLnBackward');
      n.tokenShiftMixLnBackward(dinp, dmus[0], dmus[1], dmus[2] ?? null, douts[0], douts[1], douts[2] ?? null,
        x, mus[0], mus[1], mus[2] ?? null, ln.inp, ln.mean, ln.rstd, ln.weight, ln.dweight, ln.dbias, B, T, C);
    },
    layerNormForward: (out, mean, rstd, inp, weight, bias, N, C) => n.layerNormForward(out, mean, rstd, inp, weight, bias, N, C),
    addLayerNormForward: (sum, out, mean, rstd, a, branch, drop, weight, bias, N, C) =>
      n.addLayerNormForward(sum, out, mean, rstd, a, branch, weight, bias, N, C,
        drop !== null, drop?.seed ?? 0, drop?.threshold ?? 0, drop?.scale ?? 1),
    layerNormBackward: (dinp, accumulate, dweight, dbias, dout, inp, mean, rstd, weight, N, C) =>
      n.layerNormBackward(dinp, accumulate, dweight, dbias, dout, inp, mean, rstd, weight, N, C),
    relu: (out, x, count) => n.relu(out, x, count),
    reluBackward: (dx, x, count) => n.reluBackward(dx, x, count),
    sigmoidGate: (out, r, z, count) => n.sigmoidGate(out, r, z, count),
    gatedProductBackward: (dz, dpre, dout, r, z, count) => n.gatedProductBackward(dz, dpre, dout, r, z, count),
    lstmCellForward: (gates, c, h, tc, t, B, H) => n.lstmCellForward(gates, c, h, tc, t, B, H),
    lstmCellBackward: (dG, dc, dh, gates, c, tc, t, B, H) => n.lstmCellBackward(dG, dc, dh, gates, c, tc, t, B, H),
    averageInto: (avg, w, d) => n.averageInto(avg, w, d),
    sumSquares: (x) => n.sumSquares(x),
    scaleInPlace: (x, s) => n.scaleInPlace(x, s),
    columnSums: (sums, x, N, O) => n.columnSums(sums, x, N, O),
    dropoutInto: (out, x, m, count) => n.dropout(out, x, count, m.seed, m.threshold, m.scale),
    applyDropout: (x, m, count) => n.dropout(x, x, count, m.seed, m.threshold, m.scale),
    bceLossBackward: (dlogits, logits, targets, mask, N, D, scale) =>
      n.bceLossBackward(dlogits, logits, targets, mask, N, D, scale),
    adamwUpdate: (w, g, m, v, shrink, s) => n.adamwUpdate(w, g, m, v, shrink, s.beta1, s.beta2, s.eps, s.stepSize, s.invSqrtBc2),
  };
}

/**
 * The addon's GEMM for products of few rows (A not transposed), on the calling thread: an RNN-mode
 * step at batch 1 is a chain of such products, and there a call into a thread pool costs more than
 * the arithmetic. Sums in float, as ORT's. Loads the addon (throws if it is missing or stale).
 */
export function loadNativeRowsGemm(): Gemm {
  const n = loadAddon();
  return {
    name: 'native rows',
    gemm: (a: GemmArgs) => {
      if (a.transA) throw new Error('native rows GEMM: A must not be transposed');
      n.gemmRows(a.transB, a.M, a.N, a.K, a.alpha ?? 1, a.A, a.aOffset ?? 0, a.B, a.bOffset ?? 0, a.beta ?? 0, a.C, a.cOffset ?? 0);
      applyEpilogue(a);
    },
  };
}

/** Epilogue kinds as gemmBlocked numbers them (native/addon.cc). */
const EPILOGUE_CODES: Record<Epilogue['kind'], number> = { reluSquare: 1, reluSquareGrad: 2 };

/**
 * The addon's blocked GEMM for training-size products (native/sgemm.cc), all four transpose cases,
 * on the kernels' thread pool; sums in float. Loads the addon (throws if it is missing or stale, or
 * was built without AVX-512 or AVX2 with FMA: it has no register tile for narrower vectors).
 */
export function loadNativeBlockedGemm(): Gemm {
  const n = loadAddon();
  if (n.wideVectorBits < 256) throw new Error('the native addon was built without AVX-512 or AVX2 with FMA: its blocked GEMM is not used');
  return {
    name: 'native blocked',
    gemm: (a: GemmArgs) => {
      const e = a.epilogue;
      const squares = e?.kind === 'reluSquareGrad' ? e : null;
      n.gemmBlocked(a.transA, a.transB, a.M, a.N, a.K, a.alpha ?? 1, a.A, a.aOffset ?? 0, a.B, a.bOffset ?? 0,
        a.beta ?? 0, a.C, a.cOffset ?? 0, e ? EPILOGUE_CODES[e.kind] : 0, squares?.squares ?? null, squares?.squaresOffset ?? 0);
    },
    packB: (transB: boolean, N: number, K: number, B: F32, into?: PackedB): PackedB => {
      const length = n.packedBLength(N, K);
      const data = into && into.data.length === length ? into.data : new Float32Array(length);
      n.packB(transB, N, K, B, 0, data);
      return { transB, N, K, data };
    },
    gemmPacked: (a: PackedGemmArgs) =>
      n.gemmPacked(a.M, a.packed.N, a.packed.K, a.alpha ?? 1, a.A, a.aOffset ?? 0, a.packed.data, a.beta ?? 0, a.C,
        a.cOffset ?? 0),
  };
}

/**
 * The machine's arithmetic ceiling, for the benches: GFLOP/s of independent fused multiply-adds on
 * registers (no memory traffic) of 512- or 256-bit vectors, on every thread of the kernels' pool at
 * once, over about `seconds`; null when the addon was built without that vector width. No GEMM can
 * beat it. Loads the addon (throws if it is missing or stale).
 */
export function measureFmaPeak(vectorBits: 256 | 512, seconds = 0.3): { gflops: number; threads: number } | null {
  const n = loadAddon();
  const probe = n.fmaPeak(vectorBits, 1000);
  if (probe === 0) return null;
  // 24 FLOPs per lane per iteration: size the timed run from the probe's rate
  const perIteration = (2 * 12 * (vectorBits / 32) * n.threads()) / 1e9;
  const iterations = Math.min(2 ** 30, Math.max(1000, Math.round((seconds * probe) / perIteration)));
  let best = 0;
  for (let i = 0; i < 3; i++) best = Math.max(best, n.fmaPeak(vectorBits, iterations));
  return { gflops: best, threads: n.threads() };
}
