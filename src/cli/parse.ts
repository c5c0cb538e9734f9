/**
 * Numbers given on the command line. Every numeric flag goes through these, so all of them refuse the
 * same inputs (empty text, "12abc", "0x10", Infinity, values out of range) with the same kind of line.
 */
import { UserError } from '../errors.js';

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function rangeText(min: number, max: number): string {
  if (min > -Infinity && max < Infinity) return ` from ${min} to ${max}`;
  if (min > -Infinity) return ` >= ${min}`;
  if (max < Infinity) return ` <= ${max}`;
  return '';
}

/** A whole number in [min, max], e.g. parseInteger('8', '--count', 1). */
export function parseInteger(text: string, flag: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  const t = text.trim();
  const n = Number(t);
  if (!INTEGER.test(t) || !Number.isSafeInteger(n) || n < min || n > max) {
    const lo = min === Number.MIN_SAFE_INTEGER ? -Infinity : min;
    const hi = max === Number.MAX_SAFE_INTEGER ? Infinity : max;
    throw new UserError(`${flag} must be a whole number${rangeText(lo, hi)}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A finite decimal number in [min, max] (plain or with an exponent: 0.5, 3e-4). */
export function parseNumber(text: string, flag: string, min = -Infinity, max = Infinity): number {
  const t = text.trim();
  const n = Number(t);
  if (!DECIMAL.test(t) || !Number.isFinite(n) || n < min || n > max) {
    throw new UserError(`${flag} must be a number${rangeText(min, max)}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A finite number > 0, e.g. a learning rate or a time budget. */
export function parsePositive(text: string, flag: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!DECIMAL.test(t) || !Number.isFinite(n) || !(n > 0)) throw new UserError(`${flag} must be a number > 0, got ${JSON.stringify(text)}`);
  return n;
}
