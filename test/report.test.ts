import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport } from '../src/report/write-report.js';
import type { Report } from '../src/report/report.js';

const report: Report = {
  title: 'RWKV vs LSTM <test>',
  dataset: 'nottingham',
  notes: ['measured on a test machine'],
  models: [
    {
      name: 'rwkv',
      parameters: 1234567,
      wallSeconds: 125,
      framesPerSecond: 2500,
      bestValidNll: 3.1234,
      testNll: 3.0456,
      trainCurve: [{ epoch: 1, nll: 5 }, { epoch: 2, nll: 4 }],
      validCurve: [{ epoch: 1, nll: 4.5 }, { epoch: 2, nll: 3.9 }],
      command: 'rwkv-music train --model rwkv',
      samples: [{ label: 'rwkv seed 1', wav: 'samples/rwkv-1.wav', mid: 'samples/rwkv-1.mid', svg: '<svg id="roll"></svg>' }],
    },
    {
      name: 'lstm',
      parameters: 1000,
      bestValidNll: 3.3,
      testNll: 3.25,
      trainCurve: [{ epoch: 1, nll: 6 }],
      validCurve: [{ epoch: 1, nll: 5 }],
      samples: [],
    },
  ],
};

test('writeReport writes a self-contained page, a README with the same table, and PNG/SVG curves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-'));
  try {
    const { html, markdown } = await writeReport(dir, report);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /RWKV vs LSTM &lt;test&gt;/, 'title is escaped');
    assert.match(page, /<td>3\.046<\/td>/, 'test NLL in the table');
    assert.match(page, /<td>0\.0346<\/td>/, 'per-key BCE = NLL / 88');
    assert.match(page, /<td>1,234,567<\/td>/);
    assert.match(page, /<audio controls preload="none" src="samples\/rwkv-1\.wav">/);
    assert.match(page, /<svg id="roll"><\/svg>/, 'piano roll inlined');
    assert.equal((page.match(/<svg/g) ?? []).length >= 3, true, 'two inline charts and the roll');
    assert.doesNotMatch(page, /https?:\/\/(?!vega\.github\.io|www\.w3\.org)/, 'no network references');
    const md = readFileSync(markdown, 'utf8');
    assert.match(md, /\| rwkv \| 1,234,567 \| 2 min 5 s \| 2,500 \| 3\.123 \| 3\.046 \| 0\.0346 \| – \|/);
    assert.match(md, /!\[validation loss\]\(loss-valid\.png\)/);
    const png = readFileSync(join(dir, 'loss-valid.png'));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('durations round once: 1199.97 s is 20 min 0 s', async () => {
  const { fmtDuration } = await import('../src/report/report.js');
  assert.equal(fmtDuration(1199.97), '20 min 0 s');
  assert.equal(fmtDuration(59.6), '1 min 0 s');
  assert.equal(fmtDuration(42.2), '42 s');
});
