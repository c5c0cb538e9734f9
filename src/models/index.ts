import type { Gemm } from '../engine/gemm.js';
import { tsGemm } from '../engine/gemm-ts.js';
import { tsKernels, type Kernels } from '../engine/kernels.js';
import type { Param } from '../engine/tensor.js';
import { configParameterCount, validateConfig } from './config.js';
import { LstmModel } from './lstm.js';
import type { ModelConfig, SequenceModel } from './model.js';
import { RwkvModel, type RwkvInit } from './rwkv.js';
import { Rwkv6Model } from './rwkv6.js';

export { RwkvModel } from './rwkv.js';
export { Rwkv6Model } from './rwkv6.js';
export { LstmModel } from './lstm.js';
export { validateConfig } from './config.js';

export interface CreateOptions {
  /** Seed for the initial weights. */
  seed: number;
  /**
   * Matrix-multiply backend. Defaults to the portable TypeScript GEMM, so that this module also runs
   * in the browser; Node callers pass defaultGemm() from src/engine/gemm-default.ts (ONNX Runtime).
   */
  gemm?: Gemm;
  /**
   * The other kernels (WKV, token shift, LayerNorm, activations, LSTM cells). Defaults to the
   * TypeScript ones for the same reason; Node callers pass defaultKernels() from
   * src/engine/kernels-default.ts (the native addon when it is built).
   */
  kernels?: Kernels;
  /**
   * How RWKV's matrices start (see RwkvModel.initialize, Rwkv6Model.initialize): 'rwkv-lm' (default; RWKV-LM's trainer:
   * zero and orthogonal) or 'pytorch' (every Linear U(±1/sqrt(fan_in))). Ignored for the LSTM.
   */
  rwkvInit?: RwkvInit;
  /** Skip initialisation (all parameters zero), e.g. when weights are loaded right after. */
  uninitialized?: boolean;
}

/** Builds a freshly initialised model of the given configuration. */
export function createModel(config: ModelConfig, options: CreateOptions): SequenceModel {
  const cfg = validateConfig(config);
  const gemm = options.gemm ?? tsGemm;
  const kernels = options.kernels ?? tsKernels;
  if (cfg.kind === 'rwkv') {
    const m = new RwkvModel(cfg, gemm, kernels);
    if (!options.uninitialized) m.initialize(options.seed, options.rwkvInit ?? 'rwkv-lm');
    return m;
  }
  if (cfg.kind === 'rwkv6') {
    const m = new Rwkv6Model(cfg, gemm, kernels);
    if (!options.uninitialized) m.initialize(options.seed, options.rwkvInit ?? 'rwkv-lm');
    return m;
  }
  const m = new LstmModel(cfg, gemm, kernels);
  if (!options.uninitialized) m.initialize(options.seed);
  return m;
}

/** Total number of trainable scalars. */
export function parameterCount(model: SequenceModel | readonly Param[]): number {
  const params = Array.isArray(model) ? (model as readonly Param[]) : (model as SequenceModel).parameters();
  let n = 0;
  for (const p of params) n += p.data.length;
  return n;
}

/** Number of trainable scalars of a configuration, without building the model. */
export function parameterCountOf(config: ModelConfig): number {
  return configParameterCount(config);
}
