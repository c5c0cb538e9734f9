import type { Command } from 'commander';
import { join } from 'node:path';
import { openTrainingData } from '../../train/feed.js';
import { UserError } from '../../errors.js';
import { resolveModel } from '../../run/resolve.js';
import { loadModelFile } from '../../models/io.js';
import { isModelKind, type SequenceModel } from '../../models/model.js';
import { warmStart } from '../../train/warm-start.js';
import { makeOutputFolder } from '../../output-paths.js';
import { listCheckpoints } from '../../run/checkpoints.js';
import { isRunFolder, readRunConfig } from '../../run/config.js';
import { train } from '../../train/loop.js';
import { terminalProgress } from '../../train/progress.js';
import { buildRunConfig, datasetLabel, readConfigFile, type FlagOverrides } from '../../train/setup.js';
import { parseInteger, parsePositive } from '../parse.js';
import { describeKernels, gemmFor, kernelsFor, modelBuilder, packageVersion, parseThreads } from './train-shared.js';

interface TrainFlags {
  model?: string;
  dataset?: string;
  config?: string;
  epochs?: string;
  minutes?: string;
  lr?: string;
  batchFrames?: string;
  maxLength?: string;
  transpose?: string;
  patience?: string;
  emaDecay?: string;
  schedule?: string;
  seed: string;
  out?: string;
  resume?: string;
  threads?: string;
  initFrom?: string;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('Train a model; checkpoints, metrics and the best weights go to a run folder')
    .option('--model <kind>', 'rwkv (RWKV-4), rwkv6 (RWKV-6 time mixing) or lstm')
    .option('--dataset <name>', 'nottingham, jsb-chorales, musedata, piano-midi-de, a .json.gz dataset file or a folder of MIDI files')
    .option('--config <file>', 'JSON with "model" and/or "training" settings overriding the defaults')
    .option('--epochs <n>', 'stop after this many epochs')
    .option('--minutes <m>', 'stop after this many minutes (validates and checkpoints first)')
    .option('--lr <x>', 'peak learning rate')
    .option('--batch-frames <n>', 'frames per batch (B x T upper bound)')
    .option('--max-length <n>', 'longest training chunk in frames; longer sequences are cut')
    .option('--transpose <k>', 'random transposition by up to k semitones (0 = off)')
    .option('--patience <n>', 'stop after n epochs without validation improvement')
    .option('--ema-decay <d>', 'validate and keep a moving average of the weights with this decay per step (e.g. 0.999)')
    .option('--schedule <kind>', 'cosine (warmup + cosine decay), triangular (per epoch) or constant')
    .option('--seed <n>', 'seed for weights, batching and dropout', '1')
    .option('--out <dir>', 'run folder (default runs/<model>-<dataset>-<time>)')
    .option('--resume <dir>', 'continue the run in this folder exactly where it stopped')
    .option('--threads <n>', 'threads for matrix products and the native kernels')
    .option('--init-from <model>', 'start from the weights of a bundled model, run folder or .safetensors file (fine-tuning)')
    .action(async (flags: TrainFlags) => {
      const threads = parseThreads(flags.threads);
      const stopEpochs = flags.epochs === undefined ? undefined : parseInteger(flags.epochs, '--epochs', 1);
      const stopMinutes = flags.minutes === undefined ? undefined : parsePositive(flags.minutes, '--minutes');

      let runDir: string;
      let config;
      if (flags.resume !== undefined) {
        const fixed = ['model', 'dataset', 'config', 'lr', 'batchFrames', 'maxLength', 'transpose', 'patience', 'emaDecay', 'schedule', 'out', 'initFrom'] as const;
        const given = fixed.filter((k) => flags[k] !== undefined);
        if (given.length > 0) {
          throw new UserError(`--resume continues a run with its saved settings; drop ${given.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')} (only --epochs, --minutes and --threads can change)`);
        }
        runDir = flags.resume;
        config = readRunConfig(runDir);
      } else {
        if (!isModelKind(flags.model)) throw new UserError(`--model must be rwkv, rwkv6 or lstm${flags.model ? `, got "${flags.model}"` : ''}`);
        if (!flags.dataset) throw new UserError('--dataset is required (nottingham, jsb-chorales, musedata, piano-midi-de, a .json.gz file or a MIDI folder)');
        const overrides: FlagOverrides = {
          epochs: stopEpochs,
          minutes: stopMinutes,
          lr: flags.lr === undefined ? undefined : parsePositive(flags.lr, '--lr'),
          batchFrames: flags.batchFrames === undefined ? undefined : parseInteger(flags.batchFrames, '--batch-frames', 1),
          maxLength: flags.maxLength === undefined ? undefined : parseInteger(flags.maxLength, '--max-length', 2),
          transpose: flags.transpose === undefined ? undefined : parseInteger(flags.transpose, '--transpose', 0),
          patience: flags.patience === undefined ? undefined : parseInteger(flags.patience, '--patience', 1),
          emaDecay: flags.emaDecay === undefined ? undefined : parsePositive(flags.emaDecay, '--ema-decay'),
        };
        if (flags.schedule !== undefined) {
          if (flags.schedule !== 'cosine' && flags.schedule !== 'triangular' && flags.schedule !== 'constant') {
            throw new UserError(`--schedule must be cosine, triangular or constant, got "${flags.schedule}"`);
          }
          overrides.schedule = flags.schedule;
        }
        const seed = parseInteger(flags.seed, '--seed', 0, 0xffffffff);
        const file = flags.config !== undefined ? readConfigFile(flags.config) : null;
        config = buildRunConfig(flags.model, flags.dataset, seed, file, overrides, packageVersion());
        runDir = flags.out ?? join('runs', `${flags.model}-${datasetLabel(flags.dataset)}-${timestamp()}`);
        makeOutputFolder(runDir);
        if (listCheckpoints(runDir).length > 0) {
          throw new UserError(`${runDir} already holds a run; use --resume ${runDir} to continue it or choose another --out`);
        }
        if (isRunFolder(runDir)) console.error(`${runDir} holds a run that stopped before its first checkpoint; starting a new one in its place`);
      }

      const data = openTrainingData(config.dataset);
      const gemm = gemmFor(threads);
      const kernels = kernelsFor(threads);
      const buildModel = modelBuilder(threads, gemm, kernels);
      const initFrom = flags.initFrom === undefined ? null : resolveModel(flags.initFrom);
      const prepareModel = initFrom
        ? (model: SequenceModel) => {
          for (const line of warmStart(model, loadModelFile(initFrom.file), initFrom.name)) console.error(line);
        }
        : undefined;
      console.error(`training ${config.model.kind} on ${config.dataset} -> ${runDir} (matrix products: ${gemm.name}; kernels: ${describeKernels(kernels)})`);
      const result = await train({
        runDir,
        config,
        resume: flags.resume !== undefined,
        data,
        buildModel,
        kernels,
        stop: flags.resume !== undefined ? { epochs: stopEpochs, minutes: stopMinutes } : undefined,
        progress: terminalProgress(),
        handleSignals: true,
        prepareModel,
      });
      const best = result.bestValid === null ? 'none yet (no validation finished)' : `${result.bestValid.toFixed(4)} nats/frame`;
      const where = result.batchInEpoch > 0 ? `during epoch ${result.epoch + 1} (batch ${result.batchInEpoch})` : `after epoch ${result.epoch}`;
      console.log(`${runDir}: stopped (${result.stopped}) ${where}, step ${result.step}, ` +
        `${(result.elapsedMs / 60_000).toFixed(1)} min; best valid NLL ${best}`);
      console.log(`evaluate: rwkv-music eval --checkpoint ${runDir} --split test`);
    });
}
