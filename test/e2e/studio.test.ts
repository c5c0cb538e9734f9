/**
 * End to end in a real headless Chromium: the studio with two small models (RWKV and LSTM), generation
 * in the Web Worker, the drawn roll, a MIDI primer cut to its bars, and the MIDI and WAV downloads,
 * checked against the sampler run in Node and against the files `rwkv-music generate` writes for the
 * same model and settings; then playback status and a refused upload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sample } from '../../src/generate/sampler.js';
import { midiToRoll } from '../../src/midi/read.js';
import { rollToMidi } from '../../src/midi/write.js';
import { DEFAULT_TIMING, type Frame } from '../../src/data/pianoroll.js';
import { loadModelFile } from '../../src/models/io.js';
import { downloadOf, finished, framesOfMidi, openStudio, rollData, setTemperature, skipBrowser, TINY_LSTM, TINY_RWKV, withoutTrailingSilence } from './browser.js';

const BIN = fileURLToPath(new URL('../../../bin/rwkv-music.js', import.meta.url));

/** Runs `rwkv-music generate` on a run folder; returns the bytes of the MIDI and WAV files it writes. */
function cliGenerate(runDir: string, outDir: string, args: string[]): { mid: Buffer; wav: Buffer } {
  execFileSync(process.execPath, [BIN, 'generate', '--checkpoint', runDir, '--out', outDir, '--format', 'mid,wav', ...args], { stdio: 'pipe' });
  const stem = join(outDir, `${basename(runDir)}-seed${args[args.indexOf('--seed') + 1]}-01`);
  return { mid: readFileSync(`${stem}.mid`), wav: readFileSync(`${stem}.wav`) };
}

test('the studio generates in the browser, draws the roll, and writes the frames, MIDI and WAV that the sampler and `rwkv-music generate` give', { skip: skipBrowser, timeout: 240_000 }, async () => {
  const s = await openStudio([TINY_RWKV, TINY_LSTM]);
  const { page, runs, dir } = s;
  try {
    assert.deepEqual(await page.$$eval('#model option', (os) => os.map((o) => (o as HTMLOptionElement).value)), runs.map((r) => r.id));
    const settings = { length: 32, temperature: 1.3, seed: 4242, maxPolyphony: 5 };
    await page.fill('#length', String(settings.length));
    await page.fill('#seed', String(settings.seed));
    await page.fill('#max-polyphony', String(settings.maxPolyphony));
    await setTemperature(page, settings.temperature);
    assert.equal(await page.textContent('#temperature-value'), '1.30');

    let takeNumber = 0;
    for (const run of runs) {
      const [expected] = sample(loadModelFile(run.file), { ...settings, count: 1 });
      const expectedNotes = expected.frames.reduce((n, f) => n + f.length, 0);
      assert.ok(expectedNotes > 0, `${run.id} samples some notes with these settings`);

      await page.selectOption('#model', run.id);
      await page.click('#generate');
      const status = await finished(page);
      takeNumber++;
      assert.match(status, new RegExp(`Take ${takeNumber}: generated 32 frames .* ${run.id} \\(seed 4242\\)`));

      const roll = await rollData(page);
      const generatedPixels = await page.$eval('#roll', (c) => {
        const canvas = c as HTMLCanvasElement;
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] === 0xf2 && data[i + 1] === 0xa0 && data[i + 2] === 0x3d) n++;
        return n;
      });
      assert.equal(roll.frames, settings.length, run.id);
      assert.equal(roll.notesDrawn, expectedNotes, `${run.id}: every sampled note is drawn`);
      assert.ok(generatedPixels > 0, `${run.id}: note cells are painted on the canvas`);

      const midi = await downloadOf(page, '#download-midi');
      assert.equal(midi.download.suggestedFilename(), `rwkv-music-${run.id}-seed${settings.seed}-take${takeNumber}.mid`);
      assert.deepEqual(framesOfMidi(midi.bytes), withoutTrailingSilence(expected.frames), `${run.id}: the downloaded MIDI holds the frames the sampler draws in Node`);
      const cli = cliGenerate(run.folder, join(dir, 'cli', run.id), [
        '--length', String(settings.length), '--temperature', String(settings.temperature), '--seed', String(settings.seed), '--max-polyphony', String(settings.maxPolyphony),
      ]);
      assert.ok(midi.bytes.equals(cli.mid), `${run.id}: the page's MIDI file is byte for byte the one \`rwkv-music generate\` writes`);
    }

    const wav = (await downloadOf(page, '#download-wav')).bytes;
    assert.equal(wav.toString('latin1', 0, 4), 'RIFF');
    const cliWav = readFileSync(join(dir, 'cli', runs[1].id, `${runs[1].id}-seed${settings.seed}-01.wav`));
    assert.ok(wav.equals(cliWav), 'the page renders the same WAV file as `rwkv-music generate`');

    // Playback: the status follows it (it used to stay "Playing." after the end and after Stop).
    await page.click('#play');
    await page.waitForSelector('#stop-play:not([disabled])', { timeout: 30_000 });
    assert.match((await page.textContent('#status')) ?? '', /^Playing take 2 from bar 1, beat 1 at 120 bpm\.$/);
    await page.click('#stop-play');
    await page.waitForSelector('#stop-play[disabled]');
    assert.equal(await page.textContent('#status'), 'Stopped playing take 2.');
    await page.click('#play');
    await page.waitForSelector('#status:has-text("Finished playing take 2.")', { timeout: 60_000 });
    assert.ok(await page.isDisabled('#stop-play'), 'Stop is disabled once playback ends by itself');

    // A primer from an uploaded MIDI file, cut to its first bar: read in the page as in Node, fed first, kept at the start.
    const primerFrames: Frame[] = [[60, 64, 67], [60, 64, 67], [62, 65], [64, 67], [65, 69, 72], [65, 69, 72], [67], [55, 59, 62], [60], [60], [62], [64]];
    const primerFile = join(dir, 'primer.mid');
    writeFileSync(primerFile, rollToMidi({ frames: primerFrames, timing: DEFAULT_TIMING }));
    const primerRead = midiToRoll(new Uint8Array(readFileSync(primerFile)), { stepsPerQuarter: 2 }, 'primer').roll.frames;
    assert.deepEqual(primerRead, primerFrames, 'the primer survives the MIDI round trip');
    const firstBar = primerRead.slice(0, 8);
    const primed = { length: 16, temperature: 1.3, seed: 99, maxPolyphony: 5 };
    const [expectedPrimed] = sample(loadModelFile(runs[0].file), { ...primed, count: 1, primer: firstBar });
    await page.selectOption('#model', runs[0].id);
    await page.check('input[name="source"][value="midi"]');
    await page.setInputFiles('#source-file', primerFile);
    await page.fill('#source-from-bar', '1');
    await page.fill('#source-to-bar', '1');
    await page.fill('#length', String(primed.length));
    await page.fill('#seed', String(primed.seed));
    await page.click('#generate');
    assert.match(await finished(page), /Take 3: .*seed 99/);
    assert.equal((await rollData(page)).frames, firstBar.length + primed.length);
    assert.equal(await page.textContent('#source-info'), 'primer.mid, bars 1-1 of 2 (8 frames)');
    const primedMidi = (await downloadOf(page, '#download-midi')).bytes;
    assert.deepEqual(framesOfMidi(primedMidi), withoutTrailingSilence(expectedPrimed.frames), 'primer and continuation match the sampler in Node');
    const primedCli = cliGenerate(runs[0].folder, join(dir, 'cli-primed'), [
      '--length', String(primed.length), '--temperature', String(primed.temperature), '--seed', String(primed.seed), '--max-polyphony', String(primed.maxPolyphony),
      '--primer', primerFile, '--primer-frames', String(firstBar.length),
    ]);
    assert.ok(primedMidi.equals(primedCli.mid), 'with a MIDI primer too, the page writes the MIDI file the CLI writes');

    // A bad upload is refused with a message on the file field; the previous take stays usable.
    const junk = join(dir, 'junk.mid');
    writeFileSync(junk, 'this is not a MIDI file');
    await page.setInputFiles('#source-file', junk);
    await page.click('#generate');
    assert.match(await finished(page, ['error']), /junk\.mid/);
    assert.equal(await page.getAttribute('#source-file', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'source-file', 'the focus moves to the field in error');
    assert.equal(await page.textContent('#source-info'), '', 'the source note no longer names the previous file');
    assert.equal((await rollData(page)).frames, firstBar.length + primed.length, 'the previous take is still shown');
    for (const b of ['#play', '#download-midi', '#download-wav', '#continue', '#regenerate']) assert.ok(await page.isEnabled(b), `${b} still works on the previous take`);

    assert.deepEqual(s.problems, []);
  } finally {
    await s.close();
  }
});
