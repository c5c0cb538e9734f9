/** The studio page: wires the controls, the generation worker, the piano roll, takes, sound and downloads. */
import './style.css';
import type { Frame } from '../../src/data/pianoroll.js';
import { takeProblem } from '../../src/generate/take-check.js';
import { rollToMidi } from '../../src/midi/write.js';
import { api, type DatasetInfo, type ModelInfo } from './api.js';
import { renderCompare } from './compare.js';
import { clearAllFieldErrors, FieldError, intField, numberField, optionalIntField, showFieldError } from './fields.js';
import { melodyFromFrames } from '../../src/generate/harmonize.js';
import { ModelWorker, STOPPED } from './model-worker.js';
import { bpmOf, framesPerBar, MAX_BPM, meterOf, MIN_BPM, stepsPerQuarter } from './musical-time.js';
import { RollView, ZOOM_LEVELS } from './roll-view.js';
import { readSource, type SourceKind } from './source.js';
import { setUpTabs } from './tabs.js';
import { takeTitle, TakesList, type Recipe, type Take } from './takes.js';
import { timingOf, Transport } from './transport.js';
import { mountTunePanel } from './tune-panel.js';

const MAX_LENGTH = 2048;
const DEFAULT_STEPS_PER_QUARTER = 2;

const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page is missing #${id}`);
  return e as T;
};

const ui = {
  model: $<HTMLSelectElement>('model'),
  modelInfo: $('model-info'),
  taskInfo: $('task-info'),
  temperature: $<HTMLInputElement>('temperature'),
  key: $<HTMLSelectElement>('key'),
  temperatureValue: $<HTMLOutputElement>('temperature-value'),
  length: $<HTMLInputElement>('length'),
  seed: $<HTMLInputElement>('seed'),
  maxPolyphony: $<HTMLInputElement>('max-polyphony'),
  sourceLegend: $('source-legend'),
  sourceDataset: $('source-dataset'),
  sourceMidi: $('source-midi'),
  sourceBars: $('source-bars'),
  sourceInfo: $('source-info'),
  controls: $<HTMLFormElement>('controls'),
  generate: $<HTMLButtonElement>('generate'),
  stopGenerate: $<HTMLButtonElement>('stop-generate'),
  play: $<HTMLButtonElement>('play'),
  stopPlay: $<HTMLButtonElement>('stop-play'),
  loop: $<HTMLButtonElement>('loop'),
  tempo: $<HTMLInputElement>('tempo'),
  zoomIn: $<HTMLButtonElement>('zoom-in'),
  zoomOut: $<HTMLButtonElement>('zoom-out'),
  downloadMidi: $<HTMLButtonElement>('download-midi'),
  downloadWav: $<HTMLButtonElement>('download-wav'),
  regenerate: $<HTMLButtonElement>('regenerate'),
  continue: $<HTMLButtonElement>('continue'),
  continueBar: $<HTMLInputElement>('continue-bar'),
  status: $('status'),
  rollScroll: $('roll-scroll'),
  takesEmpty: $('takes-empty'),
  compareBody: $('compare-body'),
};
const sourceFields = {
  dataset: $<HTMLSelectElement>('source-set'),
  split: $<HTMLSelectElement>('source-split'),
  index: $<HTMLInputElement>('source-index'),
  file: $<HTMLInputElement>('source-file'),
  fromBar: $<HTMLInputElement>('source-from-bar'),
  toBar: $<HTMLInputElement>('source-to-bar'),
};
const radios = (name: string): HTMLInputElement[] => [...ui.controls.querySelectorAll<HTMLInputElement>(`input[name="${name}"]`)];
const radioValue = (name: string): string => radios(name).find((r) => r.checked)?.value ?? '';

const roll = new RollView($<HTMLCanvasElement>('roll'), $<HTMLCanvasElement>('playhead'), ui.rollScroll);
const generator = new ModelWorker();
const renderer = new ModelWorker();

let models: ModelInfo[] = [];
let datasets: DatasetInfo[] = [];
/** The take on the roll. */
let current: Take | null = null;
let busy = false;
/** Bumped by every run and by Stop, so a run that was stopped while it waited gives up. */
let runToken = 0;

type State = 'idle' | 'loading' | 'generating' | 'done' | 'silent' | 'stopped' | 'error';

function say(message: string, error = false): void {
  ui.status.textContent = message;
  ui.status.className = error ? 'error' : '';
}

const transport = new Transport(roll, renderer, say, () => refresh());

const takes = new TakesList($<HTMLOListElement>('takes'), {
  show: (t) => {
    transport.stop(false);
    showTake(t);
    say(`Showing take ${t.number}.`);
  },
  play: (t) => {
    if (t !== current) showTake(t);
    void transport.play(t);
  },
  download: (t) => downloadMidi(t),
});

function refresh(): void {
  ui.generate.disabled = busy || models.length === 0;
  ui.stopGenerate.disabled = !busy;
  const have = current !== null && current.frames.length > 0 && !busy;
  for (const b of [ui.play, ui.downloadMidi, ui.downloadWav, ui.regenerate, ui.continue]) b.disabled = !have;
  ui.stopPlay.disabled = !transport.playing;
  ui.zoomIn.disabled = roll.zoom === ZOOM_LEVELS[ZOOM_LEVELS.length - 1];
  ui.zoomOut.disabled = roll.zoom === ZOOM_LEVELS[0];
  takes.render(current, busy);
  ui.takesEmpty.hidden = takes.all.length > 0;
}

function setState(state: State, message: string): void {
  document.body.dataset.state = state;
  say(message, state === 'error');
  if (state === 'silent') ui.status.className = 'warning';
  refresh();
}

function showTake(t: Take): void {
  current = t;
  const melody = t.recipe.kind === 'harmonize' ? t.recipe.melody : undefined;
  roll.show({ expected: t.frames.length, primerLength: t.primerLength, melody, meter: meterOf(t.stepsPerQuarter), title: takeTitle(t) }, t.frames);
  ui.tempo.value = String(t.bpm);
  refresh();
}

// ---- runs: compose, harmonize, regenerate, continue ----

/** What a run needs, read from the form or from a take before anything is drawn. */
interface Job {
  model: ModelInfo;
  recipe: Recipe;
  origin: string;
  stepsPerQuarter: number;
  bpm: number;
}

async function run(prepare: () => Promise<Job>): Promise<void> {
  const token = ++runToken;
  const check = (): void => {
    if (token !== runToken) throw new Error(STOPPED);
  };
  transport.stop(false);
  clearAllFieldErrors(document);
  busy = true;
  const previous = current;
  let drawn: Frame[] | null = null;
  let job: Job | null = null;
  try {
    setState('loading', 'Reading the settings…');
    job = await prepare();
    check();
    setState('loading', `Loading ${job.model.name}…`);
    await generator.load(job.model);
    check();
    if (job.recipe.kind === 'harmonize' && !generator.harmonizes.get(job.model.id)) throw new Error(`${job.model.name} cannot harmonize (its key chain does not run from the highest key down)`);

    const recipe = job.recipe;
    const primer = recipe.kind === 'compose' ? recipe.primer : [];
    const total = recipe.kind === 'compose' ? primer.length + recipe.length : recipe.melody.length;
    const number = takes.nextNumber;
    current = null;
    roll.reset({ expected: total, primerLength: primer.length, melody: recipe.kind === 'harmonize' ? recipe.melody : undefined, meter: meterOf(job.stepsPerQuarter), title: `take ${number}` });
    primer.forEach((f, i) => roll.add(i, f));
    const frames: Frame[] = primer.map((f) => [...f]);
    drawn = frames;
    const steps = total - primer.length;
    setState('generating', `${recipe.kind === 'harmonize' ? 'Harmonizing' : 'Generating'} ${steps} frames…`);
    const started = performance.now();
    const onFrame = (index: number, frame: Frame): void => {
      roll.add(index, frame);
      frames.push(frame);
      if (index % 8 === 0) say(`${recipe.kind === 'harmonize' ? 'Harmonizing' : 'Generating'}… ${index + 1 - primer.length} / ${steps} frames`);
    };
    const done =
      recipe.kind === 'compose'
        ? await generator.generate({ length: recipe.length, temperature: recipe.temperature, seed: recipe.seed, maxPolyphony: recipe.maxPolyphony, keyShift: recipe.keyShift, primer }, onFrame)
        : await generator.harmonize({ melody: recipe.melody, temperature: recipe.temperature, seed: recipe.seed }, onFrame);
    const take = addTake(job, number, done.frames, primer.length, false);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    busy = false;
    if (take.problem) {
      const what = take.problem.kind === 'silent' ? 'has no notes' : 'is nearly silent';
      setState('silent', `Take ${number} ${what} (${job.model.name}, seed ${recipe.seed}): ${take.problem.message}.`);
    } else {
      const verb = recipe.kind === 'harmonize' ? 'Harmonized' : 'Generated';
      setState('done', `Take ${number}: ${verb.toLowerCase()} ${steps} frames in ${seconds} s with ${job.model.name} (seed ${recipe.seed}).`);
    }
  } catch (err) {
    busy = false;
    const message = (err as Error).message;
    const generated = drawn && job ? drawn.length - (job.recipe.kind === 'compose' ? job.recipe.primer.length : 0) : 0;
    if (message === STOPPED && drawn && job && generated > 0) {
      // Keep what was drawn as a take of its own.
      addTake(job, takes.nextNumber, drawn, job.recipe.kind === 'compose' ? job.recipe.primer.length : 0, true);
      setState('stopped', `Stopped: take ${current!.number} keeps its ${generated} generated frames.`);
      return;
    }
    // Nothing new: the previous take comes back, usable as before.
    if (previous) showTake(previous);
    else if (drawn) roll.reset({ expected: 0, primerLength: 0, meter: meterOf(DEFAULT_STEPS_PER_QUARTER), title: 'nothing' });
    current = previous;
    if (message === STOPPED) setState('stopped', 'Stopped before generating.');
    else {
      setState('error', message);
      if (err instanceof FieldError) {
        if (err.field.closest('#source-dataset, #source-midi, #source-bars')) ui.sourceInfo.textContent = '';
        showFieldError(err.field, 'status');
      }
    }
  }
}

function addTake(job: Job, number: number, frames: Frame[], primerLength: number, partial: boolean): Take {
  const take: Take = {
    number,
    modelId: job.model.id,
    modelName: job.model.name,
    recipe: job.recipe,
    origin: job.origin,
    frames,
    primerLength,
    stepsPerQuarter: job.stepsPerQuarter,
    bpm: job.bpm,
    problem: takeProblem(frames, primerLength),
    partial,
    audio: new Map(),
  };
  takes.add(take);
  current = take;
  ui.tempo.value = String(take.bpm);
  if (partial) showTake(take);
  return take;
}

function selectedModel(): ModelInfo {
  const model = models.find((m) => m.id === ui.model.value);
  if (!model) throw new FieldError(ui.model, 'choose a model');
  return model;
}

function temperature(): number {
  return numberField(ui.temperature, 'temperature', 0.05, 5);
}

function seed(): number {
  return intField(ui.seed, 'seed', 0, 4294967295);
}

function composeSettings(): { length: number; temperature: number; seed: number; maxPolyphony?: number; keyShift: number } {
  const temp = temperature();
  const length = intField(ui.length, 'length', 1, MAX_LENGTH);
  const s = seed();
  const maxPolyphony = intField(ui.maxPolyphony, 'max polyphony', 0, 88);
  const keyShift = Number(ui.key.value);
  return { length, temperature: temp, seed: s, maxPolyphony: maxPolyphony === 0 ? undefined : maxPolyphony, keyShift };
}

function tempo(): number {
  return numberField(ui.tempo, 'tempo', MIN_BPM, MAX_BPM);
}

/** A new take from the form: compose (after an optional primer) or harmonize the chosen melody. */
async function fromForm(): Promise<Job> {
  const model = selectedModel();
  const kind = radioValue('source') as SourceKind;
  if (radioValue('task') === 'harmonize') {
    const settings = { temperature: temperature(), seed: seed() };
    const source = await readSource(kind === 'none' ? 'dataset' : kind, sourceFields, datasets);
    if (!source) throw new Error('choose a melody');
    ui.sourceInfo.textContent = source.label;
    const melody = melodyFromFrames(source.frames);
    if (melody.every((n) => n === null)) throw new FieldError(sourceFields.fromBar, `${source.label} has no notes to harmonize`);
    return { model, recipe: { kind: 'harmonize', ...settings, melody }, origin: `melody from ${source.label}`, stepsPerQuarter: stepsPerQuarter(source.timing), bpm: bpmOf(source.timing) };
  }
  const settings = composeSettings();
  const bpm = tempo();
  const source = await readSource(kind, sourceFields, datasets);
  ui.sourceInfo.textContent = source ? source.label : '';
  return {
    model,
    recipe: { kind: 'compose', ...settings, primer: source?.frames ?? [] },
    origin: source ? `primer ${source.label}` : 'no primer',
    stepsPerQuarter: source ? stepsPerQuarter(source.timing) : DEFAULT_STEPS_PER_QUARTER,
    bpm: source ? bpmOf(source.timing) : bpm,
  };
}

/** The shown take again with the next seed. */
async function regenerate(t: Take): Promise<Job> {
  const model = models.find((m) => m.id === t.modelId);
  if (!model) throw new Error(`model ${t.modelName} is gone`);
  const next = (t.recipe.seed + 1) % 4294967296;
  ui.seed.value = String(next);
  return { model, recipe: { ...t.recipe, seed: next }, origin: `take ${t.number} with seed ${next}`, stepsPerQuarter: t.stepsPerQuarter, bpm: t.bpm };
}

/** The shown take kept up to a bar (or whole) as the primer of a new composed take. */
async function continueTake(t: Take): Promise<Job> {
  const model = selectedModel();
  const settings = composeSettings();
  const perBar = framesPerBar(meterOf(t.stepsPerQuarter));
  const bars = Math.ceil(t.frames.length / perBar);
  const bar = optionalIntField(ui.continueBar, 'continue from bar', 2, bars + 1);
  const primer = bar === undefined ? t.frames : t.frames.slice(0, (bar - 1) * perBar);
  const origin = `continuing take ${t.number} ${bar === undefined ? 'from its end' : `from bar ${bar}`}`;
  return { model, recipe: { kind: 'compose', ...settings, primer: primer.map((f) => [...f]) }, origin, stepsPerQuarter: t.stepsPerQuarter, bpm: t.bpm };
}

ui.controls.addEventListener('submit', (e) => {
  e.preventDefault();
  void run(fromForm);
});
ui.regenerate.addEventListener('click', () => current && void run(regenerate.bind(null, current)));
ui.continue.addEventListener('click', () => current && void run(continueTake.bind(null, current)));
ui.stopGenerate.addEventListener('click', () => {
  runToken++;
  generator.stop();
});

// ---- sound, time and downloads ----

ui.play.addEventListener('click', () => current && void transport.play(current));
ui.stopPlay.addEventListener('click', () => transport.stop());
ui.loop.addEventListener('click', () => {
  transport.loop = !transport.loop;
  ui.loop.setAttribute('aria-pressed', String(transport.loop));
  if (transport.playing && current) void transport.play(current);
});
ui.tempo.addEventListener('change', () => {
  clearAllFieldErrors(ui.tempo.parentElement!);
  let bpm: number;
  try {
    bpm = tempo();
  } catch (err) {
    say((err as Error).message, true);
    showFieldError(ui.tempo, 'status');
    return;
  }
  if (!current || current.bpm === bpm) return;
  const wasPlaying = transport.playing;
  transport.stop(false);
  current.bpm = bpm;
  say(`Take ${current.number} now plays and saves at ${bpm} bpm.`);
  if (wasPlaying) void transport.play(current);
});
ui.zoomIn.addEventListener('click', () => (roll.zoomBy(1), refresh()));
ui.zoomOut.addEventListener('click', () => (roll.zoomBy(-1), refresh()));

const canvas = $<HTMLCanvasElement>('roll');
canvas.addEventListener('click', (e) => {
  if (roll.frameCount > 0 && !busy) transport.seek(current, roll.frameAt(e.clientX));
});
ui.rollScroll.addEventListener('keydown', (e) => {
  if (!current || busy) return;
  const meter = meterOf(current.stepsPerQuarter);
  const step = e.shiftKey ? framesPerBar(meter) : meter.framesPerBeat;
  const at = roll.cursorFrame;
  const to = e.key === 'ArrowRight' ? at + step : e.key === 'ArrowLeft' ? at - step : e.key === 'Home' ? 0 : e.key === 'End' ? roll.frameCount - 1 : e.key === '+' ? -2 : e.key === '-' ? -3 : null;
  if (to === null) return;
  e.preventDefault();
  if (to === -2) ui.zoomIn.click();
  else if (to === -3) ui.zoomOut.click();
  else transport.seek(current, Math.max(0, to));
});
// Space plays and stops, except where it types or presses a control.
document.addEventListener('keydown', (e) => {
  if (e.key !== ' ' || e.repeat || e.ctrlKey || e.altKey || e.metaKey) return;
  const target = e.target as HTMLElement;
  if (target.closest('input, select, textarea, button, a, [role="tab"]')) return;
  if (!$('panel-generate').hidden && !busy && (current || transport.playing)) {
    e.preventDefault();
    transport.toggle(current);
  }
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

const fileStem = (t: Take): string => `rwkv-music-${t.modelId}-${t.recipe.kind === 'harmonize' ? 'harmonized-' : ''}seed${t.recipe.seed}-take${t.number}`;

function downloadMidi(t: Take): void {
  try {
    download(rollToMidi({ frames: t.frames, timing: timingOf(t) }), 'audio/midi', `${fileStem(t)}.mid`);
    say(`Take ${t.number} saved as MIDI at ${t.bpm} bpm.`);
  } catch (err) {
    say(`cannot write MIDI: ${(err as Error).message}`, true);
  }
}

ui.downloadMidi.addEventListener('click', () => current && downloadMidi(current));
ui.downloadWav.addEventListener('click', async () => {
  if (!current) return;
  const t = current;
  try {
    say(`Rendering take ${t.number} as WAV…`);
    download((await transport.audio(t)).wav, 'audio/wav', `${fileStem(t)}.wav`);
    say(`Take ${t.number} saved as WAV at ${t.bpm} bpm.`);
  } catch (err) {
    say(`cannot write WAV: ${(err as Error).message}`, true);
  }
});

// ---- form ----

ui.temperature.addEventListener('input', () => (ui.temperatureValue.textContent = Number(ui.temperature.value).toFixed(2)));

function updateForm(): void {
  const harmonizing = radioValue('task') === 'harmonize';
  for (const e of ui.controls.querySelectorAll<HTMLElement>('.compose-only')) e.hidden = harmonizing;
  ui.sourceLegend.textContent = harmonizing ? 'Melody (its top voice)' : 'Primer';
  const none = radios('source').find((r) => r.value === 'none')!;
  none.disabled = harmonizing;
  if (harmonizing && none.checked) radios('source').find((r) => r.value === 'dataset')!.checked = true;
  const kind = radioValue('source');
  ui.sourceDataset.hidden = kind !== 'dataset';
  ui.sourceMidi.hidden = kind !== 'midi';
  ui.sourceBars.hidden = kind === 'none';
  ui.generate.textContent = harmonizing ? 'Harmonize' : 'Generate';
}

ui.controls.addEventListener('change', (e) => {
  const name = (e.target as HTMLInputElement).name;
  if (name === 'source' || name === 'task') {
    ui.sourceInfo.textContent = '';
    updateForm();
  }
});

function describeModel(m: ModelInfo): string {
  const c = m.config ?? {};
  const shape = c.kind === 'rwkv' ? `RWKV-4, ${c.nLayer} layers × ${c.nEmbd}`
    : c.kind === 'rwkv6' ? `RWKV-6, ${c.nLayer} layers × ${c.nEmbd}, heads of ${c.headSize}`
    : c.kind === 'lstm' ? `LSTM, ${c.layers} layers × ${c.hidden}` : 'unknown kind';
  const size = m.bytes >= 1048576 ? `${(m.bytes / 1048576).toFixed(1)} MiB` : `${Math.ceil(m.bytes / 1024)} KiB`;
  const head = c.keyChain ? `; keys drawn as a chain (${c.keyChainOrder === 'down' ? 'highest' : 'lowest'} first)` : '';
  return `${shape}${head}; ${m.parameters.toLocaleString('en-US')} parameters; ${size}; ${m.source}`;
}

/** Offers Harmonize only for a model that can do it (the worker loads the model to find out). */
function updateHarmonize(m: ModelInfo): void {
  const harmonize = radios('task').find((r) => r.value === 'harmonize')!;
  const can = generator.harmonizes.get(m.id);
  harmonize.disabled = can !== true;
  ui.taskInfo.textContent =
    can === undefined
      ? `Checking whether ${m.name} can harmonize…`
      : can
        ? `${m.name} can harmonize: the melody stays exactly as given and the rest is sampled under it.`
        : `${m.name} cannot harmonize: that needs a key chain from the highest key down (such as the bundled harmonizer).`;
  if (!can && harmonize.checked) {
    radios('task').find((r) => r.value === 'compose')!.checked = true;
    updateForm();
  }
}

ui.model.addEventListener('change', () => {
  const m = models.find((x) => x.id === ui.model.value);
  ui.modelInfo.textContent = m ? describeModel(m) : '';
  if (!m) return;
  updateHarmonize(m);
  if (!generator.harmonizes.has(m.id) && !busy)
    generator
      .load(m)
      .then(() => ui.model.value === m.id && updateHarmonize(m))
      .catch((err: Error) => err.message !== STOPPED && (ui.taskInfo.textContent = `Cannot load ${m.name}: ${err.message}`));
});

// ---- tabs ----

let compareLoaded = false;
setUpTabs($('tab-generate').parentElement!, (name) => {
  if (name !== 'compare' || compareLoaded) return;
  compareLoaded = true;
  api
    .compare()
    .then((list) => renderCompare(ui.compareBody, list))
    .catch((err: Error) => {
      compareLoaded = false;
      ui.compareBody.textContent = `Cannot load the comparison: ${err.message}`;
    });
});

// ---- start ----

mountTunePanel($('panel-tune'));

async function start(): Promise<void> {
  models = await api.models();
  ui.model.replaceChildren(...models.map((m) => new Option(m.name, m.id)));
  updateForm();
  try {
    datasets = await api.datasets();
    sourceFields.dataset.replaceChildren(...datasets.map((d) => new Option(d.name, d.name)));
    // Keep the sequence number within the chosen split.
    const bound = (): void => {
      const n = datasets.find((d) => d.name === sourceFields.dataset.value)?.splits[sourceFields.split.value] ?? 1;
      sourceFields.index.max = String(Math.max(0, n - 1));
      sourceFields.index.title = `0 to ${n - 1}`;
    };
    sourceFields.dataset.addEventListener('change', bound);
    sourceFields.split.addEventListener('change', bound);
    bound();
  } catch (err) {
    ui.sourceInfo.textContent = `Dataset sources unavailable: ${(err as Error).message}`;
  }
  if (models.length === 0) setState('idle', 'No models: start the studio with --checkpoint <run folder>, or train the bundled ones.');
  else setState('idle', 'Ready. Choose settings and press Generate.');
  ui.model.dispatchEvent(new Event('change'));
}

start().catch((err: Error) => setState('error', `Cannot reach the studio server: ${err.message}`));
