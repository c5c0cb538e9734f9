import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/engine/random.js';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { tsKernels } from '../src/engine/kernels.js';
import { createModel } from '../src/models/index.js';
import { loadModelFile, modelToTensors, saveModelFile } from '../src/models/io.js';
import { decodeSafetensors, encodeSafetensors } from '../src/engine/safetensors.js';
import { UserError } from '../src/errors.js';
import type { ModelConfig } from '../src/models/model.js';

function frames(rng: Rng, B: number, T: number) {
  const inputs = Float32Array.from({ length: B * T * 88 }, () => (rng.next() < 0.2 ? 1 : 0));
  return { B, T, D: 88, inputs, targets: inputs.slice(), mask: new Float32Array(B * T).fill(1) };
}

test('model files round trip: same config, names and logits; written atomically', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rwkv-music-io-'));
  try {
    const rng = new Rng(3);
    for (const config of [
      { kind: 'rwkv', nLayer: 2, nEmbd: 8, ffn: 16, dropout: 0.1 },
      { kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0, inputLags: [2, 4] },
      { kind: 'lstm', layers: 2, hidden: 8, embed: 6, dropout: 0 },
      { kind: 'rwkv6', nLayer: 2, nEmbd: 8, ffn: 16, headSize: 4, decayLora: 2, dropout: 0.1, keyChain: 5 },
      { kind: 'lstm', layers: 1, hidden: 4, embed: 6, dropout: 0, inputLags: [1, 8] },
      { kind: 'rwkv', nLayer: 1, nEmbd: 8, ffn: 8, dropout: 0, keyChain: 6 },
      { kind: 'lstm', layers: 1, hidden: 4, embed: 6, dropout: 0, keyChain: 3 },
    ] as ModelConfig[]) {
      const model = createModel(config, { seed: 7, rwkvInit: 'pytorch' });
      const path = join(dir, `${config.kind}.safetensors`);
      saveModelFile(path, model);
      saveModelFile(path, model); // overwriting works too
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
      assert.deepEqual(loadModelFile(path).config, config); // default GEMM
      const back = loadModelFile(path, { gemm: tsGemm, kernels: tsKernels }); // the same GEMM and kernels as `model`, for exact logits
      assert.deepEqual(back.config, config);
      assert.deepEqual(back.parameters().map((p) => p.name), model.parameters().map((p) => p.name));
      const batch = frames(rng, 2, 5);
      assert.deepEqual(back.logits(batch), model.logits(batch));
      const { metadata } = decodeSafetensors(readFileSync(path), path);
      assert.equal(metadata.format, 'rwkv-music');
      assert.deepEqual(JSON.parse(metadata.config), config);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loading damaged or mismatched model files fails with a clear UserError naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rwkv-music-io-'));
  try {
    const config: ModelConfig = { kind: 'lstm', layers: 1, hidden: 4, embed: 3, dropout: 0 };
    const model = createModel(config, { seed: 1 });
    const tensors = modelToTensors(model);
    const meta = { format: 'rwkv-music', config: JSON.stringify(config) };
    const write = (name: string, bytes: Uint8Array) => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };
    const nan = tensors.map((t) => (t.name === 'head.bias' ? { ...t, data: t.data.map((v, i) => (i === 3 ? NaN : v)) } : t));
    const cases: [string, string, RegExp][] = [
      [join(dir, 'missing.safetensors'), 'missing file', /cannot read/],
      [write('truncated.safetensors', encodeSafetensors(tensors, meta).subarray(0, 200)), 'truncated', /not a valid safetensors/],
      [write('format.safetensors', encodeSafetensors(tensors, { config: meta.config })), 'no format', /not an rwkv-music model file/],
      [write('noconfig.safetensors', encodeSafetensors(tensors, { format: 'rwkv-music' })), 'no config', /no config/],
      [write('badjson.safetensors', encodeSafetensors(tensors, { ...meta, config: '{kind' })), 'bad config JSON', /not valid JSON/],
      [write('badkind.safetensors', encodeSafetensors(tensors, { ...meta, config: '{"kind":"gru"}' })), 'unknown kind', /unknown model kind/],
      [write('badsize.safetensors', encodeSafetensors(tensors, { ...meta, config: JSON.stringify({ ...config, hidden: 0 }) })), 'bad size', /hidden must be a positive integer/],
      [write('shape.safetensors', encodeSafetensors(tensors, { ...meta, config: JSON.stringify({ ...config, hidden: 5 }) })), 'shape mismatch', /has shape \[16,3\], the model expects \[20,3\]/],
      [write('missingt.safetensors', encodeSafetensors(tensors.filter((t) => t.name !== 'lstm.bias_hh_l0'), meta)), 'missing tensor', /missing tensor "lstm\.bias_hh_l0"/],
      [write('extra.safetensors', encodeSafetensors([...tensors, { name: 'extra', shape: [1], data: new Float32Array(1) }], meta)), 'unknown tensor', /unexpected tensor.*extra/],
      [write('nan.safetensors', encodeSafetensors(nan, meta)), 'NaN', /"head\.bias" contains a non-finite value \(NaN\)/],
    ];
    for (const [path, what, re] of cases) {
      assert.throws(() => loadModelFile(path), (e: unknown) => {
        assert.ok(e instanceof UserError, `${what}: ${String(e)}`);
        assert.ok(e.message.startsWith(path), `${what}: ${e.message}`);
        assert.match(e.message, re, what);
        return true;
      }, what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
