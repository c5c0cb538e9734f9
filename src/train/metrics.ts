/**
 * The run's metrics log, metrics.jsonl: one JSON object per line. Kept in memory and rewritten
 * atomically on each append (it stays small: one line per epoch plus one per `logEvery` steps).
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-write.js';

export interface MetricsRecord {
  type: 'step' | 'epoch' | 'skip' | 'stop' | 'final';
  step: number;
  epoch: number;
  [key: string]: unknown;
}

export class MetricsLog {
  private lines: string[] = [];

  constructor(readonly path: string) {}

  /** Loads an existing log, keeping only records up to `maxStep` (later ones belong to lost work). */
  static resume(path: string, maxStep: number): MetricsLog {
    const log = new MetricsLog(path);
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        try {
          const rec = JSON.parse(line) as MetricsRecord;
          if (typeof rec.step === 'number' && rec.step <= maxStep) log.lines.push(line);
        } catch {
          // A torn last line from a hard kill: drop it.
        }
      }
    }
    return log;
  }

  append(record: MetricsRecord): void {
    this.lines.push(JSON.stringify(record));
    writeFileAtomic(this.path, this.lines.join('\n') + '\n');
  }

  records(): MetricsRecord[] {
    return this.lines.map((l) => JSON.parse(l) as MetricsRecord);
  }
}
