/**
 * The music a take starts from: the primer of a composed take, the melody of a harmonized one.
 * It comes from a bundled dataset sequence (fetched from the server) or a MIDI file read in the page
 * (never sent anywhere), trimmed to the bars chosen.
 */
import type { Frame, FrameTiming } from '../../src/data/pianoroll.js';
import { midiToRoll } from '../../src/midi/read.js';
import { api, type DatasetInfo } from './api.js';
import { FieldError, intField, optionalIntField } from './fields.js';
import { framesPerBar, meterOf, stepsPerQuarter } from './musical-time.js';

export const MAX_SOURCE_FRAMES = 4096;
export const MAX_MIDI_BYTES = 4 * 1024 * 1024;
const MAX_BARS = 4096;

export type SourceKind = 'none' | 'dataset' | 'midi';

export interface SourceFields {
  dataset: HTMLSelectElement;
  split: HTMLSelectElement;
  index: HTMLInputElement;
  file: HTMLInputElement;
  fromBar: HTMLInputElement;
  toBar: HTMLInputElement;
}

export interface Source {
  frames: Frame[];
  timing: FrameTiming;
  /** Says what was taken, e.g. "tune.mid, bars 1-2 of 16 (16 frames)". */
  label: string;
}

/** Keeps bars from..to (1-based, inclusive; to = undefined: to the end) of `frames`. */
function trim(frames: Frame[], timing: FrameTiming, f: SourceFields, from: number, to: number | undefined, name: string): Source {
  const perBar = framesPerBar(meterOf(stepsPerQuarter(timing)));
  const bars = Math.ceil(frames.length / perBar);
  if (from > bars) throw new FieldError(f.fromBar, `${name} has ${bars} bar${bars === 1 ? '' : 's'}; the first bar must be from 1 to ${bars}`);
  const last = Math.min(to ?? bars, bars);
  const kept = frames.slice((from - 1) * perBar, last * perBar);
  return { frames: kept, timing, label: `${name}, bars ${from}-${last} of ${bars} (${kept.length} frames)` };
}

export async function readSource(kind: SourceKind, f: SourceFields, datasets: readonly DatasetInfo[]): Promise<Source | null> {
  if (kind === 'none') return null;
  const from = intField(f.fromBar, 'first bar', 1, MAX_BARS);
  const to = optionalIntField(f.toBar, 'last bar', 1, MAX_BARS);
  if (to !== undefined && to < from) throw new FieldError(f.toBar, `the last bar (${to}) comes before the first (${from})`);
  if (kind === 'dataset') {
    const info = datasets.find((d) => d.name === f.dataset.value);
    if (!info) throw new FieldError(f.dataset, 'choose a dataset');
    const count = info.splits[f.split.value] ?? 0;
    const index = intField(f.index, 'sequence', 0, Math.max(0, count - 1));
    const perBar = framesPerBar(meterOf(stepsPerQuarter(info.timing)));
    const wanted = Math.min(MAX_SOURCE_FRAMES, to === undefined ? MAX_SOURCE_FRAMES : to * perBar);
    const seq = await api.sequence(info.name, f.split.value, index, wanted);
    return trim(seq.frames, seq.timing, f, from, to, `${seq.dataset} ${seq.split} #${seq.index}`);
  }
  const file = f.file.files?.[0];
  if (!file) throw new FieldError(f.file, 'choose a MIDI file (or pick another source)');
  if (file.size > MAX_MIDI_BYTES) throw new FieldError(f.file, `${file.name} is ${file.size} bytes; the studio reads MIDI files up to ${MAX_MIDI_BYTES} bytes`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  let roll;
  try {
    roll = midiToRoll(bytes, { stepsPerQuarter: 2 }, file.name).roll;
  } catch (err) {
    throw new FieldError(f.file, (err as Error).message);
  }
  const source = trim(roll.frames, roll.timing, f, from, to, file.name);
  if (source.frames.length > MAX_SOURCE_FRAMES) throw new FieldError(f.toBar, `${file.name}: choose at most ${MAX_SOURCE_FRAMES} frames (bars ${from}-${to ?? 'end'} hold ${source.frames.length})`);
  return source;
}
