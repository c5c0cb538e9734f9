/**
 * Harmonize in the studio, in headless Chromium: a melody uploaded as MIDI (with chords: its top voice
 * is the melody) or a dataset tune is harmonized by a model whose key chain runs from the highest key
 * down, and the downloaded MIDI keeps the melody's notes exactly. Models that cannot harmonize are not
 * offered the task.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TIMING, type Frame } from '../../src/data/pianoroll.js';
import { loadDataset } from '../../src/data/dataset.js';
import { rollToMidi } from '../../src/midi/write.js';
import { loadModelFile } from '../../src/models/io.js';
import { canHarmonize, harmonize, melodyFromFrames, type Melody } from '../../src/generate/harmonize.js';
import { downloadOf, finished, framesOfMidi, openStudio, skipBrowser, TINY_RWKV, withoutTrailingSilence } from './browser.js';

/**
 * Checks that every frame where the melody sounds has the melody note as its highest note; where it
 * rests, the accompaniment may go on, but not above the last melody note.
 */
function assertMelodyKept(out: Frame[], melody: Melody, what: string): void {
  const lastNote = melody.length - 1 - [...melody].reverse().findIndex((n) => n !== null);
  assert.ok(out.length > lastNote, `${what}: the file reaches the melody's last note (frame ${lastNote})`);
  const top = melodyFromFrames(out);
  let ceiling = melody.find((n) => n !== null)!;
  let sounding = 0;
  melody.forEach((note, t) => {
    if (note !== null) {
      assert.equal(top[t], note, `${what}: frame ${t} keeps the melody note ${note} on top`);
      ceiling = note;
      sounding++;
    } else if (top[t] !== undefined && top[t] !== null) assert.ok(top[t]! < ceiling, `${what}: frame ${t} (a rest) stays below the melody`);
  });
  assert.ok(sounding > 4, `${what}: the melody has notes to keep`);
}

const HARMONIZER = { id: 'tiny-harmonizer', config: { kind: 'lstm', layers: 1, hidden: 16, embed: 12, dropout: 0, keyChain: 16, keyChainOrder: 'down' } as const, seed: 5 };

test('harmonize: the downloaded MIDI keeps the melody of an uploaded file and of a dataset tune exactly', { skip: skipBrowser, timeout: 240_000 }, async () => {
  const s = await openStudio([TINY_RWKV, HARMONIZER]);
  const { page, dir } = s;
  try {
    // Not offered for a model whose chain runs upwards.
    await page.selectOption('#model', 'tiny-rwkv');
    await page.waitForSelector('#task-info:has-text("cannot harmonize")');
    assert.ok(await page.isDisabled('input[name="task"][value="harmonize"]'));
    await page.selectOption('#model', HARMONIZER.id);
    await page.waitForSelector('input[name="task"][value="harmonize"]:not([disabled])', { timeout: 60_000 });
    const model = loadModelFile(s.runs[1].file);
    assert.ok(canHarmonize(model));

    // A melody with chords under it: the top voice is the melody.
    const input: Frame[] = [[60, 64, 72], [60, 64, 72], [62, 71], [], [55, 59, 67], [67], [64, 69], [65, 72], [60, 64, 76], [76], [74], [72]];
    const file = join(dir, 'tune.mid');
    writeFileSync(file, rollToMidi({ frames: input, timing: DEFAULT_TIMING }));
    await page.check('input[name="task"][value="harmonize"]');
    assert.equal(await page.textContent('#generate'), 'Harmonize');
    await page.check('input[name="source"][value="midi"]');
    await page.setInputFiles('#source-file', file);
    await page.fill('#source-from-bar', '1');
    await page.fill('#source-to-bar', '');
    await page.fill('#seed', '17');
    await page.click('#generate');
    assert.match(await finished(page), /^Take 1: harmonized 12 frames/);
    const out = framesOfMidi((await downloadOf(page, '#download-midi')).bytes);
    const melody = melodyFromFrames(input);
    assertMelodyKept(out, melody, 'tune.mid');
    const expected = harmonize(model, melody, { temperature: 1, seed: 17 });
    assert.deepEqual(out, withoutTrailingSilence(expected), 'the page harmonizes as the harmonizer does in Node');

    // A dataset tune, bars 1-4.
    const tune = loadDataset('nottingham').test[2].slice(0, 32);
    await page.check('input[name="source"][value="dataset"]');
    await page.fill('#source-index', '2');
    await page.fill('#source-to-bar', '4');
    await page.click('#generate');
    await finished(page);
    const tuneOut = framesOfMidi((await downloadOf(page, '#download-midi')).bytes);
    assertMelodyKept(tuneOut, melodyFromFrames(tune), 'nottingham test #2');
    assert.deepEqual(s.problems, []);
  } finally {
    await s.close();
  }
});
