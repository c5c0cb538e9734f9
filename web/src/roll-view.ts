/**
 * The piano roll on a canvas: time to the right, pitch upwards (88 keys), a keyboard strip on the left.
 * Frames are added one at a time and only the new column is painted, so drawing keeps up with
 * generation. A second canvas on top carries the playing position.
 */
import { HIGHEST_NOTE, KEY_COUNT, LOWEST_NOTE, type Frame } from '../../src/data/pianoroll.js';

const ROW = 5;
const KEYS_WIDTH = 34;
const MIN_COLUMNS = 128;
const BLACK = new Set([1, 3, 6, 8, 10]);

const COLORS = {
  background: '#15181f',
  blackRow: '#11141a',
  octaveLine: '#262b36',
  beatLine: '#1d212a',
  primer: '#6f8fb8',
  generated: '#f2a03d',
  whiteKey: '#d9dde5',
  blackKey: '#2a2f3a',
  playhead: '#ffffff',
};

export class RollView {
  private frames: Frame[] = [];
  private primerLength = 0;
  private notesDrawn = 0;
  private column: number;
  private capacity = 0;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly headCtx: CanvasRenderingContext2D;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly head: HTMLCanvasElement,
    private readonly scroller: HTMLElement,
  ) {
    this.ctx = canvas.getContext('2d')!;
    this.headCtx = head.getContext('2d')!;
    this.column = 8;
    this.reset(MIN_COLUMNS, 0);
  }

  /** Clears the roll and sizes it for `expected` frames of which the first `primerLength` are the primer. */
  reset(expected: number, primerLength: number): void {
    this.frames = [];
    this.primerLength = primerLength;
    this.notesDrawn = 0;
    const visible = Math.max(200, this.scroller.clientWidth - KEYS_WIDTH - 4);
    this.column = Math.max(3, Math.min(12, Math.floor(visible / Math.max(expected, 1))));
    this.capacity = Math.max(expected, Math.floor(visible / this.column));
    this.resize();
    this.paintBackground();
    this.publish();
  }

  get frameCount(): number {
    return this.frames.length;
  }

  /** Adds the frame at `index` (frames arrive in order) and paints its column. */
  add(index: number, frame: Frame): void {
    if (index !== this.frames.length) throw new Error(`frame ${index} arrived out of order (expected ${this.frames.length})`);
    if (index >= this.capacity) this.grow(index + 1);
    this.frames.push(frame);
    this.paintColumn(index);
    this.notesDrawn += frame.length;
    this.publish();
    const x = KEYS_WIDTH + (index + 1) * this.column;
    const view = this.scroller;
    if (x > view.scrollLeft + view.clientWidth - 20) view.scrollLeft = x - view.clientWidth + 40;
  }

  /** Draws the playing position (in frames, fractional), or hides it when null. */
  setPlayhead(position: number | null): void {
    const c = this.headCtx;
    c.clearRect(0, 0, this.head.width, this.head.height);
    if (position === null) return;
    const x = Math.round(KEYS_WIDTH + position * this.column) + 0.5;
    c.strokeStyle = COLORS.playhead;
    c.lineWidth = 1.5;
    c.beginPath();
    c.moveTo(x, 0);
    c.lineTo(x, this.head.height);
    c.stroke();
    const view = this.scroller;
    if (x > view.scrollLeft + view.clientWidth - 30 || x < view.scrollLeft + KEYS_WIDTH) view.scrollLeft = Math.max(0, x - KEYS_WIDTH - 40);
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
    const height = KEY_COUNT * ROW;
    for (const c of [this.canvas, this.head]) {
      c.width = width;
      c.height = height;
      c.style.width = `${width}px`;
      c.style.height = `${height}px`;
    }
  }

  private y(note: number): number {
    return (HIGHEST_NOTE - note) * ROW;
  }

  private paintBackground(): void {
    const c = this.ctx;
    const width = this.canvas.width;
    c.fillStyle = COLORS.background;
    c.fillRect(0, 0, width, this.canvas.height);
    // Keyboard strip: white keys, shorter black keys, a line where two white keys meet (B|C, E|F).
    c.fillStyle = COLORS.whiteKey;
    c.fillRect(0, 0, KEYS_WIDTH - 2, this.canvas.height);
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
        c.fillStyle = '#3b4250';
        c.font = '600 8px system-ui, sans-serif';
        c.textAlign = 'right';
        c.fillText(`C${note / 12 - 1}`, KEYS_WIDTH - 4, this.y(note) + ROW - 1);
        c.textAlign = 'left';
      }
    }
    c.fillStyle = COLORS.beatLine;
    for (let t = 0; t <= this.capacity; t += 8) c.fillRect(KEYS_WIDTH + t * this.column, 0, 1, this.canvas.height);
  }

  private paintColumn(index: number): void {
    const c = this.ctx;
    const frame = this.frames[index];
    const previous = new Set(index > 0 ? this.frames[index - 1] : []);
    c.fillStyle = index < this.primerLength ? COLORS.primer : COLORS.generated;
    const x = KEYS_WIDTH + index * this.column;
    for (const note of frame) {
      // A key held from the previous frame continues its bar; a new onset leaves a one-pixel gap.
      const gap = previous.has(note) ? 0 : 1;
      c.fillRect(x + gap, this.y(note) + 0.5, this.column - gap, ROW - 1);
    }
  }

  /** Exposes what is drawn as data attributes, for people and tests alike. */
  private publish(): void {
    this.canvas.dataset.frames = String(this.frames.length);
    this.canvas.dataset.notesDrawn = String(this.notesDrawn);
  }
}
