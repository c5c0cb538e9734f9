/** The run the crash tests kill and resume: small enough that a whole run takes well under a second. */
import type { RunConfig } from '../../src/train/config.js';
import { syntheticSequences } from './data.js';
import { tinyRunConfig } from './run.js';

export function crashTestConfig(): RunConfig {
  // A checkpoint after every step, an epoch about every 4 steps: many renames to crash in. No time
  // budget: its schedule horizon would depend on the measured speed.
  return tinyRunConfig({ epochs: 100, batchFrames: 400, checkpointMinutes: 1e-9, logEvery: 3 });
}

export function crashTestData() {
  return { train: syntheticSequences(24, 1, 5, 50), valid: syntheticSequences(6, 2, 5, 50) };
}
