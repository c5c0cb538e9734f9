/**
 * The package as another project sees it: imported by its name through package.json "exports" (a
 * temporary project whose node_modules/rwkv-music links to this folder, as `npm install` of a local
 * copy makes it), type-checked against the published .d.ts files, and doing its jobs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { loadDataset } from '../src/data/dataset.js';
import { frameSeconds } from '../src/data/pianoroll.js';
import { sample } from '../src/generate/sampler.js';
import { loadModelFile } from '../src/models/io.js';
import { rollToWav } from '../src/render/wav.js';
import { readWav } from './helpers/media.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A project folder with node_modules/rwkv-music linked to this package. */
function userProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rwkv-music-user-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'rwkv-music'), 'dir');
  return dir;
}

function node(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('examples/generate.mjs, run in another project, continues a tune and writes its MIDI and WAV', () => {
  const dir = userProject();
  try {
    copyFileSync(join(root, 'examples', 'generate.mjs'), join(dir, 'generate.mjs'));
    const r = node(dir, ['generate.mjs', 'out']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /80 frames \(16 from the primer\)/);
    // 79 model steps: the 16 primer frames, then 63 of the 64 drawn ones (the last is not fed back)
    assert.equal((r.out.match(/\|/g) ?? []).length, 4, 'the per-frame callback ran at frames 15, 31, 47 and 63');
    // The same piece, sampled here from the same model file, seed and primer, renders to the same bytes.
    const dataset = loadDataset('nottingham');
    const [piece] = sample(loadModelFile(join(root, 'models', 'lstm', 'best.safetensors')), {
      primer: dataset.test[0].slice(0, 16), length: 64, temperature: 0.9, seed: 7, count: 1,
    });
    const wav = readFileSync(join(dir, 'out', 'continuation.wav'));
    assert.equal(readWav(wav).samples.length, Math.round((80 * frameSeconds(dataset.timing) + 0.6) * 44100));
    assert.deepEqual(wav, Buffer.from(rollToWav({ frames: piece.frames, timing: dataset.timing })));
    assert.deepEqual([...readFileSync(join(dir, 'out', 'continuation.mid')).subarray(0, 4)], [...Buffer.from('MThd')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('from code: train a model, load the run, continue a primer, MIDI <-> piano roll, WAV', () => {
  const dir = userProject();
  try {
    // Arpeggiated triads, enough for a tiny model to learn something in two epochs.
    const piece = (root: number, n: number) => Array.from({ length: n }, (_, t) => [root + [0, 4, 7][t % 3]]);
    const split = (roots: number[]) => roots.map((r, i) => piece(r, 20 + 3 * i));
    writeFileSync(join(dir, 'triads.json.gz'), gzipSync(JSON.stringify({ train: split([48, 50, 52, 53, 55, 57, 59, 60]), valid: split([49, 54]), test: split([51]) })));
    writeFileSync(join(dir, 'app.mjs'), `
      import { trainModel, loadModel, sample, rollToMidi, midiToRoll, rollToWav, parameterCount } from 'rwkv-music';
      const result = await trainModel({
        kind: 'lstm', dataset: 'triads.json.gz', runDir: 'runs/tiny', seed: 2, log: () => {},
        settings: { model: { layers: 1, hidden: 8, embed: 8, keyChain: 4 }, training: { epochs: 2, batchFrames: 256 } },
      });
      const model = loadModel('runs/tiny');
      const [piece] = sample(model, { primer: [[48], [52]], length: 10, temperature: 1, seed: 3, count: 1 });
      const timing = { kind: 'grid', stepsPerQuarter: 2, bpm: 120 };
      const back = midiToRoll(rollToMidi({ frames: piece.frames, timing })).roll;
      console.log(JSON.stringify({ stopped: result.stopped, epoch: result.epoch, bestValid: result.bestValid, parameters: parameterCount(model),
        frames: piece.frames, primerLength: piece.primerLength, back: back.frames, wavBytes: rollToWav({ frames: piece.frames, timing }).length }));
    `);
    const r = node(dir, ['app.mjs']);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out);
    assert.equal(out.stopped, 'epochs');
    assert.equal(out.epoch, 2);
    assert.ok(Number.isFinite(out.bestValid) && out.bestValid < 88 * Math.log(2), `best valid NLL ${out.bestValid}`);
    // the embedding reads the frame and 8 conditioning columns (a start flag, the key as a one-hot over ±3)
    assert.equal(out.parameters, (88 + 8) * 8 + 8 + 4 * 8 * (8 + 8 + 2) + 8 * 88 + 88 + (8 * 4 + 4 + 4 * 88 + 88 * 4 + 88 * 88));
    assert.ok(existsSync(join(dir, 'runs', 'tiny', 'best.safetensors')));
    assert.equal(out.frames.length, 12);
    assert.equal(out.primerLength, 2);
    assert.deepEqual(out.frames.slice(0, 2), [[48], [52]]);
    // MIDI keeps every frame up to the last note (it does not store trailing silence).
    let end = out.frames.length;
    while (end > 0 && out.frames[end - 1].length === 0) end--;
    assert.deepEqual(out.back.slice(0, end), out.frames.slice(0, end));
    const pcmBytes = 2 * Math.round((12 * 0.25 + 0.6) * 44100); // mono, 16-bit, with the 0.6 s release tail
    assert.ok(out.wavBytes > pcmBytes && out.wavBytes < pcmBytes + 100, `${out.wavBytes} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the published types: a TypeScript project type-checks against rwkv-music and rwkv-music/browser', () => {
  const dir = userProject();
  try {
    copyFileSync(join(root, 'examples', 'generate.mjs'), join(dir, 'generate.mjs'));
    writeFileSync(join(dir, 'app.ts'), `
      import { loadModel, sample, rollToMidi, midiToRoll, trainModel, type PianoRoll, type Sample, type SequenceModel } from 'rwkv-music';
      import * as browser from 'rwkv-music/browser';
      const model: SequenceModel = loadModel('lstm');
      const pieces: Sample[] = sample(model, { length: 4, temperature: 1, seed: 1, count: 1 });
      const roll: PianoRoll = { frames: pieces[0].frames, timing: { kind: 'grid', stepsPerQuarter: 2, bpm: 120 } };
      const midi: Uint8Array = rollToMidi(roll);
      const again: PianoRoll = midiToRoll(midi).roll;
      const loading: Promise<SequenceModel> = browser.loadModelFromUrl('/models/lstm/best.safetensors');
      const wav: Uint8Array = browser.rollToWav(again);
      void trainModel; void loading; void wav;
      // @ts-expect-error the browser entry reads no files
      browser.loadModel('lstm');
      // @ts-expect-error a sample needs a temperature
      sample(model, { length: 4, seed: 1, count: 1 });
    `);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'DOM'], strict: true, noEmit: true,
        allowJs: true, checkJs: true, skipLibCheck: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
      },
      files: ['app.ts', 'generate.mjs'],
    }));
    const r = node(dir, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
    assert.equal(r.code, 0, r.out + r.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the browser entry imports nothing from Node or native addons', () => {
  const start = join(root, 'dist', 'src', 'browser.js');
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:^|[;\s])(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  };
  visit(start);
  assert.ok(seen.size > 20, `followed ${seen.size} modules`);
  const node = [...packages].filter((p) => p.startsWith('node:') || builtinModules.includes(p));
  assert.deepEqual(node, [], 'Node built-ins');
  for (const native of ['onnxruntime-node', '@resvg/resvg-js']) assert.ok(!packages.has(native), native);
});
