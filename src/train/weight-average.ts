/**
 * An exponential moving average of the weights (Polyak averaging). After every update
 *
 *   avg = d avg + (1 - d) w,   d = min(decay, (1 + n) / (10 + n))   (n: updates so far, counted from 1)
 *
 * so early on the average follows the weights closely and forgets where they started. Validation, the
 * best checkpoint and the published weights use the average; training goes on from the live weights.
 * The average damps the step-to-step noise of a high learning rate without lowering it.
 */
import type { Param } from '../engine/tensor.js';
import { tsKernels, type Kernels } from '../engine/kernels.js';

/** Whether d can be a moving average's decay: a number strictly between 0 and 1. */
export function isAverageDecay(d: unknown): d is number {
  return typeof d === 'number' && d > 0 && d < 1;
}

/** The decay used after n updates: warmed up so the first updates are not swamped by the start. */
export function averageDecay(decay: number, updates: number): number {
  return Math.min(decay, (1 + updates) / (10 + updates));
}

export class WeightAverage {
  /** Per parameter, in the order of the parameters: the averaged weights. */
  readonly average: Float32Array[];
  private readonly spare: Float32Array[];

  /** `kernels` fold the weights in (default: the TypeScript ones). */
  constructor(
    private readonly params: readonly Param[],
    readonly decay: number,
    private readonly kernels: Kernels = tsKernels,
  ) {
    this.average = params.map((p) => p.data.slice());
    this.spare = params.map((p) => new Float32Array(p.data.length));
  }

  /** Starts the average again from the current weights (e.g. once a new run has set its starting weights). */
  restart(): void {
    for (let i = 0; i < this.params.length; i++) this.average[i].set(this.params[i].data);
  }

  /** Folds the current weights into the average; `updates` counts the optimizer's updates so far. */
  update(updates: number): void {
    const d = averageDecay(this.decay, updates);
    for (let i = 0; i < this.params.length; i++) this.kernels.averageInto(this.average[i], this.params[i].data, d);
  }

  /** Runs f with the averaged weights in the parameters, then puts the live weights back exactly. */
  withAverage<T>(f: () => T): T {
    for (let i = 0; i < this.params.length; i++) {
      this.spare[i].set(this.params[i].data);
      this.params[i].data.set(this.average[i]);
    }
    try {
      return f();
    } finally {
      for (let i = 0; i < this.params.length; i++) this.params[i].data.set(this.spare[i]);
    }
  }

  /** The live weights, by parameter name (for a checkpoint, whose model file holds the average). */
  liveWeights(): Map<string, Float32Array> {
    return new Map(this.params.map((p) => [p.name, p.data]));
  }

  /**
   * Restores a checkpoint's state: the parameters hold the averaged weights read from its model file;
   * `live` the weights training goes on from.
   */
  load(live: Map<string, Float32Array>): void {
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i];
      this.average[i].set(p.data);
      p.data.set(live.get(p.name)!);
    }
  }
}
