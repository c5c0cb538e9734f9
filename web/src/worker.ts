/**
 * Runs a model in RNN mode off the page's main thread. The toolkit's own sampler draws the frames (so
 * the page gives exactly what `rwkv-music generate` gives for the same model, seed and settings);
 * each frame is posted as soon as the sampler feeds it back into the model, the last one when it returns.
 * It also renders sound with the toolkit's synthesiser, so the WAV download matches `rwkv-music`'s.
 */
import { KEY_COUNT, LOWEST_NOTE, type Frame } from '../../src/data/pianoroll.js';
import { tsGemm } from '../../src/engine/gemm-ts.js';
import { sample } from '../../src/generate/sampler.js';
import type { SequenceModel } from '../../src/models/model.js';
import { modelFromBytes } from '../../src/models/serialize.js';
import { synthesize } from '../../src/render/synth.js';
import { encodeWav } from '../../src/render/wav.js';
import type { FromWorker, GenerateSettings, ToWorker } from './protocol.js';

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;

let model: SequenceModel | null = null;

/** The same model, reporting every input frame it is given (stream 0 of the batch) before stepping. */
function tap(inner: SequenceModel, onInput: (step: number, frame: Frame) => void): SequenceModel {
  let step = 0;
  return {
    config: inner.config,
    inputSize: inner.inputSize,
    parameters: () => inner.parameters(),
    trainStep: (batch, scale, rng) => inner.trainStep(batch, scale, rng),
    evaluate: (batch) => inner.evaluate(batch),
    logits: (batch) => inner.logits(batch),
    initialState: (batch) => inner.initialState(batch),
    drawFrame: inner.drawFrame,
    step: (state, frames) => {
      const frame: Frame = [];
      for (let k = 0; k < KEY_COUNT; k++) if (frames[k] !== 0) frame.push(k + LOWEST_NOTE);
      onInput(step++, frame);
      return inner.step(state, frames);
    },
  };
}

function generate(m: SequenceModel, s: GenerateSettings): void {
  const started = performance.now();
  // The sampler feeds the primer (or one silent start frame), then each generated frame but the last.
  const opening = Math.max(1, s.primer.length);
  const streamed: Frame[] = [];
  const tapped = tap(m, (step, frame) => {
    if (step < opening) return;
    streamed.push(frame);
    scope.postMessage({ type: 'frame', index: s.primer.length + step - opening, frame });
  });
  const [result] = sample(tapped, {
    length: s.length,
    temperature: s.temperature,
    seed: s.seed,
    count: 1,
    primer: s.primer.length > 0 ? s.primer : undefined,
    maxPolyphony: s.maxPolyphony,
  });
  const generated = result.frames.slice(result.primerLength);
  const last = generated[generated.length - 1];
  // Cross-check: what the model was fed must be what the sampler returned.
  const agree = streamed.length === generated.length - 1 && streamed.every((f, i) => f.join(',') === generated[i].join(','));
  if (!agree) throw new Error('internal: the streamed frames differ from the sampler result');
  scope.postMessage({ type: 'frame', index: result.frames.length - 1, frame: last });
  scope.postMessage({ type: 'done', frames: result.frames, primerLength: result.primerLength, millis: performance.now() - started });
}

scope.onmessage = (event) => {
  const msg = event.data;
  try {
    if (msg.type === 'load') {
      model = null;
      const loaded = modelFromBytes(new Uint8Array(msg.bytes), `model "${msg.modelId}"`, { gemm: tsGemm });
      const parameters = loaded.parameters().reduce((n, p) => n + p.data.length, 0);
      model = loaded;
      scope.postMessage({ type: 'loaded', modelId: msg.modelId, kind: loaded.config.kind, parameters });
    } else if (msg.type === 'render') {
      // Stereo, as `rwkv-music generate` writes its WAV files by default.
      const audio = synthesize({ frames: msg.frames, timing: msg.timing }, { channels: 2 });
      const wav = encodeWav(audio);
      scope.postMessage({ type: 'rendered', sampleRate: audio.sampleRate, channels: audio.channels, wav });
    } else if (msg.type === 'generate') {
      if (!model) throw new Error('no model is loaded');
      generate(model, msg.settings);
    }
  } catch (err) {
    scope.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
