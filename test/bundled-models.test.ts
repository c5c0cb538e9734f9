import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../src/data/dataset.js';
import { BUNDLED_MODELS_DIR, RUN_FILES } from '../src/run/files.js';
import { bundledModelNames } from '../src/run/resolve.js';
import { loadModelFile } from '../src/models/io.js';
import { evaluateSequences } from '../src/train/evaluate.js';

test('every bundled model loads and scores the test split of its dataset within 0.01 of its card', () => {
  const names = bundledModelNames();
  assert.ok(names.includes('rwkv') && names.includes('lstm'), `bundled models found: ${names.join(', ') || 'none'}`);
  for (const name of names) {
    const dir = join(BUNDLED_MODELS_DIR, name);
    const card = JSON.parse(readFileSync(join(dir, 'card.json'), 'utf8')) as {
      testNll: number; testFrames: number; model: { kind: string }; dataset: string;
    };
    const test = loadDataset(card.dataset).test;
    const model = loadModelFile(join(dir, RUN_FILES.best));
    assert.equal(model.config.kind, card.model.kind);
    const r = evaluateSequences(model, test, { batchFrames: 8192, maxLength: Number.MAX_SAFE_INTEGER });
    assert.equal(r.frames, card.testFrames);
    assert.ok(Math.abs(r.nll - card.testNll) < 0.01, `${name}: measured ${r.nll.toFixed(4)}, card says ${card.testNll.toFixed(4)}`);
  }
});
