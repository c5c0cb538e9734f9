/**
 * Runs a model in RNN mode off the page's main thread. The toolkit's own sampler and harmonizer draw
 * the frames (so the page gives exactly what `rwkv-music` gives for the same model, seed and
 * settings), and each frame is posted as soon as it is drawn. It also renders sound with the
 * toolkit's synthesiser, so the WAV download matches `rwkv-music`'s.
 */
import { tsGemm } from '../../src/engine/gemm-ts.js';
import { sample } from '../../src/generate/sampler.js';
import type { SequenceModel } from '../../src/models/model.js';
import { modelFromBytes } from '../../src/models/serialize.js';
import { synthesize } from '../../src/render/synth.js';
import { encodeWav } from '../../src/render/wav.js';
import { canHarmonize, harmonizeInKey } from '../../src/generate/harmonize.js';
import type { FromWorker, GenerateSettings, HarmonizeSettings, ToWorker } from './protocol.js';

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;

let model: SequenceModel | null = null;

function generate(m: SequenceModel, s: GenerateSettings): void {
  const started = performance.now();
  const [result] = sample(m, {
    length: s.length,
    temperature: s.temperature,
    seed: s.seed,
    count: 1,
    primer: s.primer.length > 0 ? s.primer : undefined,
    maxPolyphony: s.maxPolyphony,
    keyShift: s.keyShift,
    onFrame: (step, frames) => scope.postMessage({ type: 'frame', index: s.primer.length + step, frame: frames[0] }),
  });
  scope.postMessage({ type: 'done', frames: result.frames, primerLength: result.primerLength, millis: performance.now() - started });
}

function harmonizeMelody(m: SequenceModel, s: HarmonizeSettings): void {
  const started = performance.now();
  const { frames } = harmonizeInKey(m, s.melody, {
    temperature: s.temperature,
    seed: s.seed,
    onFrame: (t, frame) => scope.postMessage({ type: 'frame', index: t, frame }),
  });
  scope.postMessage({ type: 'done', frames, primerLength: 0, millis: performance.now() - started });
}

scope.onmessage = (event) => {
  const msg = event.data;
  try {
    if (msg.type === 'load') {
      model = null;
      const loaded = modelFromBytes(new Uint8Array(msg.bytes), `model "${msg.modelId}"`, { gemm: tsGemm });
      const parameters = loaded.parameters().reduce((n, p) => n + p.data.length, 0);
      model = loaded;
      scope.postMessage({ type: 'loaded', modelId: msg.modelId, kind: loaded.config.kind, parameters, canHarmonize: canHarmonize(loaded) });
    } else if (msg.type === 'render') {
      // Stereo, as `rwkv-music generate` writes its WAV files by default.
      const audio = synthesize({ frames: msg.frames, timing: msg.timing }, { channels: 2 });
      const wav = encodeWav(audio);
      scope.postMessage({ type: 'rendered', sampleRate: audio.sampleRate, channels: audio.channels, wav });
    } else if (msg.type === 'generate' || msg.type === 'harmonize') {
      if (!model) throw new Error('no model is loaded');
      if (msg.type === 'generate') generate(model, msg.settings);
      else harmonizeMelody(model, msg.settings);
    }
  } catch (err) {
    scope.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
