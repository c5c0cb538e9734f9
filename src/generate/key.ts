/**
 * Keys as a user names them. The bundled datasets are transposed so that every piece is in C major
 * or C minor (Boulanger-Lewandowski et al. 2012), so a key is a shift of the tonic from C: "D" is +2
 * (D major for major pieces, D minor for minor ones), "A" is -3.
 */
import { UserError } from '../errors.js';

const NAMES: Record<string, number> = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };
const SHARP_NAMES = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];

/** The tonic's name for a shift from C (e.g. -2 -> "A#"). */
export function keyName(shift: number): string {
  return SHARP_NAMES[((shift % 12) + 12) % 12];
}

/**
 * Parses `--key`: a tonic name (C, C#, Db, ... B; m or "minor" after it is accepted and ignored, the
 * mode is the piece's) or a signed number of semitones. Names take the shift nearest to C
 * (-5..+6); `maxShift` is the model's key range, used to pick the in-range spelling (F# = +6 = -6).
 */
export function parseKey(spec: string, maxShift = 6): number {
  const s = spec.trim();
  if (/^[+-]?\d+$/.test(s)) return Number(s);
  const m = /^([A-Ga-g])([#b]?)\s*(m|min|minor|maj|major)?$/.exec(s);
  if (!m) throw new UserError(`--key must be a tonic name such as C, D, Bb or F# or a number of semitones from C such as -2 (got "${spec}")`);
  let pc = NAMES[m[1].toUpperCase()] + (m[2] === '#' ? 1 : m[2] === 'b' ? -1 : 0);
  pc = ((pc % 12) + 12) % 12;
  const up = pc;
  const down = pc - 12;
  if (Math.abs(down) <= maxShift && Math.abs(down) < Math.abs(up)) return down;
  if (Math.abs(up) <= maxShift) return up;
  return Math.abs(down) <= Math.abs(up) ? down : up;
}
