/** Reading back the WAV and PNG files the toolkit writes, for tests that check what was written. */
import assert from 'node:assert/strict';

export interface WavFile {
  fmt: { format: number; channels: number; sampleRate: number; byteRate: number; blockAlign: number; bits: number };
  dataBytes: number;
  /** 16-bit samples, channels interleaved. */
  samples: Int16Array;
}

/** Parses a PCM WAV file, checking the RIFF header and that a fmt chunk comes before the data. */
export function readWav(bytes: Uint8Array): WavFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  assert.equal(text(0), 'RIFF');
  assert.equal(view.getUint32(4, true), bytes.length - 8);
  assert.equal(text(8), 'WAVE');
  let at = 12;
  let fmt: WavFile['fmt'] | undefined;
  while (at < bytes.length) {
    const id = text(at);
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ') {
      fmt = {
        format: view.getUint16(at + 8, true),
        channels: view.getUint16(at + 10, true),
        sampleRate: view.getUint32(at + 12, true),
        byteRate: view.getUint32(at + 16, true),
        blockAlign: view.getUint16(at + 20, true),
        bits: view.getUint16(at + 22, true),
      };
    }
    if (id === 'data') {
      assert.ok(fmt, 'fmt chunk before data');
      const samples = new Int16Array(size / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(at + 8 + 2 * i, true);
      return { fmt, dataBytes: size, samples };
    }
    at += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
}

/** Peak and RMS level of the samples in dBFS (full scale 32767). */
export function levels(samples: Int16Array): { peakDb: number; rmsDb: number } {
  let peak = 0;
  let sum = 0;
  for (const s of samples) {
    peak = Math.max(peak, Math.abs(s));
    sum += s * s;
  }
  const db = (x: number) => 20 * Math.log10(x / 32767);
  return { peakDb: db(peak), rmsDb: db(Math.sqrt(sum / Math.max(1, samples.length))) };
}

/** Width and height of a PNG file, from its IHDR chunk. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  assert.equal(String.fromCharCode(...bytes.subarray(12, 16)), 'IHDR');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** The width and height an SVG document declares. */
export function svgSize(svg: string): { width: number; height: number } {
  const m = svg.match(/<svg [^>]*width="(\d+)" height="(\d+)"/);
  assert.ok(m, 'the SVG declares its size');
  return { width: Number(m[1]), height: Number(m[2]) };
}
