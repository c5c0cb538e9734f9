/**
 * The studio's JSON API: the shapes `src/studio/server.ts` sends and `web/src/api.ts` reads.
 * Type-only, so the page can import it without pulling in any Node module.
 */
import type { Frame, FrameTiming } from '../data/pianoroll.js';
import type { MetricsRecord } from '../run/metrics.js';

export interface ModelInfo {
  /** Short id used in URLs: [a-z0-9-], at most 64 characters. */
  id: string;
  name: string;
  source: 'bundled' | 'checkpoint';
  /** Size of the model file in bytes. */
  bytes: number;
  parameters: number;
  /** The model config from the file's metadata, or null if the file has none. */
  config: Record<string, unknown> | null;
  card: unknown;
  hasMetrics: boolean;
}

export interface ModelsAnswer {
  models: ModelInfo[];
}

export interface DatasetInfo {
  name: string;
  timing: FrameTiming;
  /** Sequence count of each split. */
  splits: Record<string, number>;
}

export interface DatasetsAnswer {
  datasets: DatasetInfo[];
}

/** `/api/datasets/{name}/{split}/{index}?frames=F`: the first F frames of one sequence. */
export interface SequenceAnswer {
  dataset: string;
  split: string;
  index: number;
  totalFrames: number;
  timing: FrameTiming;
  frames: Frame[];
}

/** A run's metrics.jsonl as typed records (epochs counted from 1). */
export interface MetricsLog {
  records: MetricsRecord[];
  skippedLines: number;
  totalRecords: number;
}

export interface MetricsAnswer extends MetricsLog {
  id: string;
}

export interface CompareModel extends ModelInfo {
  metrics: MetricsLog | null;
}

export interface CompareAnswer {
  models: CompareModel[];
}

export interface ErrorAnswer {
  error: { status: number; message: string };
}
