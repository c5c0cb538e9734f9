import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { UserError } from '../../errors.js';
import { resolveModel } from '../../run/resolve.js';
import { loadModelFile } from '../../models/io.js';
import { hasStartState } from '../../models/start-state.js';
import { loadTunePieces, styleOutPath, writeStyleFile } from '../../tune/files.js';
import { DEFAULT_TUNE, tuneStart } from '../../tune/tune.js';
import { parseInteger, parsePositive } from '../parse.js';
import { gemmFor, kernelsFor } from './train-shared.js';

interface TuneFlags {
  checkpoint: string;
  data: string;
  out: string;
  pieces?: string;
  steps: string;
  seconds: string;
  lr: string;
  seed: string;
  maxLength: string;
  threads?: string;
  tuneLags?: boolean;
}

export function registerTune(program: Command): void {
  program
    .command('tune')
    .description("Learn a style: the model's start state tuned on a few pieces, every weight frozen; writes a small style file for --style")
    .requiredOption('--checkpoint <model>', 'bundled model name (rwkv, lstm), a run folder or a .safetensors model file')
    .requiredOption('--data <source>', 'a MIDI file, a folder of MIDI files, or a dataset[:split] (default split: train)')
    .requiredOption('--out <file>', 'the style file to write (.safetensors is added when missing)')
    .option('--pieces <n>', 'use only the first n pieces')
    .option('--steps <n>', 'optimizer steps', String(DEFAULT_TUNE.steps))
    .option('--seconds <s>', 'stop after this many seconds (keeps the steps done; the step count then depends on the machine)', '60')
    .option('--lr <x>', 'learning rate', String(DEFAULT_TUNE.lr))
    .option('--seed <n>', 'random seed (picks the pieces of each step when they do not fit one batch)', '1')
    .option('--max-length <n>', 'frames of each piece used, from its start', String(DEFAULT_TUNE.maxLength))
    .option('--threads <n>', 'threads for matrix products and kernels')
    .option('--tune-lags', 'also learn the input-lag history (models with input lags; it memorises a few pieces, see docs/results.md)')
    .action(async (f: TuneFlags) => {
      const steps = parseInteger(f.steps, '--steps', 1);
      const seconds = parsePositive(f.seconds, '--seconds');
      const lr = parsePositive(f.lr, '--lr');
      const seed = parseInteger(f.seed, '--seed', 0);
      if (seed > 0xffffffff) throw new UserError(`--seed must be at most 4294967295, got "${f.seed}"`);
      const maxLength = parseInteger(f.maxLength, '--max-length', 2);
      const limit = f.pieces === undefined ? undefined : parseInteger(f.pieces, '--pieces', 1);
      const threads = f.threads === undefined ? undefined : parseInteger(f.threads, '--threads', 1);
      const checkpoint = resolveModel(f.checkpoint);
      const data = loadTunePieces(f.data);
      const pieces = data.pieces.slice(0, limit ?? data.pieces.length);
      const out = styleOutPath(f.out);
      const model = loadModelFile(checkpoint.file, { gemm: gemmFor(threads), kernels: kernelsFor(threads) });
      if (!hasStartState(model)) throw new UserError(`${checkpoint.file}: this model cannot be state-tuned`);

      console.log(`tuning the start state of ${checkpoint.name} on ${pieces.length} piece${pieces.length === 1 ? '' : 's'} of ${data.label}` +
        ` (${steps} steps at most, ${seconds} s at most; Ctrl-C stops and saves)`);
      let interrupted = false;
      const onSigint = () => {
        if (interrupted) process.exit(130);
        interrupted = true;
        process.stderr.write('\nstopping after this step (Ctrl-C again to quit without saving)\n');
      };
      process.on('SIGINT', onSigint);
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar({ stream: process.stderr, format: 'tune [{bar}] {value}/{total} steps | NLL {nll} | {eta_formatted}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
        : null;
      bar?.start(steps, 0, { nll: '-' });
      let result;
      try {
        result = await tuneStart(model, pieces, {
          steps, seconds, lr, seed, maxLength, batchFrames: DEFAULT_TUNE.batchFrames, lags: f.tuneLags ?? false,
          shouldStop: () => interrupted,
          onStep: (step, nll) => bar?.update(step, { nll: nll.toFixed(3) }),
        });
      } finally {
        bar?.stop();
        process.off('SIGINT', onSigint);
      }
      const bytes = writeStyleFile(out, model, result.start, {
        name: checkpoint.name, data: data.label, pieces: String(pieces.length), steps: String(result.steps),
        seed: String(seed), lr: String(lr), nll_before: result.nllZero.toFixed(4), nll_after: result.nllFinal.toFixed(4),
      });
      const why = interrupted ? ', interrupted' : result.stopped ? ', time limit' : '';
      console.log(`${result.steps} steps in ${result.seconds.toFixed(1)} s${why}: NLL on the tuning pieces ${result.nllZero.toFixed(3)} -> ${result.nllFinal.toFixed(3)} nats/frame`);
      console.log(`wrote ${out} (${(bytes / 1024).toFixed(1)} KB); use it with --style ${out}`);
    });
}
