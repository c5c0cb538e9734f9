/**
 * Picks the GEMM backend for Node: ONNX Runtime MLAS when its binding loads, else the TypeScript GEMM.
 *
 * Environment overrides:
 *   RWKV_MUSIC_GEMM=ts|ort    force a backend ('ort' throws if ONNX Runtime cannot be used)
 *   RWKV_MUSIC_THREADS=n      intra-op threads of the ORT GEMM (default: number of cores)
 *   RWKV_MUSIC_NATIVE=0       keep every product on ORT (by default, when the native addon loads, products
 *                             of few rows run on its rows GEMM on the calling thread, ROWS_GEMM_MAX_ROWS,
 *                             and most training-size products on its blocked GEMM, useBlockedGemm)
 */
import type { Gemm, GemmArgs } from './gemm.js';
import { tsGemm } from './gemm-ts.js';
import { createOrtGemm, type OrtGemmOptions } from './gemm-ort.js';
import { loadNativeBlockedGemm, loadNativeRowsGemm } from './kernels-native.js';
import { parseKernelBackend } from './kernels-default.js';
import { envThreads } from './threads.js';
import { UserError } from '../errors.js';

export type GemmBackend = 'auto' | 'ts' | 'ort';

export interface DefaultGemmOptions extends OrtGemmOptions {
  /** Backend to use; default: RWKV_MUSIC_GEMM or 'auto'. */
  backend?: GemmBackend;
  /**
   * Use the native addon's blocked GEMM where it is faster (default true; needs the addon). It runs on
   * the addon's one thread pool, which the native kernels size (createKernels({ threads })), so
   * `threads` here sets ONNX Runtime's threads only; the CLI passes the same --threads to both.
   */
  nativeBlocked?: boolean;
}

/**
 * Products of at most this many rows go to the native rows GEMM: an RNN-mode step at batch 1
 * (bench/gen-speed.ts) is a chain of such products, each too small for ORT's call and thread hand-off.
 */
export const ROWS_GEMM_MAX_ROWS = 4;

/**
 * The rows GEMM takes those products from this many multiply-adds (M*N*K): below it the TypeScript GEMM
 * is as fast as a native call.
 * One row against 128 x 128 (the bundled RWKV's products at batch 1) took 2.3 us on the rows GEMM and
 * 17.7 us in TypeScript; 1 x 4 x 256, 0.8 and 1.7 us; 1 x 16 x 16, 0.7 and 0.4 us (docs/decisions.md §15).
 */
export const ROWS_GEMM_MIN_MACS = 512;

/** `load()`, unless RWKV_MUSIC_NATIVE=0 or the addon does not load (the reason: kernelsLoadError()). */
function nativeGemm<T>(load: () => T): T | undefined {
  if (parseKernelBackend(process.env.RWKV_MUSIC_NATIVE) === 'ts') return undefined;
  try {
    return load();
  } catch {
    return undefined;
  }
}

/** The native rows GEMM, when the addon is used. */
const nativeRows = (): OrtGemmOptions['rows'] => nativeGemm(() => ({ gemm: loadNativeRowsGemm(), maxRows: ROWS_GEMM_MAX_ROWS, minMacs: ROWS_GEMM_MIN_MACS }));

/** Rows from which the native blocked GEMM takes a product from ORT. */
const BLOCKED_MIN_ROWS = 256;
/** The same for weight gradients (op(A) transposed, op(B) not) over at least BLOCKED_LONG_K frames. */
const BLOCKED_MIN_ROWS_LONG_K = 64;
const BLOCKED_LONG_K = 1024;

/**
 * Which products the native blocked GEMM takes from ORT: those of at least 256 rows, and weight
 * gradients of at least 64 rows summed over at least 1,024 frames (the bundled models' 128 x 128 and
 * 128 x 1,156 over 2,048; the output head's 88 rows). Below that (the LSTM's recurrent products of 32
 * rows) MLAS was as fast or faster (bench/gemm-speed.js --blocked, docs/decisions.md §13 and §16).
 */
export function useBlockedGemm(a: GemmArgs): boolean {
  if (a.M >= BLOCKED_MIN_ROWS) return true;
  return a.transA && !a.transB && a.M >= BLOCKED_MIN_ROWS_LONG_K && a.K >= BLOCKED_LONG_K;
}

/** The native blocked GEMM, when the addon is used and was built with AVX-512 or AVX2 with FMA. */
const nativeBlocked = (): OrtGemmOptions['blocked'] => nativeGemm(() => ({ gemm: loadNativeBlockedGemm(), use: useBlockedGemm }));

let shared: Gemm | undefined;
let lastError: Error | undefined;

function parseBackend(value: string | undefined): GemmBackend {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'ts' || v === 'typescript') return 'ts';
  if (v === 'ort' || v === 'onnxruntime') return 'ort';
  throw new UserError(`RWKV_MUSIC_GEMM must be ts, ort or auto, got '${value}'`);
}

/**
 * A new GEMM for the requested backend. With 'auto', falls back to TypeScript if ORT does not load
 * (the reason is kept in gemmLoadError()).
 */
export function createGemm(options: DefaultGemmOptions = {}): Gemm {
  const backend = options.backend ?? parseBackend(process.env.RWKV_MUSIC_GEMM);
  if (backend === 'ts') return tsGemm;
  const { nativeBlocked: wantBlocked = true, ...rest } = options;
  const ortOptions: OrtGemmOptions = {
    rows: nativeRows(),
    blocked: wantBlocked ? nativeBlocked() : undefined,
    ...rest,
    threads: options.threads ?? envThreads(),
  };
  if (backend === 'ort') return createOrtGemm(ortOptions);
  try {
    return createOrtGemm(ortOptions);
  } catch (e) {
    lastError = e as Error;
    return tsGemm;
  }
}

/** The process-wide default GEMM (created once, honouring RWKV_MUSIC_GEMM and RWKV_MUSIC_THREADS). */
export function defaultGemm(): Gemm {
  if (!shared) shared = createGemm();
  return shared;
}

/** Why the ORT backend was not used by the last 'auto' selection, if it failed to load. */
export function gemmLoadError(): Error | undefined {
  return lastError;
}
