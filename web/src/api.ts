/** The studio server's JSON API, as the page uses it. Errors carry the server's message. */
import type { Frame, FrameTiming } from '../../src/data/pianoroll.js';
import type { MetricsRecord } from '../../src/run/metrics.js';

export interface ModelInfo {
  id: string;
  name: string;
  source: 'bundled' | 'checkpoint';
  bytes: number;
  parameters: number;
  config: Record<string, unknown> | null;
  card: unknown;
  hasMetrics: boolean;
}

export interface DatasetInfo {
  name: string;
  timing: FrameTiming;
  splits: Record<string, number>;
}

export interface PrimerAnswer {
  dataset: string;
  split: string;
  index: number;
  totalFrames: number;
  timing: FrameTiming;
  frames: Frame[];
}

export interface CompareModel extends ModelInfo {
  /** The model's metrics.jsonl as typed records (epochs counted from 1), or null. */
  metrics: { records: MetricsRecord[]; skippedLines: number; totalRecords: number } | null;
}

async function request(path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { Accept: 'application/json' } });
  } catch {
    throw new Error('the studio server does not answer; is `rwkv-music studio` still running?');
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: { message?: string } };
      if (body.error?.message) message = body.error.message;
    } catch {
      // keep the status line
    }
    throw new Error(message);
  }
  return res;
}

async function json<T>(path: string): Promise<T> {
  return (await request(path)).json() as Promise<T>;
}

export const api = {
  models: () => json<{ models: ModelInfo[] }>('/api/models').then((r) => r.models),
  weights: (id: string) => request(`/api/models/${encodeURIComponent(id)}/weights`).then((r) => r.arrayBuffer()),
  datasets: () => json<{ datasets: DatasetInfo[] }>('/api/datasets').then((r) => r.datasets),
  primer: (dataset: string, split: string, index: number, frames: number) =>
    json<PrimerAnswer>(`/api/datasets/${encodeURIComponent(dataset)}/${encodeURIComponent(split)}/${index}?frames=${frames}`),
  compare: () => json<{ models: CompareModel[] }>('/api/compare').then((r) => r.models),
};
