/**
 * The models the studio offers: the bundled ones (models/<kind>/best.safetensors) and the run folders
 * or model files named on the command line. Each gets a short id; requests name models only by id, so
 * no client-supplied path ever reaches the file system.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { MAX_MODEL_FILE_BYTES, MAX_SMALL_FILE_BYTES } from '../limits.js';
import { readRegularFile, RUN_FILES } from '../run/files.js';
import { bundledModelNames, resolveModel } from '../run/resolve.js';

/** Largest model file the studio will serve (the page loads it whole into memory). */
export const MAX_MODEL_BYTES = MAX_MODEL_FILE_BYTES;
/** Largest safetensors header read when listing a model. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export type ModelSource = 'bundled' | 'checkpoint';

export interface ModelEntry {
  /** Short id used in URLs: [a-z0-9-], at most 64 characters. */
  id: string;
  /** Human-readable name. */
  name: string;
  source: ModelSource;
  /** Absolute path of the .safetensors file. */
  file: string;
  /** Size of the model file in bytes. */
  bytes: number;
  /** The model config from the file's metadata (parsed JSON), or null if the file has none. */
  config: Record<string, unknown> | null;
  /** Total number of weights in the file. */
  parameters: number;
  /** Parsed card.json next to the model, or null. */
  card: unknown;
  /** Path of metrics.jsonl next to the model, or null. */
  metricsFile: string | null;
}

export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Reads only the header of a safetensors file: its metadata and the total number of values. */
export function readSafetensorsHeader(file: string): { metadata: Record<string, string>; parameters: number } {
  const fail = (why: string): never => {
    throw new UserError(`${file}: not a valid safetensors model file (${why})`);
  };
  const size = statSync(file).size;
  if (size < 8) fail(`only ${size} bytes`);
  const fd = openSync(file, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const len = lenBuf.readBigUInt64LE(0);
    if (len > BigInt(MAX_HEADER_BYTES)) fail(`header length ${len} is too large`);
    const n = Number(len);
    if (8 + n > size) fail(`header length ${n} runs past the end of the ${size}-byte file`);
    const headerBuf = Buffer.alloc(n);
    readSync(fd, headerBuf, 0, n, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBuf.toString('utf8'));
    } catch (e) {
      fail(`header is not JSON: ${(e as Error).message}`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
    const metadata: Record<string, string> = {};
    let parameters = 0;
    let dataEnd = 0;
    for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (value && typeof value === 'object' && !Array.isArray(value)) {
          for (const [k, v] of Object.entries(value)) if (typeof v === 'string') metadata[k] = v;
        }
        continue;
      }
      const shape = (value as { shape?: unknown } | null)?.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor "${name}" has no valid shape`);
      parameters += (shape as number[]).reduce((a, b) => a * b, 1);
      const offsets = (value as { data_offsets?: unknown }).data_offsets;
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) fail(`tensor "${name}" has no valid data offsets`);
      dataEnd = Math.max(dataEnd, (offsets as number[])[1]);
    }
    if (8 + n + dataEnd > size) fail(`truncated: its tensors need ${8 + n + dataEnd} bytes, the file has ${size}`);
    return { metadata, parameters };
  } finally {
    closeSync(fd);
  }
}

/** Model file of a run folder: its best weights, else (no validation finished yet) its newest checkpoint's. */
function modelFileIn(folder: string): string {
  try {
    return resolveModel(folder).file;
  } catch (err) {
    if (!(err instanceof UserError) || !existsSync(join(folder, RUN_FILES.checkpoints))) throw err;
    return resolveModel(folder, { weights: 'latest' }).file;
  }
}

function slug(text: string): string {
  const s = text.toLowerCase().replace(/\.safetensors$/, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48);
  return s.length > 0 ? s : 'model';
}

function readCard(folder: string): unknown {
  const p = join(folder, RUN_FILES.card);
  const bytes = readRegularFile(p, MAX_SMALL_FILE_BYTES);
  if (bytes === null) return null;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new UserError(`${p}: not valid JSON (${(e as Error).message})`);
  }
}

/** `folder` holds the model's card.json and metrics.jsonl, if any. */
function makeEntry(id: string, name: string, source: ModelSource, file: string, folder = dirname(file)): ModelEntry {
  const bytes = statSync(file).size;
  if (bytes > MAX_MODEL_BYTES) throw new UserError(`${file}: ${bytes} bytes is more than the studio serves (${MAX_MODEL_BYTES})`);
  const { metadata, parameters } = readSafetensorsHeader(file);
  let config: Record<string, unknown> | null = null;
  if (metadata.config !== undefined) {
    try {
      const parsed: unknown = JSON.parse(metadata.config);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) config = parsed as Record<string, unknown>;
    } catch {
      throw new UserError(`${file}: the model config in the metadata is not valid JSON`);
    }
  }
  const metrics = join(folder, RUN_FILES.metrics);
  return { id, name, source, file, bytes, config, parameters, card: readCard(folder), metricsFile: existsSync(metrics) ? metrics : null };
}

/**
 * The bundled models present under `<root>/models/<name>/best.safetensors`: rwkv, rwkv6 and lstm first, then
 * the others by name (e.g. rwkv-independent, labelled "RWKV independent (bundled)").
 */
export function bundledModels(root: string): ModelEntry[] {
  const names = bundledModelNames(join(root, 'models'));
  const order = (name: string) => ['rwkv', 'rwkv6', 'lstm'].indexOf(name) + 1 || 99;
  names.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  return names.map((name) => {
    const [kind, ...rest] = name.split('-');
    const label = [kind.toUpperCase(), ...rest].join(' ');
    return makeEntry(name, `${label} (bundled)`, 'bundled', join(root, 'models', name, RUN_FILES.best));
  });
}

/** Entries for the run folders or model files given with --checkpoint; ids never clash with `taken`. */
export function checkpointModels(paths: readonly string[], taken: readonly string[]): ModelEntry[] {
  const used = new Set(taken);
  const out: ModelEntry[] = [];
  for (const given of paths) {
    const abs = resolve(given);
    if (!existsSync(abs)) throw new UserError(`${given}: no such file or folder`);
    const isFolder = statSync(abs).isDirectory();
    const file = isFolder ? modelFileIn(abs) : abs;
    if (!file.endsWith('.safetensors')) throw new UserError(`${given}: expected a run folder or a .safetensors model file`);
    const folderName = basename(dirname(file));
    const name = statSync(abs).isDirectory() ? basename(abs) : `${folderName}/${basename(file)}`;
    let id = slug(statSync(abs).isDirectory() ? basename(abs) : `${folderName}-${basename(file)}`);
    for (let i = 2; used.has(id); i++) id = `${slug(name)}-${i}`;
    used.add(id);
    out.push(makeEntry(id, name, 'checkpoint', file, isFolder ? abs : dirname(file)));
  }
  return out;
}
