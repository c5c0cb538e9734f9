/**
 * `rwkv-music tune` and --style: a style tuned on a MIDI folder lowers the NLL of those pieces under
 * `eval --style`, is deterministic for a seed, changes what `generate --style` draws, and bad input
 * (a file that is not MIDI, an empty folder, a style made for another model) gets one clear line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './helpers/cli.js';
import { DEFAULT_TIMING, type Frame } from '../src/data/pianoroll.js';
import { rollToMidi } from '../src/midi/write.js';
import { createModel } from '../src/models/index.js';
import { saveModelFile } from '../src/models/io.js';
import { Rng } from '../src/engine/random.js';
import { jitter } from './helpers/jitter.js';

function piece(root: number, frames: number): Frame[] {
  const chords = [[0, 4, 7], [0, 4, 7], [5, 9], [7, 11, 14], [], [2, 5, 9]];
  return Array.from({ length: frames }, (_, t) => chords[t % chords.length].map((d) => root + d));
}

test('tune writes a small style that lowers the NLL of its pieces under eval --style, deterministically, and generate uses it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tune-cli-'));
  try {
    const model = join(dir, 'tiny.safetensors');
    const tiny = createModel({ kind: 'rwkv', nLayer: 2, nEmbd: 8, ffn: 16, dropout: 0, inputLags: [1, 3] }, { seed: 3, rwkvInit: 'pytorch' });
    jitter(tiny, new Rng(3), 0.3);
    saveModelFile(model, tiny);
    const midi = join(dir, 'mine');
    mkdirSync(midi);
    writeFileSync(join(midi, 'a.mid'), rollToMidi({ frames: piece(60, 20), timing: DEFAULT_TIMING }));
    writeFileSync(join(midi, 'b.MID'), rollToMidi({ frames: piece(62, 16), timing: DEFAULT_TIMING }));
    writeFileSync(join(midi, 'notes.txt'), 'not music, and not read: only .mid and .midi files are');
    const tune = (out: string) => run(['tune', '--checkpoint', model, '--data', midi, '--out', join(dir, out), '--steps', '25', '--lr', '0.05', '--seed', '3', '--seconds', '600']);
    const a = await tune('one');
    assert.equal(a.code, 0, a.err);
    assert.match(a.out, /2 pieces/);
    const style = join(dir, 'one.safetensors');
    assert.match(a.out, new RegExp(`wrote ${style.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const b = await tune('two.safetensors');
    assert.equal(b.code, 0, b.err);
    assert.ok(readFileSync(style).equals(readFileSync(join(dir, 'two.safetensors'))), 'the same seed gives the same style file');
    assert.ok(readFileSync(style).length < 64 * 1024);

    // the tuned pieces as a dataset folder scored with and without the style
    const evalArgs = ['eval', '--checkpoint', model, '--dataset', midi, '--split', 'train', '--json'];
    const plain = await run(evalArgs);
    assert.equal(plain.code, 0, plain.err);
    const styled = await run([...evalArgs, '--style', style]);
    assert.equal(styled.code, 0, styled.err);
    const nll = (r: { out: string }) => (JSON.parse(r.out) as { nll: number }).nll;
    assert.ok(nll(styled) < nll(plain), `eval --style lowers the NLL (${nll(plain)} -> ${nll(styled)})`);

    const gen = async (extra: string[], out: string) => {
      const r = await run(['generate', '--checkpoint', model, '--length', '40', '--seed', '9', '--format', 'json', '--out', join(dir, out), ...extra]);
      assert.equal(r.code, 0, r.err);
      const [file] = readdirSync(join(dir, out));
      return (JSON.parse(readFileSync(join(dir, out, file), 'utf8')) as { frames: Frame[] }).frames;
    };
    assert.notDeepEqual(await gen(['--style', style], 'g1'), await gen([], 'g2'), 'generate --style starts from the style');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tune and --style refuse bad input with one line naming the problem', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tune-cli-bad-'));
  try {
    const modelA = join(dir, 'a.safetensors');
    const modelB = join(dir, 'b.safetensors');
    saveModelFile(modelA, createModel({ kind: 'lstm', layers: 1, hidden: 6, embed: 5, dropout: 0 }, { seed: 1 }));
    saveModelFile(modelB, createModel({ kind: 'lstm', layers: 1, hidden: 6, embed: 5, dropout: 0 }, { seed: 2 }));
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const text = join(dir, 'song.txt');
    writeFileSync(text, 'la la la');
    const fake = join(dir, 'fake.mid');
    writeFileSync(fake, 'not a MIDI file at all');
    const oneLine = (r: { code: number; err: string }, pattern: RegExp) => {
      assert.notEqual(r.code, 0);
      assert.match(r.err, pattern);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.doesNotMatch(r.err, /\n\s+at /);
    };
    const tune = (data: string, out = join(dir, 's')) => run(['tune', '--checkpoint', modelA, '--data', data, '--out', out, '--steps', '3']);
    oneLine(await tune(empty), /empty: no \.mid or \.midi files found/);
    oneLine(await tune(text), /song\.txt: not a MIDI file/);
    oneLine(await tune(fake), /fake\.mid/);
    const ok = await tune('jsb-chorales:train', join(dir, 'style-a'));
    assert.equal(ok.code, 0, ok.err);
    oneLine(await run(['eval', '--checkpoint', modelB, '--dataset', 'jsb-chorales', '--style', join(dir, 'style-a.safetensors')]), /style-a\.safetensors: this style was tuned for another model/);
    oneLine(await run(['eval', '--checkpoint', modelA, '--dataset', 'jsb-chorales', '--style', modelA]), /a\.safetensors: not a style file/);
    oneLine(await run(['generate', '--checkpoint', modelA, '--style', join(dir, 'nothing-here')]), /nothing-here: no such style file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
