/**
 * Training speed on the two reference configurations: frames/s of a full training step (zero grads,
 * forward + backward, global-norm clip + AdamW from src/train/optimizer.ts), the median over timed steps
 * after warm-up, with where the time goes (GEMM by shape, the rest, the optimizer) and peak memory.
 *
 *   node dist/bench/train-speed.js [--model lstm|rwkv|both] [--steps 7] [--warmup 2]
 *       [--gemm ort|ts] [--kernels native|ts|both] [--threads n] [--spin] [--min-macs n] [--chunk floats] [--gen] [--standin]
 *       [--no-peak] [--no-blocked] [--ema-decay d]
 *   node dist/bench/train-speed.js --config <configs/*.json or a run's config.json> [--batch 4] [--length 512] [...]
 *
 * Reference configurations (issue 3):
 *   LSTM: Linear(88->512), 2x512 LSTM, Linear(512->88); batch 32, T 128
 *   RWKV: 4 layers, n_embd 512, ffn 2048; batch 16, T 256
 * Frames per step = batch x T. Dropout is 0 in both (as in bench/torch_reference.py).
 * --config times a model as it is trained (a bundled model's configuration, dropout and heads
 * included) instead of the reference configurations, on random batches of --batch x --length frames.
 * --standin times a GEMM-bound stand-in model instead (to check the harness without the real models).
 * --kernels picks the non-GEMM kernels (default: native when built, as RWKV_MUSIC_NATIVE says); 'both' times
 * the TypeScript and the native kernels side by side, steps alternating, and prints the speed-up.
 * After the timed steps it measures the GEMM's best rate at the step's own shapes (bench/gemm-peak.ts) and
 * prints the step's useful FLOP/s (6 x matrix parameters x frames) against it, and against the same peak
 * with MLAS alone (ONNX Runtime's GEMM, no native one) when the step ran on the native GEMM too
 * ("RESULT <model>-mlas-peak-gflops"); --no-peak skips both.
 * --no-blocked keeps every product on ORT (no native blocked GEMM), for comparison.
 * --ema-decay d also folds the weights into a moving average after each update, as `train --ema-decay`
 * does (src/train/weight-average.ts), inside the timed step, and prints its share of the step.
 * Prints one line "RESULT <model> <frames/s>" per model for bench/run.sh ("RESULT <model>-<kernels> ..." with
 * both), and "RESULT <model>-useful-gflops", "RESULT <model>-peak-gflops" and "RESULT <model>-mlas-peak-gflops".
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import type { Batch } from '../src/engine/batch.js';
import type { Gemm } from '../src/engine/gemm.js';
import { createGemm } from '../src/engine/gemm-default.js';
import { tsKernels, type Kernels } from '../src/engine/kernels.js';
import { createKernels, defaultKernels, kernelsLoadError, parseKernelBackend } from '../src/engine/kernels-default.js';
import type { Param } from '../src/engine/tensor.js';
import { OrtGemm } from '../src/engine/gemm-ort.js';
import { Rng } from '../src/engine/random.js';
import { createModel } from '../src/models/index.js';
import { conditionWidth, writeCondition } from '../src/engine/condition.js';
import { isModelKind, type ModelConfig, type SequenceModel } from '../src/models/model.js';
import { AdamW, clipGradients, globalGradNorm, zeroGradients } from '../src/train/optimizer.js';
import { isAverageDecay, WeightAverage } from '../src/train/weight-average.js';
import { StandInModel } from './standin-model.js';
import { measureGemmPeak } from './gemm-peak.js';
import { measureFmaPeak } from '../src/engine/kernels-native.js';
import { TimingGemm } from './timing-gemm.js';

/**
 * The machine's FMA ceiling at both vector widths on the native pool's threads (null when the step
 * did not use the native kernels). On cores that run a 512-bit FMA as two 256-bit halves the two are
 * equal, and a GEMM on 256-bit vectors (OpenBLAS's Haswell kernels) can reach the same peak as ours.
 */
function fmaCeiling(kernels: Kernels): { bits512: number | null; bits256: number | null; threads: number } | null {
  if (!kernels.name.startsWith('native')) return null;
  const wide = measureFmaPeak(512);
  const narrow = measureFmaPeak(256);
  const threads = wide?.threads ?? narrow?.threads;
  if (threads === undefined) return null;
  return { bits512: wide?.gflops ?? null, bits256: narrow?.gflops ?? null, threads };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const has = (name: string) => process.argv.includes(name);

interface Setup {
  key: 'lstm' | 'rwkv';
  title: string;
  config: ModelConfig;
  batch: number;
  T: number;
}

const SETUPS: Setup[] = [
  {
    key: 'lstm',
    title: 'LSTM: Linear(88->512), 2x512 LSTM, Linear(512->88); batch 32, T 128',
    config: { kind: 'lstm', layers: 2, hidden: 512, embed: 512, dropout: 0 },
    batch: 32,
    T: 128,
  },
  {
    key: 'rwkv',
    title: 'RWKV-4: 4 layers, n_embd 512, ffn 2048; batch 16, T 256',
    config: { kind: 'rwkv', nLayer: 4, nEmbd: 512, ffn: 2048, dropout: 0 },
    batch: 16,
    T: 256,
  },
];

/** The setup of --config: the model of a run configuration (or a bare model configuration). */
function configSetup(path: string): Setup {
  let json: { model?: ModelConfig } & ModelConfig;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as typeof json;
  } catch (e) {
    throw new Error(`--config ${path}: ${(e as Error).message}`);
  }
  const config = json.model ?? json;
  if (!config || !isModelKind(config.kind)) throw new Error(`--config ${path}: not a model configuration (no known model.kind)`);
  const batch = Number(arg('--batch') ?? 4);
  const T = Number(arg('--length') ?? 512);
  return { key: config.kind === 'lstm' ? 'lstm' : 'rwkv', title: `${path} (${config.kind}); batch ${batch}, T ${T}`, config, batch, T };
}

/** Random multi-hot frames (about 4 of 88 keys on), targets = the next frame, every frame scored. */
function randomBatch(B: number, T: number, rng: Rng): Batch {
  const D = 88;
  const frames = new Float32Array(B * (T + 1) * D);
  for (let i = 0; i < frames.length; i++) frames[i] = rng.next() < 0.045 ? 1 : 0;
  const inputs = new Float32Array(B * T * D);
  const targets = new Float32Array(B * T * D);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      inputs.set(frames.subarray((b * (T + 1) + t) * D, (b * (T + 1) + t + 1) * D), (b * T + t) * D);
      targets.set(frames.subarray((b * (T + 1) + t + 1) * D, (b * (T + 1) + t + 2) * D), (b * T + t) * D);
    }
  return { B, T, D, inputs, targets, mask: new Float32Array(B * T).fill(1) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const MB = 1024 * 1024;

function build(setup: Setup, gemm: Gemm, kernels: Kernels, seed: number): SequenceModel {
  if (has('--standin')) {
    const width = setup.config.kind === 'lstm' ? setup.config.hidden : setup.config.nEmbd;
    return new StandInModel(setup.config, width, gemm, new Rng(seed));
  }
  return createModel(setup.config, { seed, gemm, kernels });
}

/** One model on one set of kernels: runs training steps and keeps their timings. */
class Runner {
  readonly timing: TimingGemm;
  readonly model: SequenceModel;
  readonly params: Param[];
  readonly opt: AdamW;
  readonly batch: Batch;
  readonly rng = new Rng(7);
  readonly stepTimes: number[] = [];
  readonly fwdBwd: number[] = [];
  readonly optTimes: number[] = [];
  readonly averageTimes: number[] = [];
  readonly average: WeightAverage | null;
  readonly gemmTimes: number[] = [];
  readonly gemmCalls: number[] = [];
  readonly gemmFlops: number[] = [];
  readonly faults: number[] = [];
  loss = 0;
  peakRss = process.memoryUsage().rss;

  constructor(
    readonly setup: Setup,
    readonly inner: Gemm,
    readonly kernels: Kernels,
    readonly tagged: boolean,
    /** MLAS without the native GEMM, for a second peak (null: the step already runs on it, or no ORT). */
    readonly mlas: Gemm | null = null,
  ) {
    this.timing = new TimingGemm(inner);
    this.model = build(setup, this.timing, kernels, 1);
    this.params = this.model.parameters();
    this.opt = new AdamW(this.params, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 }, kernels);
    this.batch = randomBatch(setup.batch, setup.T, new Rng(7));
    const cond = setup.config.condition;
    if (cond) {
      // every row a piece from its start, in the key of the data
      const width = conditionWidth(cond);
      const condition = new Float32Array(setup.batch * setup.T * width);
      for (let n = 0; n < setup.batch * setup.T; n++) writeCondition(condition, n * width, cond, n % setup.T === 0, 0);
      this.batch.condition = condition;
    }
    const decay = arg('--ema-decay');
    if (decay !== undefined && !isAverageDecay(Number(decay))) throw new Error(`--ema-decay: expected a number between 0 and 1, got ${decay}`);
    this.average = decay === undefined ? null : new WeightAverage(this.params, Number(decay), kernels);
  }

  get frames(): number {
    return this.setup.batch * this.setup.T;
  }

  /** One full training step; `record` false for warm-up. */
  step(record: boolean): void {
    const { timing, params } = this;
    timing.reset();
    const f0 = process.resourceUsage().minorPageFault;
    const t0 = performance.now();
    zeroGradients(params);
    const out = this.model.trainStep(this.batch, 1 / this.frames, this.rng);
    const t1 = performance.now();
    clipGradients(params, globalGradNorm(params, this.kernels), 1.0, this.kernels);
    this.opt.step(6e-4);
    const t2 = performance.now();
    this.average?.update(this.opt.state.step);
    const t3 = performance.now();
    this.peakRss = Math.max(this.peakRss, process.memoryUsage().rss);
    this.loss = out.nllSum / out.frames;
    if (!record) return;
    this.stepTimes.push((t3 - t0) / 1000);
    this.fwdBwd.push((t1 - t0) / 1000);
    this.optTimes.push((t2 - t1) / 1000);
    this.averageTimes.push((t3 - t2) / 1000);
    this.gemmTimes.push(timing.seconds);
    this.gemmCalls.push(timing.calls);
    this.gemmFlops.push(timing.flops);
    this.faults.push(process.resourceUsage().minorPageFault - f0);
  }

  /** Prints the timings; returns frames/s of the median step. */
  report(): number {
    const { stepTimes, timing, inner } = this;
    const step = median(stepTimes);
    const gemmS = median(this.gemmTimes);
    const optS = median(this.optTimes);
    const restS = median(this.fwdBwd) - gemmS;
    const fps = this.frames / step;
    const pct = (x: number) => `${((100 * x) / step).toFixed(0)}%`;
    console.log(`  [kernels ${this.kernels.name}]`);
    console.log(
      `  ${fps.toFixed(0)} frames/s: median step ${(step * 1000).toFixed(0)} ms ` +
        `(min ${(Math.min(...stepTimes) * 1000).toFixed(0)}, max ${(Math.max(...stepTimes) * 1000).toFixed(0)}); loss ${this.loss.toFixed(3)} nats/frame`,
    );
    console.log(
      `  time: GEMM ${(gemmS * 1000).toFixed(0)} ms (${pct(gemmS)}; ${this.gemmCalls[0]} calls, ` +
        `${(median(this.gemmFlops) / gemmS / 1e9).toFixed(1)} GFLOP/s), other forward/backward ${(restS * 1000).toFixed(0)} ms (${pct(restS)}), ` +
        `optimizer ${(optS * 1000).toFixed(0)} ms (${pct(optS)})` +
        (this.average ? `, moving average of the weights ${(median(this.averageTimes) * 1000).toFixed(1)} ms (${pct(median(this.averageTimes))})` : ''),
    );
    console.log(`  useful GEMM work: ${(median(this.gemmFlops) / step / 1e9).toFixed(1)} GFLOP/s over the whole step`);
    console.log(
      `  peak RSS ${(this.peakRss / MB).toFixed(0)} MB (process max ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB); ` +
        `${median(this.faults).toFixed(0)} minor page faults per step (fresh memory: costly on VMs)`,
    );
    // the last step's GEMM shapes, heaviest first
    console.log('  GEMM by shape (last step): op MxNxK  calls  ms  GFLOP/s');
    for (const s of timing.shapes().slice(0, 12))
      console.log(`    ${s.key.padEnd(22)} ${String(s.calls).padStart(5)} ${(s.seconds * 1000).toFixed(1).padStart(8)} ${(s.flops / s.seconds / 1e9).toFixed(1).padStart(7)}`);
    if (inner instanceof OrtGemm) console.log(`  calls on ORT ${inner.ortCalls}, native blocked ${inner.blockedCalls}, native rows ${inner.rowsCalls}, TypeScript fallback ${inner.tsCalls} (all steps)`);
    if (!has('--no-peak')) this.usefulAgainstPeak(step);
    return fps;
  }

  /**
   * Useful work (6 x matrix parameters x frames per step: forward, input gradient and weight
   * gradient of every matrix) against the GEMM's own best rate at this step's shapes, measured now.
   */
  private usefulAgainstPeak(step: number): void {
    const matrixParams = this.params.reduce((n, p) => n + (p.decay ? p.data.length : 0), 0);
    const useful = (6 * matrixParams * this.frames) / step;
    const peak = measureGemmPeak(this.inner, this.timing.shapes());
    const key = this.setup.key + (this.tagged ? `-${this.kernels.name.split(' ')[0]}` : '');
    const gflops = (x: number) => (x / 1e9).toFixed(1);
    const share = (x: number) => `${((100 * useful) / x).toFixed(0)}%`;
    console.log(
      `  useful FLOP/s: 6 x ${(matrixParams / 1e6).toFixed(2)}M matrix parameters x ${this.frames} frames / step = ` +
        `${gflops(useful)} GFLOP/s; ${this.inner.name} GEMM peak at this step's shapes (measured now) ` +
        `${gflops(peak.flopsPerSecond)} GFLOP/s: ${share(peak.flopsPerSecond)} of peak`,
    );
    console.log(`RESULT ${key}-useful-gflops ${gflops(useful)}`);
    console.log(`RESULT ${key}-peak-gflops ${gflops(peak.flopsPerSecond)}`);
    // The same peak with MLAS alone (no native GEMM), the library GEMM the step is also held against.
    if (this.mlas) {
      const mlasPeak = measureGemmPeak(this.mlas, this.timing.shapes());
      console.log(
        `  ${this.mlas.name} alone at the same shapes (measured now): ${gflops(mlasPeak.flopsPerSecond)} GFLOP/s; ` +
          `the step's useful work is ${share(mlasPeak.flopsPerSecond)} of it`,
      );
      console.log(`RESULT ${key}-mlas-peak-gflops ${gflops(mlasPeak.flopsPerSecond)}`);
    }
    const fma = fmaCeiling(this.kernels);
    if (fma) {
      const best = Math.max(fma.bits512 ?? 0, fma.bits256 ?? 0);
      console.log(
        `  the machine's FMA ceiling (register-only FMAs on ${fma.threads} thread${fma.threads === 1 ? '' : 's'}): ` +
          `${fma.bits512 === null ? '-' : fma.bits512.toFixed(1)} GFLOP/s with 512-bit vectors, ${fma.bits256 === null ? '-' : fma.bits256.toFixed(1)} with 256-bit; ` +
          `the GEMM peak is ${((100 * peak.flopsPerSecond) / 1e9 / best).toFixed(0)}% of it, the useful work ${((100 * useful) / 1e9 / best).toFixed(0)}%`,
      );
      console.log(`RESULT ${key}-fma-gflops ${best.toFixed(1)}`);
    }
  }

  generation(): void {
    const rng = new Rng(9);
    for (const b of [1, 16]) {
      const state = this.model.initialState(b);
      const frame = randomBatch(b, 1, rng).inputs;
      for (let i = 0; i < 5; i++) this.model.step(state, frame);
      const n = b === 1 ? 200 : 50;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) this.model.step(state, frame);
      const sps = n / ((performance.now() - t0) / 1000);
      console.log(`  generation (RNN mode), batch ${b}: ${sps.toFixed(0)} steps/s (${(sps * b).toFixed(0)} frames/s)`);
    }
  }
}

/**
 * Times the setup on each set of kernels. With two sets, their steps alternate (ts, native, ts, ...)
 * so that both see the same machine load, and the ratio of their median steps is printed.
 */
function benchModel(setup: Setup, inner: Gemm, kernelSets: Kernels[], mlas: Gemm | null): void {
  const steps = Number(arg('--steps') ?? 7);
  const warmup = Number(arg('--warmup') ?? 2);
  const runners = kernelSets.map((k) => new Runner(setup, inner, k, kernelSets.length > 1, mlas));
  const nParams = runners[0].params.reduce((s, p) => s + p.data.length, 0);
  console.log(`\n${setup.title}${has('--standin') ? ' [STAND-IN MODEL]' : ''}`);
  console.log(
    `  ${(nParams / 1e6).toFixed(2)}M parameters; GEMM ${inner.name}; kernels ${kernelSets.map((k) => k.name).join(' vs ')}; ` +
      `${warmup} warm-up + ${steps} timed steps${runners.length > 1 ? ' each, alternating' : ''}`,
  );
  for (let s = 0; s < warmup + steps; s++) for (const r of runners) r.step(s >= warmup);
  const fps = runners.map((r) => r.report());
  if (has('--gen')) for (const r of runners) r.generation();
  runners.forEach((r, i) => console.log(`RESULT ${setup.key}${runners.length > 1 ? `-${r.kernels.name.split(' ')[0]}` : ''} ${fps[i].toFixed(1)}`));
  if (runners.length === 2) {
    console.log(`  speed-up ${runners[1].kernels.name} over ${runners[0].kernels.name}: ${(fps[1] / fps[0]).toFixed(2)}x ` +
      `(step ${(1000 * median(runners[0].stepTimes)).toFixed(0)} -> ${(1000 * median(runners[1].stepTimes)).toFixed(0)} ms)`);
  }
}

/** --kernels native|ts|both (default: RWKV_MUSIC_NATIVE, i.e. native when built). */
function kernelSets(threads: number | undefined): Kernels[] {
  const which = arg('--kernels');
  if (which === 'both') return [tsKernels, createKernels({ backend: 'native', threads })];
  if (which === undefined) {
    const k = threads === undefined ? defaultKernels() : createKernels({ threads });
    const why = kernelsLoadError();
    if (why) console.log(`note: ${why.message}; using the TypeScript kernels`);
    return [k];
  }
  return [createKernels({ backend: parseKernelBackend(which, '--kernels'), threads })];
}

function main(): void {
  const which = arg('--model') ?? 'both';
  const backend = (arg('--gemm') ?? 'ort') as 'ort' | 'ts';
  const threads = arg('--threads') ? Number(arg('--threads')) : undefined;
  const minMacs = arg('--min-macs') ? Number(arg('--min-macs')) : undefined;
  const chunkFloats = arg('--chunk') ? Number(arg('--chunk')) : undefined;
  const gemm = createGemm({ backend, threads, spin: has('--spin'), minMacs, chunkFloats, nativeBlocked: !has('--no-blocked') });
  console.log(
    `Training speed (node ${process.version}, ${availableParallelism()} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')})`,
  );
  const kernels = kernelSets(threads);
  const config = arg('--config');
  // MLAS alone: no native GEMM of any size, ONNX Runtime on the same threads
  const mlas =
    gemm instanceof OrtGemm && !has('--no-blocked') ? createGemm({ backend, threads, spin: has('--spin'), nativeBlocked: false, rows: undefined }) : null;
  if (config) benchModel(configSetup(config), gemm, kernels, mlas);
  else for (const s of SETUPS) if (which === 'both' || which === s.key) benchModel(s, gemm, kernels, mlas);
}

try {
  main();
} catch (e) {
  console.error(`train-speed: ${(e as Error).message}`);
  process.exit(1);
}
