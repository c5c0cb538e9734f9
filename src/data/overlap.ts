/**
 * Shared material between pieces: whether a training piece of one dataset contains a passage of a
 * held-out piece of another (the same Bach chorale is in both the JSB chorales and MuseData, for
 * instance). Pieces are compared as their sequences of chord changes (consecutive equal frames and
 * rests dropped), so a different time grid or note lengths do not hide a copy; a passage is n
 * consecutive chords taken relative to their lowest note, so a copy in another key is found too.
 */
import type { Frame } from './pianoroll.js';

/** Chord changes in a row that make a passage; 8 finds the copied chorales and no chance matches (docs/results.md). */
export const PASSAGE_CHORDS = 8;

/** The distinct passages of a piece, each as a string key. */
export function passages(sequence: readonly Frame[], chords = PASSAGE_CHORDS): Set<string> {
  const changes: Frame[] = [];
  let previous = '';
  for (const frame of sequence) {
    if (frame.length === 0) continue;
    const key = frame.join(',');
    if (key !== previous) changes.push(frame);
    previous = key;
  }
  const out = new Set<string>();
  for (let i = 0; i + chords <= changes.length; i++) {
    let lowest = Infinity;
    for (let j = i; j < i + chords; j++) lowest = Math.min(lowest, changes[j][0]);
    const parts: string[] = [];
    for (let j = i; j < i + chords; j++) parts.push(changes[j].map((note) => note - lowest).join('.'));
    out.add(parts.join('|'));
  }
  return out;
}

/** A piece to be kept apart, named for reports (e.g. "jsb-chorales/test/19"). */
export interface HeldOutPiece {
  name: string;
  /** Pieces from the same source are not compared with it (a dataset's own splits are disjoint by construction). */
  source: string;
  frames: readonly Frame[];
}

export interface SharedMaterial {
  /** The held-out piece a candidate shares passages with. */
  heldOut: string;
  /** How many distinct passages they share. */
  passages: number;
}

/** Index of held-out pieces' passages, to test candidate pieces against. */
export class HeldOutIndex {
  private readonly owners = new Map<string, HeldOutPiece[]>();

  constructor(pieces: readonly HeldOutPiece[], private readonly chords = PASSAGE_CHORDS) {
    for (const piece of pieces) {
      for (const passage of passages(piece.frames, chords)) {
        const list = this.owners.get(passage);
        if (list) list.push(piece);
        else this.owners.set(passage, [piece]);
      }
    }
  }

  /** The held-out pieces from other sources that share at least one passage with `frames`, most shared first. */
  shared(frames: readonly Frame[], source: string): SharedMaterial[] {
    const counts = new Map<string, number>();
    for (const passage of passages(frames, this.chords)) {
      for (const piece of this.owners.get(passage) ?? []) {
        if (piece.source === source) continue;
        counts.set(piece.name, (counts.get(piece.name) ?? 0) + 1);
      }
    }
    return [...counts].map(([heldOut, n]) => ({ heldOut, passages: n })).sort((a, b) => b.passages - a.passages);
  }
}
