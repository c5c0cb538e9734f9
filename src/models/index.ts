import type { Gemm } from '../engine/gemm.js';
import type { ModelConfig, SequenceModel } from './model.js';

export interface CreateOptions {
  /** Seed for the initial weights. */
  seed: number;
  /** Matrix-multiply backend; defaults to the fastest available. */
  gemm?: Gemm;
}

/** Builds a freshly initialised model of the given configuration. */
export function createModel(config: ModelConfig, options: CreateOptions): SequenceModel {
  throw new Error(`model kind ${config.kind} is not implemented yet (seed ${options.seed})`);
}
