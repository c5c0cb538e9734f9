/** Each documented limit (docs/limits.md) and output-path rule holds, with one clear line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readDatasetFile } from '../src/data/dataset.js';
import { importMidiFolder } from '../src/data/import.js';
import { DEFAULT_TIMING } from '../src/data/pianoroll.js';
import { envThreads } from '../src/engine/threads.js';
import { UserError } from '../src/errors.js';
import { MAX_AUDIO_SECONDS, MAX_DATASET_BYTES, MAX_GENERATED_FRAMES, MAX_MODEL_PARAMETERS, MAX_PIECE_FRAMES, MAX_THREADS } from '../src/limits.js';
import { rollToMidi } from '../src/midi/index.js';
import { configParameterCount, validateConfig } from '../src/models/config.js';
import { createModel } from '../src/models/index.js';
import { makeOutputFolder, prepareOutputFile } from '../src/output-paths.js';
import { synthesize } from '../src/render/synth.js';
import { reportOptionsFrom } from '../src/cli/commands/report-shared.js';
import { parseThreads } from '../src/cli/commands/train-shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'rwkv-music-limits-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const userError = (pattern: RegExp) => (e: Error) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n');

test('a gzip bomb dataset stops at the decompressed-size limit', () => {
  // Gzip members concatenate: 257 copies of 1 MiB of zeros is a 257 MiB file of 260 KB.
  const member = gzipSync(Buffer.alloc(1024 * 1024));
  const path = join(tmp, 'bomb.json.gz');
  writeFileSync(path, Buffer.concat(Array.from({ length: MAX_DATASET_BYTES / (1024 * 1024) + 1 }, () => member)));
  assert.throws(() => readDatasetFile(path), userError(/bomb\.json\.gz: decompresses to more than \d+ bytes.*docs\/limits\.md/));
});

test('model sizes are checked from the config before anything is allocated; the count is exact', () => {
  assert.throws(() => validateConfig({ kind: 'rwkv', nLayer: 4, nEmbd: 100_000, ffn: 1024, dropout: 0 }), userError(/weights, more than the 100,000,000 a model may have/));
  assert.throws(() => validateConfig({ kind: 'lstm', layers: 1e4, hidden: 1e4, embed: 4, dropout: 0 }), userError(/docs\/limits\.md/));
  for (const config of [
    { kind: 'rwkv', nLayer: 2, nEmbd: 16, ffn: 40, dropout: 0, inputLags: [1, 3], keyChain: 12 },
    { kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0 },
    { kind: 'lstm', layers: 3, hidden: 12, embed: 10, dropout: 0, inputLags: [2], keyChain: 6 },
    { kind: 'lstm', layers: 1, hidden: 8, embed: 8, dropout: 0 },
  ] as const) {
    const model = createModel(validateConfig(config), { seed: 1 });
    const actual = model.parameters().reduce((n, p) => n + p.data.length, 0);
    assert.equal(configParameterCount(validateConfig(config)), actual, JSON.stringify(config));
  }
  assert.ok(MAX_MODEL_PARAMETERS >= 20 * configParameterCount(validateConfig({ kind: 'rwkv', nLayer: 4, nEmbd: 256, ffn: 1024, dropout: 0 })));
});

test('audio, lengths, frames per piece and threads have upper bounds', () => {
  const long = { frames: Array.from({ length: Math.ceil(MAX_AUDIO_SECONDS / 0.25) + 1 }, () => [60]), timing: DEFAULT_TIMING };
  assert.throws(() => synthesize(long), userError(/minutes of audio; WAV files are rendered up to 10 minutes/));
  const flags = { seed: '1', samples: '1', temperature: '1' };
  assert.throws(() => reportOptionsFrom({ ...flags, length: String(MAX_GENERATED_FRAMES + 1) }), userError(/--length must be at most/));
  assert.equal(reportOptionsFrom({ ...flags, length: '128' }).length, 128);
  assert.throws(() => parseThreads('1000000'), userError(/--threads must be a whole number from 1 to 256/));
  assert.equal(parseThreads(String(MAX_THREADS)), MAX_THREADS);
  const saved = process.env.RWKV_MUSIC_THREADS;
  try {
    process.env.RWKV_MUSIC_THREADS = '5000';
    assert.throws(() => envThreads(), userError(/RWKV_MUSIC_THREADS must be a whole number from 1 to 256/));
  } finally {
    if (saved === undefined) delete process.env.RWKV_MUSIC_THREADS;
    else process.env.RWKV_MUSIC_THREADS = saved;
  }
});

test('MIDI import: bad options fail once up front; linked files are read, linked folders reported', () => {
  const folder = join(tmp, 'midi');
  mkdirSync(join(folder, 'sub'), { recursive: true });
  const piece = rollToMidi({ frames: [[60], [62], [64, 67], [65]], timing: DEFAULT_TIMING });
  for (let i = 0; i < 5; i++) writeFileSync(join(folder, `p${i}.mid`), piece);
  writeFileSync(join(tmp, 'outside.mid'), piece);
  symlinkSync(join(tmp, 'outside.mid'), join(folder, 'linked.mid'));
  symlinkSync(join(folder, 'sub'), join(folder, 'linked-folder'));
  assert.throws(() => importMidiFolder(folder, { frameSeconds: -1 }), (e: Error) => e instanceof UserError && !('failures' in e) && /frame length/.test(e.message));
  assert.throws(() => importMidiFolder(folder, { maxFrames: 2e9 }), userError(new RegExp(`at most ${MAX_PIECE_FRAMES}`)));
  const r = importMidiFolder(folder);
  assert.equal(r.converted.length, 6, 'the linked file is read');
  assert.deepEqual(r.failures, [{ file: 'linked-folder', reason: 'a symbolic link to a folder (not followed)' }]);
});

test('output paths: never an input or an existing file, never under a file, never a hang', () => {
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'x');
  assert.throws(() => makeOutputFolder(file), userError(/--out .*a-file: is a file, not a folder/));
  assert.throws(() => makeOutputFolder(join(file, 'x', 'y')), userError(/a-file is a file, not a folder/));
  assert.throws(() => makeOutputFolder('/proc/rwkv-music-test/x'), userError(/cannot create the folder/));
  makeOutputFolder(join(tmp, 'new', 'deeper'));
  makeOutputFolder(join(tmp, 'new', 'deeper'));
  assert.throws(() => prepareOutputFile(file), userError(/already exists; choose another path/));
  prepareOutputFile(file, { overwrite: true });
  assert.throws(() => prepareOutputFile(file, { overwrite: true, inputs: [file] }), userError(/would overwrite the input/));
  assert.throws(() => prepareOutputFile(tmp), userError(/is a folder; give a file name/));
  prepareOutputFile(join(tmp, 'made', 'out.json.gz'));
});

test('data import --out at one of its own inputs is refused and leaves the input whole', () => {
  const folder = join(tmp, 'import-in');
  mkdirSync(folder);
  const piece = rollToMidi({ frames: [[60], [62], [64]], timing: DEFAULT_TIMING });
  writeFileSync(join(folder, 'good1.mid'), piece);
  const bin = fileURLToPath(new URL('../../bin/rwkv-music.js', import.meta.url));
  const r = spawnSync(process.execPath, [bin, 'data', 'import', folder, '--out', join(folder, 'good1.mid')], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /good1\.mid already exists/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.deepEqual(readFileSync(join(folder, 'good1.mid')), Buffer.from(piece));
});
