/**
 * Learning-rate schedules. A schedule is a pure function of the position in training, so a resumed
 * run recomputes exactly the rate an uninterrupted run would use.
 */

export interface SchedulePosition {
  /** Optimizer steps taken before this one (0 for the first step). */
  step: number;
  /** Index of the current batch within its epoch, and the number of batches in the epoch. */
  batchInEpoch: number;
  batchesInEpoch: number;
}

/**
 * Linear warmup from 0 to `lr` over `warmupSteps` (at most a fifth of `totalSteps`), then cosine
 * decay to `minLr` at `totalSteps`.
 */
export interface CosineSchedule {
  kind: 'cosine';
  lr: number;
  minLr: number;
  warmupSteps: number;
  /** Length of the decay horizon; steps beyond it stay at minLr. */
  totalSteps: number;
}

/**
 * The course project's per-epoch triangular schedule: over the first 35% of an epoch's batches the
 * rate climbs linearly from lo to hi, over the next 35% it falls to hi/7 + lo, and over the rest it
 * falls to lo.
 */
export interface TriangularSchedule {
  kind: 'triangular';
  lo: number;
  hi: number;
}

export interface ConstantSchedule {
  kind: 'constant';
  lr: number;
}

export type Schedule = CosineSchedule | TriangularSchedule | ConstantSchedule;

export function learningRate(schedule: Schedule, pos: SchedulePosition): number {
  switch (schedule.kind) {
    case 'constant':
      return schedule.lr;
    case 'cosine':
      return cosineRate(schedule, pos.step);
    case 'triangular':
      return triangularRate(schedule, pos.batchInEpoch, pos.batchesInEpoch);
  }
}

function cosineRate(s: CosineSchedule, step: number): number {
  // A horizon shorter than five warmups (a short time budget) shortens the warmup to a fifth of it.
  const warmup = Math.min(s.warmupSteps, Math.floor(s.totalSteps / 5));
  if (step < warmup) return (s.lr * (step + 1)) / warmup;
  const span = Math.max(1, s.totalSteps - warmup);
  const progress = Math.min(1, (step - warmup) / span);
  return s.minLr + (s.lr - s.minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

function triangularRate(s: TriangularSchedule, batch: number, batches: number): number {
  const p = batches > 0 ? batch / batches : 0;
  const mid = s.hi / 7 + s.lo;
  if (p < 0.35) return s.lo + ((s.hi - s.lo) * p) / 0.35;
  if (p < 0.7) return s.hi + ((mid - s.hi) * (p - 0.35)) / 0.35;
  return mid + ((s.lo - mid) * (p - 0.7)) / 0.3;
}

/** Checks a schedule read from a config file; returns a one-line complaint or null. */
export function scheduleProblem(s: Schedule): string | null {
  const pos = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  switch (s.kind) {
    case 'constant':
      return pos(s.lr) ? null : 'schedule.lr must be a non-negative number';
    case 'cosine':
      if (!pos(s.lr) || !pos(s.minLr)) return 'schedule.lr and schedule.minLr must be non-negative numbers';
      if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0) return 'schedule.warmupSteps must be an integer >= 0';
      return null;
    case 'triangular':
      if (!pos(s.lo) || !pos(s.hi)) return 'schedule.lo and schedule.hi must be non-negative numbers';
      return null;
    default:
      return `unknown schedule kind ${JSON.stringify((s as { kind: unknown }).kind)} (cosine, triangular or constant)`;
  }
}
