import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserError } from '../src/errors.js';
import { loadDataset, parseDataset, saveDataset, type Dataset } from '../src/data/dataset.js';
import { baselineNll, datasetStats, keyFrequencies, P_CLAMP } from '../src/data/stats.js';

const tmp = mkdtempSync(join(tmpdir(), 'rwkv-music-data-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function writeGz(name: string, value: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, gzipSync(JSON.stringify(value)));
  return path;
}

function loadError(path: string): string {
  try {
    loadDataset(path);
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err}`);
    return err.message;
  }
  assert.fail(`${path} loaded without error`);
}

const good = { train: [[[60], [60, 64]], [[]]], valid: [[[62]]], test: [[[21, 108]]] };

test('the Nottingham splits have the published sizes and the trivial baseline is about 10.26 on test', () => {
  const ds = loadDataset('nottingham');
  const stats = datasetStats(ds);
  assert.deepEqual(stats.map((s) => s.sequences), [694, 173, 170]);
  assert.deepEqual(stats.map((s) => s.frames), [176561, 45513, 44463]);
  const test = stats[2];
  assert.equal(test.predictedFrames, 44463 - 170);
  assert.ok(Math.abs(test.baselineNll - 10.26) < 0.005, `test baseline ${test.baselineNll}`);
  for (const s of stats) {
    assert.ok(s.minLength <= s.meanLength && s.meanLength <= s.maxLength);
    assert.ok(s.pitchRange && s.pitchRange.low >= 21 && s.pitchRange.high <= 108);
    assert.ok(s.meanNotesPerFrame > 0 && s.meanNotesPerFrame < 88);
  }
});

test('the JSB chorales have the published sizes and a test baseline of about 11.09', () => {
  const stats = datasetStats(loadDataset('jsb-chorales'));
  assert.deepEqual(stats.map((s) => s.sequences), [229, 76, 77]);
  assert.deepEqual(stats.map((s) => s.frames), [13807, 4602, 4725]);
  assert.ok(Math.abs(stats[2].baselineNll - 11.09) < 0.005, `test baseline ${stats[2].baselineNll}`);
});

test('baseline NLL: frequencies over all training frames, first frames not scored, clamped probabilities', () => {
  // Training frames: [60], [60, 62], [], [60] -> p(60) = 3/4, p(62) = 1/4, every other key clamped.
  const train = [[[60], [60, 62]], [[], [60]]];
  const p = keyFrequencies(train);
  assert.equal(p[60 - 21], 0.75);
  assert.equal(p[62 - 21], 0.25);
  assert.equal(p[0], P_CLAMP);
  // Scored: the second frame of each sequence only.
  const others = -86 * Math.log(1 - P_CLAMP);
  const nllA = -Math.log(0.75) - Math.log(0.25) + others; // [60, 62]
  const nllB = -Math.log(0.75) - Math.log(0.75) + others; // [60]
  const { nll, frames } = baselineNll(train, p);
  assert.equal(frames, 2);
  assert.ok(Math.abs(nll - (nllA + nllB) / 2) < 1e-9);
  // A key never seen in training costs -log(P_CLAMP), not infinity.
  const unseen = baselineNll([[[], [30]]], p).nll;
  assert.ok(Number.isFinite(unseen) && Math.abs(unseen - (-Math.log(P_CLAMP) - Math.log(0.25) - Math.log(0.75) + 85 * -Math.log(1 - P_CLAMP))) < 1e-9);
});

test('a dataset file (gzip or plain JSON) loads, keeps its timing, and saving is atomic and loadable', () => {
  const ds = loadDataset(writeGz('good.json.gz', good));
  assert.deepEqual(ds.train, good.train);
  assert.deepEqual(ds.timing, { kind: 'grid', stepsPerQuarter: 2, bpm: 120 });
  const plain = join(tmp, 'plain.json');
  writeFileSync(plain, JSON.stringify({ ...good, timing: { kind: 'seconds', frameSeconds: 0.3 } }));
  assert.deepEqual(loadDataset(plain).timing, { kind: 'seconds', frameSeconds: 0.3 });

  const out = join(tmp, 'saved.json.gz');
  const toSave: Dataset = { ...ds, timing: { kind: 'grid', stepsPerQuarter: 4, bpm: 96 } };
  saveDataset(out, toSave);
  const back = loadDataset(out);
  assert.deepEqual([back.train, back.valid, back.test, back.timing], [toSave.train, toSave.valid, toSave.test, toSave.timing]);
  assert.deepEqual(readdirSync(tmp).filter((f) => f.endsWith('.tmp')), []);
});

test('validation errors name the file, split, sequence and frame', () => {
  const cases: [string, unknown, RegExp][] = [
    ['range.json.gz', { ...good, valid: [[[60]], [[60], [62], [17, 60]]] }, /range\.json\.gz: split valid, sequence 1, frame 2: note 17 out of range 21\.\.108/],
    ['unsorted.json.gz', { ...good, test: [[[64, 60]]] }, /split test, sequence 0, frame 0: notes not sorted \(64 before 60\)/],
    ['duplicate.json.gz', { ...good, train: [[[60]], [[], [], [], [62, 62]]] }, /split train, sequence 1, frame 3: duplicate note 62/],
    ['float.json.gz', { ...good, train: [[[60.5]]] }, /split train, sequence 0, frame 0: note 60\.5 is not an integer/],
    ['missing.json.gz', { train: good.train, test: good.test }, /missing split "valid"/],
    ['notlist.json.gz', { ...good, test: { a: 1 } }, /split test is not a list of sequences/],
    ['emptyseq.json.gz', { ...good, valid: [[[60]], []] }, /split valid, sequence 1: empty sequence/],
    ['frame.json.gz', { ...good, train: [[[60], 61]] }, /split train, sequence 0, frame 1: frame is 61, expected a list/],
    ['array.json.gz', [1, 2], /expected a JSON object/],
    ['timing.json.gz', { ...good, timing: { kind: 'grid', bpm: 120 } }, /bad "timing"/],
  ];
  for (const [name, value, pattern] of cases) assert.match(loadError(writeGz(name, value)), pattern, name);

  const notGzip = join(tmp, 'plain-text.json.gz');
  writeFileSync(notGzip, JSON.stringify(good));
  assert.match(loadError(notGzip), /plain-text\.json\.gz: not gzip data/);
  const badJson = join(tmp, 'bad.json.gz');
  writeFileSync(badJson, gzipSync('{"train": [[[60]]'));
  assert.match(loadError(badJson), /bad\.json\.gz: not JSON inside the gzip data/);
  const corrupt = join(tmp, 'corrupt.json.gz');
  writeFileSync(corrupt, gzipSync(JSON.stringify(good)).subarray(0, 20));
  assert.match(loadError(corrupt), /corrupt\.json\.gz: corrupt gzip data/);
  const midi = join(tmp, 'song.mid');
  writeFileSync(midi, 'MThd');
  assert.match(loadError(midi), /song\.mid: a single MIDI file is not a dataset/);
  assert.match(loadError(join(tmp, 'nowhere.json.gz')), /no such file or folder \(bundled datasets: nottingham, jsb-chorales, musedata, piano-midi-de\)/);
});

test('parseDataset never hands back part of a dataset', () => {
  const raw = { ...good, test: [[[60]], [[200]]] };
  let result: Dataset | undefined;
  assert.throws(() => {
    result = parseDataset(raw, 'x');
  }, UserError);
  assert.equal(result, undefined);
});

test('all four Boulanger-Lewandowski benchmarks ship and load by name, with their published split sizes', () => {
  const sizes: Record<string, [number, number, number]> = {
    nottingham: [694, 173, 170],
    'jsb-chorales': [229, 76, 77],
    musedata: [524, 135, 124],
    'piano-midi-de': [87, 12, 25],
  };
  for (const [name, [train, valid, test]] of Object.entries(sizes)) {
    const ds = loadDataset(name);
    assert.deepEqual([ds.train.length, ds.valid.length, ds.test.length], [train, valid, test], name);
  }
});
