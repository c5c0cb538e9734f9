import wavefile from 'wavefile';
import type { PianoRoll } from '../data/pianoroll.js';
import { synthesize, type Audio, type SynthOptions } from './synth.js';

/** Encodes audio as a 16-bit PCM WAV file (channels interleaved, TPDF-free plain rounding). */
export function encodeWav(audio: Audio): Uint8Array {
  const n = audio.channels[0].length;
  const nc = audio.channels.length;
  const pcm = new Int16Array(n * nc);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < nc; c++) {
      const v = Math.max(-1, Math.min(1, audio.channels[c][i]));
      pcm[i * nc + c] = Math.round(v * 32767);
    }
  const wav = new wavefile.WaveFile();
  wav.fromScratch(nc, audio.sampleRate, '16', pcm);
  return wav.toBuffer();
}

/** Renders a piano roll with the built-in synthesiser and returns the bytes of a WAV file. */
export function rollToWav(roll: PianoRoll, options: SynthOptions = {}): Uint8Array {
  return encodeWav(synthesize(roll, options));
}
