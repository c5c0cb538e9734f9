import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { loadDataset } from '../../data/dataset.js';
import { defaultGemm } from '../../engine/gemm-default.js';
import { UserError } from '../../errors.js';
import { MAX_SMALL_FILE_BYTES } from '../../limits.js';
import { loadModelFile } from '../../models/io.js';
import { makeOutputFolder } from '../../output-paths.js';
import { buildComparison, type ComparedModel } from '../../report/compare.js';
import { BUNDLED_MODELS_DIR, readRegularFile, RUN_FILES } from '../../run/files.js';
import { bundledModelNames } from '../../run/resolve.js';
import { readRunSummary } from '../../run/summary.js';
import { writeReport } from '../../report/write-report.js';
import { addReportOptions, printResults, reportOptionsFrom, type ReportFlags } from './report-shared.js';

interface DemoFlags extends ReportFlags {
  out: string;
}

/** A bundled model's card: how it was trained (shown under "Reproduce") and its validation score. */
interface Card {
  command?: string;
  validNll?: number;
  /** The dataset the model was trained on; the demo compares the Nottingham ones. */
  dataset?: string;
}

function readCard(dir: string): Card {
  const path = join(dir, RUN_FILES.card);
  const bytes = readRegularFile(path, MAX_SMALL_FILE_BYTES);
  if (bytes === null) return {};
  try {
    return JSON.parse(bytes.toString('utf8')) as Card;
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

export function registerDemo(program: Command): void {
  const cmd = program
    .command('demo')
    .description('Score the bundled models on the Nottingham test split, generate music from each, and write a report (what `npm start` runs)')
    .option('--out <dir>', 'report folder', 'out');
  addReportOptions(cmd);
  cmd.action(async (flags: DemoFlags) => {
    const options = reportOptionsFrom(flags);
    makeOutputFolder(flags.out);
    // Models bundled for the other benchmarks (e.g. rwkv-jsb-chorales) are not part of this comparison.
    const cards = new Map(bundledModelNames().map((name) => [name, readCard(join(BUNDLED_MODELS_DIR, name))]));
    const names = [...cards.keys()].filter((name) => (cards.get(name)!.dataset ?? 'nottingham') === 'nottingham');
    if (names.length === 0) throw new UserError(`no bundled Nottingham models found in ${BUNDLED_MODELS_DIR}`);
    const order = ['rwkv', 'rwkv6', 'lstm'];
    names.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
    const models: ComparedModel[] = names.map((name) => {
      const dir = join(BUNDLED_MODELS_DIR, name);
      const card = cards.get(name)!;
      return {
        name,
        model: loadModelFile(join(dir, RUN_FILES.best), { gemm: defaultGemm() }),
        run: readRunSummary(dir),
        command: card.command,
        knownValidNll: card.validNll,
      };
    });
    const started = Date.now();
    const report = await buildComparison({
      ...options,
      title: 'Bundled models: RWKV-4 vs LSTM on Nottingham',
      datasetName: 'nottingham',
      dataset: loadDataset('nottingham'),
      models,
      outDir: flags.out,
      log: (line) => console.error(line),
      notes: ['Training time and speed are those recorded when the bundled models were trained (see models/*/README.md).'],
    });
    const { html } = await writeReport(flags.out, report);
    printResults(report, resolve(html));
    console.error(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}
