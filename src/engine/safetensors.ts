/**
 * The safetensors file format (no file system here: bytes in, bytes out, so the browser can use it
 * too). Tensors are float32 in memory; files store them as F32, or as F16 to halve their size.
 *
 * Layout:
 *   8 bytes   little-endian unsigned 64-bit length N of the header
 *   N bytes   UTF-8 JSON object: { "<name>": { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] },
 *                                  ..., "__metadata__": { "<key>": "<string>" } }
 *             (padded with spaces so the data starts 8-byte aligned)
 *   the data  each tensor row-major little-endian, offsets relative to the start of the data;
 *             the tensors cover the data exactly, without gaps or overlaps.
 *
 * Every decode checks all of this and throws a UserError naming the file on any damage.
 */
import { UserError } from '../errors.js';
import { fromHalf, toHalf } from './half.js';

export type StoredDtype = 'F32' | 'F16';
const BYTES: Record<StoredDtype, number> = { F32: 4, F16: 2 };

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContent {
  /** Tensors in file (data offset) order. */
  tensors: NamedTensor[];
  metadata: Record<string, string>;
}

const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Serialises tensors (in the given order) and string metadata to safetensors bytes. */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}, dtype: StoredDtype = 'F32'): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('safetensors: big-endian platforms are not supported');
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors: metadata value for "${k}" must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__') throw new Error('safetensors: "__metadata__" is not a valid tensor name');
    if (t.name in header) throw new Error(`safetensors: duplicate tensor name "${t.name}"`);
    const n = elementCount(t.shape);
    if (n !== t.data.length) throw new Error(`safetensors: tensor "${t.name}" has shape [${t.shape}] but ${t.data.length} values`);
    header[t.name] = { dtype, shape: t.shape.slice(), data_offsets: [offset, offset + BYTES[dtype] * n] };
    offset += BYTES[dtype] * n;
  }
  let json = JSON.stringify(header);
  let headerBytes = new TextEncoder().encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad > 0) {
    json += ' '.repeat(pad);
    headerBytes = new TextEncoder().encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    const stored = dtype === 'F16' ? toHalf(t.data) : t.data;
    out.set(new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength), pos);
    pos += stored.byteLength;
  }
  return out;
}

/** Parses and validates safetensors bytes; `fileName` is used in error messages. */
export function decodeSafetensors(bytes: Uint8Array, fileName: string): SafetensorsContent {
  const fail = (why: string): never => {
    throw new UserError(`${fileName}: not a valid safetensors file (${why})`);
  };
  if (!LITTLE_ENDIAN) throw new Error('safetensors: big-endian platforms are not supported');
  if (bytes.length < 8) fail(`only ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen64 = view.getBigUint64(0, true);
  if (headerLen64 > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLen64} is too large`);
  const headerLen = Number(headerLen64);
  if (8 + headerLen > bytes.length) fail(`header length ${headerLen} runs past the end of the ${bytes.length}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; shape: number[]; begin: number; end: number; dtype: StoredDtype }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value for "${k}" is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`entry for tensor "${name}" is not an object`);
    const info = value as Record<string, unknown>;
    if (info.dtype !== 'F32' && info.dtype !== 'F16') fail(`tensor "${name}" has dtype ${JSON.stringify(info.dtype)}; only F32 and F16 are supported`);
    const dtype = info.dtype as StoredDtype;
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor "${name}" has an invalid shape`);
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(`tensor "${name}" has invalid data_offsets`);
    }
    const [begin, end] = offs as number[];
    if (end < begin) fail(`tensor "${name}" has data_offsets that end before they begin`);
    if (end > dataLen) fail(`tensor "${name}" runs past the end of the data (${end} > ${dataLen} bytes): file truncated?`);
    const n = elementCount(shape as number[]);
    if (end - begin !== BYTES[dtype] * n) fail(`tensor "${name}" has shape [${shape}] (${BYTES[dtype] * n} bytes) but ${end - begin} bytes of data`);
    entries.push({ name, shape: (shape as number[]).slice(), begin, end, dtype });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of entries) {
    if (e.begin !== expected) fail(e.begin < expected ? `tensor "${e.name}" overlaps another tensor` : `gap in the data before tensor "${e.name}"`);
    expected = e.end;
  }
  if (expected !== dataLen) fail(`${dataLen - expected} bytes of data not covered by any tensor`);
  const tensors: NamedTensor[] = entries.map((e) => {
    const copy = new Uint8Array(e.end - e.begin);
    copy.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    return { name: e.name, shape: e.shape, data: e.dtype === 'F16' ? fromHalf(new Uint16Array(copy.buffer)) : new Float32Array(copy.buffer) };
  });
  return { tensors, metadata };
}
