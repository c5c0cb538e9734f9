/** Small helpers shared by the train and eval commands. */
import { UserError } from '../../errors.js';
import { createGemm } from '../../engine/gemm-default.js';
import { createModel } from '../../models/index.js';
import type { ModelConfig, SequenceModel } from '../../models/model.js';

export function parseInteger(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UserError(`${flag} must be an integer >= ${min}, got "${value}"`);
  return n;
}

export function parsePositive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${flag} must be a positive number, got "${value}"`);
  return n;
}

/** Builds models of a configuration with the given seed (threads: for the matrix-product backend). */
export function modelBuilder(threads: number | undefined): (config: ModelConfig, seed: number) => SequenceModel {
  const gemm = createGemm({ threads });
  return (config, seed) => createModel(config, { seed, gemm });
}
