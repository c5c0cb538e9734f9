/**
 * End to end in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core): the
 * studio server with two small models (RWKV and LSTM), the built page, generation in the Web Worker, the
 * drawn roll, a MIDI primer, and the MIDI and WAV downloads, checked against the sampler run in Node and
 * against the files `rwkv-music generate` writes for the same model and settings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { sample } from '../../src/generate/sampler.js';
import { midiToRoll } from '../../src/midi/read.js';
import { rollToMidi } from '../../src/midi/write.js';
import { DEFAULT_TIMING, type Frame } from '../../src/data/pianoroll.js';
import { createModel } from '../../src/models/index.js';
import { loadModelFile, saveModelFile } from '../../src/models/io.js';
import { checkpointModels } from '../../src/studio/registry.js';
import { startStudio } from '../../src/studio/server.js';
import { DEFAULT_STATIC_DIR } from '../../src/studio/paths.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

const BIN = fileURLToPath(new URL('../../../bin/rwkv-music.js', import.meta.url));

/** Runs `rwkv-music generate` on a run folder; returns the bytes of the MIDI and WAV files it writes. */
function cliGenerate(runDir: string, outDir: string, args: string[]): { mid: Buffer; wav: Buffer } {
  execFileSync(process.execPath, [BIN, 'generate', '--checkpoint', runDir, '--out', outDir, '--format', 'mid,wav', ...args], { stdio: 'pipe' });
  const stem = join(outDir, `${basename(runDir)}-seed${args[args.indexOf('--seed') + 1]}-01`);
  return { mid: readFileSync(`${stem}.mid`), wav: readFileSync(`${stem}.wav`) };
}

/** Frames without the silence at the end, which a MIDI file does not record. */
function withoutTrailingSilence(frames: readonly Frame[]): Frame[] {
  const out = frames.slice();
  while (out.length > 0 && out[out.length - 1].length === 0) out.pop();
  return out;
}

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium); skipping the browser test`;

test('the studio generates in the browser, draws the roll, and writes the frames, MIDI and WAV that the sampler and `rwkv-music generate` give', { skip, timeout: 180_000 }, async () => {
  const pageIndex = join(DEFAULT_STATIC_DIR, 'index.html');
  assert.ok(existsSync(pageIndex), `the studio page is not built (${pageIndex} is missing): run \`npm run build\``);

  const dir = mkdtempSync(join(tmpdir(), 'studio-e2e-'));
  // Two small models made with fixed seeds, each in its own run folder.
  const runs = [
    { id: 'tiny-rwkv', config: { kind: 'rwkv', nLayer: 2, nEmbd: 16, ffn: 32, dropout: 0 } as const, seed: 11 },
    { id: 'tiny-lstm', config: { kind: 'lstm', layers: 2, hidden: 16, embed: 12, dropout: 0 } as const, seed: 12 },
  ].map((r) => {
    const folder = join(dir, r.id);
    mkdirSync(folder);
    const file = join(folder, 'best.safetensors');
    saveModelFile(file, createModel(r.config, { seed: r.seed }));
    return { ...r, folder, file };
  });
  const modelFile = runs[0].file;

  const settings = { length: 32, temperature: 1.3, seed: 4242, maxPolyphony: 5 };

  const studio = await startStudio({ staticDir: DEFAULT_STATIC_DIR, models: checkpointModels(runs.map((r) => r.folder), []), host: '127.0.0.1', port: 0 });
  let context: BrowserContext | null = null;
  try {
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      acceptDownloads: true,
      viewport: { width: 1280, height: 800 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('request', (r) => {
      const url = r.url();
      if (!url.startsWith(studio.url) && !url.startsWith('blob:') && !url.startsWith('data:')) problems.push(`request outside the studio: ${url}`);
    });

    await page.goto(studio.url);
    await page.waitForSelector('body[data-state="idle"] #status:has-text("Ready")', { timeout: 30_000 });
    assert.deepEqual(await page.$$eval('#model option', (os) => os.map((o) => (o as HTMLOptionElement).value)), runs.map((r) => r.id));

    await page.fill('#length', String(settings.length));
    await page.fill('#seed', String(settings.seed));
    await page.fill('#max-polyphony', String(settings.maxPolyphony));
    await page.$eval('#temperature', (e, v) => {
      (e as HTMLInputElement).value = v;
      e.dispatchEvent(new Event('input', { bubbles: true }));
    }, String(settings.temperature));
    assert.equal(await page.textContent('#temperature-value'), '1.30');

    for (const run of runs) {
      const [expected] = sample(loadModelFile(run.file), { ...settings, count: 1 });
      const expectedNotes = expected.frames.reduce((n, f) => n + f.length, 0);
      assert.ok(expectedNotes > 0, `${run.id} samples some notes with these settings`);

      await page.selectOption('#model', run.id);
      await page.click('#generate');
      await page.waitForSelector(`body[data-state="done"] #status:has-text("${run.id}")`, { timeout: 120_000 });

      const roll = await page.$eval('#roll', (c) => {
        const canvas = c as HTMLCanvasElement;
        const ctx = canvas.getContext('2d')!;
        const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
        let generatedPixels = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i] === 0xf2 && data[i + 1] === 0xa0 && data[i + 2] === 0x3d) generatedPixels++;
        return { frames: Number(canvas.dataset.frames), notesDrawn: Number(canvas.dataset.notesDrawn), generatedPixels };
      });
      assert.equal(roll.frames, settings.length, run.id);
      assert.equal(roll.notesDrawn, expectedNotes, `${run.id}: every sampled note is drawn`);
      assert.ok(roll.generatedPixels > 0, `${run.id}: note cells are painted on the canvas`);

      const [midiDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-midi')]);
      assert.equal(midiDownload.suggestedFilename(), `rwkv-music-${run.id}-seed${settings.seed}.mid`);
      const midi = readFileSync((await midiDownload.path())!);
      const parsed = midiToRoll(new Uint8Array(midi), { stepsPerQuarter: 2 }, 'downloaded MIDI').roll.frames;
      assert.deepEqual(parsed, withoutTrailingSilence(expected.frames), `${run.id}: the downloaded MIDI holds the frames the sampler draws in Node`);

      const cli = cliGenerate(run.folder, join(dir, 'cli', run.id), [
        '--length', String(settings.length), '--temperature', String(settings.temperature), '--seed', String(settings.seed), '--max-polyphony', String(settings.maxPolyphony),
      ]);
      assert.ok(midi.equals(cli.mid), `${run.id}: the page's MIDI file is byte for byte the one \`rwkv-music generate\` writes`);
    }

    const [wavDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-wav')]);
    const wav = readFileSync((await wavDownload.path())!);
    assert.equal(wav.toString('latin1', 0, 4), 'RIFF');
    assert.equal(wav.toString('latin1', 8, 12), 'WAVE');
    const seconds = (wav.length - 44) / (wav.readUInt32LE(28) || 1);
    assert.ok(seconds >= settings.length * 0.25, `the WAV lasts the ${settings.length} frames (${seconds.toFixed(2)} s)`);
    const cliWav = readFileSync(join(dir, 'cli', runs[runs.length - 1].id, `${runs[runs.length - 1].id}-seed${settings.seed}-01.wav`));
    assert.ok(wav.equals(cliWav), 'the page renders the same WAV file as `rwkv-music generate`');

    await page.click('#play');
    await page.waitForSelector('#stop-play:not([disabled])', { timeout: 30_000 });
    await page.click('#stop-play');
    await page.waitForSelector('#stop-play[disabled]');

    // A primer from an uploaded MIDI file: read in the page as in Node, fed first, kept at the start.
    const primerFrames: Frame[] = [[60, 64, 67], [60, 64, 67], [62, 65], [64, 67], [65, 69, 72], [65, 69, 72], [67], [55, 59, 62]];
    const primerFile = join(dir, 'primer.mid');
    writeFileSync(primerFile, rollToMidi({ frames: primerFrames, timing: DEFAULT_TIMING }));
    const primerRead = midiToRoll(new Uint8Array(readFileSync(primerFile)), { stepsPerQuarter: 2 }, 'primer').roll.frames;
    assert.deepEqual(primerRead, primerFrames, 'the primer survives the MIDI round trip');
    const primed = { length: 16, temperature: 1.3, seed: 99, maxPolyphony: 5 };
    const [expectedPrimed] = sample(loadModelFile(modelFile), { ...primed, count: 1, primer: primerRead });
    await page.selectOption('#model', runs[0].id);
    await page.check('input[name="primer"][value="midi"]');
    await page.setInputFiles('#primer-file', primerFile);
    await page.fill('#primer-midi-frames', String(primerFrames.length));
    await page.fill('#length', String(primed.length));
    await page.fill('#seed', String(primed.seed));
    await page.click('#generate');
    await page.waitForSelector('body[data-state="done"] #status:has-text("seed 99")', { timeout: 120_000 });
    assert.equal(await page.$eval('#roll', (c) => Number((c as HTMLCanvasElement).dataset.frames)), primerFrames.length + primed.length);
    assert.match((await page.textContent('#primer-info')) ?? '', /primer\.mid, 8 of 8 frames/);
    const [primedDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-midi')]);
    const primedFrames = midiToRoll(new Uint8Array(readFileSync((await primedDownload.path())!)), { stepsPerQuarter: 2 }, 'primed MIDI').roll.frames;
    assert.deepEqual(primedFrames, withoutTrailingSilence(expectedPrimed.frames), 'primer and continuation match the sampler in Node');
    assert.deepEqual(primedFrames.slice(0, primerFrames.length), primerFrames);
    const primedCli = cliGenerate(runs[0].folder, join(dir, 'cli-primed'), [
      '--length', String(primed.length), '--temperature', String(primed.temperature), '--seed', String(primed.seed), '--max-polyphony', String(primed.maxPolyphony),
      '--primer', primerFile, '--primer-frames', String(primerFrames.length),
    ]);
    assert.ok(readFileSync((await primedDownload.path())!).equals(primedCli.mid), 'with a MIDI primer too, the page writes the MIDI file the CLI writes');

    // A bad upload is refused with a message, not a crash.
    const junk = join(dir, 'junk.mid');
    writeFileSync(junk, 'this is not a MIDI file');
    await page.setInputFiles('#primer-file', junk);
    await page.click('#generate');
    await page.waitForSelector('body[data-state="error"]');
    assert.match((await page.textContent('#status')) ?? '', /junk\.mid/);

    assert.deepEqual(problems, []);
  } finally {
    await context?.close();
    await studio.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
