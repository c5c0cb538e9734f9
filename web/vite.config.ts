import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

// The page is served by `rwkv-music studio` from dist/web; in `vite` dev mode the API is proxied to it.
export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
  resolve: {
    alias: [
      { find: /^wavefile$/, replacement: fileURLToPath(new URL('./src/shims/wavefile.ts', import.meta.url)) },
      { find: /^@tonejs\/midi$/, replacement: fileURLToPath(new URL('./src/shims/tonejs-midi.ts', import.meta.url)) },
    ],
  },
  worker: { format: 'es' },
  server: {
    host: '127.0.0.1',
    fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
