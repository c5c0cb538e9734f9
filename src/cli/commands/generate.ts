import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_TIMING, type Frame, type FrameTiming, type PianoRoll } from '../../data/pianoroll.js';
import { renderWithSoundFont } from '../../render/soundfont.js';
import { encodeWav } from '../../render/wav.js';
import { loadModelFile } from '../../models/io.js';
import { readMidiFile, rollToMidi } from '../../midi/index.js';
import { resolveModel } from '../../run/resolve.js';
import { MAX_GENERATED_FRAMES, MAX_SAMPLE_COUNT } from '../../limits.js';
import { makeOutputFolder } from '../../output-paths.js';
import { checkAudioDuration } from '../../render/duration.js';
import { sample } from '../../generate/sampler.js';
import { ADVENTUROUS_TEMPERATURE, CONSERVATIVE_TEMPERATURE, parseTemperature } from '../../generate/temperature.js';
import { takeProblem } from '../../generate/take-check.js';
import { keyName, parseKey } from '../../generate/key.js';
import { checkKeyShift } from '../../models/input-stage.js';
import { parseFormats, writeSample, type SampleSettings } from '../../generate/outputs.js';
import { openDataset } from '../../generate/pieces.js';
import { SPLITS, type SplitName } from '../../data/dataset.js';
import { UserError } from '../../errors.js';
import { parseInteger, parsePositive } from '../parse.js';
import { withStyleFile } from '../../tune/files.js';

interface GenerateOptions {
  checkpoint: string;
  length: string;
  temperature: string;
  seed: string;
  count: string;
  primer?: string;
  primerDataset?: string;
  primerFrames?: string;
  maxPolyphony?: string;
  out: string;
  format: string;
  mono?: boolean;
  soundfont?: string;
  key?: string;
  keyTemperature?: string;
  style?: string;
}

/** Exit status of a generate run that wrote files but whose takes include a (nearly) silent one. */
export const SILENT_TAKE_EXIT_CODE = 3;

/** The primer named on the command line, with the timing the output should use. */
export function loadPrimer(o: Pick<GenerateOptions, 'primer' | 'primerDataset' | 'primerFrames'>): { frames: Frame[]; timing: FrameTiming; label: string } | null {
  if (o.primer && o.primerDataset) throw new UserError('give either --primer or --primer-dataset, not both');
  const limit = o.primerFrames !== undefined ? parseInteger(o.primerFrames, '--primer-frames', 1) : undefined;
  if (o.primer) {
    const { roll } = readMidiFile(o.primer);
    const frames = roll.frames.slice(0, limit ?? roll.frames.length);
    if (!frames.some((f) => f.length > 0)) throw new UserError(`${o.primer}: the primer has no notes${limit ? ` in its first ${limit} frames` : ''}`);
    return { frames, timing: roll.timing, label: `${o.primer}${limit ? `, ${frames.length} frames` : ''}` };
  }
  if (o.primerDataset) {
    const parts = o.primerDataset.split(':');
    const bad = () => new UserError(`--primer-dataset must look like nottingham:test:12 (dataset:split:piece number), got ${o.primerDataset}`);
    if (parts.length < 3) throw bad();
    const index = parts.pop()!;
    const split = parts.pop()!;
    const name = parts.join(':');
    if (!(SPLITS as readonly string[]).includes(split) || !/^\d+$/.test(index)) throw bad();
    const ds = openDataset(name);
    const pieces = ds[split as SplitName];
    const i = Number(index);
    if (i >= pieces.length) throw new UserError(`--primer-dataset: ${name}:${split} has ${pieces.length} pieces (0..${pieces.length - 1}), not ${i}`);
    const frames = pieces[i].slice(0, limit ?? 16);
    return { frames, timing: ds.timing, label: `${name}:${split}:${i}, ${frames.length} frames` };
  }
  if (limit !== undefined) throw new UserError('--primer-frames needs --primer or --primer-dataset');
  return null;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('Sample music from a trained model (RNN mode, state carried) and write MIDI, WAV, piano-roll pictures and JSON')
    .requiredOption('--checkpoint <model>', 'bundled model name (rwkv, lstm), a run folder with best.safetensors, or a .safetensors file')
    .option('--length <frames>', 'frames to generate after the primer', '256')
    .option('--temperature <t>', `how adventurous, frame by frame: 1 samples the model as it is, lower is safer (or: conservative = ${CONSERVATIVE_TEMPERATURE}, adventurous = ${ADVENTUROUS_TEMPERATURE}), higher is wilder`, '1.0')
    .option('--key <key>', 'the key to play in, for models with a key input: a tonic (C, D, Bb, F#) or semitones from the data\'s key (default: the data\'s own key)')
    .option('--key-temperature <t>', 'divide every key\'s logit by this before the sigmoid (below 1 thins frames out towards silence)', '1.0')
    .option('--seed <n>', 'random seed; the same seed gives the same samples', '1')
    .option('--count <k>', 'number of samples, drawn as one batch', '1')
    .option('--primer <file.mid>', 'MIDI file whose frames are fed to the model first')
    .option('--primer-dataset <dataset:split:index>', 'a dataset piece as primer, e.g. nottingham:test:12 (pieces numbered from 0)')
    .option('--primer-frames <n>', 'frames of the primer to use (default: 16 of a dataset piece, all of a MIDI file)')
    .option('--max-polyphony <p>', 'at most this many keys per generated frame (the most probable sampled ones)')
    .option('--out <dir>', 'output folder', 'out')
    .option('--format <list>', 'comma-separated: mid, wav, png, svg, json', 'mid,wav,png,json')
    .option('--mono', 'write mono WAV files (default stereo)')
    .option('--style <file>', 'start from this style (made by `tune` for this model)')
    .option('--soundfont <file.sf2>', 'render the WAV files with this SoundFont instead of the built-in synthesiser')
    .action(async (o: GenerateOptions) => {
      // Check every argument before the (slower) model load, so mistakes fail fast.
      const length = parseInteger(o.length, '--length', 1, MAX_GENERATED_FRAMES);
      const temperature = parseTemperature(o.temperature);
      const keyTemperature = parsePositive(o.keyTemperature ?? '1', '--key-temperature');
      const seed = parseInteger(o.seed, '--seed', 0, 0xffffffff);
      const count = parseInteger(o.count, '--count', 1, MAX_SAMPLE_COUNT);
      const maxPolyphony = o.maxPolyphony !== undefined ? parseInteger(o.maxPolyphony, '--max-polyphony', 1, 88) : undefined;
      const formats = parseFormats(o.format);
      const checkpoint = resolveModel(o.checkpoint);
      const primer = loadPrimer(o);
      if (o.soundfont !== undefined && !(existsSync(o.soundfont) && statSync(o.soundfont).isFile()))
        throw new UserError(`--soundfont: ${o.soundfont} is not a file`);
      const timing = primer?.timing ?? DEFAULT_TIMING;
      if (formats.includes('wav')) checkAudioDuration((primer?.frames.length ?? 0) + length, timing);
      const outDir = resolve(o.out);
      const width = String(count).length < 2 ? 2 : String(count).length;
      const stemOf = (index: number) => `${checkpoint.name}-seed${seed}-${String(index + 1).padStart(width, '0')}`;
      const inputs = new Set([checkpoint.file, o.primer, o.soundfont].filter((p): p is string => p !== undefined).map((p) => resolve(p)));
      for (let i = 0; i < count; i++) {
        for (const f of formats) {
          const path = join(outDir, `${stemOf(i)}.${f}`);
          if (inputs.has(path)) throw new UserError(`--out ${o.out}: ${path} would overwrite an input; choose another --out`);
        }
      }
      makeOutputFolder(outDir);

      let model = loadModelFile(checkpoint.file);
      if (o.style !== undefined) model = withStyleFile(model, o.style);
      const keyShift = o.key === undefined ? 0 : parseKey(o.key, model.config.condition?.keyShifts);
      checkKeyShift(model.config.condition, keyShift);
      const started = performance.now();
      const samples = sample(model, { length, temperature, keyTemperature, seed, count, primer: primer?.frames, maxPolyphony, keyShift });
      const seconds = (performance.now() - started) / 1000;
      const settings: SampleSettings = {
        model: checkpoint.name,
        checkpoint: checkpoint.file,
        seed,
        temperature,
        length,
        count,
        maxPolyphony: maxPolyphony ?? null,
        primer: primer?.label ?? null,
        key: model.config.condition?.keyShifts ? keyName(keyShift) : null,
        keyTemperature,
        ...(o.style !== undefined ? { style: o.style } : {}),
      };
      console.log(
        `${checkpoint.name} (${checkpoint.file}): ${count} sample${count > 1 ? 's' : ''} x ${length} frames` +
          `${primer ? ` after a ${primer.frames.length}-frame primer` : ''}, temperature ${temperature}` +
          `${keyTemperature !== 1 ? `, key temperature ${keyTemperature}` : ''}${settings.key ? `, key ${settings.key}` : ''}, seed ${seed}` +
          ` (sampled in ${seconds.toFixed(1)} s)`,
      );
      for (const s of samples) {
        const stem = stemOf(s.index);
        const channels = o.mono ? 1 : 2;
        let wav: ((roll: PianoRoll) => Uint8Array) | undefined;
        if (o.soundfont && formats.includes('wav')) {
          const bytes = encodeWav(await renderWithSoundFont({ frames: s.frames, timing }, o.soundfont, { channels }));
          wav = () => bytes;
        }
        const existed = new Set(formats.map((f) => join(outDir, `${stem}.${f}`)).filter((p) => existsSync(p)));
        const written = writeSample(s, { outDir, stem, formats, timing, settings, midi: (roll) => rollToMidi(roll), channels, wav });
        for (const path of written) console.log(`wrote ${path}${existed.has(path) ? ' (replacing the earlier file)' : ''}`);
        const problem = takeProblem(s.frames, s.primerLength);
        if (problem) {
          console.error(`warning: ${stem} is ${problem.kind === 'silent' ? 'silent' : 'nearly silent'}: ${problem.message}`);
          process.exitCode = SILENT_TAKE_EXIT_CODE;
        }
      }
    });
}
