import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel } from '../src/models/index.js';
import { saveModelFile } from '../src/models/io.js';
import { DEFAULT_STATIC_DIR } from '../src/studio/paths.js';

const BIN = fileURLToPath(new URL('../../bin/rwkv-music.js', import.meta.url));

/** Runs the CLI; resolves with its exit code and output once it exits. */
function run(args: string[], onLine?: (line: string, stop: () => void) => void): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of d.toString().split('\n')) if (line) onLine?.(line, () => child.kill('SIGTERM'));
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

test('rwkv-music studio refuses bad options with one-line messages', async () => {
  const port = await run(['studio', '--port', '70000']);
  assert.equal(port.code, 1);
  assert.match(port.err, /--port must be a whole number from 0 to 65535, got "70000"/);
  const missing = await run(['studio', '--port', '0', '--checkpoint', '/no/such/run']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /\/no\/such\/run: no such file or folder/);
  assert.doesNotMatch(missing.err, /\n\s+at /, 'no stack trace');
});

test('rwkv-music studio serves a run folder on a free localhost port and stops cleanly on SIGTERM', { skip: existsSync(join(DEFAULT_STATIC_DIR, 'index.html')) ? false : 'the page is not built (npm run build)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'studio-cli-'));
  try {
    const runDir = join(dir, 'lstm-run');
    mkdirSync(runDir);
    saveModelFile(join(runDir, 'best.safetensors'), createModel({ kind: 'lstm', layers: 1, hidden: 8, embed: 8, dropout: 0 }, { seed: 3 }));
    let listed: string[] = [];
    const result = await run(['studio', '--port', '0', '--checkpoint', runDir], (line, stop) => {
      const m = /Studio at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line);
      if (!m) return;
      fetch(`${m[1]}api/models`)
        .then((r) => r.json() as Promise<{ models: { id: string }[] }>)
        .then((body) => (listed = body.models.map((x) => x.id)))
        .finally(stop);
    });
    assert.match(result.out, /Studio at http:\/\/127\.0\.0\.1:\d+\/ with \d+ model\(s\)/);
    assert.ok(listed.includes('lstm-run'), `the run folder is offered: ${listed}`);
    assert.equal(result.code, 0, result.err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
