import { readFileSync } from 'node:fs';
/** Small helpers shared by the train and eval commands. */
import { MAX_THREADS } from '../../limits.js';
import { parseInteger } from '../parse.js';
import { createGemm, defaultGemm } from '../../engine/gemm-default.js';
import type { Gemm } from '../../engine/gemm.js';
import { createKernels, defaultKernels, kernelsLoadError } from '../../engine/kernels-default.js';
import { tsKernels, type Kernels } from '../../engine/kernels.js';
import { createModel } from '../../models/index.js';
import type { ModelConfig, SequenceModel } from '../../models/model.js';

/** --threads: undefined when not given, else a whole number in 1..MAX_THREADS (docs/limits.md). */
export function parseThreads(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseInteger(value, '--threads', 1, MAX_THREADS);
}

/** The matrix-product backend: the default one, or ONNX Runtime with this many threads. */
export function gemmFor(threads: number | undefined): Gemm {
  return threads === undefined ? defaultGemm() : createGemm({ threads });
}

/** The other kernels: the default ones (native when built), or with this many threads. */
export function kernelsFor(threads: number | undefined): Kernels {
  return threads === undefined ? defaultKernels() : createKernels({ threads });
}

/** The kernels' name, with the reason when the native ones could not be used. */
export function describeKernels(kernels: Kernels): string {
  const why = kernels === tsKernels ? kernelsLoadError() : undefined;
  return why ? `${kernels.name} (${why.message})` : kernels.name;
}

/** Builds models of a configuration with the given seed on the chosen backends. */
export function modelBuilder(
  threads: number | undefined, gemm: Gemm = gemmFor(threads), kernels: Kernels = kernelsFor(threads),
): (config: ModelConfig, seed: number) => SequenceModel {
  return (config, seed) => createModel(config, { seed, gemm, kernels });
}

/** The package's version, recorded in every run's config. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
