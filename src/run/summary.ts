import { join } from 'node:path';
import { RUN_FILES } from './files.js';
import { readMetricsFile } from './metrics-log.js';

export interface RunSummary {
  /** Per epoch (1-based): the mean training loss, and the validation NLL after it. */
  trainCurve: { epoch: number; nll: number }[];
  validCurve: { epoch: number; nll: number }[];
  /** Training wall time and throughput at the last record that has them. */
  wallSeconds?: number;
  framesPerSecond?: number;
  bestValidNll?: number;
}

/** A run's (or bundled model's) metrics.jsonl as per-epoch curves; an absent log gives empty curves. */
export function readRunSummary(runDir: string): RunSummary {
  const summary: RunSummary = { trainCurve: [], validCurve: [] };
  for (const rec of readMetricsFile(join(runDir, RUN_FILES.metrics)).records) {
    if ('wallSeconds' in rec && rec.wallSeconds !== undefined) summary.wallSeconds = rec.wallSeconds;
    if ('framesPerSec' in rec) summary.framesPerSecond = rec.framesPerSec;
    if ('validNll' in rec) summary.bestValidNll = Math.min(summary.bestValidNll ?? Infinity, rec.validNll);
    if (rec.type !== 'epoch') continue;
    if (rec.trainLoss !== null) summary.trainCurve.push({ epoch: rec.epoch, nll: rec.trainLoss });
    summary.validCurve.push({ epoch: rec.epoch, nll: rec.validNll });
  }
  return summary;
}
