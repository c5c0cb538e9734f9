/**
 * Keeping working on a take in headless Chromium: a dataset primer cut to chosen bars, the takes list,
 * a new seed in one click, continuing from the end and from a bar (each checked against the sampler
 * in Node), tempo for playback and export, bars and beats with zoom, click-to-seek, loop, Space, Stop
 * after Generate during playback, and a silent take reported as a problem.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset } from '../../src/data/dataset.js';
import { sample } from '../../src/generate/sampler.js';
import { midiToRoll } from '../../src/midi/read.js';
import { loadModelFile } from '../../src/models/io.js';
import { downloadOf, finished, framesOfMidi, openStudio, rollData, skipBrowser, TINY_LSTM, TINY_RWKV, withoutTrailingSilence, type RunSpec } from './browser.js';

const SILENT: RunSpec = {
  id: 'silent-lstm',
  config: { kind: 'lstm', layers: 1, hidden: 8, embed: 6, dropout: 0 },
  seed: 3,
  edit: (m) => m.parameters().find((p) => p.name === 'head.bias')!.data.fill(-60),
};

test('takes: primer bars, new seed, continue from the end and from a bar, and the takes list', { skip: skipBrowser, timeout: 240_000 }, async () => {
  const s = await openStudio([TINY_LSTM, TINY_RWKV]);
  const { page } = s;
  try {
    const model = loadModelFile(s.runs[0].file);
    const base = { length: 16, temperature: 1.2, seed: 7, maxPolyphony: 4 };
    await page.fill('#length', String(base.length));
    await page.fill('#seed', String(base.seed));
    await page.fill('#max-polyphony', String(base.maxPolyphony));
    await page.$eval('#temperature', (e) => {
      (e as HTMLInputElement).value = '1.2';
      e.dispatchEvent(new Event('input', { bubbles: true }));
    });

    // Take 1: bars 2-3 of a Nottingham test tune as the primer.
    const tune = loadDataset('nottingham').test[5];
    const primer = tune.slice(8, 24);
    await page.check('input[name="source"][value="dataset"]');
    await page.fill('#source-index', '5');
    await page.fill('#source-from-bar', '2');
    await page.fill('#source-to-bar', '3');
    await page.click('#generate');
    assert.match(await finished(page), /^Take 1: generated 16 frames/);
    assert.match((await page.textContent('#source-info')) ?? '', /^nottingham test #5, bars 2-3 of \d+ \(16 frames\)$/);
    const [take1] = sample(model, { ...base, count: 1, primer });
    assert.deepEqual(framesOfMidi((await downloadOf(page, '#download-midi')).bytes), withoutTrailingSilence(take1.frames), 'take 1 is bars 2-3 of the tune and what the sampler continues them with');

    // Take 2: the same with the next seed, in one click.
    await page.click('#regenerate');
    assert.match(await finished(page), /^Take 2: .*\(seed 8\)/);
    assert.equal(await page.inputValue('#seed'), '8');
    const [take2] = sample(model, { ...base, seed: 8, count: 1, primer });
    assert.deepEqual(framesOfMidi((await downloadOf(page, '#download-midi')).bytes), withoutTrailingSilence(take2.frames));
    assert.notDeepEqual(take2.frames, take1.frames);

    // Take 3: take 2 continued from its end by the other model, with the form's settings.
    await page.selectOption('#model', s.runs[1].id);
    await page.fill('#seed', '21');
    await page.click('#continue');
    assert.match(await finished(page), /^Take 3: generated 16 frames .*tiny-rwkv \(seed 21\)/);
    const [take3] = sample(loadModelFile(s.runs[1].file), { ...base, seed: 21, count: 1, primer: take2.frames });
    assert.equal((await rollData(page)).frames, 48);
    assert.deepEqual(framesOfMidi((await downloadOf(page, '#download-midi')).bytes), withoutTrailingSilence(take3.frames));

    // Take 4: take 1 (shown from the list) continued from bar 2: its first bar is kept.
    await page.click('#takes li[data-take="1"] button:has-text("Show")');
    assert.equal((await rollData(page)).frames, 32);
    await page.selectOption('#model', s.runs[0].id);
    await page.fill('#seed', '5');
    await page.fill('#continue-bar', '2');
    await page.click('#continue');
    assert.match(await finished(page), /^Take 4: /);
    const [take4] = sample(model, { ...base, seed: 5, count: 1, primer: take1.frames.slice(0, 8) });
    assert.deepEqual(framesOfMidi((await downloadOf(page, '#download-midi')).bytes), withoutTrailingSilence(take4.frames));

    // The list: four takes, the shown one marked; each can be played and downloaded from its row.
    const rows = await page.$$eval('#takes li', (ls) => ls.map((l) => ({ take: (l as HTMLElement).dataset.take, current: l.getAttribute('aria-current'), text: l.textContent })));
    assert.deepEqual(rows.map((r) => r.take), ['1', '2', '3', '4']);
    assert.deepEqual(rows.map((r) => r.current), [null, null, null, 'true']);
    assert.match(rows[2].text ?? '', /continuing take 2 from its end/);
    assert.match(rows[3].text ?? '', /continuing take 1 from bar 2/);
    const fromRow = await downloadOf(page, '#takes li[data-take="2"] button[aria-label="Download take 2 as MIDI"]');
    assert.equal(fromRow.download.suggestedFilename(), 'rwkv-music-tiny-lstm-seed8-take2.mid');
    assert.deepEqual(framesOfMidi(fromRow.bytes), withoutTrailingSilence(take2.frames));
    await page.click('#takes li[data-take="3"] button[aria-label="Play take 3"]');
    await page.waitForSelector('#status:has-text("Playing take 3")', { timeout: 30_000 });
    assert.equal(await page.getAttribute('#takes li[data-take="3"]', 'aria-current'), 'true', 'playing a take shows it');

    // Generate during playback stops playback and leaves transport Stop disabled.
    await page.click('#generate');
    await finished(page);
    assert.ok(await page.isDisabled('#stop-play'), 'transport Stop is disabled after Generate during playback');
    assert.deepEqual(s.problems, []);
  } finally {
    await s.close();
  }
});

test('musical time: tempo for playback and export, bars with zoom, click-to-seek, loop and Space', { skip: skipBrowser, timeout: 240_000 }, async () => {
  const s = await openStudio([TINY_RWKV, SILENT]);
  const { page } = s;
  try {
    await page.fill('#length', '64');
    await page.fill('#seed', '3');
    await page.click('#generate');
    await finished(page);

    // Tempo: the shown take plays and saves at the new tempo.
    await page.fill('#tempo', '90');
    await page.press('#tempo', 'Enter');
    await page.waitForSelector('#status:has-text("now plays and saves at 90 bpm")');
    const midi = midiToRoll(new Uint8Array((await downloadOf(page, '#download-midi')).bytes), { stepsPerQuarter: 2 }, 'MIDI');
    assert.deepEqual(midi.roll.timing, { kind: 'grid', stepsPerQuarter: 2, bpm: 90 });
    const wav = (await downloadOf(page, '#download-wav')).bytes;
    const seconds = (wav.length - 44) / wav.readUInt32LE(28);
    assert.ok(seconds >= (64 * 60) / 90 / 2, `64 frames at 90 bpm last at least ${(64 * 60) / 90 / 2} s; the WAV lasts ${seconds.toFixed(2)} s`);
    await page.fill('#tempo', '5');
    await page.press('#tempo', 'Enter');
    assert.equal(await page.getAttribute('#tempo', 'aria-invalid'), 'true', 'a tempo out of range is refused on its field');
    await page.fill('#tempo', '90');
    await page.press('#tempo', 'Enter');

    // Bars and beats: 64 frames at 2 per beat are 8 bars; zoom changes the column width.
    assert.match((await rollData(page)).label, /64 frames \(8 bars\)/);
    const before = (await rollData(page)).column;
    await page.click('#zoom-in');
    const zoomed = (await rollData(page)).column;
    assert.ok(zoomed > before, `zoom in widens a frame (${before} -> ${zoomed} px)`);
    await page.click('#zoom-out');
    await page.click('#zoom-out');
    assert.ok((await rollData(page)).column < before, 'zoom out narrows it');
    await page.click('#zoom-in');

    // Click-to-seek: the cursor goes to the clicked frame, and playback starts there.
    const { column } = await rollData(page);
    const box = (await page.$('#roll'))!;
    await box.click({ position: { x: 34 + column * 16 + column / 2, y: 200 } });
    assert.equal((await rollData(page)).cursor, 16);
    assert.match((await page.textContent('#status')) ?? '', /Playback starts at bar 3, beat 1/);
    await page.click('#play');
    await page.waitForSelector('#status:has-text("Playing take 1 from bar 3, beat 1 at 90 bpm.")', { timeout: 30_000 });

    // Loop on: playback restarts and keeps going; Space (on the roll) stops and starts it.
    await page.click('#loop');
    assert.equal(await page.getAttribute('#loop', 'aria-pressed'), 'true');
    await page.waitForSelector('#status:has-text("looping")', { timeout: 30_000 });
    await page.focus('#roll-scroll');
    await page.keyboard.press('Space');
    await page.waitForSelector('#stop-play[disabled]');
    assert.equal(await page.textContent('#status'), 'Stopped playing take 1.');
    await page.keyboard.press('ArrowRight');
    assert.equal((await rollData(page)).cursor, 18, 'an arrow key moves the cursor a beat');
    await page.keyboard.press('Shift+ArrowLeft');
    assert.equal((await rollData(page)).cursor, 10, 'Shift moves it a bar');
    await page.keyboard.press('Space');
    await page.waitForSelector('#status:has-text("Playing take 1 from bar 2, beat 2")', { timeout: 30_000 });
    await page.keyboard.press('Space');
    await page.waitForSelector('#stop-play[disabled]');

    // A take with no notes is a problem with suggestions, not a success.
    await page.selectOption('#model', 'silent-lstm');
    await page.click('#generate');
    const status = await finished(page, ['silent']);
    assert.match(status, /^Take 2 has no notes \(silent-lstm, seed 3\): no note in 64 generated frames: try another seed, a primer, or a higher temperature\.$/);
    assert.match((await page.textContent('#takes li[data-take="2"]')) ?? '', /no notes/);
    assert.deepEqual(s.problems, []);
  } finally {
    await s.close();
  }
});
