/**
 * The records of a run's metrics.jsonl, one JSON object per line, and their parser. No Node imports:
 * the page uses these types too.
 *
 * `epoch` is 1-based everywhere: the first epoch is epoch 1, as on the console. A record names the
 * epoch in progress when it was written; a `stop` record written at an epoch boundary names the
 * epoch the run would continue with. Logs written before this convention (no header line) numbered
 * epochs from 0; the parser shifts them.
 */

interface At {
  /** Steps (batches) done when the record was written. */
  step: number;
  /** The epoch (1-based). */
  epoch: number;
}

/** Every `logEvery` steps: the mean training loss and speed since the previous step record. */
export interface StepRecord extends At {
  type: 'step';
  lr: number;
  trainLoss: number;
  framesPerSec: number;
  wallSeconds: number;
}

/** At the end of each epoch: its mean training loss and the validation that followed. */
export interface EpochRecord extends At {
  type: 'epoch';
  lr: number;
  /** null when every step of the epoch was skipped. */
  trainLoss: number | null;
  validNll: number;
  validBce: number;
  validFrames: number;
  framesPerSec: number;
  wallSeconds: number;
  /** The validation NLL is the best so far. */
  best: boolean;
}

/** A step skipped because its loss or gradient was not finite. */
export interface SkipRecord extends At {
  type: 'skip';
  reason: string;
  lr: number;
}

/** The validation run when the time budget ends in the middle of an epoch. */
export interface FinalRecord extends At {
  type: 'final';
  trainLoss: number | null;
  validNll: number;
  validBce: number;
  framesPerSec: number;
  wallSeconds: number;
}

/** The run stopped (reason: epochs, time, steps, interrupted, early-stopping, non-finite, ...). */
export interface StopRecord extends At {
  type: 'stop';
  reason: string;
  wallSeconds?: number;
}

export type MetricsRecord = StepRecord | EpochRecord | SkipRecord | FinalRecord | StopRecord;
export type MetricsRecordType = MetricsRecord['type'];

/** The first line of a log in this format. */
export const METRICS_HEADER = { format: 'rwkv-music-metrics', version: 2 } as const;

/** A parsed log: the records in order, and how many lines could not be read. */
export interface MetricsLogContent {
  records: MetricsRecord[];
  skippedLines: number;
}

const NUMBER_FIELDS: Record<MetricsRecordType, readonly string[]> = {
  step: ['lr', 'trainLoss', 'framesPerSec', 'wallSeconds'],
  epoch: ['lr', 'validNll', 'validBce', 'validFrames', 'framesPerSec', 'wallSeconds'],
  skip: ['lr'],
  final: ['validNll', 'validBce', 'framesPerSec', 'wallSeconds'],
  stop: [],
};

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** One record from a parsed line, or null if it is not a record of a known type with its fields. */
function toRecord(v: unknown, epochShift: number): MetricsRecord | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const r = v as Record<string, unknown>;
  const type = r.type as MetricsRecordType;
  if (!Object.hasOwn(NUMBER_FIELDS, type) || !isNumber(r.step) || !isNumber(r.epoch)) return null;
  if (!NUMBER_FIELDS[type].every((k) => isNumber(r[k]))) return null;
  if ((type === 'epoch' || type === 'final') && r.trainLoss !== null && !isNumber(r.trainLoss)) return null;
  if ((type === 'skip' || type === 'stop') && typeof r.reason !== 'string') return null;
  if (type === 'stop' && r.wallSeconds !== undefined && !isNumber(r.wallSeconds)) return null;
  const out = { ...r, epoch: (r.epoch as number) + epochShift } as MetricsRecord;
  if (out.type === 'epoch') out.best = r.best === true;
  return out;
}

/** Parses the text of a metrics.jsonl. Unreadable lines (a torn last line after a crash) are counted. */
export function parseMetrics(text: string): MetricsLogContent {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const parsed = lines.map((line): unknown => {
    try {
      return JSON.parse(line);
    } catch {
      return undefined;
    }
  });
  const header = parsed[0] as { format?: unknown; version?: unknown } | undefined;
  let epochShift = 1;
  if (header && header.format === METRICS_HEADER.format) {
    // A later format is not misread: nothing of it is.
    if (header.version !== METRICS_HEADER.version) return { records: [], skippedLines: lines.length };
    epochShift = 0;
    parsed.shift();
  }
  const records: MetricsRecord[] = [];
  let skippedLines = 0;
  for (const v of parsed) {
    const rec = toRecord(v, epochShift);
    if (rec) records.push(rec);
    else skippedLines++;
  }
  return { records, skippedLines };
}

/** The text of a log holding these records (header first). */
export function formatMetrics(records: readonly MetricsRecord[]): string {
  return [METRICS_HEADER, ...records].map((r) => JSON.stringify(r)).join('\n') + '\n';
}
