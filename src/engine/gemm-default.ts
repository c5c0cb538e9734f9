/**
 * Picks the GEMM backend for Node: ONNX Runtime MLAS when its binding loads, else the TypeScript GEMM.
 *
 * Environment overrides:
 *   RWKV_MUSIC_GEMM=ts|ort    force a backend ('ort' throws if ONNX Runtime cannot be used)
 *   RWKV_MUSIC_THREADS=n      intra-op threads of the ORT GEMM (default: number of cores)
 *   RWKV_MUSIC_NATIVE=0       keep products of few rows on ORT too (by default, when the native addon
 *                             loads, they run on its rows GEMM on the calling thread: ROWS_GEMM_MAX_ROWS)
 */
import type { Gemm } from './gemm.js';
import { tsGemm } from './gemm-ts.js';
import { createOrtGemm, type OrtGemmOptions } from './gemm-ort.js';
import { loadNativeRowsGemm } from './kernels-native.js';
import { parseKernelBackend } from './kernels-default.js';
import { envThreads } from './threads.js';
import { UserError } from '../errors.js';

export type GemmBackend = 'auto' | 'ts' | 'ort';

export interface DefaultGemmOptions extends OrtGemmOptions {
  /** Backend to use; default: RWKV_MUSIC_GEMM or 'auto'. */
  backend?: GemmBackend;
}

/**
 * Products of at most this many rows go to the native rows GEMM: an RNN-mode step at batch 1
 * (bench/gen-speed.ts) is a chain of such products, each too small for ORT's call and thread hand-off.
 */
export const ROWS_GEMM_MAX_ROWS = 4;

/** The native rows GEMM, unless RWKV_MUSIC_NATIVE=0 or the addon does not load. */
function nativeRows(): OrtGemmOptions['rows'] {
  if (parseKernelBackend(process.env.RWKV_MUSIC_NATIVE) === 'ts') return undefined;
  try {
    return { gemm: loadNativeRowsGemm(), maxRows: ROWS_GEMM_MAX_ROWS };
  } catch {
    return undefined; // the reason is reported by kernelsLoadError()
  }
}

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
  const ortOptions: OrtGemmOptions = { rows: nativeRows(), ...options, threads: options.threads ?? envThreads() };
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
