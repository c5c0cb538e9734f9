/**
 * The takes of this page session: every finished (or stopped) generation, kept with what made it so
 * it can be shown, played, downloaded, regenerated with another seed or continued.
 */
import type { Frame } from '../../src/data/pianoroll.js';
import type { Melody } from '../../src/generate/harmonize.js';
import type { TakeProblem } from '../../src/generate/take-check.js';
import type { Rendered } from './model-worker.js';

export interface ComposeRecipe {
  kind: 'compose';
  length: number;
  temperature: number;
  seed: number;
  maxPolyphony?: number;
  /** Semitones from the data's key, for models with a key input. */
  keyShift: number;
  primer: Frame[];
}

export interface HarmonizeRecipe {
  kind: 'harmonize';
  temperature: number;
  seed: number;
  melody: Melody;
}

export type Recipe = ComposeRecipe | HarmonizeRecipe;

export interface Take {
  /** 1, 2, 3... in the order made. */
  number: number;
  modelId: string;
  modelName: string;
  recipe: Recipe;
  /** Where it came from, e.g. "nottingham test #3, bars 1-2 of 31" or "take 2 from bar 5". */
  origin: string;
  frames: Frame[];
  primerLength: number;
  stepsPerQuarter: number;
  bpm: number;
  /** Set when the generated part is silent or nearly so. */
  problem: TakeProblem | null;
  /** Stopped before the length asked for. */
  partial: boolean;
  /** Rendered sound, per tempo. */
  audio: Map<number, Promise<Rendered>>;
}

export function takeTitle(t: Take): string {
  return `take ${t.number}`;
}

export function takeSummary(t: Take): string {
  const what = t.recipe.kind === 'harmonize' ? 'harmonized' : 'composed';
  const flags = `${t.problem ? (t.problem.kind === 'silent' ? ', no notes' : ', nearly silent') : ''}${t.partial ? ', stopped early' : ''}`;
  return `${what} by ${t.modelName}, seed ${t.recipe.seed}, ${t.origin}${flags}`;
}

export interface TakeActions {
  show(t: Take): void;
  play(t: Take): void;
  download(t: Take): void;
}

/** The list on the page: one row per take with Show, Play and MIDI buttons; the shown take is marked. */
export class TakesList {
  private readonly takes: Take[] = [];

  constructor(
    private readonly host: HTMLOListElement,
    private readonly actions: TakeActions,
  ) {}

  get all(): readonly Take[] {
    return this.takes;
  }

  get nextNumber(): number {
    return this.takes.length + 1;
  }

  add(t: Take): void {
    this.takes.push(t);
  }

  render(current: Take | null, disabled: boolean): void {
    this.host.replaceChildren(
      ...this.takes.map((t) => {
        const li = document.createElement('li');
        li.dataset.take = String(t.number);
        if (t === current) li.setAttribute('aria-current', 'true');
        const button = (text: string, label: string, run: () => void): HTMLButtonElement => {
          const b = document.createElement('button');
          b.type = 'button';
          b.textContent = text;
          b.setAttribute('aria-label', label);
          b.disabled = disabled;
          b.addEventListener('click', run);
          return b;
        };
        const name = document.createElement('span');
        name.className = 'take-name';
        name.textContent = `Take ${t.number}`;
        const info = document.createElement('span');
        info.className = 'hint';
        info.textContent = takeSummary(t);
        const show = button(t === current ? 'Shown' : 'Show', `Show take ${t.number}`, () => this.actions.show(t));
        show.setAttribute('aria-pressed', String(t === current));
        li.append(name, info, show, button('Play', `Play take ${t.number}`, () => this.actions.play(t)), button('MIDI', `Download take ${t.number} as MIDI`, () => this.actions.download(t)));
        return li;
      }),
    );
    this.host.hidden = this.takes.length === 0;
  }
}
