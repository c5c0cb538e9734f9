import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RunSummary {
  trainCurve: { epoch: number; nll: number }[];
  validCurve: { epoch: number; nll: number }[];
  /** Training wall time and throughput at the last record. */
  wallSeconds?: number;
  framesPerSecond?: number;
  bestValidNll?: number;
}

/**
 * Reads a run's metrics.jsonl (one JSON object per line, as the training loop writes it) into
 * per-epoch curves. Epoch records carry the mean training loss of the epoch and the validation NLL
 * measured after it; epochs are numbered from 1 here.
 */
export function readRunSummary(runDir: string): RunSummary {
  const path = join(runDir, 'metrics.jsonl');
  const summary: RunSummary = { trainCurve: [], validCurve: [] };
  if (!existsSync(path)) return summary;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const num = (k: string) => (typeof rec[k] === 'number' && Number.isFinite(rec[k]) ? (rec[k] as number) : undefined);
    if (typeof num('wallSeconds') === 'number') summary.wallSeconds = num('wallSeconds');
    if (typeof num('framesPerSec') === 'number') summary.framesPerSecond = num('framesPerSec');
    const valid = num('validNll');
    if (valid !== undefined) summary.bestValidNll = Math.min(summary.bestValidNll ?? Infinity, valid);
    if (rec.type !== 'epoch') continue;
    const epoch = (num('epoch') ?? 0) + 1;
    const train = num('trainLoss');
    if (train !== undefined) summary.trainCurve.push({ epoch, nll: train });
    if (valid !== undefined) summary.validCurve.push({ epoch, nll: valid });
  }
  return summary;
}
