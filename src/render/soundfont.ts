import { readFileSync } from 'node:fs';
import { frameSeconds, type PianoRoll } from '../data/pianoroll.js';
import { UserError } from '../errors.js';
import { checkAudioDuration } from './duration.js';
import { framesToNotes } from './notes.js';
import type { Audio } from './synth.js';

export interface SoundFontOptions {
  sampleRate?: number;
  /** 1 = mono (the two synthesiser outputs averaged), 2 = stereo. */
  channels?: 1 | 2;
  /** General MIDI program (default 0, acoustic grand piano). */
  program?: number;
  /** Note-on velocity 1..127 (default 90). */
  velocity?: number;
  /** Peak of the normalised result in dBFS (default -1). */
  peakDb?: number;
  /** Seconds rendered after the last frame for the release and reverb (default 1.5). */
  tailSeconds?: number;
}

/** SoundFonts already parsed in this process, by path (rendering several samples parses the file once). */
const loaded = new Map<string, import('spessasynth_core').BasicSoundBank>();

/** Largest block the synthesiser renders at once; note events fall on block edges exactly. */
const BLOCK = 128;

/**
 * Renders a piano roll with a SoundFont (.sf2/.sf3) through spessasynth_core: the roll's notes become
 * note-on/note-off events at their exact sample times on MIDI channel 1; the result is normalised to
 * `peakDb` like the built-in synthesiser's.
 */
export async function renderWithSoundFont(roll: PianoRoll, soundFontPath: string, options: SoundFontOptions = {}): Promise<Audio> {
  const { SpessaSynthProcessor, SoundBankLoader } = await import('spessasynth_core');
  checkAudioDuration(roll.frames.length, roll.timing);
  const sampleRate = options.sampleRate ?? 44100;
  let bank = loaded.get(soundFontPath);
  if (!bank) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(soundFontPath);
    } catch (e) {
      throw new UserError(`${soundFontPath}: cannot read the SoundFont (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    try {
      bank = SoundBankLoader.fromArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    } catch (e) {
      throw new UserError(`${soundFontPath}: not a readable SoundFont (${(e as Error).message})`);
    }
    loaded.set(soundFontPath, bank);
  }
  const synth = new SpessaSynthProcessor(sampleRate, { effectsEnabled: true, maxBufferSize: BLOCK, eventsEnabled: false });
  synth.soundBankManager.addSoundBank(bank, 'main');
  await synth.processorInitialized;
  synth.programChange(0, options.program ?? 0);
  const velocity = options.velocity ?? 90;

  const dt = frameSeconds(roll.timing);
  const total = Math.round((roll.frames.length * dt + (options.tailSeconds ?? 1.5)) * sampleRate);
  // Note-offs sort before note-ons at the same time, so a re-struck key is released first.
  const events: { at: number; on: boolean; pitch: number }[] = [];
  for (const n of framesToNotes(roll.frames)) {
    events.push({ at: Math.round(n.start * dt * sampleRate), on: true, pitch: n.pitch });
    events.push({ at: Math.round((n.start + n.length) * dt * sampleRate), on: false, pitch: n.pitch });
  }
  events.sort((a, b) => a.at - b.at || Number(a.on) - Number(b.on));
  const left = new Float32Array(total);
  const right = new Float32Array(total);
  let pos = 0;
  let next = 0;
  while (pos < total) {
    while (next < events.length && events[next].at <= pos) {
      const e = events[next++];
      if (e.on) synth.noteOn(0, e.pitch, velocity);
      else synth.noteOff(0, e.pitch);
    }
    const end = Math.min(total, pos + BLOCK, next < events.length ? Math.max(events[next].at, pos + 1) : total);
    synth.process(left, right, pos, end - pos);
    pos = end;
  }
  const outs = (options.channels ?? 2) === 2 ? [left, right] : [left.map((v, i) => 0.5 * (v + right[i]))];
  let peak = 0;
  for (const ch of outs) for (let i = 0; i < total; i++) peak = Math.max(peak, Math.abs(ch[i]));
  const gain = peak > 0 ? Math.pow(10, (options.peakDb ?? -1) / 20) / peak : 0;
  for (const ch of outs) for (let i = 0; i < total; i++) ch[i] *= gain;
  return { sampleRate, channels: outs };
}
