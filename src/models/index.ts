import { embeddingInputWidth } from './input-stage.js';
import type { Gemm } from '../engine/gemm.js';
import { tsGemm } from '../engine/gemm-ts.js';
import { tsKernels, type Kernels } from '../engine/kernels.js';
import type { Param } from '../engine/tensor.js';
import { validateConfig } from './config.js';
import { LstmModel } from './lstm.js';
import type { ModelConfig, SequenceModel } from './model.js';
import { RwkvModel, type RwkvInit } from './rwkv.js';

export { RwkvModel } from './rwkv.js';
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
   * How RWKV's matrices start (see RwkvModel.initialize): 'rwkv-lm' (default; RWKV-LM's trainer:
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
  const K = 88;
  const embInputs = embeddingInputWidth(config);
  const chain = (features: number) => {
    const Hc = config.keyChain ?? 0;
    return Hc > 0 ? Hc * features + Hc + Hc * K + K * Hc + K * K : 0;
  };
  if (config.kind === 'rwkv') {
    const { nLayer: L, nEmbd: C, ffn: F } = config;
    const perBlock = 4 * C /* ln1, ln2 */ + 5 * C /* decay, first, 3 mixes */ + 4 * C * C + 2 * C /* ffn mixes */ + 2 * F * C + C * C;
    return embInputs * C + C + 2 * C /* ln0 */ + L * perBlock + 2 * C /* ln_out */ + K * C + K + chain(C);
  }
  const { layers: L, hidden: H, embed: E } = config;
  let n = embInputs * E + E + H * K + K + chain(H);
  for (let k = 0; k < L; k++) n += 4 * H * ((k === 0 ? E : H) + H + 2);
  return n;
}
