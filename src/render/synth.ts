import { frameSeconds, type PianoRoll } from '../data/pianoroll.js';
import { checkAudioDuration } from './duration.js';
import { framesToNotes } from './notes.js';

export interface SynthOptions {
  sampleRate?: number;
  /** 1 = mono, 2 = stereo (low notes a little left, high notes a little right). */
  channels?: 1 | 2;
  /** Peak level of the normalised mix in dBFS (default -1). */
  peakDb?: number;
  /** Seconds of silence-bound tail rendered after the last frame so released notes fade out (default 0.6). */
  tailSeconds?: number;
}

export interface Audio {
  sampleRate: number;
  /** One Float32Array per channel, values in [-1, 1]. */
  channels: Float32Array[];
}

/** Attack ramp in seconds: short enough to sound struck, long enough not to click. */
const ATTACK = 0.004;
/** Release time constant in seconds once a key is let go (the damper). */
const RELEASE = 0.07;
/** Partials drawn for each note. */
const HARMONICS = 8;

/**
 * Renders a piano roll with a small additive piano-like voice. Each note is a sum of slightly
 * stretched harmonics (amplitude ~ 1/n^1.4, brighter for low notes), each decaying exponentially,
 * higher harmonics and higher notes faster; a raised-cosine attack and an exponential release
 * (with a short raised-cosine fade to exact zero) keep every note boundary free of clicks.
 * The mix is normalised so its peak sits at `peakDb` dBFS.
 */
export function synthesize(roll: PianoRoll, options: SynthOptions = {}): Audio {
  checkAudioDuration(roll.frames.length, roll.timing);
  const sampleRate = options.sampleRate ?? 44100;
  const nChannels = options.channels ?? 1;
  const peak = Math.pow(10, (options.peakDb ?? -1) / 20);
  const tail = options.tailSeconds ?? 0.6;
  const dt = frameSeconds(roll.timing);
  const total = Math.round((roll.frames.length * dt + tail) * sampleRate);
  const mix = Array.from({ length: nChannels }, () => new Float64Array(total));
  // A note's waveform depends only on its pitch and held length, so repeated notes are rendered once.
  const cache = new Map<string, Float32Array>();

  for (const note of framesToNotes(roll.frames)) {
    const onset = Math.round(note.start * dt * sampleRate);
    const held = Math.round((note.start + note.length) * dt * sampleRate) - onset;
    const key = `${note.pitch}:${held}`;
    let wave = cache.get(key);
    if (!wave) {
      if (cache.size >= 2048) cache.clear();
      wave = renderNote(note.pitch, held, sampleRate);
      cache.set(key, wave);
    }
    // Constant-power pan: low notes a little left, high notes a little right (mono: gain 1).
    const pan = 0.5 + 0.35 * ((note.pitch - 64.5) / 43.5);
    const gains = nChannels === 1 ? [1] : [Math.cos((pan * Math.PI) / 2), Math.sin((pan * Math.PI) / 2)];
    const n = Math.min(wave.length, total - onset);
    for (let c = 0; c < nChannels; c++) {
      const out = mix[c];
      const g = gains[c];
      for (let i = 0; i < n; i++) out[onset + i] += g * wave[i];
    }
  }
  let m = 0;
  for (const ch of mix) for (let i = 0; i < total; i++) m = Math.max(m, Math.abs(ch[i]));
  const g = m > 0 ? peak / m : 0;
  const channels = mix.map((ch) => {
    const out = new Float32Array(total);
    for (let i = 0; i < total; i++) out[i] = ch[i] * g;
    return out;
  });
  return { sampleRate, channels };
}

/** The waveform of one note whose key is held for `held` samples, release tail included. */
function renderNote(pitch: number, held: number, sampleRate: number): Float32Array {
  const f0 = 440 * Math.pow(2, (pitch - 69) / 12);
  const attack = Math.max(1, Math.round(ATTACK * sampleRate));
  const releaseLen = Math.round(5 * RELEASE * sampleRate);
  const releaseStart = Math.max(held, attack);
  const end = releaseStart + releaseLen;
  // Louder low end is tamed a little so chords do not get muddy; high notes decay faster.
  const loud = 1 / (1 + Math.max(0, 48 - pitch) / 36);
  const baseDecay = 0.6 + 0.9 * Math.pow(f0 / 261.6, 0.6); // 1/s
  const relFactor = Math.exp(-1 / (RELEASE * sampleRate));
  const fadeLen = Math.min(releaseLen, Math.round(0.02 * sampleRate));
  const env = new Float64Array(end);
  let rel = 1;
  for (let i = 0; i < end; i++) {
    let e = i < attack ? 0.5 - 0.5 * Math.cos((Math.PI * i) / attack) : 1;
    if (i >= releaseStart) {
      e *= rel;
      rel *= relFactor;
      const left = end - i;
      if (left <= fadeLen) e *= 0.5 - 0.5 * Math.cos((Math.PI * left) / fadeLen);
    }
    env[i] = e;
  }
  const wave = new Float64Array(end);
  for (let n = 1; n <= HARMONICS; n++) {
    const fn = n * f0 * Math.sqrt(1 + 0.0004 * n * n);
    if (fn > 0.45 * sampleRate) break;
    const amp = (loud * Math.pow(n, -1.4) * (n === 1 ? 1 : Math.exp(-((n - 1) * f0) / 2500))) / 3;
    const rate = baseDecay * (1 + 0.5 * (n - 1));
    const decay = Math.exp(-rate / sampleRate);
    // Phasor recurrence: (c, s) rotates by the partial's angle step each sample.
    const w = (2 * Math.PI * fn) / sampleRate;
    const cw = Math.cos(w);
    const sw = Math.sin(w);
    let c = 1;
    let s = 0;
    let a = amp;
    // Stop a partial once it has decayed 80 dB below its start.
    const stop = Math.min(end, Math.ceil((Math.log(1e4) / rate) * sampleRate));
    for (let i = 0; i < stop; i++) {
      wave[i] += a * env[i] * s;
      const nc = c * cw - s * sw;
      s = s * cw + c * sw;
      c = nc;
      a *= decay;
    }
  }
  return Float32Array.from(wave);
}
