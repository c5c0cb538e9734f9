/**
 * What the studio's browser tests share: small models with fixed seeds in run folders, the studio on a
 * free localhost port, and headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no
 * browser is downloaded) that records page errors and any request leaving the studio.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium, type BrowserContext, type Download, type Page } from 'playwright-core';
import { midiToRoll } from '../../src/midi/read.js';
import type { Frame } from '../../src/data/pianoroll.js';
import type { ModelConfig, SequenceModel } from '../../src/models/model.js';
import { createModel } from '../../src/models/index.js';
import { saveModelFile } from '../../src/models/io.js';
import type { ModelEntry } from '../../src/studio/registry.js';
import { checkpointModels } from '../../src/studio/registry.js';
import { startStudio, type RunningStudio } from '../../src/studio/server.js';
import { DEFAULT_STATIC_DIR } from '../../src/studio/paths.js';

export const CHROMIUM = '/usr/bin/chromium';
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

/** The reason to skip a browser test here, or false. */
export const skipBrowser = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium); skipping the browser test`;

export interface RunSpec {
  id: string;
  config: ModelConfig;
  seed: number;
  /** Changes the fresh model before it is saved (e.g. to make it silent). */
  edit?: (m: SequenceModel) => void;
}

export const TINY_RWKV: RunSpec = { id: 'tiny-rwkv', config: { kind: 'rwkv', nLayer: 2, nEmbd: 16, ffn: 32, dropout: 0 }, seed: 11 };
export const TINY_LSTM: RunSpec = { id: 'tiny-lstm', config: { kind: 'lstm', layers: 2, hidden: 16, embed: 12, dropout: 0 }, seed: 12 };

export interface Run extends RunSpec {
  folder: string;
  file: string;
}

export interface Session {
  dir: string;
  runs: Run[];
  studio: RunningStudio;
  context: BrowserContext;
  page: Page;
  /** Page errors, console errors and requests outside the studio seen so far. */
  problems: string[];
  close(): Promise<void>;
}

/** Starts the studio with the given runs (or bundled model entries) and opens it in Chromium. */
export async function openStudio(specs: RunSpec[], options: { viewport?: { width: number; height: number }; entries?: ModelEntry[] } = {}): Promise<Session> {
  const pageIndex = join(DEFAULT_STATIC_DIR, 'index.html');
  assert.ok(existsSync(pageIndex), `the studio page is not built (${pageIndex} is missing): run \`npm run build\``);
  const dir = mkdtempSync(join(tmpdir(), 'studio-e2e-'));
  const runs = specs.map((r) => {
    const folder = join(dir, r.id);
    mkdirSync(folder);
    const file = join(folder, 'best.safetensors');
    const model = createModel(r.config, { seed: r.seed });
    r.edit?.(model);
    saveModelFile(file, model);
    return { ...r, folder, file };
  });
  const entries = [...(options.entries ?? []), ...checkpointModels(runs.map((r) => r.folder), (options.entries ?? []).map((e) => e.id))];
  const studio = await startStudio({ staticDir: DEFAULT_STATIC_DIR, models: entries, host: '127.0.0.1', port: 0 });
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: options.viewport ?? { width: 1280, height: 800 },
    deviceScaleFactor: 1,
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
  return {
    dir,
    runs,
    studio,
    context,
    page,
    problems,
    close: async () => {
      await context.close();
      await studio.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sets the temperature slider as a user would. */
export async function setTemperature(page: Page, value: number): Promise<void> {
  await page.$eval('#temperature', (e, v) => {
    (e as HTMLInputElement).value = v;
    e.dispatchEvent(new Event('input', { bubbles: true }));
  }, String(value));
}

/** Waits until a run ends in one of `states` (default: done) and returns the status line. */
export async function finished(page: Page, states = ['done']): Promise<string> {
  await page.waitForSelector(states.map((s) => `body[data-state="${s}"]`).join(', '), { timeout: 120_000 });
  return (await page.textContent('#status')) ?? '';
}

/** Clicks `selector` and returns the file it downloads. */
export async function downloadOf(page: Page, selector: string): Promise<{ download: Download; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { download, bytes: readFileSync((await download.path())!) };
}

export function framesOfMidi(bytes: Buffer): Frame[] {
  return midiToRoll(new Uint8Array(bytes), { stepsPerQuarter: 2 }, 'downloaded MIDI').roll.frames;
}

/** Frames without the silence at the end, which a MIDI file does not record. */
export function withoutTrailingSilence(frames: readonly Frame[]): Frame[] {
  const out = frames.slice();
  while (out.length > 0 && out[out.length - 1].length === 0) out.pop();
  return out;
}

export const rollData = (page: Page): Promise<{ frames: number; notesDrawn: number; cursor: number; column: number; label: string }> =>
  page.$eval('#roll', (c) => {
    const d = (c as HTMLCanvasElement).dataset;
    return { frames: Number(d.frames), notesDrawn: Number(d.notesDrawn), cursor: Number(d.cursor), column: Number(d.column), label: c.getAttribute('aria-label') ?? '' };
  });
