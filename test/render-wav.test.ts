import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PianoRoll } from '../src/data/pianoroll.js';
import { framesToNotes } from '../src/render/notes.js';
import { synthesize } from '../src/render/synth.js';
import { rollToWav } from '../src/render/wav.js';
import { readWav } from './helpers/media.js';

const timing = { kind: 'grid', stepsPerQuarter: 2, bpm: 120 } as const; // 0.25 s per frame

test('consecutive active frames make one note; gaps split notes', () => {
  const notes = framesToNotes([[60, 64], [60, 64], [60], [], [60, 67]]);
  assert.deepEqual(notes, [
    { pitch: 60, start: 0, length: 3 },
    { pitch: 64, start: 0, length: 2 },
    { pitch: 60, start: 4, length: 1 },
    { pitch: 67, start: 4, length: 1 },
  ]);
});

test('WAV header fields, length and peak level are right (mono and stereo)', () => {
  const roll: PianoRoll = { frames: [[48, 60, 64, 67], [48, 60, 64, 67], [], [55, 62, 71], [55, 62, 71], [72]], timing };
  for (const channels of [1, 2] as const) {
    const wav = readWav(rollToWav(roll, { channels, tailSeconds: 0.5 }));
    const expectedFrames = Math.round((6 * 0.25 + 0.5) * 44100);
    assert.deepEqual(wav.fmt, { format: 1, channels, sampleRate: 44100, byteRate: 44100 * 2 * channels, blockAlign: 2 * channels, bits: 16 });
    assert.equal(wav.dataBytes, expectedFrames * channels * 2);
    let peak = 0;
    for (const s of wav.samples) peak = Math.max(peak, Math.abs(s));
    const target = Math.round(32767 * Math.pow(10, -1 / 20));
    assert.ok(Math.abs(peak - target) <= 1, `peak ${peak}, expected ${target} (-1 dBFS)`);
  }
});

test('a silent roll gives silence of the right length', () => {
  const wav = readWav(rollToWav({ frames: [[], [], []], timing }, { tailSeconds: 0 }));
  assert.equal(wav.samples.length, Math.round(0.75 * 44100));
  assert.ok(wav.samples.every((s) => s === 0));
});

test('notes start and end without clicks', () => {
  // A click is a jump far larger than the waveform's own slope. Both renders are normalised to the
  // same peak; a note struck and released every frame must not step further between two samples
  // than the same note (or chord) held throughout.
  const maxStep = (x: Float32Array) => {
    let m = 0;
    for (let i = 1; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - x[i - 1]));
    return m;
  };
  for (const chord of [[60], [48, 64, 67]]) {
    const held = synthesize({ frames: Array(8).fill(chord), timing }).channels[0];
    const choppy = synthesize({ frames: [chord, [], chord, [], chord, chord, [], chord], timing }).channels[0];
    assert.ok(maxStep(choppy) <= 1.25 * maxStep(held), `${chord}: largest step ${maxStep(choppy)} vs held ${maxStep(held)}`);
    assert.equal(choppy[0], 0);
    assert.ok(Math.abs(choppy[choppy.length - 1]) < 1e-6, 'the tail fades to zero');
    // Between a release and the next onset the sound dies away: 0.2 s after letting go (at 1.5 s) it is quiet.
    let late = 0;
    for (let i = Math.round(1.7 * 44100); i < Math.round(1.75 * 44100); i++) late = Math.max(late, Math.abs(choppy[i]));
    assert.ok(late < 0.1, `${chord}: ${late} still sounding after release`);
  }
});
