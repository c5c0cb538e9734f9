import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Rng } from '../src/engine/random.js';
import { loadDataset } from '../src/data/dataset.js';
import { frameSeconds } from '../src/data/pianoroll.js';
import { parameterCount } from '../src/models/index.js';
import { loadModelFile } from '../src/models/io.js';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { tsKernels } from '../src/engine/kernels.js';
import { evaluateSequences } from '../src/train/evaluate.js';
import { rollToSvg } from '../src/render/pianoroll-image.js';
import { synthesize } from '../src/render/synth.js';
import { encodeWav } from '../src/render/wav.js';
import { pngSize, readWav, svgSize } from './helpers/media.js';

const bin = fileURLToPath(new URL('../../bin/rwkv-music.js', import.meta.url));

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, cwd, env: { ...process.env, RWKV_MUSIC_GEMM: 'ts' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A small dataset of arpeggiated triads, so training has something to learn. */
function tinyDataset(dir: string): string {
  const rng = new Rng(11);
  const piece = () => {
    const root = 48 + rng.int(12);
    return Array.from({ length: 24 + rng.int(16) }, (_, t) => [root + [0, 4, 7][t % 3], root + 12].sort((a, b) => a - b));
  };
  const data = { train: Array.from({ length: 12 }, piece), valid: Array.from({ length: 4 }, piece), test: Array.from({ length: 4 }, piece) };
  const path = join(dir, 'triads.json.gz');
  writeFileSync(path, gzipSync(JSON.stringify(data)));
  return path;
}

test('compare --runs writes the report from two finished runs; bad budgets get one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rwkv-music-compare-'));
  try {
    const dataset = tinyDataset(dir);
    writeFileSync(join(dir, 'rwkv.json'), JSON.stringify({ model: { kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 16, dropout: 0 }, training: { batchFrames: 256 } }));
    writeFileSync(join(dir, 'lstm.json'), JSON.stringify({ model: { kind: 'lstm', layers: 1, hidden: 8, embed: 8, dropout: 0 }, training: { batchFrames: 256 } }));
    for (const kind of ['rwkv', 'lstm']) {
      const r = cli(['train', '--model', kind, '--dataset', dataset, '--config', join(dir, `${kind}.json`), '--epochs', '2', '--out', join(dir, kind)], dir);
      assert.equal(r.code, 0, r.err);
    }
    const out = join(dir, 'report');
    const r = cli(['compare', '--runs', `${join(dir, 'lstm')},${join(dir, 'rwkv')}`, '--out', out, '--samples', '1', '--length', '8'], dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^model\s+parameters/m);
    assert.match(r.out, /^lstm\s+\d/m);
    assert.match(r.out, /^rwkv\s+\d/m);
    for (const f of ['index.html', 'README.md', 'loss-train.png', 'loss-valid.svg', 'samples/lstm-1.mid', 'samples/rwkv-1.wav', 'samples/rwkv-1.png']) {
      assert.ok(existsSync(join(out, f)), `${f} written`);
    }
    // The table's numbers are the runs': parameters, best validation NLL, and the test NLL a fresh
    // evaluation of best.safetensors gives (the printed precision).
    const table = new Map(r.out.split('\n').filter((l) => /^(lstm|rwkv)\s/.test(l)).map((l) => {
      const cells = l.trim().split(/\s{2,}/);
      return [cells[0], cells];
    }));
    const test = loadDataset(dataset).test;
    for (const kind of ['lstm', 'rwkv']) {
      const cells = table.get(kind);
      assert.ok(cells, `a row for ${kind}`);
      const model = loadModelFile(join(dir, kind, 'best.safetensors'), { gemm: tsGemm, kernels: tsKernels });
      assert.equal(cells[1], parameterCount(model).toLocaleString('en-US'));
      const epochs = readFileSync(join(dir, kind, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'epoch');
      assert.equal(cells[4], Math.min(...epochs.map((e) => e.validNll)).toFixed(3), `${kind} best valid NLL`);
      const nll = evaluateSequences(model, test, { batchFrames: 8192, maxLength: Number.MAX_SAFE_INTEGER }).nll;
      assert.ok(Math.abs(Number(cells[5]) - nll) <= 0.0005 + 1e-6, `${kind} test NLL ${cells[5]}, evaluated ${nll}`);

      // The listening sample: its WAV is the synthesiser's rendering of its frames (primer included,
      // stereo, 0.6 s release tail), its picture spans them.
      const piece = JSON.parse(readFileSync(join(out, 'samples', `${kind}-1.json`), 'utf8'));
      assert.equal(piece.frames.length, piece.primerLength + 8);
      const wavBytes = readFileSync(join(out, 'samples', `${kind}-1.wav`));
      const wav = readWav(wavBytes);
      assert.equal(wav.samples.length / wav.fmt.channels, Math.round((piece.frames.length * frameSeconds(piece.timing) + 0.6) * wav.fmt.sampleRate));
      assert.deepEqual(wavBytes, Buffer.from(encodeWav(synthesize({ frames: piece.frames, timing: piece.timing }, { channels: 2 }))));
      const picture = rollToSvg({ frames: piece.frames, timing: piece.timing }, { primerLength: piece.primerLength, title: 'x' });
      assert.deepEqual(pngSize(readFileSync(join(out, 'samples', `${kind}-1.png`))), svgSize(picture));
    }
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    assert.match(html, /<audio controls preload="none" src="samples\/rwkv-1\.wav">/);
    const bad = cli(['compare', '--dataset', dataset, '--out', out], dir);
    assert.equal(bad.code, 1);
    assert.equal(bad.err.trim().split('\n').length, 1);
    assert.match(bad.err, /--epochs N or --minutes M/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compare takes the model kinds from --models (RWKV-6 among them) and from the runs; unknown kinds get one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rwkv-music-compare-kinds-'));
  try {
    const dataset = tinyDataset(dir);
    writeFileSync(join(dir, 'rwkv6.json'), JSON.stringify({
      model: { kind: 'rwkv6', nLayer: 1, nEmbd: 8, ffn: 16, headSize: 4, decayLora: 4, dropout: 0 }, training: { batchFrames: 256 },
    }));
    writeFileSync(join(dir, 'lstm.json'), JSON.stringify({ model: { kind: 'lstm', layers: 1, hidden: 8, embed: 8, dropout: 0 }, training: { batchFrames: 256 } }));
    for (const kind of ['rwkv6', 'lstm']) {
      const r = cli(['train', '--model', kind, '--dataset', dataset, '--config', join(dir, `${kind}.json`), '--epochs', '1', '--out', join(dir, kind)], dir);
      assert.equal(r.code, 0, r.err);
    }
    const out = join(dir, 'report');
    const r = cli(['compare', '--runs', `${join(dir, 'lstm')},${join(dir, 'rwkv6')}`, '--out', out, '--samples', '1', '--length', '4'], dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^rwkv6\s+\d/m);
    assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /RWKV-6 vs LSTM on /);
    for (const [args, message] of [
      [['--models', 'rwkv,gru', '--epochs', '1'], /--models: unknown model kind "gru"/],
      [['--models', 'rwkv,rwkv', '--epochs', '1'], /--models names a kind twice/],
      [['--models', 'rwkv', '--runs', join(dir, 'lstm')], /drop --epochs\/--minutes\/--models/],
    ] as const) {
      const bad = cli(['compare', '--dataset', dataset, '--out', out, ...args], dir);
      assert.equal(bad.code, 1, bad.err);
      assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
      assert.match(bad.err, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('compare --ema-decay trains each model with the moving average and says so in the command it reports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rwkv-music-compare-ema-'));
  try {
    const dataset = tinyDataset(dir);
    const out = join(dir, 'report');
    const r = cli(['compare', '--dataset', dataset, '--models', 'lstm', '--epochs', '1', '--ema-decay', '0.9', '--out', out, '--samples', '1', '--length', '4'], dir);
    assert.equal(r.code, 0, r.err);
    const config = JSON.parse(readFileSync(join(out, 'runs', 'lstm', 'config.json'), 'utf8'));
    assert.equal(config.training.emaDecay, 0.9);
    assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /rwkv-music train --model lstm --dataset \S+ --epochs 1 --seed 1 --ema-decay 0\.9/);
    for (const [args, message] of [
      [['--epochs', '1', '--ema-decay', '1.5'], /emaDecay must be a number between 0 and 1/],
      [['--epochs', '1', '--ema-decay', 'x'], /--ema-decay/],
      [['--ema-decay', '0.9', '--runs', join(out, 'runs', 'lstm')], /drop --epochs\/--minutes\/--models\/--ema-decay/],
    ] as const) {
      const bad = cli(['compare', '--dataset', dataset, '--out', join(dir, 'bad'), ...args], dir);
      assert.equal(bad.code, 1, bad.err);
      assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
      assert.match(bad.err, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
