/**
 * The studio's view of metrics.jsonl files: each file is parsed once per change (size, modification
 * time, inode), read asynchronously and shared by concurrent requests, so a burst of requests costs
 * one parse and never blocks the other routes on a read.
 */
import { readFile, stat } from 'node:fs/promises';
import { MAX_METRICS_BYTES } from '../limits.js';
import { parseMetrics, type MetricsRecord } from '../run/metrics.js';

/** Most metric records sent for one model (longer logs are thinned evenly, keeping the last). */
export const MAX_METRIC_RECORDS = 5000;

export interface MetricsAnswer {
  records: MetricsRecord[];
  skippedLines: number;
  totalRecords: number;
}

/** The log is larger than the studio reads. */
export class MetricsTooLarge extends Error {}

function thin(records: MetricsRecord[]): MetricsRecord[] {
  if (records.length <= MAX_METRIC_RECORDS) return records;
  const thinned: MetricsRecord[] = [];
  const stride = records.length / (MAX_METRIC_RECORDS - 1);
  for (let i = 0; i < MAX_METRIC_RECORDS - 1; i++) thinned.push(records[Math.floor(i * stride)]);
  thinned.push(records[records.length - 1]);
  return thinned;
}

export class MetricsCache {
  private readonly entries = new Map<string, { version: string; answer: Promise<MetricsAnswer> }>();

  async get(file: string): Promise<MetricsAnswer> {
    const st = await stat(file);
    if (!st.isFile()) throw new MetricsTooLarge(`${file} is not a regular file`);
    if (st.size > MAX_METRICS_BYTES) throw new MetricsTooLarge(`metrics log is ${st.size} bytes, more than the ${MAX_METRICS_BYTES} the studio reads`);
    const version = `${st.size}:${st.mtimeMs}:${st.ino}`;
    const cached = this.entries.get(file);
    if (cached && cached.version === version) return cached.answer;
    const answer = readFile(file, 'utf8').then((text) => {
      const { records, skippedLines } = parseMetrics(text);
      return { records: thin(records), skippedLines, totalRecords: records.length };
    });
    this.entries.set(file, { version, answer });
    answer.catch(() => this.entries.delete(file));
    return answer;
  }
}
