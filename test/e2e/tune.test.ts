/**
 * End to end in headless Chromium: the studio's "Make it yours" panel tunes a small model's start
 * state on two uploaded MIDI files in its worker (TypeScript kernels), the NLL of those files goes
 * down, the before/after pair with one seed is what the sampler gives in Node without and with the
 * downloaded style, a file that is not MIDI is refused with a message, and so is the style when it is
 * loaded for another model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { DEFAULT_TIMING, type Frame } from '../../src/data/pianoroll.js';
import { sample } from '../../src/generate/sampler.js';
import { midiToRoll } from '../../src/midi/read.js';
import { rollToMidi } from '../../src/midi/write.js';
import { createModel } from '../../src/models/index.js';
import { loadModelFile, saveModelFile } from '../../src/models/io.js';
import { hasStartState, startingFrom } from '../../src/models/start-state.js';
import { checkpointModels } from '../../src/studio/registry.js';
import { startStudio } from '../../src/studio/server.js';
import { DEFAULT_STATIC_DIR } from '../../src/studio/paths.js';
import { decodeStyle } from '../../src/tune/style.js';
import { meanNll } from '../../src/tune/tune.js';
import { Rng } from '../../src/engine/random.js';
import { jitter } from '../helpers/jitter.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium); skipping the browser test`;

/** A short piece: a repeated chord pattern starting at `root`. */
function piece(root: number, frames: number): Frame[] {
  const chords = [[0, 4, 7], [0, 4, 7], [5, 9, 12], [7, 11, 14], [0, 4, 7], [], [2, 5, 9], [7, 11]];
  return Array.from({ length: frames }, (_, t) => chords[t % chords.length].map((d) => root + d));
}

test('the "Make it yours" panel tunes a start state in the browser, lowers the NLL of the files and samples with it', { skip, timeout: 300_000 }, async () => {
  assert.ok(existsSync(join(DEFAULT_STATIC_DIR, 'index.html')), 'the studio page is not built: run `npm run build`');
  const dir = mkdtempSync(join(tmpdir(), 'tune-e2e-'));
  const folder = join(dir, 'tiny-rwkv');
  mkdirSync(folder);
  const modelFile = join(folder, 'best.safetensors');
  const tiny = createModel({ kind: 'rwkv', nLayer: 2, nEmbd: 16, ffn: 32, dropout: 0, inputLags: [1, 4], keyChain: 8 }, { seed: 5, rwkvInit: 'pytorch' });
  jitter(tiny, new Rng(5), 0.3);
  saveModelFile(modelFile, tiny);
  const other = join(dir, 'tiny-lstm');
  mkdirSync(other);
  saveModelFile(join(other, 'best.safetensors'), createModel({ kind: 'lstm', layers: 1, hidden: 8, embed: 8, dropout: 0 }, { seed: 6 }));
  const files = [join(dir, 'one.mid'), join(dir, 'two.mid')];
  writeFileSync(files[0], rollToMidi({ frames: piece(60, 24), timing: DEFAULT_TIMING }));
  writeFileSync(files[1], rollToMidi({ frames: piece(55, 32), timing: DEFAULT_TIMING }));
  const pieces = files.map((f) => midiToRoll(new Uint8Array(readFileSync(f)), {}, f).roll.frames);

  const studio = await startStudio({ staticDir: DEFAULT_STATIC_DIR, models: checkpointModels([folder, other], []), host: '127.0.0.1', port: 0 });
  let context: BrowserContext | null = null;
  try {
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, acceptDownloads: true, viewport: { width: 1280, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(studio.url);
    await page.click('#tab-tune');
    await page.waitForSelector('#tune-model option[value="tiny-rwkv"]', { state: 'attached', timeout: 30_000 });

    // a file that is not MIDI is refused with its name
    const junk = join(dir, 'junk.mid');
    writeFileSync(junk, 'this is not a MIDI file');
    await page.setInputFiles('#tune-files', junk);
    await page.waitForSelector('#tune-files-info:has-text("junk.mid")');

    await page.setInputFiles('#tune-files', files);
    await page.waitForSelector('#tune-files-info:has-text("2 pieces")');
    await page.fill('#tune-steps', '40');
    await page.fill('#tune-lr', '0.05');
    await page.click('#tune-start');
    await page.waitForSelector('#panel-tune[data-tune-state="tuned"]', { timeout: 240_000 });
    const nll = await page.$eval('#panel-tune', (s) => ({ before: Number((s as HTMLElement).dataset.nllBefore), after: Number((s as HTMLElement).dataset.nllAfter) }));
    assert.ok(nll.after < nll.before, `the tuned state lowers the NLL of the two files (${nll.before} -> ${nll.after})`);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#tune-download')]);
    const stylePath = (await download.path())!;
    const model = loadModelFile(modelFile);
    assert.ok(hasStartState(model));
    const { start } = decodeStyle(new Uint8Array(readFileSync(stylePath)), 'downloaded style', model);
    const all = pieces.map((p, seq) => ({ seq, start: 0, end: p.length, shift: 0 }));
    const nodeNll = meanNll(model, pieces, all, start, 4096);
    assert.ok(Math.abs(nodeNll - nll.after) < 1e-3 * nll.before, `the downloaded style gives the page's NLL in Node (${nodeNll} vs ${nll.after})`);

    await page.fill('#tune-pair-seed', '7');
    await page.click('#tune-pair');
    await page.waitForSelector('#panel-tune[data-tune-state="paired"]', { timeout: 60_000 });
    const pair = await page.$eval('#panel-tune', (s) => ({ before: (s as HTMLElement).dataset.pairBefore!, after: (s as HTMLElement).dataset.pairAfter! }));
    const settings = { length: 128, temperature: 1, seed: 7, count: 1 };
    const [before] = sample(model, settings);
    const [after] = sample(startingFrom(model, start), settings);
    assert.deepEqual(JSON.parse(pair.before), before.frames, 'the "before" sample is the model without the style');
    assert.deepEqual(JSON.parse(pair.after), after.frames, 'the "after" sample is the model starting from the style');
    assert.notDeepEqual(after.frames, before.frames, 'generation uses the tuned state');
    await page.click('#tune-play-after');
    await page.waitForSelector('#tune-stop:not([disabled])', { timeout: 30_000 });
    await page.click('#tune-stop');

    // the style is refused by another model
    await page.selectOption('#tune-model', 'tiny-lstm');
    await page.setInputFiles('#tune-style-file', { name: 'mine.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(stylePath) });
    await page.waitForSelector('#panel-tune[data-tune-state="error"]', { timeout: 60_000 });
    assert.match((await page.textContent('#tune-status')) ?? '', /mine\.safetensors: this style was tuned for another model/);
    assert.deepEqual(problems, []);
  } finally {
    await context?.close();
    await studio.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
