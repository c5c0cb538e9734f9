/** Reading MIDI files from disk (Node only; the page converts bytes it already has with midiToRoll). */
import { readFileSync, statSync } from 'node:fs';
import { UserError } from '../errors.js';
import { DEFAULT_MAX_BYTES, midiToRoll, type MidiReadOptions, type MidiReadResult } from './read.js';

/** Reads a .mid/.midi file into a piano roll. Every problem with the file is a UserError naming it. */
export function readMidiFile(path: string, options: MidiReadOptions = {}): MidiReadResult {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let bytes: Uint8Array;
  try {
    const size = statSync(path).size;
    if (size > maxBytes) throw new UserError(`${path}: file is ${size} bytes, more than the ${maxBytes}-byte limit for a MIDI file`);
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: cannot read file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return midiToRoll(bytes, options, path);
}
