/**
 * The studio for everyone in headless Chromium: every control in the accessibility tree has a name,
 * tabs follow the tabs pattern, input errors are marked on their field, the page fits a 390 px phone
 * without sideways scrolling, and a take can be made, played and saved with the keyboard alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { finished, openStudio, rollData, skipBrowser, TINY_RWKV } from './browser.js';

const CONTROL_ROLES = new Set(['button', 'checkbox', 'combobox', 'listbox', 'menuitem', 'radio', 'slider', 'spinbutton', 'switch', 'tab', 'textbox', 'link', 'searchbox']);

/** Controls in the browser's accessibility tree that have no accessible name. */
async function unnamedControls(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[] };
  await cdp.detach();
  const controls = nodes.filter((n) => !n.ignored && CONTROL_ROLES.has(n.role?.value ?? ''));
  assert.ok(controls.length > 20, `the tree lists the page's controls (${controls.length})`);
  return controls.filter((n) => !(n.name?.value ?? '').trim()).map((n) => n.role!.value);
}

/** How far the page scrolls sideways. */
const overflow = (page: Page): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** Presses Tab until `selector` has the focus (at most 80 times). */
async function tabTo(page: Page, selector: string, back = false): Promise<void> {
  for (let i = 0; i < 80; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  assert.fail(`Tab never reaches ${selector}`);
}

test('every control has an accessible name, tabs follow the tabs pattern, errors are marked on their field', { skip: skipBrowser, timeout: 180_000 }, async () => {
  const s = await openStudio([TINY_RWKV]);
  const { page } = s;
  try {
    assert.deepEqual(await unnamedControls(page), [], 'controls without a name on the Generate tab');
    assert.equal(await page.getAttribute('label[for="temperature"]', 'for'), 'temperature');
    await page.fill('#length', '24');
    await page.click('#generate');
    await finished(page);
    assert.deepEqual(await unnamedControls(page), [], 'controls without a name once there is a take');
    assert.match((await rollData(page)).label, /^Piano roll of take 1: 24 frames \(3 bars\), \d+ notes/);

    // The C8 label sits inside the canvas, below its top edge.
    const labelRows = await page.$eval('#roll', (c) => {
      const canvas = c as HTMLCanvasElement;
      const { data, width } = canvas.getContext('2d')!.getImageData(0, 0, 32, 30);
      const rows: number[] = [];
      for (let y = 0; y < 30; y++) for (let x = 0; x < 32; x++) if (data[(y * 32 + x) * 4] === 0x3b && data[(y * 32 + x) * 4 + 1] === 0x42) rows.push(y);
      void width;
      return rows;
    });
    assert.ok(labelRows.length > 4 && Math.min(...labelRows) > 1, `the C8 label is drawn whole (rows ${Math.min(...labelRows)}-${Math.max(...labelRows)})`);

    // Tabs: each controls its panel; arrow keys move and select; only the selected tab is in the Tab order.
    assert.equal(await page.getAttribute('#tab-generate', 'aria-controls'), 'panel-generate');
    assert.equal(await page.getAttribute('#tab-compare', 'aria-controls'), 'panel-compare');
    await page.focus('#tab-generate');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-compare');
    assert.equal(await page.getAttribute('#tab-compare', 'aria-selected'), 'true');
    assert.ok(await page.isHidden('#panel-generate'));
    assert.equal(await page.getAttribute('#tab-generate', 'tabindex'), '-1');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.getAttribute('#tab-generate', 'aria-selected'), 'true');
    assert.ok(await page.isVisible('#panel-generate'));

    // An input error: the field is marked invalid, described by the message, and focused.
    await page.fill('#seed', '-4');
    await page.click('#generate');
    assert.match(await finished(page, ['error']), /seed must be a whole number from 0 to 4294967295/);
    assert.equal(await page.getAttribute('#seed', 'aria-invalid'), 'true');
    assert.equal(await page.getAttribute('#seed', 'aria-describedby'), 'status');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'seed');
    await page.fill('#seed', '4');
    assert.equal(await page.getAttribute('#seed', 'aria-invalid'), null, 'typing a new value clears the mark');
    assert.deepEqual(s.problems, []);
  } finally {
    await s.close();
  }
});

test('at 390x844 the columns stack and nothing scrolls sideways; keyboard alone makes, plays and saves a take', { skip: skipBrowser, timeout: 180_000 }, async () => {
  const s = await openStudio([TINY_RWKV], { viewport: { width: 390, height: 844 } });
  const { page } = s;
  try {
    assert.equal(await overflow(page), 0, 'the Generate tab does not scroll sideways');
    const [form, roll] = await Promise.all(['#controls', '#roll-scroll'].map((q) => page.$eval(q, (e) => e.getBoundingClientRect().toJSON() as DOMRect)));
    assert.ok(roll.top >= form.bottom, 'the roll comes below the controls');
    assert.ok(roll.width >= 340, `the roll uses the width of the phone (${roll.width} px)`);
    const legend = await page.$eval('.legend', (e) => Array.from(e.children).map((c) => c.getBoundingClientRect().right));
    assert.ok(Math.max(...legend) <= 390, 'the legend is not cut off');

    // Keyboard only from here: fields, Generate, the roll, Space, Download.
    await tabTo(page, '#length');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('16');
    await tabTo(page, '#generate');
    await page.keyboard.press('Enter');
    assert.match(await finished(page), /^Take 1: generated 16 frames/);
    assert.equal(await overflow(page), 0, 'a take does not make the page scroll sideways');
    await tabTo(page, '#roll-scroll');
    await page.keyboard.press('ArrowRight');
    assert.equal((await rollData(page)).cursor, 2);
    await page.keyboard.press('Space');
    await page.waitForSelector('#status:has-text("Playing take 1 from bar 1, beat 2")', { timeout: 30_000 });
    await page.keyboard.press('Space');
    await page.waitForSelector('#status:has-text("Stopped playing take 1.")');
    await tabTo(page, '#download-midi', true);
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    assert.equal(download.suggestedFilename(), 'rwkv-music-tiny-rwkv-seed1-take1.mid');

    await tabTo(page, '#tab-generate', true);
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('#compare-body h2, #compare-body p');
    assert.equal(await overflow(page), 0, 'the Compare tab does not scroll sideways');
    assert.deepEqual(s.problems, []);
  } finally {
    await s.close();
  }
});
