/**
 * Generation speed of the bundled models in RNN mode (model step plus frame draw, through the
 * toolkit's sampler; bench/gen-harness.ts), side by side in one run:
 * - Node with the backends `rwkv-music generate` uses (ORT GEMM, the native rows GEMM for products of
 *   few rows, native kernels, when available),
 * - Node with the TypeScript GEMM and kernels (what the browser runs, on Node's V8),
 * - the same harness in a Chromium Web Worker (bench/browser-gen.ts), if /usr/bin/chromium exists,
 * - the studio's cold start: page load, then Generate until the first frame is drawn and until done.
 *
 *   node dist/bench/gen-speed.js [--models rwkv,lstm] [--runs 3] [--length1 512] [--length16 64]
 *       [--no-ts] [--ort-rows] [--no-browser] [--no-studio] [--studio-length 256] [--studio-repeats 2]
 *
 * --ort-rows also times Node with every product on ORT (without the native rows GEMM of gemm-default.ts).
 *
 * Prints "RESULT gen-<model>-<where>-b<batch> <frames/s>" (median run), in Node also
 * "RESULT gen-<model>-<where>-b<batch>-cpu <frames per CPU second>" (median by CPU time: the figure to
 * compare on a machine shared with other work), and "RESULT studio-first-frame-s <seconds>" (median).
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { createGemm, defaultGemm, gemmLoadError } from '../src/engine/gemm-default.js';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { defaultKernels, kernelsLoadError } from '../src/engine/kernels-default.js';
import { tsKernels } from '../src/engine/kernels.js';
import { resolveModel } from '../src/run/resolve.js';
import { modelFromBytes } from '../src/models/serialize.js';
import { browserGeneration, CHROMIUM, studioColdStart } from './browser-gen.js';
import { formatTiming, timeGeneration, type GenCase, type GenTiming } from './gen-harness.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const has = (name: string) => process.argv.includes(name);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const cpuClock = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

function report(model: string, where: string, timings: readonly GenTiming[]): void {
  for (const t of timings) {
    console.log(formatTiming(`${model} (${where})`, t));
    console.log(`RESULT gen-${model}-${where}-b${t.batch} ${t.median.toFixed(1)}`);
    if (t.cpuMedian) console.log(`RESULT gen-${model}-${where}-b${t.batch}-cpu ${t.cpuMedian.toFixed(1)}`);
  }
}

async function main(): Promise<void> {
  const names = (arg('--models') ?? 'rwkv,lstm').split(',');
  const runs = Number(arg('--runs') ?? 3);
  const cases: GenCase[] = [
    { batch: 1, length: Number(arg('--length1') ?? 512) },
    { batch: 16, length: Number(arg('--length16') ?? 64) },
  ];
  const files = new Map(names.map((n) => [n, resolveModel(n).file]));
  console.log(`Generation speed (node ${process.version}, ${availableParallelism()} cores, load ${load()})`);
  const gemm = defaultGemm();
  const kernels = defaultKernels();
  for (const why of [gemmLoadError(), kernelsLoadError()]) if (why) console.log(`note: ${why.message}`);
  const backends = [{ where: 'node', gemm, kernels }];
  if (has('--ort-rows')) backends.push({ where: 'node-ort-rows', gemm: createGemm({ rows: undefined }), kernels });
  if (!has('--no-ts')) backends.push({ where: 'node-ts', gemm: tsGemm, kernels: tsKernels });
  for (const [name, file] of files) {
    const bytes = readFileSync(file);
    for (const b of backends) {
      const model = modelFromBytes(bytes, file, { gemm: b.gemm, kernels: b.kernels });
      report(name, b.where, cases.map((c) => timeGeneration(model, c, runs, cpuClock)));
    }
  }
  const chromium = existsSync(CHROMIUM);
  if (!chromium && !(has('--no-browser') && has('--no-studio'))) console.log(`${CHROMIUM} is not installed (apt-get install chromium): no browser figures`);
  if (chromium && !has('--no-browser')) {
    for (const r of await browserGeneration(files, cases, runs)) {
      console.log(`${r.name} (browser worker): model loaded in ${(r.loadSeconds * 1000).toFixed(0)} ms`);
      report(r.name, 'browser', r.timings);
    }
  }
  if (chromium && !has('--no-studio')) {
    const length = Number(arg('--studio-length') ?? 256);
    const repeats = Number(arg('--studio-repeats') ?? 2);
    for (const name of names) {
      const starts = await studioColdStart(name, length, repeats);
      for (const s of starts) {
        console.log(
          `studio, ${name}, fresh profile: ready ${s.readySeconds.toFixed(2)} s after navigation; Generate -> first frame drawn ` +
            `${s.firstFrameSeconds.toFixed(2)} s, -> ${length} frames done ${s.doneSeconds.toFixed(2)} s`,
        );
      }
      console.log(`RESULT studio-${name}-first-frame-s ${median(starts.map((s) => s.firstFrameSeconds)).toFixed(3)}`);
      console.log(`RESULT studio-${name}-done-s ${median(starts.map((s) => s.doneSeconds)).toFixed(3)}`);
    }
  }
  console.log(`load ${load()}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
