/**
 * Playback of the shown take: tempo, play from the cursor, loop, stop, and the status lines that go
 * with them. Sound is rendered in its own worker (so stopping a generation does not stop playback)
 * and kept per take and tempo.
 */
import type { FrameTiming } from '../../src/data/pianoroll.js';
import { Player } from './audio.js';
import type { ModelWorker, Rendered } from './model-worker.js';
import { barBeat, meterOf } from './musical-time.js';
import type { RollView } from './roll-view.js';
import type { Take } from './takes.js';

export function timingOf(t: Take): FrameTiming {
  return { kind: 'grid', stepsPerQuarter: t.stepsPerQuarter, bpm: t.bpm };
}

export class Transport {
  private readonly player = new Player();
  private take: Take | null = null;
  loop = false;

  constructor(
    private readonly roll: RollView,
    private readonly renderer: ModelWorker,
    private readonly say: (message: string, error?: boolean) => void,
    private readonly changed: () => void,
  ) {}

  get playing(): boolean {
    return this.player.playing;
  }

  /** The take's sound at its tempo (rendered once per tempo). */
  audio(t: Take): Promise<Rendered> {
    let a = t.audio.get(t.bpm);
    if (!a) {
      a = this.renderer.render(t.frames, timingOf(t));
      t.audio.set(t.bpm, a);
      const bpm = t.bpm;
      a.catch(() => t.audio.delete(bpm));
    }
    return a;
  }

  /** Plays `t` (the shown take) from the roll's cursor. */
  async play(t: Take): Promise<void> {
    this.stop(false);
    this.take = t;
    const perFrame = 60 / t.bpm / t.stepsPerQuarter;
    const from = this.roll.cursorFrame;
    try {
      this.say(`Rendering take ${t.number}…`);
      const sound = await this.audio(t);
      if (this.take !== t) return;
      await this.player.play(sound, { from: from * perFrame, loop: this.loop, loopEnd: t.frames.length * perFrame }, (s) => {
        if (s !== null) return this.roll.setPlayhead(s / perFrame);
        this.roll.setPlayhead(null);
        this.say(`Finished playing take ${t.number}.`);
        this.changed();
      });
      this.say(`Playing take ${t.number} from ${barBeat(from, meterOf(t.stepsPerQuarter))}${this.loop ? ', looping' : ''} at ${t.bpm} bpm.`);
    } catch (err) {
      this.say(`cannot play: ${(err as Error).message}`, true);
    }
    this.changed();
  }

  /** Stops playback; `report` says so in the status line (a new generation stops it quietly). */
  stop(report = true): void {
    const was = this.player.playing;
    this.player.stop();
    this.roll.setPlayhead(null);
    if (was && report && this.take) this.say(`Stopped playing take ${this.take.number}.`);
    this.take = null;
    this.changed();
  }

  toggle(t: Take | null): void {
    if (this.playing) this.stop();
    else if (t) void this.play(t);
  }

  /** Moves the cursor; playing music jumps there. */
  seek(t: Take | null, frame: number): void {
    this.roll.setCursor(frame);
    if (!t) return;
    if (this.playing) void this.play(t);
    else this.say(`Playback starts at ${barBeat(this.roll.cursorFrame, meterOf(t.stepsPerQuarter))}.`);
  }
}
