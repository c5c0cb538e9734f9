/**
 * The time budget of a training invocation (--minutes): when to stop so the final validation still
 * fits, the cosine horizon that fits in the budget, and the ETA of the run.
 *
 * The horizon (steps until the cosine schedule reaches its floor) is estimated on a run's first
 * invocation from the speed of steps 4..13 (the first ones warm up), then refined at each epoch end,
 * as the steps done plus the steps (each with its share of a validation) that fit in the time left,
 * with a 5% margin; never beyond the horizon the epoch limit gives.
 */
export interface BudgetOptions {
  /** The budget in ms (Infinity: none). */
  budgetMs: number;
  /** Clock reading when the invocation started. */
  start: number;
  /** Estimate the cosine horizon from the measured speed (first invocation, time budget, no fixed horizon). */
  estimateHorizon: boolean;
  /** The horizon an epoch limit gives (Infinity: none). */
  epochHorizon: number;
  /** Frames one validation scores (its time is estimated from them before one is measured). */
  validFrames: number;
}

/** Steps timed for the first horizon estimate; the first SKIPPED of them are not used. */
const TIMED_STEPS = 13;
const SKIPPED = 3;

export class TimeBudget {
  private trainMs = 0;
  private trainFrames = 0;
  private steps = 0;
  private validationMs: number | null = null;
  private readonly timed: number[] = [];

  constructor(private readonly o: BudgetOptions) {}

  /** Time to keep for the final validation: the last one's, or 40% of a training pass over as many frames. */
  private reserveMs(): number {
    if (this.validationMs !== null) return this.validationMs;
    // A forward pass costs about a third of forward + backward; allow 40%.
    return this.trainFrames > 0 ? (0.4 * this.o.validFrames * this.trainMs) / this.trainFrames : 0;
  }

  /** True when another step would leave no time for the final validation. */
  exhausted(at: number): boolean {
    return at - this.o.start + this.reserveMs() >= this.o.budgetMs;
  }

  private horizon(perStepMs: number, validationPerStepMs: number, step: number, at: number): number {
    const leftMs = this.o.budgetMs - (at - this.o.start);
    const fit = Math.max(0, Math.floor((0.95 * leftMs) / Math.max(1e-6, perStepMs + validationPerStepMs)));
    return Math.max(1, Math.min(this.o.epochHorizon, step + fit));
  }

  /**
   * Counts a training step (ms, frames) that ended at `at` with `step` steps done; returns the first
   * horizon estimate once enough steps are timed, else null.
   */
  stepDone(ms: number, frames: number, step: number, batchesPerEpoch: number, at: number): number | null {
    this.trainMs += ms;
    this.trainFrames += frames;
    this.steps++;
    if (!this.o.estimateHorizon || this.timed.length >= TIMED_STEPS) return null;
    this.timed.push(ms);
    if (this.timed.length < TIMED_STEPS) return null;
    const perStep = this.timed.slice(SKIPPED).reduce((a, b) => a + b, 0) / (TIMED_STEPS - SKIPPED);
    return this.horizon(perStep, this.reserveMs() / batchesPerEpoch, step, at);
  }

  validationDone(ms: number): void {
    this.validationMs = ms;
  }

  /** At an epoch end (after its validation): the refined horizon, or null when it is not estimated. */
  epochDone(step: number, batchesPerEpoch: number, at: number): number | null {
    if (!this.o.estimateHorizon || this.steps === 0) return null;
    return this.horizon(this.trainMs / this.steps, (this.validationMs ?? 0) / batchesPerEpoch, step, at);
  }

  /** Seconds to the end of the run: the time budget, or the batches left at the speed so far (null: unknown). */
  runEtaSeconds(batchesLeft: number | null, at: number): number | null {
    const left = this.o.budgetMs - (at - this.o.start);
    const fromEpochs = batchesLeft !== null && this.steps > 0 ? (batchesLeft * (at - this.o.start)) / this.steps : Infinity;
    const ms = Math.min(left, fromEpochs);
    return Number.isFinite(ms) ? ms / 1000 : null;
  }
}
