import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/engine/random.js';
import { loadDataset } from '../src/data/dataset.js';
import { importMidiFolder } from '../src/data/import.js';
import type { Frame } from '../src/data/pianoroll.js';
import { importMidiFolderSharded, readShardManifest, type ShardManifest } from '../src/data/shards.js';
import { rollToMidi } from '../src/midi/write.js';

const bin = fileURLToPath(new URL('../../bin/rwkv-music.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'rwkv-music-shards-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** `count` generated pieces of 10..29 frames, some in a subfolder. */
function makeFolder(count: number): string {
  const folder = join(tmp, 'midi');
  mkdirSync(join(folder, 'sub'), { recursive: true });
  const rng = new Rng(5);
  for (let i = 0; i < count; i++) {
    const frames: Frame[] = Array.from({ length: 10 + rng.int(20) }, () => [40 + rng.int(20), 62 + rng.int(20)]);
    writeFileSync(join(folder, i % 4 === 0 ? 'sub' : '', `p${i}.mid`), rollToMidi({ frames, timing: { kind: 'grid', stepsPerQuarter: 2, bpm: 120 } }));
  }
  return folder;
}

const sortedJson = (seqs: Frame[][]) => seqs.map((s) => JSON.stringify(s)).sort();
const folder = makeFolder(40);

test('data import --shard-frames writes shards of bounded size holding every piece once', () => {
  const out = join(tmp, 'corpus');
  const r = spawnSync(process.execPath, [bin, 'data', 'import', folder, '--out', out, '--shard-frames', '100', '--seed', '3'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /converted 40 of 40 files/);
  const m: ShardManifest = readShardManifest(out);
  assert.ok(m.splits.train.length >= 3, `train has ${m.splits.train.length} shards`);
  const longest = 29;
  for (const split of ['train', 'valid', 'test'] as const) {
    for (const e of m.splits[split]) {
      assert.ok(e.frames < 100 + longest, `${e.file}: ${e.frames} frames`);
      assert.equal(e.frames, e.lengths.reduce((a, b) => a + b, 0));
    }
  }
  assert.deepEqual(readdirSync(out).sort(), ['manifest.json', ...Object.values(m.splits).flat().map((e) => e.file)].sort());
  // the same pieces as the one-file import, split by file instead of by piece
  const whole = importMidiFolder(folder, { seed: 3 }).dataset;
  const sharded = loadDataset(out);
  assert.deepEqual(sortedJson([...sharded.train, ...sharded.valid, ...sharded.test]), sortedJson([...whole.train, ...whole.valid, ...whole.test]));
  assert.deepEqual([sharded.train.length, sharded.valid.length, sharded.test.length], [32, 4, 4]);
  // key counts in the manifest are those of the shard's frames
  const counts = new Array<number>(88).fill(0);
  for (const s of sharded.train) for (const f of s) for (const n of f) counts[n - 21]++;
  const summed = m.splits.train.reduce((acc, e) => acc.map((c, k) => c + e.keyCounts[k]), new Array<number>(88).fill(0));
  assert.deepEqual(summed, counts);
});

test('a sharded import is determined by its seed', () => {
  const a = importMidiFolderSharded(folder, join(tmp, 'a'), { seed: 9, shardFrames: 50 });
  const b = importMidiFolderSharded(folder, join(tmp, 'b'), { seed: 9, shardFrames: 50 });
  assert.deepEqual(a.manifest, b.manifest);
  assert.equal(readFileSync(join(tmp, 'a', 'train-00000.json.gz')).equals(readFileSync(join(tmp, 'b', 'train-00000.json.gz'))), true);
});

test('a sharded import refuses a folder that is not empty, in one line', () => {
  const out = join(tmp, 'busy');
  mkdirSync(out);
  writeFileSync(join(out, 'keep.txt'), 'x');
  const r = spawnSync(process.execPath, [bin, 'data', 'import', folder, '--out', out, '--shard-frames', '100'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr.trim(), /busy: already exists and is not an empty folder/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('a damaged shard is reported with its file name', () => {
  const out = join(tmp, 'damaged');
  importMidiFolderSharded(folder, out, { seed: 1, shardFrames: 100 });
  writeFileSync(join(out, 'train-00001.json.gz'), 'not gzip');
  assert.throws(() => loadDataset(out), /train-00001\.json\.gz: cannot read the shard/);
});
