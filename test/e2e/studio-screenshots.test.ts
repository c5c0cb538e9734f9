/**
 * The pictures in docs/studio.md and the README, taken in headless Chromium with the bundled models:
 * a dataset primer cut to bars, a continuation and a new seed (three takes), the page at phone width,
 * the Compare tab, and a harmonized tune when a harmonizing model is bundled. Runs when
 * STUDIO_SCREENSHOTS names the folder to write them to:
 *   STUDIO_SCREENSHOTS=docs node --test dist/test/e2e/studio-screenshots.test.js
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { bundledModels } from '../../src/studio/registry.js';
import { PACKAGE_ROOT } from '../../src/studio/paths.js';
import { finished, openStudio, setTemperature, skipBrowser } from './browser.js';

const out = process.env.STUDIO_SCREENSHOTS;
const models = bundledModels(PACKAGE_ROOT);
const skip = skipBrowser || (out ? (models.length > 0 ? false : 'no bundled models') : 'set STUDIO_SCREENSHOTS=<folder> to remake the documentation pictures');
/** The pictures are documentation: small enough to keep in the repository. */
const MAX_PNG_BYTES = 160 * 1024;

async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  const file = join(resolve(out!), name);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage });
  const bytes = statSync(file).size;
  assert.ok(bytes < MAX_PNG_BYTES, `${name} is ${bytes} bytes`);
}

/** Three takes with the bundled LSTM: bars 1-4 of a Nottingham tune continued, that continued, then a new seed. */
async function threeTakes(page: Page): Promise<void> {
  await page.selectOption('#model', 'lstm');
  await setTemperature(page, 0.9);
  await page.fill('#length', '48');
  await page.fill('#seed', '7');
  await page.check('input[name="source"][value="dataset"]');
  await page.fill('#source-index', '3');
  await page.fill('#source-from-bar', '1');
  await page.fill('#source-to-bar', '4');
  await page.click('#generate');
  await finished(page);
  await page.fill('#length', '32');
  await page.click('#continue');
  await finished(page);
  await page.click('#regenerate');
  await finished(page);
}

test('documentation pictures of the studio', { skip, timeout: 600_000 }, async () => {
  const desk = await openStudio([], { entries: models, viewport: { width: 1360, height: 900 } });
  try {
    await threeTakes(desk.page);
    await desk.page.click('#roll', { position: { x: 34 + 8 * Number(await desk.page.getAttribute('#roll', 'data-column')), y: 200 } });
    await shot(desk.page, 'studio.png');
    if (models.some((m) => m.id === 'harmonizer')) {
      await desk.page.selectOption('#model', 'harmonizer');
      await desk.page.waitForSelector('input[name="task"][value="harmonize"]:not([disabled])', { timeout: 120_000 });
      await desk.page.check('input[name="task"][value="harmonize"]');
      await desk.page.fill('#source-index', '12');
      await desk.page.fill('#source-to-bar', '8');
      await desk.page.click('#generate');
      await finished(desk.page);
      await shot(desk.page, 'studio-harmonize.png');
    }
    await desk.page.click('#tab-compare');
    await desk.page.waitForSelector('#compare-body h2, #compare-body p');
    await shot(desk.page, 'studio-compare.png');
    assert.deepEqual(desk.problems, []);
  } finally {
    await desk.close();
  }
  const phone = await openStudio([], { entries: models, viewport: { width: 390, height: 844 } });
  try {
    await threeTakes(phone.page);
    await phone.page.$eval('#roll-scroll', (e) => e.scrollIntoView());
    await phone.page.screenshot({ path: join(resolve(out!), 'studio-phone.png') });
    assert.ok(statSync(join(resolve(out!), 'studio-phone.png')).size < MAX_PNG_BYTES);
    assert.deepEqual(phone.problems, []);
  } finally {
    await phone.close();
  }
});
