/**
 * Picks the non-GEMM kernels for Node: the native addon when it is built and loads, else the
 * TypeScript kernels (the reason is kept in kernelsLoadError()).
 *
 * Environment overrides:
 *   RWKV_MUSIC_NATIVE=0|1     0: always the TypeScript kernels; 1: the native ones or an error
 *                             (unset or 'auto': native when available)
 *   RWKV_MUSIC_THREADS=n      threads of the native kernels (default: number of cores)
 */
import { availableParallelism } from 'node:os';
import { tsKernels, type Kernels } from './kernels.js';
import { loadNativeKernels } from './kernels-native.js';
import { envThreads } from './threads.js';
import { UserError } from '../errors.js';

export type KernelBackend = 'auto' | 'ts' | 'native';

export interface KernelOptions {
  /** Default: RWKV_MUSIC_NATIVE, else 'auto'. */
  backend?: KernelBackend;
  /** Threads of the native kernels; default RWKV_MUSIC_THREADS, else the number of cores. */
  threads?: number;
}

let shared: Kernels | undefined;
let lastError: Error | undefined;

export function parseKernelBackend(value: string | undefined, source = 'RWKV_MUSIC_NATIVE'): KernelBackend {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === '0' || v === 'ts' || v === 'typescript' || v === 'false' || v === 'off') return 'ts';
  if (v === '1' || v === 'native' || v === 'true' || v === 'on') return 'native';
  throw new UserError(`${source} must be 0 (TypeScript kernels), 1 (native) or auto, got '${value}'`);
}

/** Kernels for the requested backend; 'native' throws if the addon cannot be used. */
export function createKernels(options: KernelOptions = {}): Kernels {
  const backend = options.backend ?? parseKernelBackend(process.env.RWKV_MUSIC_NATIVE);
  if (backend === 'ts') return tsKernels;
  const threads = options.threads ?? envThreads() ?? availableParallelism();
  if (backend === 'native') return loadNativeKernels(threads);
  try {
    return loadNativeKernels(threads);
  } catch (e) {
    lastError = e as Error;
    return tsKernels;
  }
}

/** The process-wide default kernels (created once, honouring RWKV_MUSIC_NATIVE and RWKV_MUSIC_THREADS). */
export function defaultKernels(): Kernels {
  if (!shared) shared = createKernels();
  return shared;
}

/** Why the native kernels were not used by the last 'auto' selection, if they failed to load. */
export function kernelsLoadError(): Error | undefined {
  return lastError;
}
