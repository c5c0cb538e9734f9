/** The studio page: wires the controls, the generation worker, the piano roll, sound and downloads. */
import './style.css';
import { DEFAULT_TIMING, frameSeconds, type Frame, type FrameTiming } from '../../src/data/pianoroll.js';
import { midiToRoll } from '../../src/midi/read.js';
import { rollToMidi } from '../../src/midi/write.js';
import { api, type ModelInfo } from './api.js';
import { Player } from './audio.js';
import { renderCompare } from './compare.js';
import type { FromWorker, GenerateSettings, ToWorker } from './protocol.js';
import { RollView } from './roll-view.js';
import { mountTunePanel } from './tune-panel.js';

const MAX_LENGTH = 2048;
const MAX_PRIMER_FRAMES = 4096;
const MAX_MIDI_BYTES = 4 * 1024 * 1024;

const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page is missing #${id}`);
  return e as T;
};

const ui = {
  model: $<HTMLSelectElement>('model'),
  modelInfo: $('model-info'),
  temperature: $<HTMLInputElement>('temperature'),
  temperatureValue: $<HTMLOutputElement>('temperature-value'),
  length: $<HTMLInputElement>('length'),
  seed: $<HTMLInputElement>('seed'),
  maxPolyphony: $<HTMLInputElement>('max-polyphony'),
  primerDataset: $('primer-dataset'),
  primerMidi: $('primer-midi'),
  primerSet: $<HTMLSelectElement>('primer-set'),
  primerSplit: $<HTMLSelectElement>('primer-split'),
  primerIndex: $<HTMLInputElement>('primer-index'),
  primerFrames: $<HTMLInputElement>('primer-frames'),
  primerFile: $<HTMLInputElement>('primer-file'),
  primerMidiFrames: $<HTMLInputElement>('primer-midi-frames'),
  primerInfo: $('primer-info'),
  controls: $<HTMLFormElement>('controls'),
  generate: $<HTMLButtonElement>('generate'),
  stopGenerate: $<HTMLButtonElement>('stop-generate'),
  play: $<HTMLButtonElement>('play'),
  stopPlay: $<HTMLButtonElement>('stop-play'),
  downloadMidi: $<HTMLButtonElement>('download-midi'),
  downloadWav: $<HTMLButtonElement>('download-wav'),
  status: $('status'),
  compareBody: $('compare-body'),
};

const roll = new RollView($<HTMLCanvasElement>('roll'), $<HTMLCanvasElement>('playhead'), $('roll-scroll'));
const player = new Player();

type State = 'idle' | 'loading' | 'generating' | 'done' | 'stopped' | 'error';

function setState(state: State, message: string): void {
  document.body.dataset.state = state;
  ui.status.textContent = message;
  ui.status.className = state === 'error' ? 'error' : '';
  const busy = state === 'loading' || state === 'generating';
  ui.generate.disabled = busy || models.length === 0;
  ui.stopGenerate.disabled = !busy;
  const have = result !== null && result.frames.length > 0 && !busy;
  ui.play.disabled = !have;
  ui.downloadMidi.disabled = !have;
  ui.downloadWav.disabled = !have;
}

// ---- models and the worker ----

let models: ModelInfo[] = [];
const weightCache = new Map<string, ArrayBuffer>();

/** One generation worker; stopping a generation ends it and a fresh one is made on the next request. */
class ModelWorker {
  private worker: Worker | null = null;
  private loaded: string | null = null;
  private listener: ((m: FromWorker) => void) | null = null;

  private ensure(): Worker {
    if (!this.worker) {
      this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
      this.worker.onmessage = (e: MessageEvent<FromWorker>) => this.listener?.(e.data);
      this.worker.onerror = (e) => this.listener?.({ type: 'error', message: `worker failed: ${e.message || 'unknown error'}` });
      this.loaded = null;
    }
    return this.worker;
  }

  private send(msg: ToWorker, transfer: Transferable[] = []): void {
    this.ensure().postMessage(msg, transfer);
  }

  private next(accept: (m: FromWorker) => boolean): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      this.listener = (m) => {
        if (m.type === 'error') reject(new Error(m.message));
        else if (accept(m)) resolve(m);
      };
    });
  }

  async load(model: ModelInfo): Promise<void> {
    if (this.loaded === model.id && this.worker) return;
    let bytes = weightCache.get(model.id);
    if (!bytes) {
      bytes = await api.weights(model.id);
      weightCache.set(model.id, bytes);
    }
    const done = this.next((m) => m.type === 'loaded');
    const copy = bytes.slice(0); // the cached bytes stay here; the copy moves to the worker
    this.send({ type: 'load', modelId: model.id, bytes: copy }, [copy]);
    await done;
    this.loaded = model.id;
  }

  generate(settings: GenerateSettings, onFrame: (index: number, frame: Frame) => void): Promise<Extract<FromWorker, { type: 'done' }>> {
    const done = new Promise<Extract<FromWorker, { type: 'done' }>>((resolve, reject) => {
      this.listener = (m) => {
        if (m.type === 'frame') onFrame(m.index, m.frame);
        else if (m.type === 'done') resolve(m);
        else if (m.type === 'error') reject(new Error(m.message));
      };
    });
    this.send({ type: 'generate', settings });
    return done;
  }

  render(frames: Frame[], timing: FrameTiming): Promise<Rendered> {
    const done = this.next((m) => m.type === 'rendered') as Promise<Rendered>;
    this.send({ type: 'render', frames, timing });
    return done;
  }

  stop(): void {
    const stopped = this.listener;
    this.worker?.terminate();
    this.worker = null;
    this.loaded = null;
    this.listener = null;
    stopped?.({ type: 'error', message: 'stopped' });
  }
}

type Rendered = Extract<FromWorker, { type: 'rendered' }>;

const worker = new ModelWorker();

// ---- settings ----

function intField(input: HTMLInputElement, name: string, min: number, max: number): number {
  const v = Number(input.value);
  if (input.value.trim() === '' || !Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be a whole number from ${min} to ${max}`);
  return v;
}

function readSettings(): Omit<GenerateSettings, 'primer'> {
  const temperature = Number(ui.temperature.value);
  if (!(temperature > 0 && temperature <= 5)) throw new Error('temperature must be above 0 and at most 5');
  const maxPolyphony = intField(ui.maxPolyphony, 'max polyphony', 0, 88);
  return {
    length: intField(ui.length, 'length', 1, MAX_LENGTH),
    temperature,
    seed: intField(ui.seed, 'seed', 0, 4294967295),
    maxPolyphony: maxPolyphony === 0 ? undefined : maxPolyphony,
  };
}

function primerKind(): 'none' | 'dataset' | 'midi' {
  return ((ui.controls.elements.namedItem('primer') as RadioNodeList).value || 'none') as 'none' | 'dataset' | 'midi';
}

async function readPrimer(): Promise<{ frames: Frame[]; timing: FrameTiming; label: string }> {
  const kind = primerKind();
  if (kind === 'dataset') {
    const frames = intField(ui.primerFrames, 'primer frames', 1, MAX_PRIMER_FRAMES);
    const index = intField(ui.primerIndex, 'sequence', 0, 999999);
    const p = await api.primer(ui.primerSet.value, ui.primerSplit.value, index, frames);
    return { frames: p.frames, timing: p.timing, label: `${p.dataset} ${p.split} #${p.index}, ${p.frames.length} of ${p.totalFrames} frames` };
  }
  if (kind === 'midi') {
    const file = ui.primerFile.files?.[0];
    if (!file) throw new Error('choose a MIDI file for the primer (or pick another primer)');
    if (file.size > MAX_MIDI_BYTES) throw new Error(`${file.name} is ${file.size} bytes; the studio reads MIDI files up to ${MAX_MIDI_BYTES} bytes`);
    const frames = intField(ui.primerMidiFrames, 'primer frames', 1, MAX_PRIMER_FRAMES);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const read = midiToRoll(bytes, { stepsPerQuarter: 2 }, file.name);
    const kept = read.roll.frames.slice(0, frames);
    return { frames: kept, timing: read.roll.timing, label: `${file.name}, ${kept.length} of ${read.roll.frames.length} frames` };
  }
  return { frames: [], timing: DEFAULT_TIMING, label: 'no primer' };
}

// ---- generation ----

interface Result {
  modelId: string;
  seed: number;
  frames: Frame[];
  primerLength: number;
  timing: FrameTiming;
  audio: Promise<Rendered> | null;
}

let result: Result | null = null;
/** Bumped by every Generate and Stop, so a run that was stopped while it waited gives up. */
let runToken = 0;

async function generate(): Promise<void> {
  const token = ++runToken;
  const check = (): void => {
    if (token !== runToken) throw new Error('stopped');
  };
  player.stop();
  roll.setPlayhead(null);
  result = null;
  const model = models.find((m) => m.id === ui.model.value);
  if (!model) throw new Error('choose a model');
  const settings = readSettings();
  setState('loading', 'Reading the primer…');
  const primer = await readPrimer();
  check();
  ui.primerInfo.textContent = primer.label;
  setState('loading', `Loading ${model.name}…`);
  await worker.load(model);
  check();

  const frames: Frame[] = primer.frames.map((f) => [...f]);
  result = { modelId: model.id, seed: settings.seed, frames, primerLength: primer.frames.length, timing: primer.timing, audio: null };
  roll.reset(primer.frames.length + settings.length, primer.frames.length);
  primer.frames.forEach((f, i) => roll.add(i, f));
  setState('generating', `Generating ${settings.length} frames…`);
  const started = performance.now();
  const done = await worker.generate({ ...settings, primer: primer.frames }, (index, frame) => {
    roll.add(index, frame);
    frames.push(frame);
    if (index % 8 === 0) ui.status.textContent = `Generating… ${index + 1 - primer.frames.length} / ${settings.length} frames`;
  });
  result.frames = done.frames;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  setState('done', `Generated ${done.frames.length - done.primerLength} frames in ${seconds} s with ${model.name} (seed ${settings.seed}).`);
}

ui.controls.addEventListener('submit', (e) => {
  e.preventDefault();
  generate().catch((err: Error) => {
    if (err.message === 'stopped') {
      setState('stopped', result ? `Stopped after ${result.frames.length - result.primerLength} generated frames.` : 'Stopped before generating.');
    } else setState('error', err.message);
  });
});

ui.stopGenerate.addEventListener('click', () => {
  runToken++;
  worker.stop();
});

// ---- sound and downloads ----

function audioOf(r: Result): Promise<Rendered> {
  r.audio ??= worker.render(r.frames, r.timing);
  r.audio.catch(() => (r.audio = null));
  return r.audio;
}

ui.play.addEventListener('click', async () => {
  if (!result) return;
  const r = result;
  try {
    ui.status.textContent = 'Rendering sound…';
    const buffer = await audioOf(r);
    const perFrame = frameSeconds(r.timing);
    ui.stopPlay.disabled = false;
    ui.status.textContent = 'Playing.';
    await player.play(buffer, (s) => {
      roll.setPlayhead(s === null ? null : s / perFrame);
      if (s === null) ui.stopPlay.disabled = true;
    });
  } catch (err) {
    setState('error', `cannot play: ${(err as Error).message}`);
  }
});

ui.stopPlay.addEventListener('click', () => {
  player.stop();
  roll.setPlayhead(null);
  ui.stopPlay.disabled = true;
});

function download(bytes: Uint8Array, type: string, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const fileStem = (r: Result): string => `rwkv-music-${r.modelId}-seed${r.seed}`;

ui.downloadMidi.addEventListener('click', () => {
  if (!result) return;
  try {
    download(rollToMidi({ frames: result.frames, timing: result.timing }), 'audio/midi', `${fileStem(result)}.mid`);
  } catch (err) {
    setState('error', `cannot write MIDI: ${(err as Error).message}`);
  }
});

ui.downloadWav.addEventListener('click', async () => {
  if (!result) return;
  const r = result;
  try {
    ui.status.textContent = 'Rendering WAV…';
    download((await audioOf(r)).wav, 'audio/wav', `${fileStem(r)}.wav`);
    ui.status.textContent = 'WAV ready.';
  } catch (err) {
    setState('error', `cannot write WAV: ${(err as Error).message}`);
  }
});

// ---- controls ----

ui.temperature.addEventListener('input', () => (ui.temperatureValue.textContent = Number(ui.temperature.value).toFixed(2)));
ui.controls.addEventListener('change', (e) => {
  if ((e.target as HTMLInputElement).name === 'primer') {
    const kind = primerKind();
    ui.primerDataset.hidden = kind !== 'dataset';
    ui.primerMidi.hidden = kind !== 'midi';
    ui.primerInfo.textContent = '';
  }
});

function describeModel(m: ModelInfo): string {
  const c = m.config ?? {};
  const shape =
    c.kind === 'rwkv' ? `RWKV-4, ${c.nLayer} layers × ${c.nEmbd}` : c.kind === 'lstm' ? `LSTM, ${c.layers} layers × ${c.hidden}` : 'unknown kind';
  const size = m.bytes >= 1048576 ? `${(m.bytes / 1048576).toFixed(1)} MiB` : `${Math.ceil(m.bytes / 1024)} KiB`;
  const head = c.keyChain ? '; keys drawn as a chain (lowest first)' : '';
  return `${shape}${head}; ${m.parameters.toLocaleString('en-US')} parameters; ${size}; ${m.source}`;
}

ui.model.addEventListener('change', () => {
  const m = models.find((x) => x.id === ui.model.value);
  ui.modelInfo.textContent = m ? describeModel(m) : '';
});

// ---- tabs ----

let compareLoaded = false;
for (const tab of document.querySelectorAll<HTMLButtonElement>('[data-tab]')) {
  tab.addEventListener('click', () => {
    for (const t of document.querySelectorAll<HTMLButtonElement>('[data-tab]')) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      $(`panel-${t.dataset.tab}`).hidden = !on;
    }
    if (tab.dataset.tab === 'compare' && !compareLoaded) {
      compareLoaded = true;
      api
        .compare()
        .then((list) => renderCompare(ui.compareBody, list))
        .catch((err: Error) => {
          compareLoaded = false;
          ui.compareBody.textContent = `Cannot load the comparison: ${err.message}`;
        });
    }
  });
}

// ---- start ----

mountTunePanel($('panel-tune'));

async function start(): Promise<void> {
  models = await api.models();
  ui.model.replaceChildren(...models.map((m) => new Option(m.name, m.id)));
  ui.model.dispatchEvent(new Event('change'));
  try {
    const sets = await api.datasets();
    ui.primerSet.replaceChildren(...sets.map((d) => new Option(d.name, d.name)));
    // Keep the sequence number within the chosen split.
    const bound = (): void => {
      const n = sets.find((d) => d.name === ui.primerSet.value)?.splits[ui.primerSplit.value] ?? 1;
      ui.primerIndex.max = String(Math.max(0, n - 1));
      ui.primerIndex.title = `0 to ${n - 1}`;
    };
    ui.primerSet.addEventListener('change', bound);
    ui.primerSplit.addEventListener('change', bound);
    bound();
  } catch (err) {
    ui.primerInfo.textContent = `Dataset primers unavailable: ${(err as Error).message}`;
  }
  if (models.length === 0) setState('idle', 'No models: start the studio with --checkpoint <run folder>, or train the bundled ones.');
  else setState('idle', 'Ready. Choose settings and press Generate.');
}

start().catch((err: Error) => setState('error', `Cannot reach the studio server: ${err.message}`));
