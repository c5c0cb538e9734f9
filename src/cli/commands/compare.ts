import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { loadDataset } from '../../data/dataset.js';
import { defaultGemm } from '../../engine/gemm-default.js';
import { UserError } from '../../errors.js';
import { loadModelFile } from '../../models/io.js';
import { isModelKind, MODEL_KINDS, type ModelKind } from '../../models/model.js';
import { buildComparison, type ComparedModel } from '../../report/compare.js';
import { writeReport } from '../../report/write-report.js';
import { makeOutputFolder } from '../../output-paths.js';
import { listCheckpoints } from '../../run/checkpoints.js';
import { readRunConfig } from '../../run/config.js';
import { runModelFile } from '../../run/resolve.js';
import { readRunSummary } from '../../run/summary.js';
import { openTrainingData } from '../../train/feed.js';
import { train } from '../../train/loop.js';
import { terminalProgress } from '../../train/progress.js';
import { buildRunConfig } from '../../train/setup.js';
import { printResults, reportOptionsFrom, type ReportFlags, addReportOptions } from './report-shared.js';
import { parseInteger, parsePositive } from '../parse.js';
import { kernelsFor, modelBuilder, packageVersion } from './train-shared.js';

interface CompareFlags extends ReportFlags {
  dataset: string;
  epochs?: string;
  minutes?: string;
  runs?: string;
  models: string;
  emaDecay?: string;
  out: string;
}

const KIND_NAMES: Record<ModelKind, string> = { lstm: 'LSTM', rwkv: 'RWKV-4', rwkv6: 'RWKV-6' };

/** The model kinds of `--models a,b`: known, at least one, each once. */
function parseKinds(list: string): ModelKind[] {
  const kinds = list.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of kinds) {
    if (!isModelKind(k)) throw new UserError(`--models: unknown model kind "${k}" (expected ${MODEL_KINDS.join(', ')})`);
  }
  if (kinds.length === 0) throw new UserError('--models needs at least one model kind');
  if (new Set(kinds).size !== kinds.length) throw new UserError(`--models names a kind twice: ${list}`);
  return kinds as ModelKind[];
}

/** "RWKV-4 vs LSTM", "RWKV-4, RWKV-6 and LSTM". */
function titleOf(kinds: ModelKind[]): string {
  const names = kinds.map((k) => KIND_NAMES[k]);
  if (names.length === 2) return `${names[1]} vs ${names[0]}`;
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Trains (or resumes) one model with its default settings (and the moving average, if asked) in runDir. */
async function trainDefault(
  kind: ModelKind, dataset: string, runDir: string, seed: number, stop: { epochs?: number; minutes?: number }, emaDecay: number | undefined,
): Promise<void> {
  const resume = listCheckpoints(runDir).length > 0;
  const config = resume ? readRunConfig(runDir) : buildRunConfig(kind, dataset, seed, null, { ...stop, emaDecay }, packageVersion());
  makeOutputFolder(runDir);
  const data = openTrainingData(config.dataset);
  console.error(`${resume ? 'resuming' : 'training'} ${kind} on ${config.dataset} -> ${runDir}`);
  await train({
    runDir,
    config,
    resume,
    data,
    buildModel: modelBuilder(undefined),
    kernels: kernelsFor(undefined),
    stop: resume ? stop : undefined,
    progress: terminalProgress(),
    handleSignals: true,
  });
}

export function registerCompare(program: Command): void {
  const cmd = program
    .command('compare')
    .description('Train the LSTM and RWKV (or the kinds --models names) with their default settings on the same data and budget, then write a comparison report')
    .option('--dataset <name>', 'nottingham, jsb-chorales, musedata, piano-midi-de, a .json.gz file or a MIDI folder', 'nottingham')
    .option('--epochs <n>', 'epochs per model')
    .option('--minutes <m>', 'training minutes per model')
    .option('--models <kinds>', 'model kinds to train and compare: lstm, rwkv, rwkv6, comma-separated', 'lstm,rwkv')
    .option('--ema-decay <d>', 'train each model keeping a moving average of its weights, as train --ema-decay (the bundled Nottingham models: 0.995)')
    .option('--runs <a,b>', 'compare these existing run folders instead of training')
    .option('--out <dir>', 'report folder', 'report');
  addReportOptions(cmd);
  cmd.action(async (flags: CompareFlags) => {
    const report = reportOptionsFrom(flags);
    makeOutputFolder(flags.out);
    const epochs = flags.epochs === undefined ? undefined : parseInteger(flags.epochs, '--epochs', 1);
    const minutes = flags.minutes === undefined ? undefined : parsePositive(flags.minutes, '--minutes');
    const emaDecay = flags.emaDecay === undefined ? undefined : parsePositive(flags.emaDecay, '--ema-decay');
    let kinds = parseKinds(flags.models);
    let runDirs: { name: string; dir: string; command: string }[];
    if (flags.runs !== undefined) {
      if (epochs !== undefined || minutes !== undefined || emaDecay !== undefined || cmd.getOptionValueSource('models') === 'cli') {
        throw new UserError('--runs compares finished runs; drop --epochs/--minutes/--models/--ema-decay');
      }
      runDirs = flags.runs.split(',').map((d) => d.trim()).filter(Boolean).map((dir) => {
        const cfg = readRunConfig(dir);
        return { name: cfg.model.kind, dir, command: `rwkv-music train --model ${cfg.model.kind} --dataset ${cfg.dataset} --out ${dir}` };
      });
      if (runDirs.length < 1) throw new UserError('--runs needs at least one run folder');
      const names = runDirs.map((r) => r.name);
      runDirs.forEach((r, i) => { if (names.indexOf(r.name) !== i) r.name = `${r.name}-${i + 1}`; });
      kinds = [...new Set(runDirs.map((r) => readRunConfig(r.dir).model.kind))];
    } else {
      if (epochs === undefined && minutes === undefined) throw new UserError('give a training budget per model: --epochs N or --minutes M (or reuse runs with --runs a,b)');
      runDirs = [];
      for (const kind of kinds) {
        const dir = join(flags.out, 'runs', kind);
        await trainDefault(kind, flags.dataset, dir, report.seed, { epochs, minutes }, emaDecay);
        const budget = [epochs !== undefined ? `--epochs ${epochs}` : '', minutes !== undefined ? `--minutes ${minutes}` : ''].filter(Boolean).join(' ');
        const average = emaDecay !== undefined ? ` --ema-decay ${emaDecay}` : '';
        runDirs.push({ name: kind, dir, command: `rwkv-music train --model ${kind} --dataset ${flags.dataset} ${budget} --seed ${report.seed}${average}` });
      }
    }
    const datasetName = flags.runs !== undefined ? readRunConfig(runDirs[0].dir).dataset : flags.dataset;
    const dataset = loadDataset(datasetName);
    const models: ComparedModel[] = runDirs.map((r) => {
      const best = runModelFile(r.dir, 'best');
      return { name: r.name, model: loadModelFile(best, { gemm: defaultGemm() }), run: readRunSummary(r.dir), command: r.command };
    });
    const built = await buildComparison({
      ...report,
      title: `${titleOf(kinds)} on ${datasetName}`,
      datasetName,
      dataset,
      models,
      outDir: flags.out,
      log: (line) => console.error(line),
    });
    const { html } = await writeReport(flags.out, built);
    printResults(built, resolve(html));
  });
}
