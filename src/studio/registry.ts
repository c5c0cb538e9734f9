/**
 * The models the studio offers: the bundled ones (models/<kind>/best.safetensors) and the run folders
 * or model files named on the command line. Each gets a short id; requests name models only by id, so
 * no client-supplied path ever reaches the file system.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { bundledModelNames, WEIGHTS_FILE } from '../generate/resolve-checkpoint.js';

/** Largest model file the studio will serve (the page loads it whole into memory). */
export const MAX_MODEL_BYTES = 1024 * 1024 * 1024;
/** Largest safetensors header read when listing a model. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Largest card.json read. */
const MAX_CARD_BYTES = 1024 * 1024;

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
    }
    return { metadata, parameters };
  } finally {
    closeSync(fd);
  }
}

/** Model file of a run folder: best.safetensors, else last.safetensors, else its only .safetensors file. */
function modelFileIn(folder: string): string {
  for (const name of ['best.safetensors', 'last.safetensors', 'model.safetensors']) {
    const p = join(folder, name);
    if (existsSync(p)) return p;
  }
  const found = readdirSync(folder).filter((f) => f.endsWith('.safetensors'));
  if (found.length === 1) return join(folder, found[0]);
  if (found.length === 0) throw new UserError(`${folder}: no .safetensors model file in this folder`);
  throw new UserError(`${folder}: several .safetensors files (${found.slice(0, 4).join(', ')}); name the one to use`);
}

function slug(text: string): string {
  const s = text.toLowerCase().replace(/\.safetensors$/, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48);
  return s.length > 0 ? s : 'model';
}

function readCard(folder: string): unknown {
  const p = join(folder, 'card.json');
  if (!existsSync(p)) return null;
  const size = statSync(p).size;
  if (size > MAX_CARD_BYTES) throw new UserError(`${p}: card.json is larger than ${MAX_CARD_BYTES} bytes`);
  try {
    return JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new UserError(`${p}: not valid JSON (${(e as Error).message})`);
  }
}

function makeEntry(id: string, name: string, source: ModelSource, file: string): ModelEntry {
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
  const folder = dirname(file);
  const metrics = join(folder, 'metrics.jsonl');
  return { id, name, source, file, bytes, config, parameters, card: readCard(folder), metricsFile: existsSync(metrics) ? metrics : null };
}

/**
 * The bundled models present under `<root>/models/<name>/best.safetensors`: rwkv and lstm first, then
 * the others by name (e.g. rwkv-independent, labelled "RWKV independent (bundled)").
 */
export function bundledModels(root: string): ModelEntry[] {
  const names = bundledModelNames(join(root, 'models'));
  const order = (name: string) => ['rwkv', 'lstm'].indexOf(name) + 1 || 99;
  names.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  return names.map((name) => {
    const [kind, ...rest] = name.split('-');
    const label = [kind.toUpperCase(), ...rest].join(' ');
    return makeEntry(name, `${label} (bundled)`, 'bundled', join(root, 'models', name, WEIGHTS_FILE));
  });
}

/** Entries for the run folders or model files given with --checkpoint; ids never clash with `taken`. */
export function checkpointModels(paths: readonly string[], taken: readonly string[]): ModelEntry[] {
  const used = new Set(taken);
  const out: ModelEntry[] = [];
  for (const given of paths) {
    const abs = resolve(given);
    if (!existsSync(abs)) throw new UserError(`${given}: no such file or folder`);
    const file = statSync(abs).isDirectory() ? modelFileIn(abs) : abs;
    if (!file.endsWith('.safetensors')) throw new UserError(`${given}: expected a run folder or a .safetensors model file`);
    const folderName = basename(dirname(file));
    const name = statSync(abs).isDirectory() ? basename(abs) : `${folderName}/${basename(file)}`;
    let id = slug(statSync(abs).isDirectory() ? basename(abs) : `${folderName}-${basename(file)}`);
    for (let i = 2; used.has(id); i++) id = `${slug(name)}-${i}`;
    used.add(id);
    out.push(makeEntry(id, name, 'checkpoint', file));
  }
  return out;
}
