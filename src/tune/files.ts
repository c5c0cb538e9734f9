/**
 * Node side of state tuning: the pieces to tune on (a MIDI file, a folder of them, or a dataset
 * split) and style files on disk.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import type { Frame } from '../data/pianoroll.js';
import { findMidiFiles } from '../data/import.js';
import { UserError } from '../errors.js';
import { openDataset, parseDatasetSpec } from '../generate/pieces.js';
import { readMidiFile } from '../midi/index.js';
import type { SequenceModel } from '../models/model.js';
import { hasStartState, startingFrom, type StartTensor } from '../models/start-state.js';
import { decodeStyle, encodeStyle } from './style.js';

export interface TunePieces {
  pieces: Frame[][];
  /** What they are, for messages: the folder, file or dataset split. */
  label: string;
}

/**
 * `spec` is a .mid/.midi file, a folder of them (searched recursively), or a dataset name with an
 * optional split (default train). Any file that is not readable MIDI is an error naming it.
 */
export function loadTunePieces(spec: string): TunePieces {
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    const files = findMidiFiles(spec);
    if (files.length === 0) throw new UserError(`${spec}: no .mid or .midi files found`);
    return { pieces: files.map(readPiece), label: `${spec} (${files.length} MIDI file${files.length === 1 ? '' : 's'})` };
  }
  if (existsSync(spec) && statSync(spec).isFile() && !/\.json\.gz$/i.test(spec)) {
    if (!/\.midi?$/i.test(spec)) throw new UserError(`${spec}: not a MIDI file (.mid or .midi), a folder of them or a dataset`);
    return { pieces: [readPiece(spec)], label: spec };
  }
  const { name, split } = parseDatasetSpec(spec, 'train');
  const ds = openDataset(name);
  if (ds[split].length === 0) throw new UserError(`${spec}: the ${split} split has no pieces`);
  return { pieces: ds[split], label: `${name}:${split}` };
}

function readPiece(file: string): Frame[] {
  const { roll } = readMidiFile(file);
  if (roll.frames.length < 2 || !roll.frames.some((f) => f.length > 0)) throw new UserError(`${file}: no notes to tune on`);
  return roll.frames;
}

/** The style file path for --out: the name as given, with .safetensors added when it has no extension. */
export function styleOutPath(out: string): string {
  return /\.safetensors$/i.test(out) ? out : `${out}.safetensors`;
}

export function writeStyleFile(path: string, model: SequenceModel, start: readonly StartTensor[], notes: Record<string, string>): number {
  const bytes = encodeStyle(model, start, notes);
  writeFileAtomic(path, bytes);
  return bytes.length;
}

/** `model` starting every piece from the style in `path` (--style); one-line errors for any problem. */
export function withStyleFile(model: SequenceModel, path: string): SequenceModel {
  let file = path;
  if (!existsSync(file) && existsSync(styleOutPath(file))) file = styleOutPath(file);
  if (!existsSync(file) || !statSync(file).isFile()) throw new UserError(`${path}: no such style file`);
  if (!hasStartState(model)) throw new UserError(`${path}: this model cannot take a style`);
  const { start } = decodeStyle(new Uint8Array(readFileSync(file)), basename(file), model);
  return startingFrom(model, start);
}
