/**
 * Generation speed in Chromium (Debian's /usr/bin/chromium driven by playwright-core), for
 * bench/gen-speed.ts:
 * - browserGeneration: bench/gen-harness.ts in a module Web Worker, loaded from the compiled dist/
 *   tree by a small local server, with the model bytes fetched as the studio fetches them;
 * - studioColdStart: the studio itself (dist/web, served by src/studio/server.ts) in a fresh browser
 *   profile: page load until ready, then Generate until the first frame is on the roll and until done.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { bundledModels } from '../src/studio/registry.js';
import { startStudio } from '../src/studio/server.js';
import { DEFAULT_STATIC_DIR, PACKAGE_ROOT } from '../src/studio/paths.js';
import type { GenCase, GenTiming } from './gen-harness.js';
import type { GenReply } from './gen-worker.js';

export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** dist/, where the compiled bench and src modules live (this file is dist/bench/browser-gen.js). */
const DIST = fileURLToPath(new URL('../', import.meta.url));

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html' };

/** Serves dist/*.js, an empty page at / and the given model files at /model/<name>, on 127.0.0.1. */
function startHarnessServer(models: ReadonlyMap<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const send = (status: number, type: string, body: Buffer | string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/') return send(200, 'text/html', '<!doctype html><title>generation speed</title>');
    if (path.startsWith('/model/')) {
      const file = models.get(path.slice('/model/'.length));
      return file ? send(200, 'application/octet-stream', readFileSync(file)) : send(404, 'text/plain', 'no such model');
    }
    const file = normalize(join(DIST, path));
    if (!file.startsWith(DIST.endsWith(sep) ? DIST : DIST + sep) || !(extname(file) in TYPES) || !existsSync(file)) return send(404, 'text/plain', 'not found');
    send(200, TYPES[extname(file)], readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('the harness server has no port'));
      resolve({ server, url: `http://127.0.0.1:${addr.port}/` });
    });
  });
}

async function withBrowser<T>(f: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    return await f(browser);
  } finally {
    await browser.close();
  }
}

export interface BrowserGenResult {
  name: string;
  loadSeconds: number;
  timings: GenTiming[];
}

/** Times each model (name -> .safetensors file) in a Chromium worker; one worker per model. */
export async function browserGeneration(models: ReadonlyMap<string, string>, cases: readonly GenCase[], runs: number): Promise<BrowserGenResult[]> {
  const { server, url } = await startHarnessServer(models);
  try {
    return await withBrowser(async (browser) => {
      const page = await browser.newPage();
      await page.goto(url);
      const out: BrowserGenResult[] = [];
      for (const name of models.keys()) {
        const reply = await page.evaluate(
          async ({ name, cases, runs }) => {
            const bytes = await (await fetch(`/model/${name}`)).arrayBuffer();
            const worker = new Worker('/bench/gen-worker.js', { type: 'module' });
            try {
              return await new Promise<GenReply>((resolve) => {
                worker.onmessage = (e: MessageEvent<GenReply>) => resolve(e.data);
                worker.onerror = (e) => resolve({ ok: false, message: `worker error: ${e.message}` });
                worker.postMessage({ name, bytes, cases, runs }, [bytes]);
              });
            } finally {
              worker.terminate();
            }
          },
          { name, cases: [...cases], runs },
        );
        if (!reply.ok) throw new Error(`browser worker, model ${name}: ${reply.message}`);
        out.push({ name, loadSeconds: reply.loadSeconds, timings: reply.timings });
      }
      return out;
    });
  } finally {
    server.close();
  }
}

export interface ColdStart {
  /** Navigation until the page says it is ready. */
  readySeconds: number;
  /** Click on Generate until the first generated frame is on the roll (weights fetched, model loaded, first steps). */
  firstFrameSeconds: number;
  /** Click on Generate until the page reports the run done. */
  doneSeconds: number;
}

/** Click on Generate; resolves with the seconds until the roll holds its first frame and until done. */
async function clickAndTime(page: Page): Promise<{ first: number; done: number }> {
  return page.evaluate(
    () =>
      new Promise<{ first: number; done: number }>((resolve, reject) => {
        const roll = document.querySelector<HTMLElement>('#roll');
        const button = document.querySelector<HTMLButtonElement>('#generate');
        if (!roll || !button) return reject(new Error('the studio page has no #roll or #generate'));
        const t0 = performance.now();
        let first = -1;
        const check = () => {
          if (first < 0 && Number(roll.dataset.frames ?? 0) >= 1) first = performance.now() - t0;
          const state = document.body.dataset.state;
          if (state === 'error') reject(new Error(`the studio reports an error: ${document.querySelector('#status')?.textContent}`));
          if (first >= 0 && state === 'done') {
            observer.disconnect();
            resolve({ first: first / 1000, done: (performance.now() - t0) / 1000 });
          }
        };
        const observer = new MutationObserver(check);
        observer.observe(roll, { attributes: true });
        observer.observe(document.body, { attributes: true });
        button.click();
      }),
  );
}

/** The studio's cold start with `modelId`, `length` frames, in `repeats` fresh browser profiles. */
export async function studioColdStart(modelId: string, length: number, repeats: number): Promise<ColdStart[]> {
  if (!existsSync(join(DEFAULT_STATIC_DIR, 'index.html'))) throw new Error(`the studio page is not built (${DEFAULT_STATIC_DIR}): run \`npm run build\``);
  const studio = await startStudio({ staticDir: DEFAULT_STATIC_DIR, models: bundledModels(PACKAGE_ROOT), host: '127.0.0.1', port: 0 });
  const out: ColdStart[] = [];
  try {
    for (let i = 0; i < repeats; i++) {
      const profile = mkdtempSync(join(tmpdir(), 'gen-speed-profile-'));
      const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        const t0 = Date.now();
        await page.goto(studio.url);
        await page.waitForSelector('body[data-state="idle"]', { timeout: 60_000 });
        const readySeconds = (Date.now() - t0) / 1000;
        await page.selectOption('#model', modelId);
        await page.fill('#length', String(length));
        const { first, done } = await clickAndTime(page);
        out.push({ readySeconds, firstFrameSeconds: first, doneSeconds: done });
      } finally {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      }
    }
  } finally {
    await studio.close();
  }
  return out;
}
