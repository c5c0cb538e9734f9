/**
 * Reading and writing a run's metrics.jsonl. The writer keeps the records in memory and rewrites the
 * file atomically on each append (it stays small: one line per epoch plus one per `logEvery` steps),
 * so a crash never leaves a torn line.
 */
import { writeFileAtomic } from '../atomic-write.js';
import { MAX_METRICS_BYTES } from '../limits.js';
import { readRegularFile } from './files.js';
import { formatMetrics, parseMetrics, type MetricsLogContent, type MetricsRecord } from './metrics.js';

/** Reads a metrics.jsonl (an absent file is an empty log). */
export function readMetricsFile(path: string): MetricsLogContent {
  const bytes = readRegularFile(path, MAX_METRICS_BYTES);
  return bytes === null ? { records: [], skippedLines: 0 } : parseMetrics(bytes.toString('utf8'));
}

/** How many records a log has, and the training loss, frames and time since its last step record. */
export interface LogPosition {
  records: number;
  nllSum: number;
  frames: number;
  ms: number;
}

export class MetricsLog {
  private records: MetricsRecord[] = [];
  /** Training loss, frames and step time since the last step record. */
  private sinceStepRecord = { nllSum: 0, frames: 0, ms: 0 };

  private constructor(readonly path: string) {}

  /** A new, empty log (the file is written at the first append). */
  static start(path: string): MetricsLog {
    readRegularFile(path, MAX_METRICS_BYTES); // refuses a folder or device in the way now, not at the first append
    return new MetricsLog(path);
  }

  /**
   * An existing log as a checkpoint left it: its first `position.records` records and the counts since
   * the last step record (later records belong to work a crash lost). Without a position (checkpoints
   * of earlier versions), the records up to the checkpoint's step.
   */
  static resume(path: string, step: number, position?: LogPosition): MetricsLog {
    const log = new MetricsLog(path);
    const records = readMetricsFile(path).records;
    if (position) {
      log.records = records.slice(0, position.records);
      log.sinceStepRecord = { nllSum: position.nllSum, frames: position.frames, ms: position.ms };
    } else log.records = records.filter((r) => r.step <= step);
    return log;
  }

  /** Where the log stands, for a checkpoint. */
  position(): LogPosition {
    return { records: this.records.length, ...this.sinceStepRecord };
  }

  append(record: MetricsRecord): void {
    this.records.push(record);
    writeFileAtomic(this.path, formatMetrics(this.records));
  }

  /** Counts a training step's time, and its loss when it was not skipped. */
  countStep(ms: number, loss: { nllSum: number; frames: number } | null): void {
    this.sinceStepRecord.ms += ms;
    if (loss) {
      this.sinceStepRecord.nllSum += loss.nllSum;
      this.sinceStepRecord.frames += loss.frames;
    }
  }

  /** Every `every` steps: appends a step record with the mean loss and speed since the previous one. */
  stepRecordIfDue(at: { step: number; epoch: number; lr: number; wallSeconds: number }, every: number): void {
    const s = this.sinceStepRecord;
    if (at.step % every !== 0 || s.frames === 0) return;
    this.append({
      type: 'step',
      step: at.step,
      epoch: at.epoch,
      lr: at.lr,
      trainLoss: s.nllSum / s.frames,
      framesPerSec: s.frames / Math.max(1e-9, s.ms / 1000),
      wallSeconds: at.wallSeconds,
    });
    this.sinceStepRecord = { nllSum: 0, frames: 0, ms: 0 };
  }

  list(): readonly MetricsRecord[] {
    return this.records;
  }
}
