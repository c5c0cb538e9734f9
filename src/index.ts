/**
 * The public API for Node (`import ... from 'rwkv-music'`): everything in src/browser.ts, plus model
 * and MIDI files, the bundled datasets and models, PNG pictures, evaluation and training. Re-exports
 * of the modules that own each job, and two short functions that chain them as the CLI does
 * (loadModel, trainModel); the modules behind them may change, these names and types stay.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from './data/dataset.js';
import { UserError } from './errors.js';
import type { ModelKind, SequenceModel } from './models/model.js';
import { defaultGemm } from './engine/gemm-default.js';
import type { Gemm } from './engine/gemm.js';
import { defaultKernels } from './engine/kernels-default.js';
import type { Kernels } from './engine/kernels.js';
import { createModel } from './models/index.js';
import { loadModelFile } from './models/io.js';
import { resolveModel } from './run/resolve.js';
import { RUN_FILES } from './run/files.js';
import { openTrainingData } from './train/feed.js';
import { train, type TrainResult } from './train/loop.js';
import type { Progress } from './train/progress.js';
import { buildRunConfig, type ConfigFile } from './train/setup.js';
import { packageVersion } from './cli/commands/train-shared.js';

export * from './browser.js';
export { defaultGemm } from './engine/gemm-default.js';
export { defaultKernels } from './engine/kernels-default.js';
export { loadModelFile, saveModelFile } from './models/io.js';
export { bundledModelNames } from './run/resolve.js';
export { readMidiFile } from './midi/read-file.js';
export { svgToPng } from './render/png.js';
export { BUNDLED_DATASETS, loadDataset, type Dataset, type SplitName } from './data/dataset.js';
export { evaluateSequences, type EvalResult } from './train/evaluate.js';
export { train, type TrainOptions, type TrainResult, type StopReason } from './train/loop.js';
export { buildRunConfig, readConfigFile, type ConfigFile } from './train/setup.js';
export type { RunConfig, TrainingConfig } from './train/config.js';
export type { Progress } from './train/progress.js';

/**
 * Loads a model by the names the CLI's --checkpoint takes: a bundled model ("rwkv", "lstm", ...),
 * a run folder, or a .safetensors file. Computes with Node's fastest backends unless told otherwise.
 */
export function loadModel(nameOrPath: string, options: { gemm?: Gemm; kernels?: Kernels } = {}): SequenceModel {
  return loadModelFile(resolveModel(nameOrPath).file, options);
}

export interface TrainModelOptions {
  kind: ModelKind;
  /** A bundled dataset name, a .json.gz dataset file or a folder of MIDI files. */
  dataset: string;
  /** The run folder to create (it must not hold a run yet). */
  runDir: string;
  /** Overrides of the defaults for this model kind and dataset, as in a --config file. */
  settings?: ConfigFile;
  seed?: number;
  progress?: Progress;
  /** Where progress lines go (default: stderr). */
  log?: (line: string) => void;
}

/** Trains a new model as `rwkv-music train` does, on Node's fastest backends; the best weights end in runDir/best.safetensors. */
export async function trainModel(o: TrainModelOptions): Promise<TrainResult> {
  if (existsSync(join(o.runDir, RUN_FILES.config))) throw new UserError(`${o.runDir} already holds a run; choose another folder`);
  const config = buildRunConfig(o.kind, o.dataset, o.seed ?? 1, o.settings ?? null, {}, packageVersion());
  const data = openTrainingData(config.dataset);
  const gemm = defaultGemm();
  const kernels = defaultKernels();
  return train({
    runDir: o.runDir,
    config,
    resume: false,
    data,
    buildModel: (model, seed) => createModel(model, { seed, gemm, kernels }),
    kernels,
    progress: o.progress,
    log: o.log,
  });
}
