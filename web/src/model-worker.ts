/** The page's side of the generation worker: loads weights (cached), runs one job at a time, can be stopped. */
import type { Frame, FrameTiming } from '../../src/data/pianoroll.js';
import { api, type ModelInfo } from './api.js';
import type { FromWorker, GenerateSettings, HarmonizeSettings, ToWorker } from './protocol.js';

export type Rendered = Extract<FromWorker, { type: 'rendered' }>;
export type Done = Extract<FromWorker, { type: 'done' }>;
type Loaded = Extract<FromWorker, { type: 'loaded' }>;

/** The message a stopped job is rejected with. */
export const STOPPED = 'stopped';

/** One worker running one job at a time (later ones wait); stopping ends it and a fresh one is made on the next request. */
export class ModelWorker {
  private worker: Worker | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private loaded: Loaded | null = null;
  private listener: ((m: FromWorker) => void) | null = null;
  private readonly weights = new Map<string, ArrayBuffer>();
  /** Whether each model loaded so far can harmonize. */
  readonly harmonizes = new Map<string, boolean>();

  get busy(): boolean {
    return this.listener !== null;
  }

  private ensure(): Worker {
    if (!this.worker) {
      this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
      this.worker.onmessage = (e: MessageEvent<FromWorker>) => this.listener?.(e.data);
      this.worker.onerror = (e) => this.listener?.({ type: 'error', message: `worker failed: ${e.message || 'unknown error'}` });
      this.loaded = null;
    }
    return this.worker;
  }

  /** Queues one job; it settles with the job's final answer, and frames on the way go to onFrame. */
  private job<T extends FromWorker>(msg: ToWorker, transfer: Transferable[], accept: (m: FromWorker) => m is T, onFrame?: (index: number, frame: Frame) => void): Promise<T> {
    const run = this.queue.then(() => this.run(msg, transfer, accept, onFrame));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private run<T extends FromWorker>(msg: ToWorker, transfer: Transferable[], accept: (m: FromWorker) => m is T, onFrame?: (index: number, frame: Frame) => void): Promise<T> {
    const worker = this.ensure();
    return new Promise<T>((resolve, reject) => {
      this.listener = (m) => {
        if (m.type === 'frame') onFrame?.(m.index, m.frame);
        else if (m.type === 'error') {
          this.listener = null;
          reject(new Error(m.message));
        } else if (accept(m)) {
          this.listener = null;
          resolve(m);
        }
      };
      worker.postMessage(msg, transfer);
    });
  }

  async load(model: ModelInfo): Promise<Loaded> {
    if (this.loaded?.modelId === model.id && this.worker) return this.loaded;
    let bytes = this.weights.get(model.id);
    if (!bytes) {
      bytes = await api.weights(model.id);
      this.weights.set(model.id, bytes);
    }
    const copy = bytes.slice(0); // the cached bytes stay here; the copy moves to the worker
    const loaded = await this.job({ type: 'load', modelId: model.id, bytes: copy }, [copy], (m): m is Loaded => m.type === 'loaded');
    this.loaded = loaded;
    this.harmonizes.set(model.id, loaded.canHarmonize);
    return loaded;
  }

  generate(settings: GenerateSettings, onFrame: (index: number, frame: Frame) => void): Promise<Done> {
    return this.job({ type: 'generate', settings }, [], (m): m is Done => m.type === 'done', onFrame);
  }

  harmonize(settings: HarmonizeSettings, onFrame: (index: number, frame: Frame) => void): Promise<Done> {
    return this.job({ type: 'harmonize', settings }, [], (m): m is Done => m.type === 'done', onFrame);
  }

  render(frames: Frame[], timing: FrameTiming): Promise<Rendered> {
    return this.job({ type: 'render', frames, timing }, [], (m): m is Rendered => m.type === 'rendered');
  }

  stop(): void {
    const stopped = this.listener;
    this.worker?.terminate();
    this.worker = null;
    this.loaded = null;
    this.listener = null;
    this.queue = Promise.resolve();
    stopped?.({ type: 'error', message: STOPPED });
  }
}
