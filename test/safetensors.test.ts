import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../src/engine/safetensors.js';
import { UserError } from '../src/errors.js';
import { Rng } from '../src/engine/random.js';

function sample(): NamedTensor[] {
  const rng = new Rng(5);
  return [
    { name: 'a.weight', shape: [3, 4], data: Float32Array.from({ length: 12 }, () => rng.normal()) },
    { name: 'a.bias', shape: [4], data: Float32Array.from({ length: 4 }, () => rng.normal()) },
    { name: 'mix', shape: [1, 1, 2], data: new Float32Array([0.25, -1e30]) },
    { name: 'empty', shape: [0, 5], data: new Float32Array(0) },
  ];
}

/** Rebuilds a file from a (possibly damaged) header object and data bytes. */
function build(header: unknown, data: Uint8Array, lengthOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthOverride ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function headerOf(bytes: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

test('safetensors round trip keeps names, shapes, values and metadata; data is 8-byte aligned', () => {
  const tensors = sample();
  const bytes = encodeSafetensors(tensors, { format: 'x', config: '{"a":1}' });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const back = decodeSafetensors(bytes, 'm.safetensors');
  assert.deepEqual(back.metadata, { format: 'x', config: '{"a":1}' });
  assert.deepEqual(back.tensors.map((t) => t.name), tensors.map((t) => t.name));
  for (let i = 0; i < tensors.length; i++) {
    assert.deepEqual(back.tensors[i].shape, tensors[i].shape);
    assert.deepEqual(Array.from(back.tensors[i].data), Array.from(tensors[i].data));
  }
  // Offsets are as the format defines them: byte ranges in the data section.
  const { header } = headerOf(bytes);
  assert.deepEqual(header['a.weight'], { dtype: 'F32', shape: [3, 4], data_offsets: [0, 48] });
  assert.deepEqual(header['a.bias'].data_offsets, [48, 64]);
});

test('safetensors decodes a file whose tensors are not stored in header order', () => {
  const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
  const bytes = build({ b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data);
  const back = decodeSafetensors(bytes, 'f');
  assert.deepEqual(back.tensors.map((t) => [t.name, Array.from(t.data)]), [['a', [1, 2]], ['b', [3]]]);
  assert.deepEqual(back.metadata, {});
});

test('safetensors rejects damaged files with a UserError naming the file', () => {
  const good = encodeSafetensors(sample(), { format: 'x' });
  const { header, data } = headerOf(good);
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', good.subarray(0, 5), /shorter than/],
    ['truncated data', good.subarray(0, good.length - 4), /past the end|not covered|truncated/],
    ['header length too big', build(header, data, 1e6), /runs past the end/],
    ['header length absurd', build(header, data, 2 ** 40), /too large/],
    ['bad JSON', (() => { const b = good.slice(); b[8] = 0x7b + 1; return b; })(), /JSON/],
    ['header not an object', build([1, 2], new Uint8Array(0)), /not a JSON object/],
    ['unsupported dtype', build({ ...header, 'a.bias': { ...header['a.bias'], dtype: 'I64' } }, data), /dtype "I64"/],
    ['F16 size mismatch', build({ ...header, 'a.bias': { ...header['a.bias'], dtype: 'F16' } }, data), /\(8 bytes\) but 16 bytes/],
    ['shape mismatch', build({ ...header, 'a.bias': { ...header['a.bias'], shape: [5] } }, data), /shape/],
    ['negative dim', build({ ...header, 'a.bias': { ...header['a.bias'], shape: [-4] } }, data), /invalid shape/],
    ['offsets reversed', build({ ...header, 'a.bias': { ...header['a.bias'], data_offsets: [64, 48] } }, data), /end before/],
    ['overlap', build({ ...header, 'a.bias': { ...header['a.bias'], data_offsets: [44, 60] } }, data), /overlap|gap/],
    ['extra bytes', build(header, new Uint8Array([...data, 0, 0, 0, 0])), /not covered/],
    ['metadata not strings', build({ ...header, __metadata__: { n: 3 } }, data), /not a string/],
    ['missing offsets', build({ ...header, mix: { dtype: 'F32', shape: [1, 1, 2] } }, data), /data_offsets/],
  ];
  for (const [what, bytes, re] of cases) {
    assert.throws(() => decodeSafetensors(bytes, 'damaged.safetensors'), (e: unknown) => {
      assert.ok(e instanceof UserError, `${what}: ${String(e)}`);
      assert.match(e.message, /^damaged\.safetensors: /, what);
      assert.match(e.message, re, what);
      return true;
    }, what);
  }
});

test('safetensors encode refuses inconsistent input', () => {
  assert.throws(() => encodeSafetensors([{ name: 'x', shape: [2, 2], data: new Float32Array(3) }]), /shape/);
  assert.throws(() => encodeSafetensors([{ name: 'x', shape: [1], data: new Float32Array(1) }, { name: 'x', shape: [1], data: new Float32Array(1) }]), /duplicate/);
});
