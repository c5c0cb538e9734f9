/** Helpers for training-loop tests: a small run configuration and a temporary run folder. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { listCheckpoints } from '../../src/run/checkpoints.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunConfig, TrainingConfig } from '../../src/train/config.js';
import { RUN_FORMAT_VERSION } from '../../src/train/config.js';
import type { ModelConfig } from '../../src/models/model.js';
import { TINY_CONFIG } from './tiny-model.js';

export function tempRunDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'rwkv-music-train-')), 'run');
}

export function tinyRunConfig(training: Partial<TrainingConfig> = {}, model: ModelConfig = TINY_CONFIG): RunConfig {
  return {
    format: 'rwkv-music-run',
    version: RUN_FORMAT_VERSION,
    package: 'test',
    model,
    dataset: 'synthetic',
    seed: 5,
    training: {
      epochs: 3,
      minutes: null,
      batchFrames: 200,
      maxLength: 30,
      evalMaxLength: null,
      transpose: 2,
      randomPhase: true,
      schedule: { kind: 'cosine', lr: 0.05, minLr: 0.005, warmupSteps: 3, totalSteps: 0 },
      optimizer: { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 },
      initHeadBias: false,
      clip: 1,
      patience: null,
      logEvery: 2,
      checkpointMinutes: 60,
      maxNonFinite: 5,
      ...training,
    },
  };
}

/** The newest complete checkpoint folder of a run. */
export function latestCheckpoint(runDir: string): string {
  const dir = listCheckpoints(runDir)[0];
  if (!dir) throw new Error(`${runDir} has no checkpoint`);
  return dir;
}

/** The state.json of a run's newest checkpoint. */
export function latestState(runDir: string): Record<string, any> {
  return JSON.parse(readFileSync(join(latestCheckpoint(runDir), 'state.json'), 'utf8'));
}
