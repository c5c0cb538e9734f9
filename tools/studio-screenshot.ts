/**
 * Makes the screenshot of the studio used in the docs: starts the server with the bundled models (or
 * the run folders given), generates with a dataset primer in headless Chromium, and saves a PNG.
 *   node dist/tools/studio-screenshot.js [--out docs/studio.png] [--checkpoint <run folder> ...] [--compare docs/studio-compare.png]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { bundledModels, checkpointModels } from '../src/studio/registry.js';
import { startStudio } from '../src/studio/server.js';
import { DEFAULT_STATIC_DIR, PACKAGE_ROOT } from '../src/studio/paths.js';

/** Values after `name` up to the next flag (so `--checkpoint a b` and `--checkpoint a --checkpoint b` both work). */
function option(name: string): string[] {
  const out: string[] = [];
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) if (args[i] === name) while (i + 1 < args.length && !args[i + 1].startsWith('--')) out.push(args[++i]);
  return out;
}

async function main(): Promise<void> {
  const out = option('--out')[0] ?? join(PACKAGE_ROOT, 'docs', 'studio.png');
  const compareOut = option('--compare')[0];
  const bundled = bundledModels(PACKAGE_ROOT);
  const models = [...bundled, ...checkpointModels(option('--checkpoint'), bundled.map((m) => m.id))];
  if (models.length === 0) throw new Error('no bundled models and no --checkpoint given');
  const studio = await startStudio({ staticDir: DEFAULT_STATIC_DIR, models, host: '127.0.0.1', port: 0 });
  const profile = mkdtempSync(join(tmpdir(), 'studio-shot-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1360, height: 780 },
      deviceScaleFactor: 1,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(studio.url);
      await page.waitForSelector('#status:has-text("Ready")');
      await page.check('input[name="primer"][value="dataset"]');
      await page.fill('#primer-index', '3');
      await page.fill('#primer-frames', '32');
      await page.fill('#length', '160');
      await page.fill('#seed', '7');
      await page.$eval('#temperature', (e) => {
        (e as HTMLInputElement).value = '0.9';
        e.dispatchEvent(new Event('input', { bubbles: true }));
      });
      await page.click('#generate');
      await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 300_000 });
      if ((await page.getAttribute('body', 'data-state')) === 'error') throw new Error(`the page reports: ${await page.textContent('#status')}`);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: out });
      console.log(`wrote ${out}`);
      if (compareOut) {
        await page.click('#tab-compare');
        await page.waitForSelector('#compare-body h2, #compare-body p');
        await page.screenshot({ path: compareOut, fullPage: true });
        console.log(`wrote ${compareOut}`);
      }
    } finally {
      await context.close();
    }
  } finally {
    await studio.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
