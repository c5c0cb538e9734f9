/**
 * The piano roll on a canvas: time to the right in bars and beats (a ruler with bar numbers on top),
 * pitch upwards (88 keys), a keyboard strip on the left. Frames are added one at a time and only the
 * new column is painted, so drawing keeps up with generation. A second canvas on top carries the
 * cursor (where playback starts) and the playing position.
 */
import { HIGHEST_NOTE, KEY_COUNT, LOWEST_NOTE, type Frame } from '../../src/data/pianoroll.js';
import { noteName, type Meter } from './musical-time.js';

const ROW = 5;
const KEYS_WIDTH = 34;
/** Height of the bar ruler; it also leaves room above the top key so its label (C8) is not clipped. */
const RULER = 16;
const MIN_COLUMNS = 128;
const BLACK = new Set([1, 3, 6, 8, 10]);
export const ZOOM_LEVELS = [0.5, 0.75, 1, 1.5, 2, 3, 4];

const COLORS = {
  background: '#15181f',
  ruler: '#1b1f27',
  rulerText: '#8d95a5',
  blackRow: '#11141a',
  octaveLine: '#262b36',
  beatLine: '#1d212a',
  barLine: '#343a48',
  primer: '#6f8fb8',
  melody: '#7fc8a9',
  generated: '#f2a03d',
  whiteKey: '#d9dde5',
  blackKey: '#2a2f3a',
  keyLabel: '#3b4250',
  playhead: '#ffffff',
  cursor: '#7fc8a9',
};

export interface RollContent {
  /** Frames expected in all (the roll is sized for them and grows if more arrive). */
  expected: number;
  /** The first `primerLength` frames are the primer (drawn in blue). */
  primerLength: number;
  /** For a harmonized take: the melody note of each frame, drawn in green. */
  melody?: readonly (number | null)[];
  meter: Meter;
  /** Names the take in the canvas's text alternative. */
  title: string;
}

export class RollView {
  private frames: Frame[] = [];
  private content: RollContent = { expected: MIN_COLUMNS, primerLength: 0, meter: { framesPerBeat: 2, beatsPerBar: 4 }, title: 'empty' };
  private notesDrawn = 0;
  private column = 8;
  private zoomIndex = ZOOM_LEVELS.indexOf(1);
  private capacity = 0;
  private cursor = 0;
  private playhead: number | null = null;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly headCtx: CanvasRenderingContext2D;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly head: HTMLCanvasElement,
    private readonly scroller: HTMLElement,
  ) {
    this.ctx = canvas.getContext('2d')!;
    this.headCtx = head.getContext('2d')!;
    this.reset(this.content);
  }

  /** Clears the roll and sizes it for new content. */
  reset(content: RollContent): void {
    this.content = content;
    this.frames = [];
    this.notesDrawn = 0;
    this.cursor = 0;
    this.playhead = null;
    this.layout();
    this.publish();
  }

  /** Shows a finished take at once. */
  show(content: RollContent, frames: readonly Frame[]): void {
    this.reset({ ...content, expected: frames.length });
    frames.forEach((f, i) => this.add(i, f));
    this.scroller.scrollLeft = 0;
  }

  get frameCount(): number {
    return this.frames.length;
  }

  get zoom(): number {
    return ZOOM_LEVELS[this.zoomIndex];
  }

  /** Steps the zoom one level in (+1) or out (-1); returns false at either end. */
  zoomBy(direction: 1 | -1): boolean {
    const next = this.zoomIndex + direction;
    if (next < 0 || next >= ZOOM_LEVELS.length) return false;
    const centre = (this.scroller.scrollLeft + this.scroller.clientWidth / 2 - KEYS_WIDTH) / this.column;
    this.zoomIndex = next;
    const frames = this.frames;
    this.frames = [];
    this.notesDrawn = 0;
    this.layout();
    frames.forEach((f, i) => this.add(i, f, false));
    this.publish();
    this.scroller.scrollLeft = Math.max(0, KEYS_WIDTH + centre * this.column - this.scroller.clientWidth / 2);
    this.paintHead();
    return true;
  }

  /** Adds the frame at `index` (frames arrive in order) and paints its column. */
  add(index: number, frame: Frame, follow = true): void {
    if (index !== this.frames.length) throw new Error(`frame ${index} arrived out of order (expected ${this.frames.length})`);
    if (index >= this.capacity) this.grow(index + 1);
    this.frames.push(frame);
    this.paintColumn(index);
    this.notesDrawn += frame.length;
    if (!follow) return;
    this.publish();
    const x = KEYS_WIDTH + (index + 1) * this.column;
    const view = this.scroller;
    if (x > view.scrollLeft + view.clientWidth - 20) view.scrollLeft = x - view.clientWidth + 40;
  }

  /** The frame under a horizontal page position (for click-to-seek), within the drawn frames. */
  frameAt(clientX: number): number {
    const left = this.canvas.getBoundingClientRect().left;
    const frame = Math.floor((clientX - left - KEYS_WIDTH) / this.column);
    return Math.max(0, Math.min(frame, Math.max(0, this.frames.length - 1)));
  }

  /** Where playback starts, in frames. */
  get cursorFrame(): number {
    return this.cursor;
  }

  setCursor(frame: number): void {
    this.cursor = Math.max(0, Math.min(Math.round(frame), Math.max(0, this.frames.length - 1)));
    this.canvas.dataset.cursor = String(this.cursor);
    this.paintHead();
    this.reveal(KEYS_WIDTH + this.cursor * this.column);
  }

  /** Draws the playing position (in frames, fractional), or hides it when null. */
  setPlayhead(position: number | null): void {
    this.playhead = position;
    this.paintHead();
    if (position !== null) this.reveal(KEYS_WIDTH + position * this.column);
  }

  private reveal(x: number): void {
    const view = this.scroller;
    if (x > view.scrollLeft + view.clientWidth - 30 || x < view.scrollLeft + KEYS_WIDTH) view.scrollLeft = Math.max(0, x - KEYS_WIDTH - 40);
  }

  private paintHead(): void {
    const c = this.headCtx;
    c.clearRect(0, 0, this.head.width, this.head.height);
    const line = (frame: number, color: string, top: number): void => {
      const x = Math.round(KEYS_WIDTH + frame * this.column) + 0.5;
      c.strokeStyle = color;
      c.lineWidth = 1.5;
      c.beginPath();
      c.moveTo(x, top);
      c.lineTo(x, this.head.height);
      c.stroke();
    };
    if (this.frames.length > 0) {
      line(this.cursor, COLORS.cursor, 0);
      // A small marker in the ruler shows the cursor even under the playhead.
      const x = KEYS_WIDTH + this.cursor * this.column;
      c.fillStyle = COLORS.cursor;
      c.beginPath();
      c.moveTo(x - 5, 0);
      c.lineTo(x + 5, 0);
      c.lineTo(x, 7);
      c.fill();
    }
    if (this.playhead !== null) line(this.playhead, COLORS.playhead, RULER);
  }

  private layout(): void {
    const visible = Math.max(200, this.scroller.clientWidth - KEYS_WIDTH - 4);
    const fit = Math.max(3, Math.min(12, Math.floor(visible / Math.max(this.content.expected, 1))));
    this.column = Math.max(1, Math.round(fit * this.zoom));
    this.capacity = Math.max(this.content.expected, Math.floor(visible / this.column));
    this.resize();
    this.paintBackground();
    this.paintHead();
  }

  private grow(needed: number): void {
    const old = this.frames;
    this.capacity = Math.max(needed, Math.ceil(this.capacity * 1.5));
    this.resize();
    this.paintBackground();
    this.frames = [];
    this.notesDrawn = 0;
    old.forEach((f, i) => {
      this.frames.push(f);
      this.paintColumn(i);
      this.notesDrawn += f.length;
    });
  }

  private resize(): void {
    const width = KEYS_WIDTH + this.capacity * this.column + 1;
    const height = RULER + KEY_COUNT * ROW;
    for (const c of [this.canvas, this.head]) {
      c.width = width;
      c.height = height;
      c.style.width = `${width}px`;
      c.style.height = `${height}px`;
    }
  }

  private y(note: number): number {
    return RULER + (HIGHEST_NOTE - note) * ROW;
  }

  private paintBackground(): void {
    const c = this.ctx;
    const width = this.canvas.width;
    const height = this.canvas.height;
    c.fillStyle = COLORS.background;
    c.fillRect(0, 0, width, height);
    c.fillStyle = COLORS.ruler;
    c.fillRect(0, 0, width, RULER);
    // Keyboard strip: white keys, shorter black keys, a line where two white keys meet (B|C, E|F).
    c.fillStyle = COLORS.whiteKey;
    c.fillRect(0, RULER, KEYS_WIDTH - 2, height - RULER);
    c.font = '600 8px system-ui, sans-serif';
    for (let note = LOWEST_NOTE; note <= HIGHEST_NOTE; note++) {
      const pc = note % 12;
      if (BLACK.has(pc)) {
        c.fillStyle = COLORS.blackRow;
        c.fillRect(KEYS_WIDTH, this.y(note), width - KEYS_WIDTH, ROW);
        c.fillStyle = COLORS.blackKey;
        c.fillRect(0, this.y(note), Math.round(KEYS_WIDTH * 0.58), ROW);
      } else if (pc === 0 || pc === 5) {
        c.fillStyle = '#9aa1ae';
        c.fillRect(0, this.y(note) + ROW - 1, KEYS_WIDTH - 2, 1);
      }
      if (pc === 0) {
        c.fillStyle = COLORS.octaveLine;
        c.fillRect(KEYS_WIDTH, this.y(note) + ROW - 1, width - KEYS_WIDTH, 1);
        c.fillStyle = COLORS.keyLabel;
        c.textAlign = 'right';
        c.textBaseline = 'alphabetic';
        c.fillText(noteName(note), KEYS_WIDTH - 4, this.y(note) + ROW - 1);
      }
    }
    // Beats and bars, with bar numbers in the ruler (thinned when bars get narrow).
    const { framesPerBeat, beatsPerBar } = this.content.meter;
    const perBar = framesPerBeat * beatsPerBar;
    const barWidth = perBar * this.column;
    const labelEvery = barWidth >= 24 ? 1 : Math.ceil(24 / barWidth);
    c.textAlign = 'left';
    c.textBaseline = 'middle';
    c.font = '500 10px system-ui, sans-serif';
    for (let t = 0; t <= this.capacity; t += framesPerBeat) {
      const x = KEYS_WIDTH + t * this.column;
      const bar = t % perBar === 0;
      c.fillStyle = bar ? COLORS.barLine : COLORS.beatLine;
      if (bar || this.column * framesPerBeat >= 4) c.fillRect(x, bar ? 0 : RULER, 1, height);
      const number = t / perBar + 1;
      if (bar && (number - 1) % labelEvery === 0 && t < this.capacity) {
        c.fillStyle = COLORS.rulerText;
        c.fillText(String(number), x + 3, RULER / 2);
      }
    }
  }

  private paintColumn(index: number): void {
    const c = this.ctx;
    const frame = this.frames[index];
    const previous = new Set(index > 0 ? this.frames[index - 1] : []);
    const melodyNote = this.content.melody?.[index] ?? null;
    const x = KEYS_WIDTH + index * this.column;
    for (const note of frame) {
      c.fillStyle = note === melodyNote ? COLORS.melody : index < this.content.primerLength ? COLORS.primer : COLORS.generated;
      // A key held from the previous frame continues its bar; a new onset leaves a one-pixel gap.
      const gap = previous.has(note) && this.column > 2 ? 0 : this.column > 2 ? 1 : 0;
      c.fillRect(x + gap, this.y(note) + 0.5, this.column - gap, ROW - 1);
    }
  }

  /** Exposes what is drawn as data attributes and as the canvas's text alternative. */
  private publish(): void {
    this.canvas.dataset.frames = String(this.frames.length);
    this.canvas.dataset.notesDrawn = String(this.notesDrawn);
    this.canvas.dataset.column = String(this.column);
    this.canvas.dataset.cursor = String(this.cursor);
    this.canvas.setAttribute('aria-label', this.describe());
  }

  private describe(): string {
    if (this.frames.length === 0) return 'Piano roll: empty. Generate a take to see it here.';
    let low = Infinity;
    let high = -Infinity;
    for (const f of this.frames) for (const n of f) (low = Math.min(low, n)), (high = Math.max(high, n));
    const { framesPerBeat, beatsPerBar } = this.content.meter;
    const bars = Math.ceil(this.frames.length / (framesPerBeat * beatsPerBar));
    const range = this.notesDrawn > 0 ? `, from ${noteName(low)} to ${noteName(high)}` : '';
    const primer = this.content.primerLength > 0 ? `; the first ${this.content.primerLength} frames are the primer` : '';
    return `Piano roll of ${this.content.title}: ${this.frames.length} frames (${bars} bars), ${this.notesDrawn} notes${range}${primer}.`;
  }
}
