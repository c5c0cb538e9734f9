import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, type SplitName } from '../../data/dataset.js';
import { UserError } from '../../errors.js';
import { BUNDLED_MODELS_DIR, bundledModelNames } from '../../generate/resolve-checkpoint.js';
import { loadModelFile } from '../../models/io.js';
import { FILES, readRunConfig } from '../../train/checkpoint.js';
import { evaluateSequences } from '../../train/evaluate.js';
import { gemmFor, kernelsFor, parseInteger } from './train-shared.js';
import { withStyleFile } from '../../tune/files.js';

interface EvalFlags {
  checkpoint: string;
  split: string;
  dataset?: string;
  weights: string;
  batchFrames: string;
  maxLength?: string;
  json?: boolean;
  threads?: string;
  style?: string;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('Frame-level NLL (nats/frame), per-key BCE and frame count of a trained model on a split')
    .requiredOption('--checkpoint <path>', 'a bundled model name (rwkv, lstm), a run folder (uses its best weights) or a model .safetensors file')
    .option('--split <name>', 'test, valid or train', 'test')
    .option('--dataset <name>', "dataset to score (default: the run's dataset)")
    .option('--weights <which>', 'best or latest (run folders only)', 'best')
    .option('--batch-frames <n>', 'frames per evaluation batch', '4096')
    .option('--max-length <n>', 'cut sequences into chunks of at most n frames (default: whole sequences)')
    .option('--threads <n>', 'threads for matrix products')
    .option('--style <file>', 'start every piece from this style (made by `tune` for this model)')
    .option('--json', 'print the result as JSON')
    .action((flags: EvalFlags) => {
      if (flags.split !== 'test' && flags.split !== 'valid' && flags.split !== 'train') {
        throw new UserError(`--split must be test, valid or train, got "${flags.split}"`);
      }
      if (flags.weights !== 'best' && flags.weights !== 'latest') throw new UserError(`--weights must be best or latest, got "${flags.weights}"`);
      if (!existsSync(flags.checkpoint)) {
        const bundled = join(BUNDLED_MODELS_DIR, flags.checkpoint);
        if (!/^[a-z0-9][a-z0-9_-]*$/i.test(flags.checkpoint) || !existsSync(join(bundled, FILES.config))) {
          const names = bundledModelNames();
          throw new UserError(`${flags.checkpoint}: no such run folder, model file or bundled model${names.length ? ` (bundled: ${names.join(', ')})` : ''}`);
        }
        flags.checkpoint = bundled;
      }
      let modelPath = flags.checkpoint;
      let dataset = flags.dataset;
      if (statSync(flags.checkpoint).isDirectory()) {
        const run = readRunConfig(flags.checkpoint);
        modelPath = join(flags.checkpoint, flags.weights === 'best' ? FILES.best : FILES.model);
        if (!existsSync(modelPath)) {
          throw new UserError(`${modelPath} not found${flags.weights === 'best' ? ' (no validation has finished yet; try --weights latest)' : ''}`);
        }
        dataset ??= run.dataset;
      } else if (dataset === undefined) {
        throw new UserError('--dataset is required when --checkpoint is a model file');
      }
      const batchFrames = parseInteger(flags.batchFrames, '--batch-frames', 1);
      const maxLength = flags.maxLength === undefined ? Number.MAX_SAFE_INTEGER : parseInteger(flags.maxLength, '--max-length', 2);
      const threads = flags.threads === undefined ? undefined : parseInteger(flags.threads, '--threads', 1);
      let model = loadModelFile(modelPath, { gemm: gemmFor(threads), kernels: kernelsFor(threads) });
      if (flags.style !== undefined) model = withStyleFile(model, flags.style);
      const ds = loadDataset(dataset);
      const split = flags.split as SplitName;
      const r = evaluateSequences(model, ds[split], { batchFrames, maxLength });
      if (flags.json) {
        console.log(JSON.stringify({ model: modelPath, style: flags.style ?? null, dataset, split, nll: r.nll, bce: r.bce, frames: r.frames, sequences: ds[split].length }));
        return;
      }
      console.log(`${modelPath}${flags.style ? ` with style ${flags.style}` : ''} on ${dataset} ${split} (${ds[split].length} sequences)`);
      console.log(`NLL ${r.nll.toFixed(4)} nats/frame, per-key BCE ${r.bce.toFixed(5)}, over ${r.frames} frames`);
    });
}
