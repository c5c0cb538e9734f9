import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floatToHalfBits, fromHalf, halfBitsToFloat, toHalf } from '../src/engine/half.js';
import { decodeSafetensors, encodeSafetensors } from '../src/engine/safetensors.js';
import { Rng } from '../src/engine/random.js';

test('half precision encodes known values exactly', () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
    [2 ** -14, 0x0400], [2 ** -24, 0x0001], [Infinity, 0x7c00], [-Infinity, 0xfc00], [1e6, 0x7c00],
    [1 + 2 ** -10, 0x3c01], [2 ** -26, 0x0000],
  ];
  for (const [v, bits] of cases) assert.equal(floatToHalfBits(v), bits, `encode ${v}`);
  for (const [v, bits] of cases) if (Math.abs(v) <= 65504 && Math.abs(v) >= 2 ** -24) assert.equal(halfBitsToFloat(bits), v, `decode ${bits}`);
  assert.ok(Number.isNaN(halfBitsToFloat(floatToHalfBits(NaN))));
});

test('half precision rounds to nearest, ties to even', () => {
  assert.equal(floatToHalfBits(1 + 2 ** -11), 0x3c00, 'tie goes to the even mantissa 0');
  assert.equal(floatToHalfBits(1 + 3 * 2 ** -11), 0x3c02, 'tie goes to the even mantissa 2');
  assert.equal(floatToHalfBits(1 + 2 ** -11 + 2 ** -20), 0x3c01, 'above the tie rounds up');
  assert.equal(floatToHalfBits(65519), 0x7bff, 'just below the overflow threshold');
  assert.equal(floatToHalfBits(65520), 0x7c00, 'the overflow threshold rounds to infinity');
});

test('every half value survives decode then encode; random floats stay within half an ulp', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = halfBitsToFloat(h);
    if (Number.isNaN(v)) continue;
    assert.equal(floatToHalfBits(v), h);
  }
  const rng = new Rng(3);
  const x = Float32Array.from({ length: 2000 }, () => rng.normal() * 3);
  const y = fromHalf(toHalf(x));
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(y[i] - x[i]) <= Math.abs(x[i]) * 2 ** -11 + 2 ** -25, `value ${x[i]}`);
});

test('fromHalf gives halfBitsToFloat of every bit pattern, signed zeros and NaNs included', () => {
  const bits = Uint16Array.from({ length: 0x10000 }, (_, h) => h);
  const out = fromHalf(bits);
  const expected = new Float32Array(0x10000);
  for (let h = 0; h < 0x10000; h++) expected[h] = halfBitsToFloat(h);
  assert.deepEqual(new Uint32Array(out.buffer), new Uint32Array(expected.buffer));
  assert.ok(Object.is(out[0x8000], -0));
});

test('safetensors stores F16 tensors at half the size and reads them back as float32', () => {
  const data = Float32Array.from([0.1, -2.5, 3, 1000]);
  const f32 = encodeSafetensors([{ name: 'w', shape: [2, 2], data }], { a: 'b' });
  const f16 = encodeSafetensors([{ name: 'w', shape: [2, 2], data }], { a: 'b' }, 'F16');
  assert.equal(f32.length - f16.length >= 8, true);
  const back = decodeSafetensors(f16, 'test.safetensors');
  assert.deepEqual(back.metadata, { a: 'b' });
  assert.deepEqual(back.tensors[0].shape, [2, 2]);
  assert.deepEqual([...back.tensors[0].data], [...fromHalf(toHalf(data))]);
  assert.match(new TextDecoder().decode(f16.subarray(8, 80)), /"dtype":"F16"/);
});
