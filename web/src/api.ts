/** The studio server's JSON API, as the page uses it (shapes shared with the server). Errors carry the server's message. */
import type { CompareAnswer, DatasetsAnswer, ErrorAnswer, ModelsAnswer, SequenceAnswer } from '../../src/studio/api-types.js';

export type { CompareModel, DatasetInfo, ModelInfo, SequenceAnswer } from '../../src/studio/api-types.js';

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
      const body = (await res.json()) as Partial<ErrorAnswer>;
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
  models: () => json<ModelsAnswer>('/api/models').then((r) => r.models),
  weights: (id: string) => request(`/api/models/${encodeURIComponent(id)}/weights`).then((r) => r.arrayBuffer()),
  datasets: () => json<DatasetsAnswer>('/api/datasets').then((r) => r.datasets),
  sequence: (dataset: string, split: string, index: number, frames: number) =>
    json<SequenceAnswer>(`/api/datasets/${encodeURIComponent(dataset)}/${encodeURIComponent(split)}/${index}?frames=${frames}`),
  compare: () => json<CompareAnswer>('/api/compare').then((r) => r.models),
};
