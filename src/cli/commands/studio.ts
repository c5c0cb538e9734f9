import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { parseInteger } from '../parse.js';
import { bundledModels, checkpointModels } from '../../studio/registry.js';
import { startStudio } from '../../studio/server.js';
import { DEFAULT_STATIC_DIR, PACKAGE_ROOT } from '../../studio/paths.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function registerStudio(program: Command): void {
  program
    .command('studio')
    .description('Serve the web studio: generate, see and hear music from the models in the browser')
    .option('--port <n>', 'port to listen on (0 = any free port)', '8080')
    .option('--host <address>', 'address to listen on; keep the default to stay on this machine', '127.0.0.1')
    .option('--checkpoint <path...>', 'run folder or .safetensors model file to offer as well (repeatable)', [])
    .action(async (opts: { port: string; host: string; checkpoint: string[] }) => {
      const port = parseInteger(opts.port, '--port', 0, 65535);
      const host = opts.host.trim();
      if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(host)) throw new UserError(`--host ${JSON.stringify(opts.host)} is not a host name or address`);
      if (!existsSync(join(DEFAULT_STATIC_DIR, 'index.html'))) {
        throw new UserError('the studio page is not built yet; run `npm run build` in the package folder first');
      }
      const bundled = bundledModels(PACKAGE_ROOT);
      const models = [...bundled, ...checkpointModels(opts.checkpoint, bundled.map((m) => m.id))];
      let studio;
      try {
        studio = await startStudio({ staticDir: DEFAULT_STATIC_DIR, models, host, port });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new UserError(`port ${port} on ${host} is already in use; pick another with --port`);
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UserError(`cannot listen on ${host}: no such local address`);
        if (code === 'EACCES') throw new UserError(`not allowed to listen on port ${port}; pick one above 1023`);
        throw e;
      }
      if (!LOOPBACK.has(host)) console.error(`rwkv-music: warning: listening on ${host}, so other machines on the network may reach the studio`);
      if (models.length === 0) console.error('rwkv-music: warning: no models found (no bundled models and no --checkpoint); the page will have nothing to generate with');
      console.log(`Studio at ${studio.url} with ${models.length} model(s): ${models.map((m) => m.id).join(', ') || 'none'}. Press Ctrl+C to stop.`);
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void studio.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
