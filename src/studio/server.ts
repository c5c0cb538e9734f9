/**
 * The studio's HTTP server: the built page (static files) and a small read-only JSON API.
 * Every request is checked (method, URL length, path, query parameters, Host header, no body) and a
 * bad one gets a 4xx answer with a JSON message saying what was wrong.
 */
import { createReadStream, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { loadDataset, BUNDLED_DATASETS, SPLITS, type Dataset, type SplitName } from '../data/dataset.js';
import { MetricsCache, MetricsTooLarge } from './metrics-cache.js';
import { ID_PATTERN, type ModelEntry } from './registry.js';
import type { CompareAnswer, DatasetsAnswer, ErrorAnswer, MetricsAnswer, MetricsLog, ModelInfo, ModelsAnswer, SequenceAnswer } from './api-types.js';

export { MAX_METRIC_RECORDS } from './metrics-cache.js';

export interface StudioOptions {
  /** Folder of the built page (index.html and assets/). */
  staticDir: string;
  models: ModelEntry[];
  /** Host the server is bound to; other Host headers are refused unless it is a wildcard address. */
  host: string;
  /** Loads a bundled dataset by name (defaults to the toolkit's loader; tests may pass their own). */
  loadDataset?: (name: string) => Dataset;
}

export const MAX_URL_LENGTH = 2048;
/** Longest primer a dataset request may ask for. */
export const MAX_PRIMER_FRAMES = 4096;
/** Largest static file served. */
const MAX_STATIC_BYTES = 64 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
};

/** A request the server refuses, with the status and the message sent back. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, head: boolean): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
  res.end(head ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, head: boolean): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', head);
}

/** Parses a whole number query value within [min, max]. */
function intParam(params: URLSearchParams, name: string, min: number, max: number, fallback?: number): number {
  const raw = params.get(name);
  if (raw === null) {
    if (fallback === undefined) throw new HttpError(400, `missing query parameter "${name}"`);
    return fallback;
  }
  if (!/^\d{1,10}$/.test(raw)) throw new HttpError(400, `query parameter "${name}" must be a whole number, got ${JSON.stringify(raw.slice(0, 40))}`);
  const v = Number(raw);
  if (v < min || v > max) throw new HttpError(400, `query parameter "${name}" must be from ${min} to ${max}, got ${v}`);
  return v;
}

function onlyParams(params: URLSearchParams, allowed: readonly string[]): void {
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      const hint = allowed.length > 0 ? `allowed: ${allowed.join(', ')}` : 'this endpoint takes none';
      throw new HttpError(400, `unknown query parameter ${JSON.stringify(key.slice(0, 40))} (${hint})`);
    }
    if (seen.has(key)) throw new HttpError(400, `query parameter "${key}" is given more than once`);
    seen.add(key);
  }
}

function publicModel(m: ModelEntry): ModelInfo {
  return { id: m.id, name: m.name, source: m.source, bytes: m.bytes, parameters: m.parameters, config: m.config, card: m.card, hasMetrics: m.metricsFile !== null };
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** Checks the Host header against the bound host (guards against DNS rebinding when bound to loopback). */
function checkHost(req: IncomingMessage, boundHost: string): void {
  if (WILDCARD_HOSTS.has(boundHost)) return;
  const header = req.headers.host;
  if (!header) throw new HttpError(400, 'missing Host header');
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(header);
  const name = m ? m[1].toLowerCase() : '';
  const allowed = LOOPBACK_NAMES.has(boundHost) || boundHost === 'localhost' ? LOOPBACK_NAMES : new Set([boundHost.toLowerCase(), `[${boundHost.toLowerCase()}]`]);
  if (!allowed.has(name)) throw new HttpError(403, `Host ${JSON.stringify(header.slice(0, 80))} is not served here; use the address the studio printed`);
}

/** Answers a request that failed: its HttpError, or 500. */
function fail(res: ServerResponse, err: unknown, head: boolean): void {
  if (err instanceof HttpError) return sendJson(res, err.status, { error: { status: err.status, message: err.message } }, head);
  const message = err instanceof Error && err.name === 'UserError' ? err.message : 'internal error';
  if (message === 'internal error') console.error('studio:', err);
  if (!res.headersSent) sendJson(res, 500, { error: { status: 500, message } }, head);
  else res.destroy();
}

/** Builds the request handler; exported separately so tests can drive it. */
export function createStudioHandler(options: StudioOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const staticRoot = existsSync(options.staticDir) ? realpathSync(options.staticDir) : resolve(options.staticDir);
  const modelsById = new Map(options.models.map((m) => [m.id, m]));
  const load = options.loadDataset ?? loadDataset;
  const datasets = new Map<string, Dataset>();
  const metricsCache = new MetricsCache();
  const metricsOf = async (m: ModelEntry) => {
    try {
      return await metricsCache.get(m.metricsFile!);
    } catch (err) {
      if (err instanceof MetricsTooLarge) throw new HttpError(413, err.message);
      throw err;
    }
  };
  const dataset = (name: string): Dataset => {
    let d = datasets.get(name);
    if (!d) {
      d = load(name);
      datasets.set(name, d);
    }
    return d;
  };

  function model(id: string): ModelEntry {
    if (!ID_PATTERN.test(id)) throw new HttpError(400, `malformed model id ${JSON.stringify(id.slice(0, 70))}`);
    const m = modelsById.get(id);
    if (!m) throw new HttpError(404, `no model with id "${id}" (see /api/models)`);
    return m;
  }

  function api(parts: string[], params: URLSearchParams, res: ServerResponse, head: boolean): void {
    const route = parts.join('/');
    if (route === 'models') {
      onlyParams(params, []);
      return sendJson(res, 200, { models: options.models.map(publicModel) } satisfies ModelsAnswer, head);
    }
    if (parts[0] === 'models' && parts.length === 3 && parts[2] === 'weights') {
      onlyParams(params, []);
      const m = model(parts[1]);
      const size = statSync(m.file).size;
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/octet-stream', 'Content-Length': size, 'Cache-Control': 'no-cache' });
      if (head) return void res.end();
      createReadStream(m.file).on('error', () => res.destroy()).pipe(res);
      return;
    }
    if (parts[0] === 'models' && parts.length === 3 && parts[2] === 'metrics') {
      onlyParams(params, []);
      const m = model(parts[1]);
      if (!m.metricsFile) throw new HttpError(404, `model "${m.id}" has no metrics.jsonl next to it`);
      return void metricsOf(m).then((metrics) => sendJson(res, 200, { id: m.id, ...metrics } satisfies MetricsAnswer, head)).catch((err) => fail(res, err, head));
    }
    if (route === 'datasets') {
      onlyParams(params, []);
      const list = BUNDLED_DATASETS.map((name) => {
        const d = dataset(name);
        return { name, timing: d.timing, splits: Object.fromEntries(SPLITS.map((s) => [s, d[s].length])) };
      });
      return sendJson(res, 200, { datasets: list } satisfies DatasetsAnswer, head);
    }
    if (parts[0] === 'datasets' && parts.length === 4) {
      onlyParams(params, ['frames']);
      const [, name, split, indexText] = parts;
      if (!(BUNDLED_DATASETS as readonly string[]).includes(name)) throw new HttpError(404, `no dataset "${name.slice(0, 40)}" (have ${BUNDLED_DATASETS.join(', ')})`);
      if (!(SPLITS as readonly string[]).includes(split)) throw new HttpError(400, `split must be one of ${SPLITS.join(', ')}, got ${JSON.stringify(split.slice(0, 40))}`);
      if (!/^\d{1,6}$/.test(indexText)) throw new HttpError(400, `sequence index must be a whole number, got ${JSON.stringify(indexText.slice(0, 40))}`);
      const d = dataset(name);
      const seqs = d[split as SplitName];
      const index = Number(indexText);
      if (index >= seqs.length) throw new HttpError(404, `${name} ${split} has ${seqs.length} sequences (0..${seqs.length - 1}), not ${index}`);
      const seq = seqs[index];
      const frames = intParam(params, 'frames', 1, MAX_PRIMER_FRAMES, Math.min(seq.length, 64));
      return sendJson(res, 200, { dataset: name, split, index, totalFrames: seq.length, timing: d.timing, frames: seq.slice(0, frames) } satisfies SequenceAnswer, head);
    }
    if (route === 'compare') {
      onlyParams(params, []);
      const rows = Promise.all(
        options.models
          .filter((m) => m.card !== null || m.metricsFile !== null)
          .map(async (m) => ({ ...publicModel(m), metrics: m.metricsFile ? await metricsOf(m) : null })),
      );
      return void rows.then((models) => sendJson(res, 200, { models } satisfies CompareAnswer, head)).catch((err) => fail(res, err, head));
    }
    throw new HttpError(404, `no API endpoint /api/${route.slice(0, 80)}`);
  }

  function serveStatic(parts: string[], res: ServerResponse, head: boolean): void {
    const rel = parts.length === 0 ? ['index.html'] : parts;
    const ext = extname(rel[rel.length - 1]).toLowerCase();
    const type = CONTENT_TYPES[ext];
    if (!type) throw new HttpError(404, `no such file /${rel.join('/').slice(0, 80)}`);
    const candidate = join(staticRoot, ...rel);
    if (!existsSync(candidate)) {
      if (!existsSync(join(staticRoot, 'index.html'))) throw new HttpError(404, 'the studio page is not built; run `npm run build` first');
      throw new HttpError(404, `no such file /${rel.join('/').slice(0, 80)}`);
    }
    const real = realpathSync(candidate);
    if (!real.startsWith(staticRoot + sep)) throw new HttpError(403, 'path leaves the studio folder');
    const st = statSync(real);
    if (!st.isFile()) throw new HttpError(404, `no such file /${rel.join('/').slice(0, 80)}`);
    if (st.size > MAX_STATIC_BYTES) throw new HttpError(413, 'file too large');
    send(res, 200, readFileSync(real), type, head);
  }

  return (req, res) => {
    const head = req.method === 'HEAD';
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        throw new HttpError(405, `method ${req.method} is not allowed; the studio API is read-only (GET, HEAD)`);
      }
      const rawUrl = req.url ?? '/';
      if (rawUrl.length > MAX_URL_LENGTH) throw new HttpError(414, `URL longer than ${MAX_URL_LENGTH} characters`);
      const length = req.headers['content-length'];
      if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) {
        throw new HttpError(413, 'requests to the studio carry no body');
      }
      checkHost(req, options.host);
      if (!rawUrl.startsWith('/')) throw new HttpError(400, 'request target must be a path');
      const url = new URL(rawUrl, 'http://studio.invalid');
      const parts: string[] = [];
      for (const seg of url.pathname.split('/')) {
        if (seg === '') continue;
        let dec: string;
        try {
          dec = decodeURIComponent(seg);
        } catch {
          throw new HttpError(400, 'malformed percent-encoding in the path');
        }
        if (dec === '.' || dec === '..' || /[\\/\0]/.test(dec) || /[\x00-\x1f]/.test(dec)) {
          throw new HttpError(400, 'path segments may not be ".", "..", or contain slashes, backslashes or control characters');
        }
        parts.push(dec);
      }
      // `new URL` already folds plain "/../" segments; refuse the raw form too so nothing slips through.
      if (/(^|\/)\.\.?(\/|$)/.test(rawUrl.split('?')[0]) || /%2e%2e/i.test(rawUrl)) {
        throw new HttpError(400, 'path segments may not be ".", "..", or contain slashes, backslashes or control characters');
      }
      // The API answers the page only: a request another site's page makes (a link, an image) is refused.
      if (parts[0] === 'api' && req.headers['sec-fetch-site'] === 'cross-site') throw new HttpError(403, 'cross-site requests to the studio API are refused');
      if (parts[0] === 'api') api(parts.slice(1), url.searchParams, res, head);
      else {
        if ([...url.searchParams.keys()].length > 0 && parts.length > 0) onlyParams(url.searchParams, []);
        serveStatic(parts, res, head);
      }
    } catch (err) {
      fail(res, err, head);
    }
  };
}

export interface RunningStudio {
  server: Server;
  /** Base URL, e.g. http://127.0.0.1:8080/ */
  url: string;
  close(): Promise<void>;
}

/** Starts the studio on host:port (port 0 picks a free one). */
export function startStudio(options: StudioOptions & { port: number }): Promise<RunningStudio> {
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 }, createStudioHandler(options));
  server.keepAliveTimeout = 5_000;
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : options.port;
      const shown = WILDCARD_HOSTS.has(options.host) ? '127.0.0.1' : options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
      resolvePromise({
        server,
        url: `http://${shown}:${port}/`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
