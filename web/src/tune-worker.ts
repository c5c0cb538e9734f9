/**
 * The "Make it yours" worker: tunes a model's start state on the user's pieces with the TypeScript
 * kernels (src/tune, the same code as `rwkv-music tune`), then samples a before/after pair with the
 * same seed and renders both to sound. A cancel message stops tuning after the current step.
 */
import { DEFAULT_TIMING, type Frame } from '../../src/data/pianoroll.js';
import { tsGemm } from '../../src/engine/gemm-ts.js';
import { sample } from '../../src/generate/sampler.js';
import { hasStartState, startingFrom, type StartStateModel, type StartTensor } from '../../src/models/start-state.js';
import { modelFromBytes } from '../../src/models/serialize.js';
import { synthesize } from '../../src/render/synth.js';
import { encodeWav } from '../../src/render/wav.js';
import { decodeStyle, encodeStyle } from '../../src/tune/style.js';
import { tuneStart } from '../../src/tune/tune.js';
import type { FromTuneWorker, PairSettings, ToTuneWorker, TuneSettings } from './tune-protocol.js';

interface WorkerScope {
  postMessage(message: FromTuneWorker): void;
  onmessage: ((event: MessageEvent<ToTuneWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;

let model: StartStateModel | null = null;
let modelId = '';
let style: StartTensor[] | null = null;
let cancelled = false;

async function tune(pieces: Frame[][], s: TuneSettings): Promise<void> {
  if (!model) throw new Error('no model is loaded');
  cancelled = false;
  style = null;
  const r = await tuneStart(model, pieces, {
    steps: s.steps, lr: s.lr, seed: s.seed, maxLength: 256, batchFrames: 4096,
    shouldStop: () => cancelled,
    onStep: (step, nll) => scope.postMessage({ type: 'progress', step, steps: s.steps, nll }),
  });
  style = r.start;
  const bytes = encodeStyle(model, r.start, { name: modelId, pieces: String(pieces.length), steps: String(r.steps), seed: String(s.seed) });
  scope.postMessage({ type: 'tuned', steps: r.steps, stopped: r.stopped, seconds: r.seconds, nllBefore: r.nllZero, nllAfter: r.nllFinal, style: bytes });
}

function pair(s: PairSettings): void {
  if (!model || !style) throw new Error('tune a style first');
  const options = { length: s.length, temperature: s.temperature, seed: s.seed, count: 1 };
  const [before] = sample(model, options);
  const [after] = sample(startingFrom(model, style), options);
  const render = (frames: Frame[]) => synthesize({ frames, timing: DEFAULT_TIMING }, { channels: 2 });
  const a = render(before.frames);
  const b = render(after.frames);
  scope.postMessage({
    type: 'pair', before: before.frames, after: after.frames, beforeWav: encodeWav(a), afterWav: encodeWav(b),
    sampleRate: a.sampleRate, beforeAudio: a.channels, afterAudio: b.channels,
  });
}

scope.onmessage = (event) => {
  const msg = event.data;
  const fail = (err: unknown) => scope.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  try {
    if (msg.type === 'load') {
      model = null;
      style = null;
      const loaded = modelFromBytes(new Uint8Array(msg.bytes), `model "${msg.modelId}"`, { gemm: tsGemm });
      if (!hasStartState(loaded)) throw new Error(`model "${msg.modelId}" cannot be state-tuned`);
      model = loaded;
      modelId = msg.modelId;
      scope.postMessage({ type: 'loaded', modelId: msg.modelId });
    } else if (msg.type === 'tune') {
      tune(msg.pieces, msg.settings).catch(fail);
    } else if (msg.type === 'style') {
      if (!model) throw new Error('no model is loaded');
      style = decodeStyle(new Uint8Array(msg.bytes), msg.name, model).start;
      scope.postMessage({ type: 'styled', name: msg.name });
    } else if (msg.type === 'cancel') {
      cancelled = true;
    } else if (msg.type === 'pair') {
      pair(msg.settings);
    }
  } catch (err) {
    fail(err);
  }
};
