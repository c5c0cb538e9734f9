import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BasicSoundBank } from 'spessasynth_core';
import { renderWithSoundFont } from '../src/render/soundfont.js';
import { UserError } from '../src/errors.js';

const timing = { kind: 'grid', stepsPerQuarter: 2, bpm: 120 } as const; // 0.25 s per frame

test('a SoundFont renders the roll: silence before the first note, sound during notes, normalised peak', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sf-'));
  try {
    const sf2 = join(dir, 'saw.sf2');
    writeFileSync(sf2, new Uint8Array(BasicSoundBank.getSampleSoundBankFile())); // a one-preset saw-wave bank
    const roll = { frames: [[], [], [60, 64], [60, 64], [60, 64], []], timing };
    const audio = await renderWithSoundFont(roll, sf2, { tailSeconds: 0.5 });
    assert.equal(audio.channels.length, 2);
    assert.equal(audio.channels[0].length, Math.round((6 * 0.25 + 0.5) * 44100));
    const rms = (from: number, to: number) => {
      let s = 0;
      for (let i = Math.round(from * 44100); i < Math.round(to * 44100); i++) s += audio.channels[0][i] ** 2;
      return Math.sqrt(s / Math.round((to - from) * 44100));
    };
    assert.ok(rms(0, 0.49) < 1e-4, `before the first note: ${rms(0, 0.49)}`);
    assert.ok(rms(0.6, 1.2) > 0.05, `during the chord: ${rms(0.6, 1.2)}`);
    let peak = 0;
    for (const ch of audio.channels) for (const v of ch) peak = Math.max(peak, Math.abs(v));
    assert.ok(Math.abs(peak - Math.pow(10, -1 / 20)) < 1e-4);
    await assert.rejects(renderWithSoundFont(roll, join(dir, 'missing.sf2')), UserError);
    writeFileSync(join(dir, 'bad.sf2'), 'not a soundfont');
    await assert.rejects(renderWithSoundFont(roll, join(dir, 'bad.sf2')), UserError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
