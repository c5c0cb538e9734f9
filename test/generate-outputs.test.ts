import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFormats, writeSample, type SampleSettings } from '../src/generate/outputs.js';
import { loadPieceSet, parseDatasetSpec, parseSampleFile } from '../src/generate/pieces.js';
import { sample } from '../src/generate/sampler.js';
import { UserError } from '../src/errors.js';
import { midiToRoll, rollToMidi } from '../src/midi/index.js';
import { frameSeconds } from '../src/data/pianoroll.js';
import { rollToSvg } from '../src/render/pianoroll-image.js';
import { synthesize } from '../src/render/synth.js';
import { encodeWav } from '../src/render/wav.js';
import { ToyRecurrentModel } from './helpers/toy-model.js';
import { levels, pngSize, readWav, svgSize } from './helpers/media.js';

const timing = { kind: 'grid', stepsPerQuarter: 2, bpm: 120 } as const;
const settings: SampleSettings = { model: 'toy', checkpoint: 'toy.safetensors', seed: 7, temperature: 0.9, length: 12, count: 2, maxPolyphony: null, primer: 'hand-made' };

test('format lists are parsed strictly', () => {
  assert.deepEqual(parseFormats('mid,wav, .png,json,wav'), ['mid', 'wav', 'png', 'json']);
  assert.throws(() => parseFormats('mp3'), UserError);
  assert.throws(() => parseFormats(' , '), UserError);
});

test('samples are written in every format; the .json reads back; metrics leave the primer out', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gen-'));
  try {
    const primer = [[60, 64, 67], [60, 64, 67]];
    const samples = sample(new ToyRecurrentModel(8), { length: 12, temperature: 0.9, seed: 7, count: 2, primer });
    const written = samples.flatMap((s) =>
      writeSample(s, { outDir: dir, stem: `toy-${s.index + 1}`, formats: ['json', 'svg', 'png', 'wav', 'mid'], timing, settings, midi: () => new Uint8Array([77, 84, 104, 100]) }),
    );
    assert.equal(written.length, 10);
    assert.deepEqual(readdirSync(dir).sort(), ['toy-1.json', 'toy-1.mid', 'toy-1.png', 'toy-1.svg', 'toy-1.wav', 'toy-2.json', 'toy-2.mid', 'toy-2.png', 'toy-2.svg', 'toy-2.wav']);
    const back = parseSampleFile(readFileSync(join(dir, 'toy-2.json'), 'utf8'), 'toy-2.json');
    assert.deepEqual(back.frames, samples[1].frames);
    assert.equal(back.primerLength, 2);
    assert.deepEqual(back.settings, settings);
    assert.deepEqual(back.timing, timing);
    assert.ok(readFileSync(join(dir, 'toy-1.svg'), 'utf8').includes('toy - seed 7, sample 1 of 2'));

    // Sound: the whole sample (primer included) rendered in stereo, as long as its frames plus the
    // synthesiser's 0.6 s release tail, with the mix's peak at -1 dBFS.
    for (const s of samples) {
      const bytes = readFileSync(join(dir, `toy-${s.index + 1}.wav`));
      const wav = readWav(bytes);
      assert.equal(wav.fmt.channels, 2);
      assert.equal(wav.samples.length / 2, Math.round((s.frames.length * frameSeconds(timing) + 0.6) * wav.fmt.sampleRate));
      assert.ok(Math.abs(levels(wav.samples).peakDb + 1) < 0.01, `peak ${levels(wav.samples).peakDb} dBFS`);
      assert.deepEqual(bytes, Buffer.from(encodeWav(synthesize({ frames: s.frames, timing }, { channels: 2 }))));
      // Picture: the PNG is the SVG at its own size, and the SVG spans every frame of the sample.
      const svg = readFileSync(join(dir, `toy-${s.index + 1}.svg`), 'utf8');
      assert.deepEqual(pngSize(readFileSync(join(dir, `toy-${s.index + 1}.png`))), svgSize(svg));
      const sameLength = rollToSvg({ frames: s.frames.map(() => []), timing }, { title: 'x' });
      assert.equal(svgSize(svg).width, svgSize(sameLength).width);
    }

    const set = loadPieceSet(dir);
    assert.equal(set.pieces.length, 2);
    assert.deepEqual(set.pieces[0], samples[0].frames.slice(2));
    writeFileSync(join(dir, 'broken.json'), '{"format": "rwkv-music-sample", "frames": [[500]]}');
    assert.throws(() => loadPieceSet(dir), /broken.json: frame 0 has note 500/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dataset specs and unknown sources', () => {
  assert.deepEqual(parseDatasetSpec('nottingham'), { name: 'nottingham', split: 'test' });
  assert.deepEqual(parseDatasetSpec('nottingham:valid'), { name: 'nottingham', split: 'valid' });
  assert.deepEqual(parseDatasetSpec('C:/data/x.json.gz:train'), { name: 'C:/data/x.json.gz', split: 'train' });
  assert.equal(loadPieceSet('jsb-chorales:valid').pieces.length > 10, true);
  assert.throws(() => loadPieceSet('no-such-dataset'), UserError);
});

test('a generated sample written as MIDI reads back as the same roll', () => {
  const [s] = sample(new ToyRecurrentModel(6), { length: 40, temperature: 1, seed: 2, count: 1, primer: [[60, 64, 67], [60, 64, 67], [], [59, 62]] });
  assert.ok(s.frames.some((f, t) => t >= 4 && f.length > 0), 'the sample has generated notes');
  const back = midiToRoll(rollToMidi({ frames: s.frames, timing }), { stepsPerQuarter: 2 }, 'sample').roll;
  // MIDI does not store silence after the last note: compare with trailing empty frames trimmed.
  let end = s.frames.length;
  while (end > 0 && s.frames[end - 1].length === 0) end--;
  assert.deepEqual(back.frames.slice(0, end), s.frames.slice(0, end));
  assert.ok(back.frames.slice(end).every((f) => f.length === 0));
  assert.deepEqual(back.timing, timing);
});

test('metrics read a folder of MIDI files when it has no sample .json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mid-'));
  try {
    const frames = [[60, 64], [60, 64], [67], [], [62]];
    writeFileSync(join(dir, 'a.mid'), rollToMidi({ frames, timing }));
    const set = loadPieceSet(dir);
    assert.deepEqual(set.pieces, [frames]);
    rmSync(join(dir, 'a.mid'));
    assert.throws(() => loadPieceSet(dir), /no sample .json files .* and no .mid files/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
