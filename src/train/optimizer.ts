/**
 * AdamW (Loshchilov & Hutter) with decoupled weight decay on the parameters marked `decay`, and
 * global-norm gradient clipping. The state (first and second moments per parameter, step count) is
 * kept in float32 arrays so a checkpoint stores it bit for bit.
 */
import type { Param } from '../engine/tensor.js';
import { tsKernels, type Kernels } from '../engine/kernels.js';
import type { AdamWStep } from '../engine/adamw-update.js';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface OptimizerState {
  step: number;
  /** Per parameter name: first moment m and second moment v, same length as the parameter. */
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/** sqrt of the sum of squares of every gradient, in float64; NaN/Infinity if any entry is not finite. */
export function globalGradNorm(params: readonly Param[], kernels: Kernels = tsKernels): number {
  let sum = 0;
  for (const p of params) sum += kernels.sumSquares(p.grad);
  return Math.sqrt(sum);
}

/** Scales all gradients so their global norm is at most maxNorm; returns the factor applied (1 if none). */
export function clipGradients(params: readonly Param[], norm: number, maxNorm: number, kernels: Kernels = tsKernels): number {
  if (!(maxNorm > 0) || norm <= maxNorm) return 1;
  const scale = maxNorm / (norm + 1e-6);
  for (const p of params) kernels.scaleInPlace(p.grad, scale);
  return scale;
}

export function zeroGradients(params: readonly Param[]): void {
  for (const p of params) p.grad.fill(0);
}

export class AdamW {
  readonly state: OptimizerState;

  constructor(
    private readonly params: readonly Param[],
    readonly config: AdamWConfig,
    /** Where the elementwise update runs (the native kernels in Node, see kernels-default.ts). */
    private readonly kernels: Kernels = tsKernels,
  ) {
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) throw new Error(`duplicate parameter name ${p.name}`);
      names.add(p.name);
    }
    this.state = {
      step: 0,
      m: new Map(params.map((p) => [p.name, new Float32Array(p.data.length)])),
      v: new Map(params.map((p) => [p.name, new Float32Array(p.data.length)])),
    };
  }

  /** One update with learning rate lr from the gradients currently in the parameters. */
  step(lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.config;
    const t = ++this.state.step;
    const bc1 = 1 - Math.pow(beta1, t);
    const bc2 = 1 - Math.pow(beta2, t);
    const constants: AdamWStep = { beta1, beta2, eps, stepSize: lr / bc1, invSqrtBc2: 1 / Math.sqrt(bc2) };
    for (const p of this.params) {
      const shrink = p.decay && weightDecay > 0 ? 1 - lr * weightDecay : 1;
      this.kernels.adamwUpdate(p.data, p.grad, this.state.m.get(p.name)!, this.state.v.get(p.name)!, shrink, constants);
    }
  }

  /** Replaces the state with a saved one (checked for matching names and sizes by the caller). */
  load(step: number, m: Map<string, Float32Array>, v: Map<string, Float32Array>): void {
    for (const p of this.params) {
      const mi = m.get(p.name);
      const vi = v.get(p.name);
      if (!mi || !vi || mi.length !== p.data.length || vi.length !== p.data.length) {
        throw new Error(`optimizer state does not match parameter ${p.name}`);
      }
      this.state.m.get(p.name)!.set(mi);
      this.state.v.get(p.name)!.set(vi);
    }
    this.state.step = step;
  }
}
