/**
 * Default model and training settings per model kind and dataset. Starting points, to be tuned by
 * validation loss; any field can be overridden by a --config JSON file and by command-line flags.
 */
import type { ModelConfig, ModelKind } from '../models/model.js';
import type { TrainingConfig } from './config.js';

export function defaultModelConfig(kind: ModelKind): ModelConfig {
  switch (kind) {
    case 'rwkv':
      return { kind: 'rwkv', nLayer: 4, nEmbd: 256, ffn: 1024, dropout: 0.2 };
    case 'lstm':
      return { kind: 'lstm', layers: 2, hidden: 256, embed: 256, dropout: 0.3 };
  }
}

/** Per-dataset batching and length of training (bundled datasets; anything else gets the generic one). */
function datasetDefaults(dataset: string): Pick<TrainingConfig, 'epochs' | 'batchFrames' | 'maxLength'> & { warmupSteps: number } {
  switch (dataset) {
    case 'jsb-chorales':
      // 229 short chorales (~14k frames): small batches so an epoch still has several steps.
      return { epochs: 200, batchFrames: 2048, maxLength: 256, warmupSteps: 50 };
    case 'nottingham':
      // 694 tunes, ~177k frames, median length 255: ~90 batches of 2,048 frames per epoch. Smaller
      // batches learned faster per second than 4,096-frame ones in short runs (docs/results.md).
      return { epochs: 40, batchFrames: 2048, maxLength: 512, warmupSteps: 100 };
    default:
      return { epochs: 40, batchFrames: 4096, maxLength: 512, warmupSteps: 100 };
  }
}

export function defaultTrainingConfig(kind: ModelKind, dataset: string): TrainingConfig {
  const d = datasetDefaults(dataset);
  // Peak rates from short Nottingham runs (docs/results.md): the LSTM learned faster at 3e-3 than
  // at 1e-3; RWKV trained stably at 1.5e-3 with warmup and cosine decay.
  const lr = kind === 'rwkv' ? 1.5e-3 : 3e-3;
  return {
    epochs: d.epochs,
    minutes: null,
    batchFrames: d.batchFrames,
    maxLength: d.maxLength,
    evalMaxLength: null,
    transpose: 0,
    randomPhase: true,
    schedule: { kind: 'cosine', lr, minLr: lr / 10, warmupSteps: d.warmupSteps, totalSteps: 0 },
    optimizer: { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 },
    initHeadBias: true,
    clip: 1.0,
    patience: null,
    logEvery: 10,
    checkpointMinutes: 5,
    maxNonFinite: 5,
  };
}
