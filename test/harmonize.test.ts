import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/engine/random.js';
import { createModel } from '../src/models/index.js';
import { saveModelFile } from '../src/models/io.js';
import type { SequenceModel } from '../src/models/model.js';
import { canHarmonize, harmonize, harmonizeInKey, melodyFromFrames, melodyTonicShift, type Melody } from '../src/generate/harmonize.js';
import { candidateLogWeights, sample } from '../src/generate/sampler.js';
import { takeProblem } from '../src/generate/take-check.js';
import { parseKey } from '../src/generate/key.js';
import { SILENT_TAKE_EXIT_CODE } from '../src/cli/commands/generate.js';
import { run } from './helpers/cli.js';
import { jitter } from './helpers/jitter.js';

function harmonizer(seed: number): SequenceModel {
  const model = createModel({ kind: 'lstm', layers: 1, hidden: 8, embed: 6, dropout: 0, keyChain: 10, keyChainOrder: 'down', condition: { start: true, keyShifts: 1 } }, { seed });
  jitter(model, new Rng(seed), 0.3);
  // a bias towards notes, so the accompaniment is not empty by chance
  const bias = model.parameters().find((p) => p.name === 'head.bias')!;
  for (let k = 0; k < 88; k++) bias.data[k] = k < 40 ? -1 : -3;
  return model;
}

const melody: Melody = [72, 72, null, 74, 76, 76, null, null, 71, 69, 67, 67, null, 72];

test('harmonize: the melody is the top voice of every frame, exactly; the same seed gives the same music', () => {
  const model = harmonizer(1);
  assert.ok(canHarmonize(model));
  const frames = harmonize(model, melody, { temperature: 1, seed: 4 });
  assert.equal(frames.length, melody.length);
  let below = 0;
  let ceiling = 72;
  frames.forEach((f, t) => {
    const note = melody[t];
    if (note !== null) {
      ceiling = note;
      assert.equal(Math.max(...f), note, `frame ${t}: top voice ${Math.max(...f)} instead of ${note}`);
    } else {
      assert.ok(f.every((n) => n < ceiling), `frame ${t}: a note above the resting melody's ${ceiling}`);
    }
    below += f.filter((n) => n !== note).length;
  });
  assert.ok(below > 0, 'some accompaniment was drawn');
  assert.deepEqual(harmonize(model, melody, { temperature: 1, seed: 4 }), frames);
  assert.notDeepEqual(harmonize(model, melody, { temperature: 1, seed: 5 }), frames);
  // melodyFromFrames of the result gives the melody back wherever it sounds
  const back = melodyFromFrames(frames);
  melody.forEach((n, t) => n !== null && assert.equal(back[t], n));
  // a frame temperature other than 1 keeps the melody too
  const cool = harmonize(model, melody, { temperature: 0.5, seed: 4 });
  melody.forEach((n, t) => n !== null && assert.equal(Math.max(...cool[t]), n));
});

test('harmonize in the tune\'s key: a tune in G is moved to C for the model and back, notes exact', () => {
  const model = harmonizer(3);
  // a G major scale, up and down, with a rest
  const g: Melody = [67, 69, 71, 72, 74, 76, 78, 79, null, 79, 78, 76, 74, 72, 71, 69, 67, 67];
  assert.equal(melodyTonicShift(g), -5);
  const { frames, tonicShift } = harmonizeInKey(model, g, { temperature: 1, seed: 2 });
  assert.equal(tonicShift, -5);
  g.forEach((n, t) => n !== null && assert.equal(Math.max(...frames[t]), n));
  const moved = harmonize(model, g.map((n) => (n === null ? null : n + 5)), { temperature: 1, seed: 2, keyShift: 0 });
  assert.deepEqual(frames, moved.map((f) => f.map((n) => n - 5).filter((n) => n >= 21)));
});

test('harmonize: an ascending chain or a melody with no notes is refused with one clear line', () => {
  const up = createModel({ kind: 'lstm', layers: 1, hidden: 8, embed: 6, dropout: 0, keyChain: 10 }, { seed: 1 });
  assert.equal(canHarmonize(up), false);
  assert.throws(() => harmonize(up, melody, { temperature: 1, seed: 1 }), /highest key down/);
  assert.throws(() => harmonize(harmonizer(1), [null, null], { temperature: 1, seed: 1 }), /no notes/);
  assert.throws(() => harmonize(harmonizer(1), [200], { temperature: 1, seed: 1 }), /outside the piano range/);
});

test('harmonize command: writes a MIDI file whose top voice is the dataset tune\'s', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'harm-'));
  try {
    const file = join(dir, 'h.safetensors');
    saveModelFile(file, harmonizer(2));
    const r = await run(['harmonize', '--checkpoint', file, '--melody-dataset', 'nottingham:test:3', '--seed', '2', '--format', 'json,mid', '--out', dir]);
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(readFileSync(join(dir, 'h-harmonized-seed2.json'), 'utf8')) as { frames: number[][] };
    const { openDataset } = await import('../src/generate/pieces.js');
    const tune = melodyFromFrames(openDataset('nottingham').test[3]);
    assert.equal(json.frames.length, tune.length);
    tune.forEach((n, t) => n !== null && assert.equal(Math.max(...json.frames[t]), n));
    const upFile = join(dir, 'up.safetensors');
    saveModelFile(upFile, createModel({ kind: 'lstm', layers: 1, hidden: 8, embed: 6, dropout: 0, keyChain: 10 }, { seed: 1 }));
    const bad = await run(['harmonize', '--checkpoint', upFile, '--melody-dataset', 'nottingham:test:3', '--out', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /cannot condition on a melody exactly/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a silent or near-silent take is flagged, with what to try', async () => {
  assert.equal(takeProblem([[60], [60], [62], []]), null);
  assert.equal(takeProblem([[], [], []])!.kind, 'silent');
  assert.equal(takeProblem([[60], [], [], []])!.kind, 'near-silent');
  assert.equal(takeProblem([[60, 64], [], []], 1)!.kind, 'silent', 'the primer does not count');
  assert.match(takeProblem([[], []])!.message, /another seed, a primer, or a higher temperature/);
  const dir = mkdtempSync(join(tmpdir(), 'silent-'));
  try {
    const model = createModel({ kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0 }, { seed: 1, rwkvInit: 'pytorch' });
    model.parameters().find((p) => p.name === 'head.bias')!.data.fill(-30);
    const file = join(dir, 'quiet.safetensors');
    saveModelFile(file, model);
    const r = await run(['generate', '--checkpoint', file, '--length', '16', '--format', 'json', '--out', dir]);
    assert.equal(r.code, SILENT_TAKE_EXIT_CODE);
    assert.match(r.err, /quiet-seed1-01 is silent: no note in 16 generated frames: try another seed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('frame temperature: below 1 keeps typical frames (never the empty mode), above 1 favours surprising ones', () => {
  // independent keys, 12 keys at p = 0.3: the single likeliest frame is the empty one (0.7^12),
  // yet a typical frame has about 3.6 keys
  const model = createModel({ kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0 }, { seed: 1, rwkvInit: 'pytorch' });
  for (const p of model.parameters()) if (p.name === 'head.weight') p.data.fill(0);
  const bias = model.parameters().find((p) => p.name === 'head.bias')!;
  bias.data.fill(-30);
  for (let k = 30; k < 42; k++) bias.data[k] = Math.log(0.3 / 0.7);
  const stats = (temperature: number, keyTemperature = 1) => {
    const s = sample(model, { length: 50, temperature, keyTemperature, seed: 9, count: 4 });
    const sizes = s.flatMap((x) => x.frames.map((f) => f.length));
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    const sd = Math.sqrt(sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / sizes.length);
    return { mean, sd, empty: sizes.filter((n) => n === 0).length / sizes.length };
  };
  const plain = stats(1);
  assert.ok(Math.abs(plain.mean - 12 * 0.3) < 0.4, `temperature 1 samples the model as it is (${plain.mean})`);
  const cool = stats(0.3);
  assert.equal(cool.empty, 0, 'a low frame temperature does not fall silent');
  assert.ok(Math.abs(cool.mean - plain.mean) < 0.5 && cool.sd < plain.sd, `typical frames: ${JSON.stringify(cool)} vs ${JSON.stringify(plain)}`);
  const hot = stats(3);
  assert.ok(hot.mean > plain.mean + 0.3, `surprising frames are the fuller ones here: ${hot.mean} vs ${plain.mean}`);
  // the per-key temperature is still there under its own name, and it does thin frames out
  const keyCool = stats(1, 0.3);
  assert.ok(keyCool.empty > 0.5, `per-key temperature 0.3 empties most frames (${keyCool.empty})`);
});

test('candidate weights: above 1 they temper q, below 1 they favour the typical surprise', () => {
  const w = candidateLogWeights([1, 2, 3], 2);
  assert.ok(Math.abs(w[2] - w[0] - (1 - 1 / 2) * 2) < 1e-12);
  const t = candidateLogWeights([1, 5, 9], 0.5);
  assert.ok(t[1] > t[0] && Math.abs(t[0] - t[2]) < 1e-12);
  assert.deepEqual(candidateLogWeights([4, 4], 1), [0, 0]);
});

test('--key names: tonics and semitones', () => {
  assert.equal(parseKey('C'), 0);
  assert.equal(parseKey('D'), 2);
  assert.equal(parseKey('A'), -3);
  assert.equal(parseKey('Bb'), -2);
  assert.equal(parseKey('A#'), -2);
  assert.equal(parseKey('D#', 3), 3);
  assert.equal(parseKey('F#', 6), 6);
  assert.equal(parseKey('G', 3), -5);
  assert.equal(parseKey('-2'), -2);
  assert.equal(parseKey('+1'), 1);
  assert.equal(parseKey('Dm'), 2);
  assert.throws(() => parseKey('H'), /tonic name/);
});
