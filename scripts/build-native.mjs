/**
 * Builds the native kernels (native/*.cc -> build/Release/rwkv_music_native.node) with node-gyp.
 *
 *   node scripts/build-native.mjs            the package's install script: never fails the install;
 *                                            without a C++ toolchain it prints one line and the
 *                                            TypeScript kernels are used
 *   node scripts/build-native.mjs --strict   (npm run build:native) exits non-zero when the build fails
 *
 * RWKV_MUSIC_NATIVE=0 skips the build. The compiler output goes to build/native-build.log.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'rwkv_music_native.node');
const log = join(root, 'build', 'native-build.log');
const strict = process.argv.includes('--strict');
const TS_FALLBACK = 'the TypeScript kernels will be used';

function done(ok, message) {
  console.log(`rwkv-music: ${message}`);
  process.exit(ok || !strict ? 0 : 1);
}

/** node-gyp: the one npm passes to lifecycle scripts, else npm's bundled copy, else an installed one. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package
  }
  return candidates.find((p) => p && existsSync(p));
}

/** Node's own headers when they are installed next to it (e.g. /usr/include/node): no download. */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** The most telling line of a failed build, for the one-line message. */
function reason(output, status) {
  const lines = output.split('\n');
  const patterns = [
    [/No such file or directory: '([^']+)'/, (m) => `${m[1]} not found`],
    [/not found: (\S+)/, (m) => `${m[1]} not found`],
    [/: ([\w+.-]+): No such file or directory/, (m) => `${m[1]} not found`],
    [/([\w+.-]+): (?:command )?not found/, (m) => `${m[1]} not found`],
    [/Could not find any (Python) installation/, () => 'python3 not found'],
    [/(fatal error: .*)/, (m) => m[1]],
    [/(error: .*)/, (m) => m[1]],
    [/gyp ERR! stack (Error: .*)/, (m) => m[1]],
  ];
  for (const [re, say] of patterns) {
    for (const line of lines) {
      const m = re.exec(line);
      if (m) {
        const text = say(m);
        return text.length > 100 ? text.slice(0, 100) + '...' : text;
      }
    }
  }
  return `node-gyp exited with code ${status}`;
}

if (process.env.RWKV_MUSIC_NATIVE === '0') done(true, `RWKV_MUSIC_NATIVE=0: native kernels not built; ${TS_FALLBACK}`);

const nodeGyp = findNodeGyp();
if (!nodeGyp) done(false, `native kernels not built (node-gyp not found); ${TS_FALLBACK}`);

const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--jobs', 'max', ...nodedirArgs()], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, npm_config_loglevel: 'warn' },
});
const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
mkdirSync(dirname(log), { recursive: true });
writeFileSync(log, output);
if (result.status !== 0 || !existsSync(addon)) {
  done(false, `native kernels not built (${reason(output, result.status)}; see ${relative(root, log)}); ${TS_FALLBACK}`);
}
try {
  createRequire(import.meta.url)(addon);
} catch (e) {
  done(false, `native kernels built but do not load (${String(e.message).split('\n')[0]}); ${TS_FALLBACK}`);
}
done(true, `native kernels built (${relative(root, addon)})`);
