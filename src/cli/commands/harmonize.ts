import type { Command } from 'commander';
import { resolve } from 'node:path';
import { DEFAULT_TIMING, type Frame, type FrameTiming } from '../../data/pianoroll.js';
import { SPLITS, type SplitName } from '../../data/dataset.js';
import { UserError } from '../../errors.js';
import { canHarmonize, harmonizeInKey, melodyFromFrames, type Melody } from '../../generate/harmonize.js';
import { keyName, parseKey } from '../../generate/key.js';
import { parseFormats, writeSample, type SampleSettings } from '../../generate/outputs.js';
import { openDataset } from '../../generate/pieces.js';
import { resolveModel } from '../../run/resolve.js';
import { takeProblem } from '../../generate/take-check.js';
import { parseTemperature } from '../../generate/temperature.js';
import { readMidiFile, rollToMidi } from '../../midi/index.js';
import { loadModelFile } from '../../models/io.js';
import { parseInteger } from '../parse.js';

interface HarmonizeFlags {
  melody?: string;
  melodyDataset?: string;
  checkpoint: string;
  temperature: string;
  seed: string;
  key?: string;
  out: string;
  format: string;
}

/** The melody named on the command line (the top voice where it has chords) and its timing. */
function loadMelody(flags: HarmonizeFlags): { melody: Melody; timing: FrameTiming; label: string } {
  if ((flags.melody === undefined) === (flags.melodyDataset === undefined)) {
    throw new UserError('give the tune with --melody tune.mid or --melody-dataset nottingham:test:3 (one of the two)');
  }
  if (flags.melody !== undefined) {
    const { roll } = readMidiFile(flags.melody);
    if (!roll.frames.some((f) => f.length > 0)) throw new UserError(`${flags.melody}: the file has no notes`);
    return { melody: melodyFromFrames(roll.frames), timing: roll.timing, label: flags.melody };
  }
  const spec = flags.melodyDataset!;
  const parts = spec.split(':');
  const bad = () => new UserError(`--melody-dataset must look like nottingham:test:3 (dataset:split:piece number), got ${spec}`);
  if (parts.length < 3) throw bad();
  const index = parts.pop()!;
  const split = parts.pop()!;
  if (!(SPLITS as readonly string[]).includes(split) || !/^\d+$/.test(index)) throw bad();
  const ds = openDataset(parts.join(':'));
  const pieces: Frame[][] = ds[split as SplitName];
  const i = Number(index);
  if (i >= pieces.length) throw new UserError(`--melody-dataset: ${parts.join(':')}:${split} has ${pieces.length} pieces (0..${pieces.length - 1}), not ${i}`);
  return { melody: melodyFromFrames(pieces[i]), timing: ds.timing, label: `top voice of ${spec}` };
}

export function registerHarmonize(program: Command): void {
  program
    .command('harmonize')
    .description('Write an accompaniment under a melody; the melody comes out exactly as given, as the top voice')
    .option('--melody <file.mid>', 'the tune (a MIDI file; where it has chords, its top voice)')
    .option('--melody-dataset <dataset:split:index>', 'the top voice of a dataset piece, e.g. nottingham:test:3')
    .option('--checkpoint <model>', 'a model whose key chain runs from the highest key down', 'harmonizer')
    .option('--temperature <t>', 'how adventurous the accompaniment is, frame by frame (1: the model as it is)', '1.0')
    .option('--seed <n>', 'random seed; the same seed gives the same accompaniment', '1')
    .option('--key <key>', 'the tonic of the tune (C, D, Bb, F#...; default: found from the melody); the tune is harmonized in the data\'s key and moved back')
    .option('--out <dir>', 'output folder', 'out')
    .option('--format <list>', 'comma-separated: mid, wav, png, svg, json', 'mid,wav,png,json')
    .action((flags: HarmonizeFlags) => {
      const temperature = parseTemperature(flags.temperature);
      const seed = parseInteger(flags.seed, '--seed', 0, 0xffffffff);
      const formats = parseFormats(flags.format);
      const { melody, timing, label } = loadMelody(flags);
      const checkpoint = resolveModel(flags.checkpoint);
      const model = loadModelFile(checkpoint.file);
      if (!canHarmonize(model)) {
        throw new UserError(`${checkpoint.name}: this model's key chain runs from the lowest key up, so it cannot condition on a melody exactly; use --checkpoint harmonizer`);
      }
      const given = flags.key === undefined ? undefined : parseKey(flags.key);
      const { frames, tonicShift } = harmonizeInKey(model, melody, { temperature, seed, tonicShift: given });
      const settings: SampleSettings = {
        model: checkpoint.name,
        checkpoint: checkpoint.file,
        seed,
        temperature,
        length: frames.length,
        count: 1,
        maxPolyphony: null,
        primer: null,
        melody: label,
        key: keyName(tonicShift),
      };
      const stem = `${checkpoint.name}-harmonized-seed${seed}`;
      const written = writeSample({ frames, primerLength: 0, index: 0 }, {
        outDir: resolve(flags.out), stem, formats, timing: timing ?? DEFAULT_TIMING, settings, midi: (roll) => rollToMidi(roll), channels: 2,
      });
      const notes = melody.filter((n) => n !== null).length;
      console.log(`${checkpoint.name}: harmonized ${label} (${frames.length} frames, ${notes} melody frames, tonic ${keyName(tonicShift)}${given === undefined ? ' as found' : ''}), temperature ${temperature}, seed ${seed}`);
      for (const path of written) console.log(`wrote ${path}`);
      const problem = takeProblem(frames.map((f, t) => f.filter((n) => n !== melody[t])));
      if (problem) console.error(`note: the accompaniment is ${problem.kind === 'silent' ? 'silent' : 'sparse'}: ${problem.message}`);
    });
}
