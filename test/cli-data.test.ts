import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/engine/random.js';
import { loadDataset } from '../src/data/dataset.js';
import { importMidiFolder } from '../src/data/import.js';
import type { Frame } from '../src/data/pianoroll.js';
import { rollToMidi } from '../src/midi/write.js';

const bin = fileURLToPath(new URL('../../bin/rwkv-music.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../../test/fixtures/midi/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'rwkv-music-cli-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A folder of `count` generated pieces (in nested folders, some .midi) plus the given bad fixtures. */
function makeFolder(name: string, count: number, bad: string[]): string {
  const folder = join(tmp, name);
  mkdirSync(join(folder, 'nested', 'deeper'), { recursive: true });
  const rng = new Rng(11);
  for (let i = 0; i < count; i++) {
    const frames: Frame[] = Array.from({ length: 8 + rng.int(8) }, () => [48 + rng.int(12), 60 + rng.int(12)].sort((a, b) => a - b));
    const sub = i % 3 === 0 ? 'nested' : i % 3 === 1 ? join('nested', 'deeper') : '';
    writeFileSync(join(folder, sub, `piece${i}.${i % 2 ? 'midi' : 'mid'}`), rollToMidi({ frames, timing: { kind: 'grid', stepsPerQuarter: 2, bpm: 120 } }));
  }
  for (const f of bad) copyFileSync(join(fixtures, f), join(folder, f));
  writeFileSync(join(folder, 'notes.txt'), 'not a MIDI file and not named like one');
  return folder;
}

test('data stats prints the split table of a bundled dataset', () => {
  const r = run('data', 'stats', 'nottingham');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const row = (split: string) => lines.find((l) => l.startsWith(split + ' '))?.trim().split(/\s+/) ?? [];
  assert.deepEqual(row('train').slice(0, 3), ['train', '694', '176,561']);
  assert.deepEqual(row('valid').slice(0, 3), ['valid', '173', '45,513']);
  const testRow = row('test');
  assert.deepEqual(testRow.slice(0, 3), ['test', '170', '44,463']);
  assert.ok(Math.abs(Number(testRow[testRow.length - 1]) - 10.26) < 0.005, testRow.join(' '));
  assert.match(r.stdout, /first frame of each sequence not scored/);

  const json = run('data', 'stats', 'jsb-chorales', '--json');
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout);
  assert.deepEqual(parsed.splits.map((s: { sequences: number }) => s.sequences), [229, 76, 77]);
});

test('data stats on a bad dataset prints one error line and exits 1', () => {
  const path = join(tmp, 'bad.json');
  writeFileSync(path, JSON.stringify({ train: [[[60]]], valid: [[[60], [10]]], test: [] }));
  const r = run('data', 'stats', path);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^rwkv-music: .*bad\.json: split valid, sequence 0, frame 1: note 10 out of range 21\.\.108\n$/);
});

test('data import converts a folder recursively, lists failures, splits deterministically and writes a loadable dataset', () => {
  const folder = makeFolder('songs', 20, ['empty.mid', 'truncated.mid', 'not-midi.mid']);
  const out = join(tmp, 'songs.json.gz');
  const r = run('data', 'import', folder, '--out', out, '--split', '0.5,0.25,0.25', '--seed', '3');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /converted 20 of 23 files/);
  assert.match(r.stdout, /train 10, valid 5, test 5 pieces/);
  const skipped = r.stderr.split('\n').filter((l) => l.startsWith('skipped '));
  assert.equal(skipped.length, 3);
  assert.ok(skipped.some((l) => /^skipped empty\.mid: empty file$/.test(l)));
  assert.ok(skipped.some((l) => /^skipped truncated\.mid: truncated file/.test(l)));
  const ds = loadDataset(out);
  assert.deepEqual([ds.train.length, ds.valid.length, ds.test.length], [10, 5, 5]);
  assert.deepEqual(ds.timing, { kind: 'grid', stepsPerQuarter: 2, bpm: 120 });

  // Same seed: the same dataset. Another seed: another assignment of the same pieces.
  const again = importMidiFolder(folder, { split: [0.5, 0.25, 0.25], seed: 3 }).dataset;
  assert.deepEqual([again.train, again.valid, again.test], [ds.train, ds.valid, ds.test]);
  const other = importMidiFolder(folder, { split: [0.5, 0.25, 0.25], seed: 4 }).dataset;
  assert.notDeepEqual(other.train, ds.train);
  const all = (d: typeof ds) => [...d.train, ...d.valid, ...d.test].map((s) => JSON.stringify(s)).sort();
  assert.deepEqual(all(other), all(ds));

  // Without recursion only the top-level pieces are read; fixed-second frames are recorded in the file.
  const flat = join(tmp, 'flat.json.gz');
  const f = run('data', 'import', folder, '--out', flat, '--no-recursive', '--frame-seconds', '0.3');
  assert.equal(f.code, 0, f.stderr);
  assert.match(f.stdout, /converted 6 of 9 files/);
  assert.deepEqual(loadDataset(flat).timing, { kind: 'seconds', frameSeconds: 0.3 });

  // A folder is also a dataset for every command that takes one.
  const direct = run('data', 'stats', folder);
  assert.equal(direct.code, 0, direct.stderr);
  assert.match(direct.stdout, /^train\s+16\s/m);
});

test('data import exits non-zero when nothing converts, and rejects bad flags with one line', () => {
  const folder = makeFolder('all-bad', 0, ['empty.mid', 'zero-tempo.mid']);
  const out = join(tmp, 'none.json.gz');
  const r = run('data', 'import', folder, '--out', out);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /skipped empty\.mid: empty file/);
  assert.match(r.stderr, /rwkv-music: .*none of the 2 MIDI files converted/);
  assert.ok(!existsSync(out));

  const empty = join(tmp, 'no-midi');
  mkdirSync(empty);
  assert.throws(() => importMidiFolder(empty), /no-midi: no \.mid or \.midi files found/);
  const badSplit = run('data', 'import', folder, '--out', out, '--split', '0.8,0.2');
  assert.equal(badSplit.code, 1);
  assert.match(badSplit.stderr, /--split needs three shares/);
  const both = run('data', 'import', folder, '--out', out, '--frame-seconds', '0.3', '--steps-per-quarter', '4');
  assert.equal(both.code, 1);
  assert.match(both.stderr, /either --steps-per-quarter or --frame-seconds/);
});
