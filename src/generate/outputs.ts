import { join } from 'node:path';
import type { FrameTiming, PianoRoll } from '../data/pianoroll.js';
import { writeFileAtomic } from '../atomic-write.js';
import { rollToSvg } from '../render/pianoroll-image.js';
import { svgToPng } from '../render/png.js';
import { rollToWav } from '../render/wav.js';
import { UserError } from '../errors.js';
import type { Sample } from './sampler.js';

export const OUTPUT_FORMATS = ['mid', 'wav', 'png', 'svg', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Parses a comma-separated list such as "mid,wav,png"; duplicates are dropped, order kept. */
export function parseFormats(list: string): OutputFormat[] {
  const out: OutputFormat[] = [];
  for (const raw of list.split(',')) {
    const f = raw.trim().toLowerCase().replace(/^\./, '');
    if (f === '') continue;
    if (!(OUTPUT_FORMATS as readonly string[]).includes(f)) throw new UserError(`unknown output format "${raw.trim()}" (choose from ${OUTPUT_FORMATS.join(', ')})`);
    if (!out.includes(f as OutputFormat)) out.push(f as OutputFormat);
  }
  if (out.length === 0) throw new UserError(`--format needs at least one of ${OUTPUT_FORMATS.join(', ')}`);
  return out;
}

/** What produced a sample, stored in its .json and shown in its picture's title. */
export interface SampleSettings {
  model: string;
  checkpoint: string;
  seed: number;
  temperature: number;
  length: number;
  count: number;
  maxPolyphony: number | null;
  primer: string | null;
  /** The melody harmonized (harmonize only). */
  melody?: string;
  /** The key asked for (tonic name), for models with a key input. */
  key?: string | null;
  /** Per-key temperature, when not 1. */
  keyTemperature?: number;
  /** The style file the model started from (generate --style). */
  style?: string;
}

/** The .json form of a sample: frames, timing, primer length and settings. */
export interface SampleFile {
  format: 'rwkv-music-sample';
  version: 1;
  index: number;
  primerLength: number;
  timing: FrameTiming;
  settings: SampleSettings;
  frames: number[][];
}

export function sampleToJson(sample: Sample, timing: FrameTiming, settings: SampleSettings): string {
  const head: Omit<SampleFile, 'frames'> = { format: 'rwkv-music-sample', version: 1, index: sample.index, primerLength: sample.primerLength, timing, settings };
  const body = JSON.stringify(head, null, 2).replace(/\n}$/, '');
  const frames = sample.frames.map((f) => `    ${JSON.stringify(f)}`).join(',\n');
  return `${body},\n  "frames": [\n${frames}\n  ]\n}\n`;
}

export interface WriteOptions {
  outDir: string;
  /** File name without the extension, e.g. "rwkv-seed1-03". */
  stem: string;
  formats: readonly OutputFormat[];
  timing: FrameTiming;
  settings: SampleSettings;
  /** Encodes a roll as a MIDI file. */
  midi?: (roll: PianoRoll) => Uint8Array;
  /** Mono or stereo WAV from the built-in synthesiser. */
  channels?: 1 | 2;
  /** Replaces the built-in synthesiser, e.g. with a SoundFont rendering made beforehand. */
  wav?: (roll: PianoRoll) => Uint8Array;
}

/** Writes one sample in every requested format (each file atomically); returns the paths written. */
export function writeSample(sample: Sample, o: WriteOptions): string[] {
  const roll: PianoRoll = { frames: sample.frames, timing: o.timing };
  const s = o.settings;
  const title = `${s.model} - seed ${s.seed}, sample ${sample.index + 1} of ${s.count} - temperature ${s.temperature}` +
    (s.maxPolyphony !== null ? ` - at most ${s.maxPolyphony} keys` : '') + (s.primer ? ` - primer ${s.primer}` : '');
  const written: string[] = [];
  let svg: string | undefined;
  const picture = () => (svg ??= rollToSvg(roll, { primerLength: sample.primerLength, title }));
  for (const format of o.formats) {
    const path = join(o.outDir, `${o.stem}.${format}`);
    let data: string | Uint8Array;
    switch (format) {
      case 'json':
        data = sampleToJson(sample, o.timing, s);
        break;
      case 'svg':
        data = picture();
        break;
      case 'png':
        data = svgToPng(picture());
        break;
      case 'wav':
        data = o.wav ? o.wav(roll) : rollToWav(roll, { channels: o.channels ?? 2 });
        break;
      case 'mid':
        if (!o.midi) throw new Error('no MIDI writer given');
        data = o.midi(roll);
        break;
    }
    writeFileAtomic(path, data);
    written.push(path);
  }
  return written;
}
