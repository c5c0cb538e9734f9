import type { Command } from 'commander';
import { loadDataset, type SplitName } from '../../data/dataset.js';
import { UserError } from '../../errors.js';
import { loadModelFile } from '../../models/io.js';
import { isRunFolder, readRunConfig } from '../../run/config.js';
import { resolveModel } from '../../run/resolve.js';
import { evaluateFirstFrames, evaluateGivenMelody, evaluateSequences } from '../../train/evaluate.js';
import { parseInteger } from '../parse.js';
import { gemmFor, kernelsFor, parseThreads } from './train-shared.js';
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
  givenMelody?: boolean;
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
    .option('--given-melody', 'also split the NLL into the top voice and the accompaniment given it (models whose key chain runs downwards)')
    .option('--style <file>', 'start every piece from this style (made by `tune` for this model)')
    .option('--json', 'print the result as JSON')
    .action((flags: EvalFlags) => {
      if (flags.split !== 'test' && flags.split !== 'valid' && flags.split !== 'train') {
        throw new UserError(`--split must be test, valid or train, got "${flags.split}"`);
      }
      if (flags.weights !== 'best' && flags.weights !== 'latest') throw new UserError(`--weights must be best or latest, got "${flags.weights}"`);
      const resolved = resolveModel(flags.checkpoint, { weights: flags.weights });
      const modelPath = resolved.file;
      let dataset = flags.dataset;
      if (resolved.runDir !== null && isRunFolder(resolved.runDir)) dataset ??= readRunConfig(resolved.runDir).dataset;
      if (dataset === undefined) throw new UserError('--dataset is required when --checkpoint is a model file');
      const batchFrames = parseInteger(flags.batchFrames, '--batch-frames', 1);
      const maxLength = flags.maxLength === undefined ? Number.MAX_SAFE_INTEGER : parseInteger(flags.maxLength, '--max-length', 2);
      const threads = parseThreads(flags.threads);
      const ds = loadDataset(dataset);
      const split = flags.split as SplitName;
      if (!ds[split].some((s) => s.length >= 2)) {
        throw new UserError(`${dataset} ${split}: no frame to score (every sequence of the split is shorter than 2 frames)`);
      }
      let model = loadModelFile(modelPath, { gemm: gemmFor(threads), kernels: kernelsFor(threads) });
      if (flags.style !== undefined) model = withStyleFile(model, flags.style);
      if (flags.givenMelody && model.config.keyChainOrder !== 'down') {
        throw new UserError(`--given-melody needs a model whose key chain runs from the highest key down; ${flags.checkpoint}'s runs upwards`);
      }
      const r = evaluateSequences(model, ds[split], { batchFrames, maxLength });
      const first = model.config.condition?.start ? evaluateFirstFrames(model, ds[split], { batchFrames, maxLength }) : null;
      const given = flags.givenMelody ? evaluateGivenMelody(model, ds[split], { batchFrames, maxLength }) : null;
      if (flags.json) {
        console.log(JSON.stringify({
          model: modelPath, style: flags.style ?? null, dataset, split, nll: r.nll, bce: r.bce, frames: r.frames, sequences: ds[split].length,
          ...(first ? { firstFrameNll: first.nll } : {}),
          ...(given ? { melodyNll: given.melody, accompanimentNll: given.accompaniment } : {}),
        }));
        return;
      }
      console.log(`${modelPath}${flags.style ? ` with style ${flags.style}` : ''} on ${dataset} ${split} (${ds[split].length} sequences)`);
      console.log(`NLL ${r.nll.toFixed(4)} nats/frame, per-key BCE ${r.bce.toFixed(5)}, over ${r.frames} frames`);
      if (first) console.log(`first frames (not in the NLL above): ${first.nll.toFixed(4)} nats/frame over ${first.frames} sequences`);
      if (given) console.log(`top voice ${given.melody.toFixed(4)} + accompaniment given the top voice ${given.accompaniment.toFixed(4)} nats/frame`);
    });
}
