/**
 * Default model and training settings per model kind and dataset. Starting points, to be tuned by
 * validation loss; any field can be overridden by a --config JSON file and by command-line flags.
 */
import type { ModelConfig, ModelKind } from '../models/model.js';
import type { TrainingConfig } from './config.js';

/**
 * Earlier frames the RWKV embedding reads besides the current one: every step within a bar, then one,
 * two, four and eight bars back for bars of 6 or 8 frames (Nottingham's grid is two frames per quarter
 * note). RWKV-4 alone only sees one exact step back (docs/models.md, "Input lags"); with these its
 * Nottingham validation NLL went from 3.50 to 3.38 (docs/results.md). The LSTM got worse with them,
 * and so did RWKV on the JSB chorales (one frame per quarter note, 229 pieces: 8.94 against 8.23), so
 * they are a Nottingham default only.
 */
export const RWKV_INPUT_LAGS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64];

/**
 * Hidden width of the key-chain output head both models get by default: on Nottingham it took the
 * validation NLL from 3.18 (LSTM) and 3.20 (RWKV) with independent keys to below 2.5 (docs/results.md).
 */
export const KEY_CHAIN_HIDDEN = 256;

export function defaultModelConfig(kind: ModelKind, dataset: string): ModelConfig {
  switch (kind) {
    case 'rwkv': {
      // In a fixed time smaller trained better: on Nottingham in 30 minutes, 2 layers with ffn 512 and
      // dropout 0.3 reached 1.779 validation NLL, 3 layers 1.802, 4 layers with ffn 1024 about 1.85
      // (docs/results.md); the bigger models over-fitted and took longer per epoch.
      const config: ModelConfig = { kind: 'rwkv', nLayer: 2, nEmbd: 256, ffn: 512, dropout: 0.3, keyChain: KEY_CHAIN_HIDDEN };
      if (dataset === 'nottingham') config.inputLags = [...RWKV_INPUT_LAGS];
      return config;
    }
    case 'rwkv6': {
      // RWKV-4's default size and dropout, heads of 32 channels and a decay projection of width 32
      const config: ModelConfig = { kind: 'rwkv6', nLayer: 2, nEmbd: 256, ffn: 512, headSize: 32, decayLora: 32, dropout: 0.3, keyChain: KEY_CHAIN_HIDDEN };
      if (dataset === 'nottingham') config.inputLags = [...RWKV_INPUT_LAGS];
      return config;
    }
    case 'lstm':
      // dropout 0.5 beat 0.4 and 0.3 on Nottingham's validation split (3.178, 3.181, 3.202; docs/results.md)
      return { kind: 'lstm', layers: 2, hidden: 256, embed: 256, dropout: 0.5, keyChain: KEY_CHAIN_HIDDEN };
  }
}

/**
 * AdamW's decoupled weight decay on the matrices. On Nottingham with transposition, 60 minutes, 0.1
 * instead of 0.01 took RWKV's best validation NLL from 1.6708 to 1.6100 (and its training loss there
 * from 1.33 to 1.29) and the LSTM's from 1.6551 to 1.6033; on Piano-midi.de it helped both as well
 * (docs/results.md).
 */
export const WEIGHT_DECAY = 0.1;

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
  // at 1e-3; RWKV trained stably at 1.5e-3 with warmup and cosine decay (RWKV-6 starts from RWKV-4's rate).
  const lr = kind === 'lstm' ? 3e-3 : 1.5e-3;
  return {
    epochs: d.epochs,
    minutes: null,
    batchFrames: d.batchFrames,
    maxLength: d.maxLength,
    evalMaxLength: null,
    // Both models over-fit the 694 tunes within minutes: random transposition keeps them learning
    // (docs/results.md). With the key-chain head the LSTM went from 2.080 (none) to 1.862 (±1) and
    // 1.723 (±3) validation NLL, RWKV from 2.088 (±1) to 1.908 (±2) and 1.822 (±3).
    transpose: 3,
    randomPhase: true,
    schedule: { kind: 'cosine', lr, minLr: lr / 10, warmupSteps: d.warmupSteps, totalSteps: 0 },
    optimizer: { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: WEIGHT_DECAY },
    initHeadBias: true,
    clip: 1.0,
    patience: null,
    logEvery: 10,
    checkpointMinutes: 5,
    maxNonFinite: 5,
  };
}
