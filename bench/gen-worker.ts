/**
 * Browser side of bench/gen-speed.ts: a module Web Worker that loads a model from its file bytes the
 * way the studio's worker does (TypeScript GEMM and kernels) and times it with bench/gen-harness.ts.
 * Loaded straight from the compiled dist/ tree by bench/browser-gen.ts.
 */
import { tsGemm } from '../src/engine/gemm-ts.js';
import { modelFromBytes } from '../src/models/serialize.js';
import { timeGeneration, type GenCase, type GenTiming } from './gen-harness.js';

export interface GenRequest {
  name: string;
  bytes: ArrayBuffer;
  cases: GenCase[];
  runs: number;
}

export type GenReply = { ok: true; name: string; loadSeconds: number; timings: GenTiming[] } | { ok: false; message: string };

interface WorkerScope {
  postMessage(message: GenReply): void;
  onmessage: ((event: MessageEvent<GenRequest>) => void) | null;
}
const scope = self as unknown as WorkerScope;

scope.onmessage = (event) => {
  const { name, bytes, cases, runs } = event.data;
  try {
    const t0 = performance.now();
    const model = modelFromBytes(new Uint8Array(bytes), name, { gemm: tsGemm });
    const loadSeconds = (performance.now() - t0) / 1000;
    const timings = cases.map((c) => timeGeneration(model, c, runs));
    scope.postMessage({ ok: true, name, loadSeconds, timings });
  } catch (e) {
    scope.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
  }
};
