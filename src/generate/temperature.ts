/**
 * Named frame temperatures (SampleOptions.temperature). "Conservative" is the lowest the product
 * recommends: the lowest value at which unprimed samples of both bundled Nottingham models kept
 * their density (no empty stretches, no take under 64 notes in 256 frames; docs/results.md).
 */
import { UserError } from '../errors.js';

export const CONSERVATIVE_TEMPERATURE = 0.6;
export const DEFAULT_TEMPERATURE = 1;
export const ADVENTUROUS_TEMPERATURE = 1.5;

export const NAMED_TEMPERATURES: Record<string, number> = {
  conservative: CONSERVATIVE_TEMPERATURE,
  default: DEFAULT_TEMPERATURE,
  adventurous: ADVENTUROUS_TEMPERATURE,
};

/** A temperature flag: a number > 0 or one of the names above. */
export function parseTemperature(value: string, flag = '--temperature'): number {
  const named = NAMED_TEMPERATURES[value.trim().toLowerCase()];
  if (named !== undefined) return named;
  const t = Number(value);
  if (value.trim() === '' || !Number.isFinite(t) || t <= 0) {
    throw new UserError(`${flag} must be a number > 0 or one of ${Object.keys(NAMED_TEMPERATURES).join(', ')} (got ${value})`);
  }
  return t;
}
