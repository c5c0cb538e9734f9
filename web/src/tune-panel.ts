/**
 * The studio's "Make it yours" panel: the user drops a few MIDI files, the chosen model's start state
 * is tuned on them in a worker (progress shown, cancellable), a before/after pair is sampled with the
 * same seed and can be played, and the style file can be downloaded for `rwkv-music --style`.
 * A style file made before (here or by `rwkv-music tune`) can be loaded instead of tuning; one made
 * for another model is refused. The panel builds its own elements inside the given section and runs its own worker.
 */
import type { Frame } from '../../src/data/pianoroll.js';
import { midiToRoll } from '../../src/midi/read.js';
import { api, type ModelInfo } from './api.js';
import { Player } from './audio.js';
import type { FromTuneWorker, ToTuneWorker } from './tune-protocol.js';

const MARKUP = `
  <form class="controls tune-controls" autocomplete="off" novalidate>
    <fieldset>
      <legend>Make it yours</legend>
      <p class="hint">Drop a few of your MIDI files: the model keeps every weight and learns only the state it starts
        from, so it begins every piece in their manner. The result is a small style file.</p>
      <label class="wide">Model <select id="tune-model"></select></label>
      <label class="wide">Your pieces <input id="tune-files" type="file" multiple accept=".mid,.midi,audio/midi" /></label>
      <p id="tune-files-info" class="hint"></p>
      <label class="wide">Or a style file <input id="tune-style-file" type="file" accept=".safetensors" /></label>
    </fieldset>
    <fieldset>
      <legend>Tuning</legend>
      <label>Steps <input id="tune-steps" type="number" min="1" max="2000" step="1" value="60" /></label>
      <label>Learning rate <input id="tune-lr" type="number" min="0.0001" max="1" step="0.001" value="0.1" /></label>
      <label>Seed <input id="tune-seed" type="number" min="0" max="4294967295" step="1" value="1" /></label>
    </fieldset>
    <div class="buttons">
      <button id="tune-start" type="submit" class="primary">Tune</button>
      <button id="tune-cancel" type="button" disabled>Cancel</button>
    </div>
  </form>
  <div class="stage">
    <progress id="tune-progress" max="1" value="0"></progress>
    <p id="tune-status" role="status" aria-live="polite">Choose a model and some MIDI files.</p>
    <p id="tune-result" class="hint"></p>
    <div class="transport">
      <label>Seed for the pair <input id="tune-pair-seed" type="number" min="0" max="4294967295" step="1" value="7" /></label>
      <button id="tune-pair" type="button" disabled>Sample before / after</button>
      <button id="tune-play-before" type="button" disabled>Play before</button>
      <button id="tune-play-after" type="button" disabled>Play after</button>
      <button id="tune-stop" type="button" disabled>Stop</button>
      <button id="tune-download" type="button" disabled>Download style</button>
    </div>
  </div>`;

type Msg<T extends FromTuneWorker['type']> = Extract<FromTuneWorker, { type: T }>;

export function mountTunePanel(section: HTMLElement): void {
  section.innerHTML = MARKUP;
  const el = <T extends HTMLElement>(id: string) => section.querySelector<T>(`#${id}`)!;
  const ui = {
    form: section.querySelector('form')!,
    model: el<HTMLSelectElement>('tune-model'),
    files: el<HTMLInputElement>('tune-files'),
    styleFile: el<HTMLInputElement>('tune-style-file'),
    filesInfo: el('tune-files-info'),
    steps: el<HTMLInputElement>('tune-steps'),
    lr: el<HTMLInputElement>('tune-lr'),
    seed: el<HTMLInputElement>('tune-seed'),
    start: el<HTMLButtonElement>('tune-start'),
    cancel: el<HTMLButtonElement>('tune-cancel'),
    progress: el<HTMLProgressElement>('tune-progress'),
    status: el('tune-status'),
    result: el('tune-result'),
    pairSeed: el<HTMLInputElement>('tune-pair-seed'),
    pair: el<HTMLButtonElement>('tune-pair'),
    playBefore: el<HTMLButtonElement>('tune-play-before'),
    playAfter: el<HTMLButtonElement>('tune-play-after'),
    stop: el<HTMLButtonElement>('tune-stop'),
    download: el<HTMLButtonElement>('tune-download'),
  };
  const player = new Player();
  let worker: Worker | null = null;
  let loadedId = '';
  let pieces: Frame[][] = [];
  let style: Uint8Array | null = null;
  let pair: Msg<'pair'> | null = null;
  let listener: ((m: FromTuneWorker) => void) | null = null;

  const setStatus = (state: string, text: string) => {
    section.dataset.tuneState = state;
    ui.status.textContent = text;
  };
  const ensure = (): Worker => {
    if (!worker) {
      worker = new Worker(new URL('./tune-worker.ts', import.meta.url), { type: 'module' });
      worker.onmessage = (e: MessageEvent<FromTuneWorker>) => listener?.(e.data);
    }
    return worker;
  };
  const send = (msg: ToTuneWorker, transfer: Transferable[] = []) => ensure().postMessage(msg, transfer);
  /** The next message of `type` (an error message rejects); progress goes to onProgress meanwhile. */
  const next = <T extends FromTuneWorker['type']>(type: T, onProgress?: (m: Msg<'progress'>) => void) =>
    new Promise<Msg<T>>((resolve, reject) => {
      listener = (m) => {
        if (m.type === 'progress') onProgress?.(m);
        else if (m.type === 'error') reject(new Error(m.message));
        else if (m.type === type) resolve(m as Msg<T>);
      };
    });

  const busy = (on: boolean) => {
    ui.start.disabled = on;
    ui.cancel.disabled = !on;
    ui.model.disabled = on;
    ui.files.disabled = on;
    ui.styleFile.disabled = on;
  };

  ui.files.addEventListener('change', async () => {
    pieces = [];
    const names: string[] = [];
    try {
      for (const file of Array.from(ui.files.files ?? [])) {
        const { roll } = midiToRoll(new Uint8Array(await file.arrayBuffer()), {}, file.name);
        if (roll.frames.length < 2 || !roll.frames.some((f) => f.length > 0)) throw new Error(`${file.name}: no notes to tune on`);
        pieces.push(roll.frames);
        names.push(file.name);
      }
      ui.filesInfo.textContent = names.length ? `${names.length} piece${names.length > 1 ? 's' : ''}: ${names.join(', ')}` : '';
    } catch (err) {
      pieces = [];
      ui.filesInfo.textContent = (err as Error).message;
    }
  });

  /** Loads the chosen model into the worker unless it is there already. */
  async function ensureModel(): Promise<void> {
    const id = ui.model.value;
    if (loadedId === id) return;
    setStatus('loading', `Loading ${id}…`);
    const bytes = await api.weights(id);
    const loaded = next('loaded');
    send({ type: 'load', modelId: id, bytes }, [bytes]);
    await loaded;
    loadedId = id;
  }

  ui.styleFile.addEventListener('change', async () => {
    const file = ui.styleFile.files?.[0];
    if (!file) return;
    busy(true);
    try {
      await ensureModel();
      const bytes = await file.arrayBuffer();
      const done = next('styled');
      send({ type: 'style', name: file.name, bytes }, [bytes]);
      await done;
      style = null;
      ui.pair.disabled = false;
      ui.download.disabled = true;
      setStatus('tuned', `Loaded the style ${file.name}. Sample a before/after pair.`);
    } catch (err) {
      setStatus('error', (err as Error).message);
    } finally {
      busy(false);
    }
  });

  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run();
  });

  async function run(): Promise<void> {
    if (pieces.length === 0) {
      setStatus('error', 'Choose one or more MIDI files first.');
      return;
    }
    const steps = Number(ui.steps.value);
    const lr = Number(ui.lr.value);
    const seed = Number(ui.seed.value);
    if (!Number.isInteger(steps) || steps < 1 || !(lr > 0) || !Number.isInteger(seed) || seed < 0) {
      setStatus('error', 'Steps must be a whole number >= 1, the learning rate > 0 and the seed a whole number >= 0.');
      return;
    }
    busy(true);
    style = null;
    pair = null;
    for (const b of [ui.pair, ui.playBefore, ui.playAfter, ui.download]) b.disabled = true;
    try {
      await ensureModel();
      setStatus('tuning', `Tuning on ${pieces.length} piece${pieces.length > 1 ? 's' : ''}…`);
      ui.progress.max = steps;
      ui.progress.value = 0;
      const done = next('tuned', (p) => {
        ui.progress.value = p.step;
        ui.status.textContent = `Step ${p.step} of ${p.steps}: NLL ${p.nll.toFixed(3)} nats/frame`;
      });
      send({ type: 'tune', pieces, settings: { steps, lr, seed } });
      const r = await done;
      style = r.style;
      section.dataset.nllBefore = String(r.nllBefore);
      section.dataset.nllAfter = String(r.nllAfter);
      ui.result.textContent = `NLL on your pieces: ${r.nllBefore.toFixed(3)} → ${r.nllAfter.toFixed(3)} nats/frame after ${r.steps} steps ` +
        `(${r.seconds.toFixed(1)} s${r.stopped ? ', cancelled' : ''}); style file ${(r.style.length / 1024).toFixed(1)} KB.`;
      ui.pair.disabled = false;
      ui.download.disabled = false;
      setStatus('tuned', r.stopped ? 'Cancelled: the style learned so far is kept.' : 'Tuned. Sample a before/after pair or download the style.');
    } catch (err) {
      setStatus('error', (err as Error).message);
    } finally {
      busy(false);
    }
  }

  ui.cancel.addEventListener('click', () => send({ type: 'cancel' }));

  ui.pair.addEventListener('click', async () => {
    ui.pair.disabled = true;
    setStatus('sampling', 'Sampling the pair…');
    try {
      const seed = Number(ui.pairSeed.value);
      const got = next('pair');
      send({ type: 'pair', settings: { length: 128, temperature: 1, seed } });
      pair = await got;
      // what the page played, for checking: the two samples' frames
      section.dataset.pairBefore = JSON.stringify(pair.before);
      section.dataset.pairAfter = JSON.stringify(pair.after);
      ui.playBefore.disabled = false;
      ui.playAfter.disabled = false;
      setStatus('paired', `Before and after, both with seed ${seed}. Play them.`);
    } catch (err) {
      setStatus('error', (err as Error).message);
    } finally {
      ui.pair.disabled = false;
    }
  });

  const play = (channels: Float32Array[] | undefined) => {
    if (!pair || !channels) return;
    ui.stop.disabled = false;
    void player.play({ sampleRate: pair.sampleRate, channels }, { from: 0, loop: false, loopEnd: 0 }, (t: number | null) => {
      if (t === null) ui.stop.disabled = true;
    });
  };
  ui.playBefore.addEventListener('click', () => play(pair?.beforeAudio));
  ui.playAfter.addEventListener('click', () => play(pair?.afterAudio));
  ui.stop.addEventListener('click', () => {
    player.stop();
    ui.stop.disabled = true;
  });

  ui.download.addEventListener('click', () => {
    if (!style) return;
    const url = URL.createObjectURL(new Blob([style as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `style-${loadedId}.safetensors`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });

  api
    .models()
    .then((models: ModelInfo[]) => {
      ui.model.replaceChildren(...models.map((m) => new Option(m.name, m.id)));
    })
    .catch((err: Error) => setStatus('error', `Cannot list the models: ${err.message}`));
}
