/**
 * Shared material between pieces: whether a training piece of one dataset holds music of a held-out
 * piece of another. The JSB chorales and MuseData share Bach chorales, sometimes as the same
 * harmonization, often as the same hymn tune harmonized again, so two tests:
 *
 * - chord passages: the piece as its sequence of chord changes (equal consecutive frames and rests
 *   dropped, so a different time grid or note lengths do not hide a copy), n chords in a row taken
 *   relative to their lowest note (so a copy in another key is found too);
 * - melodic phrases: the top voice as its sequence of pitch changes, n intervals in a row (the same
 *   tune under another harmony, in any key).
 *
 * A candidate shares material with a held-out piece when one chord passage is common to both, or when
 * a given share of the shorter one's melodic phrases is.
 */
import type { Frame } from './pianoroll.js';

/** Chord changes in a row that make a passage; 8 finds the copied chorales and no chance matches (docs/results.md). */
export const PASSAGE_CHORDS = 8;
/** Melodic intervals in a row that make a phrase. */
export const PHRASE_INTERVALS = 12;
/**
 * Share of the shorter piece's phrases that marks the same tune: chorale tunes shared by the JSB set and
 * MuseData share 10-100% of them; no Piano-midi.de piece shares 5% with any other dataset's (docs/results.md).
 */
export const SAME_TUNE_SHARE = 0.1;

/** The distinct chord passages of a piece, each as a string key. */
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

/** The distinct melodic phrases of a piece's top voice (its highest note at each change of pitch), as interval strings. */
export function phrases(sequence: readonly Frame[], intervals = PHRASE_INTERVALS): Set<string> {
  const melody: number[] = [];
  for (const frame of sequence) {
    if (frame.length === 0) continue;
    const top = frame[frame.length - 1];
    if (melody[melody.length - 1] !== top) melody.push(top);
  }
  const out = new Set<string>();
  for (let i = 0; i + intervals < melody.length; i++) {
    const steps: number[] = [];
    for (let j = i; j < i + intervals; j++) steps.push(melody[j + 1] - melody[j]);
    out.add(steps.join(','));
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
  /** The held-out piece a candidate shares material with. */
  heldOut: string;
  /** Chord passages the two have in common. */
  passages: number;
  /** Share of the shorter piece's melodic phrases the two have in common (0..1). */
  tune: number;
}

interface Indexed {
  piece: HeldOutPiece;
  phraseCount: number;
}

/** Index of held-out pieces' passages and phrases, to test candidate pieces against. */
export class HeldOutIndex {
  private readonly byPassage = new Map<string, Indexed[]>();
  private readonly byPhrase = new Map<string, Indexed[]>();

  constructor(pieces: readonly HeldOutPiece[], private readonly chords = PASSAGE_CHORDS, private readonly intervals = PHRASE_INTERVALS) {
    for (const piece of pieces) {
      const keys = phrases(piece.frames, intervals);
      const entry: Indexed = { piece, phraseCount: keys.size };
      for (const passage of passages(piece.frames, chords)) push(this.byPassage, passage, entry);
      for (const phrase of keys) push(this.byPhrase, phrase, entry);
    }
  }

  /** The held-out pieces from other sources that `frames` shares material with, most shared first. */
  shared(frames: readonly Frame[], source: string, sameTune = SAME_TUNE_SHARE): SharedMaterial[] {
    const found = new Map<Indexed, { passages: number; phrases: number }>();
    const tally = (entry: Indexed, field: 'passages' | 'phrases') => {
      if (entry.piece.source === source) return;
      const counts = found.get(entry) ?? { passages: 0, phrases: 0 };
      counts[field]++;
      found.set(entry, counts);
    };
    for (const passage of passages(frames, this.chords)) for (const e of this.byPassage.get(passage) ?? []) tally(e, 'passages');
    const own = phrases(frames, this.intervals);
    for (const phrase of own) for (const e of this.byPhrase.get(phrase) ?? []) tally(e, 'phrases');
    const out: SharedMaterial[] = [];
    for (const [entry, counts] of found) {
      const shorter = Math.min(own.size, entry.phraseCount);
      const tune = shorter > 0 ? counts.phrases / shorter : 0;
      if (counts.passages > 0 || tune >= sameTune) out.push({ heldOut: entry.piece.name, passages: counts.passages, tune });
    }
    return out.sort((a, b) => b.passages - a.passages || b.tune - a.tune);
  }
}

function push(map: Map<string, Indexed[]>, key: string, entry: Indexed): void {
  const list = map.get(key);
  if (list) list.push(entry);
  else map.set(key, [entry]);
}
