import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TIMING } from '../src/data/pianoroll.js';
import type { Dataset } from '../src/data/dataset.js';
import { bundledModels, checkpointModels, readSafetensorsHeader } from '../src/studio/registry.js';
import { startStudio, MAX_METRIC_RECORDS, type RunningStudio } from '../src/studio/server.js';

/** A small safetensors file written by hand: two F32 tensors and the config in the metadata. */
function safetensorsBytes(config: object): Buffer {
  const header = {
    __metadata__: { format: 'rwkv-music', config: JSON.stringify(config) },
    'a.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
    'a.bias': { dtype: 'F32', shape: [3], data_offsets: [24, 36] },
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const data = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6, 0.5, -0.5, 0.25]).buffer);
  return Buffer.concat([len, Buffer.from(json), data]);
}

const tinyDataset: Dataset = {
  name: 'nottingham',
  train: [[[60], [62]]],
  valid: [[[64]]],
  test: [
    [[60, 64, 67], [60, 64, 67], [62, 65], [], [59, 62, 67]],
    [[48], [50]],
  ],
  timing: DEFAULT_TIMING,
};

let dir: string;
let studio: RunningStudio;
let port: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'studio-server-'));
  // Bundled layout: <root>/models/rwkv/best.safetensors with a card and metrics.
  mkdirSync(join(dir, 'models', 'rwkv'), { recursive: true });
  writeFileSync(join(dir, 'models', 'rwkv', 'best.safetensors'), safetensorsBytes({ kind: 'rwkv', nLayer: 1, nEmbd: 4, ffn: 8, dropout: 0 }));
  writeFileSync(join(dir, 'models', 'rwkv', 'card.json'), JSON.stringify({ dataset: 'nottingham', results: { testNll: 3.5 } }));
  const metrics = Array.from({ length: MAX_METRIC_RECORDS + 10 }, (_, i) =>
    JSON.stringify({ type: 'step', step: i, epoch: 1, lr: 1e-3, trainLoss: 10 - i / 1000, framesPerSec: 100, wallSeconds: i }),
  );
  writeFileSync(join(dir, 'models', 'rwkv', 'metrics.jsonl'), [JSON.stringify({ format: 'rwkv-music-metrics', version: 2 }), ...metrics].join('\n') + '\n{"step": broken\n');
  // A run folder given as a checkpoint.
  mkdirSync(join(dir, 'runs', 'My LSTM run'), { recursive: true });
  writeFileSync(join(dir, 'runs', 'My LSTM run', 'best.safetensors'), safetensorsBytes({ kind: 'lstm', layers: 1, hidden: 4, embed: 4, dropout: 0 }));
  // The built page.
  mkdirSync(join(dir, 'web', 'assets'), { recursive: true });
  writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>studio</title>');
  writeFileSync(join(dir, 'web', 'assets', 'app.js'), 'console.log(1);');
  writeFileSync(join(dir, 'secret.txt'), 'outside the page folder');

  const bundled = bundledModels(dir);
  const models = [...bundled, ...checkpointModels([join(dir, 'runs', 'My LSTM run')], bundled.map((m) => m.id))];
  studio = await startStudio({ staticDir: join(dir, 'web'), models, host: '127.0.0.1', port: 0, loadDataset: () => tinyDataset });
  port = new URL(studio.url).port as unknown as number;
});

after(async () => {
  await studio.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: () => any;
}

/** Raw HTTP request (the path is sent exactly as given, without URL normalisation). */
function call(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

test('lists the bundled model and the checkpoint with their configs, sizes and cards', async () => {
  const r = await call('/api/models');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const { models } = r.json();
  assert.deepEqual(models.map((m: any) => [m.id, m.source, m.config.kind, m.parameters]), [
    ['rwkv', 'bundled', 'rwkv', 9],
    ['my-lstm-run', 'checkpoint', 'lstm', 9],
  ]);
  assert.equal(models[0].card.results.testNll, 3.5);
  assert.equal(models[0].hasMetrics, true);
  assert.equal(models[1].hasMetrics, false);
  assert.equal(JSON.stringify(models).includes(dir), false, 'no file system paths are sent to the page');
});

test('serves model weights byte for byte', async () => {
  const r = await call('/api/models/my-lstm-run/weights');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(r.body, readFileSync(join(dir, 'runs', 'My LSTM run', 'best.safetensors')));
  const head = await call('/api/models/rwkv/weights', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(Number(head.headers['content-length']), readFileSync(join(dir, 'models', 'rwkv', 'best.safetensors')).length);
  assert.equal(head.body.length, 0);
});

test('dataset primers: the first F frames of sequence N, with ranges checked', async () => {
  const list = (await call('/api/datasets')).json();
  assert.deepEqual(list.datasets[0].splits, { train: 1, valid: 1, test: 2 });
  const p = await call('/api/datasets/nottingham/test/0?frames=3');
  assert.equal(p.status, 200);
  assert.deepEqual(p.json().frames, [[60, 64, 67], [60, 64, 67], [62, 65]]);
  assert.equal(p.json().totalFrames, 5);
  assert.deepEqual((await call('/api/datasets/nottingham/test/1?frames=100')).json().frames, [[48], [50]]);

  const bad: [string, number, RegExp][] = [
    ['/api/datasets/nottingham/test/2', 404, /has 2 sequences/],
    ['/api/datasets/nottingham/test/0?frames=0', 400, /"frames" must be from 1 to 4096/],
    ['/api/datasets/nottingham/test/0?frames=99999', 400, /"frames" must be from 1/],
    ['/api/datasets/nottingham/test/0?frames=1.5', 400, /whole number/],
    ['/api/datasets/nottingham/test/-1', 400, /whole number/],
    ['/api/datasets/nottingham/everything/0', 400, /split must be one of/],
    ['/api/datasets/mnist/test/0', 404, /no dataset "mnist"/],
    ['/api/datasets/nottingham/test/0?frames=2&frames=3', 400, /more than once/],
    ['/api/datasets/nottingham/test/0?limit=2', 400, /unknown query parameter "limit"/],
  ];
  for (const [path, status, message] of bad) {
    const r = await call(path);
    assert.equal(r.status, status, path);
    assert.match(r.json().error.message, message, path);
  }
});

test('metrics and the comparison: long logs are thinned to the cap, keeping the last record; broken lines are counted', async () => {
  const m = (await call('/api/models/rwkv/metrics')).json();
  assert.equal(m.records.length, MAX_METRIC_RECORDS);
  assert.equal(m.totalRecords, MAX_METRIC_RECORDS + 10);
  assert.equal(m.skippedLines, 1);
  assert.equal(m.records[0].step, 0);
  assert.equal(m.records[m.records.length - 1].step, MAX_METRIC_RECORDS + 9);
  const c = (await call('/api/compare')).json();
  assert.deepEqual(c.models.map((x: any) => x.id), ['rwkv'], 'only models with a card or metrics are compared');
  assert.equal(m.records[0].type, 'step');
  // Parallel requests share one parse; a changed file is read again.
  const answers = await Promise.all(Array.from({ length: 10 }, () => call('/api/models/rwkv/metrics')));
  for (const a of answers) assert.deepEqual(a.json(), m);
  appendFileSync(join(dir, 'models', 'rwkv', 'metrics.jsonl'), JSON.stringify({ type: 'stop', step: 99999, epoch: 2, reason: 'epochs' }) + '\n');
  const changed = (await call('/api/models/rwkv/metrics')).json();
  assert.equal(changed.totalRecords, MAX_METRIC_RECORDS + 11);
  assert.equal(changed.records[changed.records.length - 1].type, 'stop');
  const none = await call('/api/models/my-lstm-run/metrics');
  assert.equal(none.status, 404);
  assert.match(none.json().error.message, /no metrics\.jsonl/);
});

test('serves the page with security headers, and nothing outside its folder', async () => {
  const page = await call('/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  const js = await call('/assets/app.js');
  assert.equal(js.status, 200);
  assert.match(String(js.headers['content-type']), /^text\/javascript/);

  for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e%2f%2e%2e%2fsecret.txt', '/assets%2f..%2f..%2fsecret.txt', '/..%5csecret.txt']) {
    // Each is stopped by the path check, before any file is looked at.
    const r = await call(path);
    assert.equal(r.status, 400, path);
    assert.match(r.json().error.message, /^path segments may not be "\.", "\.\."/, path);
  }
  const missing = await call('/nothing.js');
  assert.equal(missing.status, 404);
  const wrongType = await call('/assets/app.exe');
  assert.equal(wrongType.status, 404);
});

test('refuses other methods, bodies, long URLs, foreign Host headers and unknown endpoints with clear messages', async () => {
  const post = await call('/api/models', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  assert.match(post.json().error.message, /read-only/);
  const body = await call('/api/models', { headers: { 'Content-Length': '2' }, body: '{}' });
  assert.equal(body.status, 413);
  const long = await call(`/api/models?${'x'.repeat(3000)}`);
  assert.equal(long.status, 414);
  const rebind = await call('/api/models', { headers: { Host: 'attacker.example:8080' } });
  assert.equal(rebind.status, 403);
  assert.match(rebind.json().error.message, /Host "attacker\.example:8080" is not served here/);
  assert.equal((await call('/api/models', { headers: { Host: `localhost:${port}` } })).status, 200);
  // Another site's page (a link or an image pointing here) does not reach the API.
  const crossSite = await call('/api/compare', { headers: { 'Sec-Fetch-Site': 'cross-site' } });
  assert.equal(crossSite.status, 403);
  assert.match(crossSite.json().error.message, /cross-site/);
  assert.equal((await call('/api/models', { headers: { 'Sec-Fetch-Site': 'same-origin' } })).status, 200);
  const unknown = await call('/api/train');
  assert.equal(unknown.status, 404);
  assert.match(unknown.json().error.message, /no API endpoint \/api\/train/);
  const badId = await call('/api/models/UPPER_case/weights');
  assert.equal(badId.status, 400);
  const noModel = await call('/api/models/lstm/weights');
  assert.equal(noModel.status, 404);
  assert.match(noModel.json().error.message, /no model with id "lstm"/);
  const badPercent = await call('/api/models/%E0%A4%A/weights');
  assert.equal(badPercent.status, 400);
});

test('the registry refuses damaged model files and missing checkpoints, naming them', () => {
  const bad = join(dir, 'bad.safetensors');
  writeFileSync(bad, Buffer.from([255, 255, 255, 255, 255, 255, 255, 127, 1, 2]));
  assert.throws(() => readSafetensorsHeader(bad), /bad\.safetensors: not a valid safetensors model file \(header length \d+ is too large\)/);
  writeFileSync(bad, Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{no}')]));
  assert.throws(() => readSafetensorsHeader(bad), /header is not JSON/);
  assert.throws(() => checkpointModels([join(dir, 'no-such-run')], []), /no-such-run: no such file or folder/);
  mkdirSync(join(dir, 'empty-run'));
  assert.throws(() => checkpointModels([join(dir, 'empty-run')], []), /empty-run: this folder has no best\.safetensors/);
  // A truncated file is refused when listed, not when the page downloads it.
  const whole = safetensorsBytes({ kind: 'lstm', layers: 1, hidden: 4, embed: 4, dropout: 0 });
  writeFileSync(bad, whole.subarray(0, whole.length - 4));
  assert.throws(() => readSafetensorsHeader(bad), /bad\.safetensors: .*truncated/);
  // A card.json that is no regular file (here a link to a device) is refused at once instead of read forever.
  mkdirSync(join(dir, 'linked-card'));
  writeFileSync(join(dir, 'linked-card', 'best.safetensors'), whole);
  symlinkSync('/dev/zero', join(dir, 'linked-card', 'card.json'));
  assert.throws(() => checkpointModels([join(dir, 'linked-card')], []), /card\.json: not a regular file/);
  const ids = checkpointModels([join(dir, 'runs', 'My LSTM run'), join(dir, 'runs', 'My LSTM run', 'best.safetensors')], ['rwkv']).map((m) => m.id);
  assert.equal(new Set(ids).size, 2, `ids are unique: ${ids}`);
});

test('symbolic links: one leading out of the page folder is refused by the real-path check, one inside is served', async () => {
  writeFileSync(join(dir, 'outside.js'), 'console.log("outside the page folder");');
  symlinkSync(join(dir, 'outside.js'), join(dir, 'web', 'leak.js'));
  symlinkSync(dir, join(dir, 'web', 'up'));
  symlinkSync(join(dir, 'web', 'assets', 'app.js'), join(dir, 'web', 'alias.js'));
  for (const path of ['/leak.js', '/up/outside.js']) {
    const r = await call(path);
    assert.equal(r.status, 403, path);
    assert.equal(r.json().error.message, 'path leaves the studio folder', path);
  }
  const inside = await call('/alias.js');
  assert.equal(inside.status, 200);
  assert.equal(inside.body.toString(), 'console.log(1);');
});
