import { frameSeconds, type PianoRoll } from '../data/pianoroll.js';
import { framesToNotes } from './notes.js';

export interface RollImageOptions {
  /** Frames at the start that are the primer: shaded and drawn in grey. */
  primerLength?: number;
  /** Line above the plot, e.g. the model and the sampling settings. */
  title?: string;
  /** Frames per bar for the bar lines (default: 4 beats of the roll's grid, or 8 frames). */
  barFrames?: number;
  /** Horizontal pixels per frame (default: fits the roll into about 1200 px, 2 to 12 px per frame). */
  frameWidth?: number;
  /** Vertical pixels per semitone (default 6). */
  keyHeight?: number;
}

const NAMES_WITH_SHARPS = [false, true, false, true, false, false, true, false, true, false, true, false];
const FONT = "DejaVu Sans, Arial, Helvetica, sans-serif";

/** Frames per bar: four beats on a grid timing, else 8 frames. */
export function defaultBarFrames(roll: PianoRoll): number {
  return roll.timing.kind === 'grid' ? 4 * roll.timing.stepsPerQuarter : 8;
}

/**
 * Draws a piano roll as SVG: time runs left to right, pitch bottom to top. Rows of black keys are
 * darker, each C has a line and a label (C4 = middle C), bar lines every bar with a number every
 * 4 bars, the primer region shaded, held notes drawn as one bar each.
 */
export function rollToSvg(roll: PianoRoll, options: RollImageOptions = {}): string {
  const frames = roll.frames;
  const T = Math.max(1, frames.length);
  const primer = Math.min(options.primerLength ?? 0, frames.length);
  // Notes are split at the primer's end, so what the model wrote is never drawn as primer.
  const notes = [...framesToNotes(frames.slice(0, primer)), ...framesToNotes(frames.slice(primer)).map((n) => ({ ...n, start: n.start + primer }))];
  const bar = options.barFrames ?? defaultBarFrames(roll);
  const fw = options.frameWidth ?? Math.min(12, Math.max(2, Math.floor(1200 / T)));
  const kh = options.keyHeight ?? 6;

  // Pitch range: whole octaves C..B around the notes, at least three octaves around middle C if empty.
  let lo = 48;
  let hi = 83;
  if (notes.length > 0) {
    lo = Math.min(...notes.map((n) => n.pitch));
    hi = Math.max(...notes.map((n) => n.pitch));
    lo = Math.max(21, lo - (lo % 12));
    hi = Math.min(108, hi + 11 - (hi % 12));
    while (hi - lo + 1 < 36) {
      if (lo > 21) lo = Math.max(21, lo - 12);
      else if (hi < 108) hi = Math.min(108, hi + 12);
      else break;
    }
  }
  const rows = hi - lo + 1;
  const left = 44;
  const top = options.title ? 30 : 12;
  const plotW = T * fw;
  const plotH = rows * kh;
  const width = left + plotW + 12;
  const height = top + plotH + 34;
  const y = (pitch: number) => top + (hi - pitch) * kh;
  const x = (frame: number) => left + frame * fw;
  const parts: string[] = [];
  const rect = (rx: number, ry: number, w: number, h: number, fill: string, extra = '') =>
    parts.push(`<rect x="${rx}" y="${ry}" width="${w}" height="${h}" fill="${fill}"${extra}/>`);

  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`);
  rect(0, 0, width, height, '#ffffff');
  for (let p = lo; p <= hi; p++) rect(left, y(p), plotW, kh, NAMES_WITH_SHARPS[p % 12] ? '#eceef2' : '#f8f9fb');
  if (primer > 0) {
    rect(left, top, primer * fw, plotH, '#fdf0c8');
    parts.push(`<text x="${left + 3}" y="${top + 11}" font-size="10" fill="#9a7a1c">primer</text>`);
  }
  for (let b = 0; b <= T; b += bar) {
    const strong = (b / bar) % 4 === 0;
    rect(x(b), top, 1, plotH, strong ? '#b9bec8' : '#dde0e6');
    if (strong) parts.push(`<text x="${x(b)}" y="${top + plotH + 14}" font-size="10" fill="#555" text-anchor="middle">${b / bar + 1}</text>`);
  }
  for (let p = lo; p <= hi; p++) {
    if (p % 12 !== 0) continue;
    rect(left, y(p) + kh - 1, plotW, 1, '#9aa1ad');
    parts.push(`<text x="${left - 5}" y="${y(p) + kh}" font-size="10" fill="#333" text-anchor="end">C${p / 12 - 1}</text>`);
  }
  for (const n of notes) {
    const inPrimer = n.start < primer;
    const fill = inPrimer ? '#7d7f86' : '#2f6fd1';
    const stroke = inPrimer ? '#55575d' : '#1d4a94';
    rect(x(n.start) + 0.5, y(n.pitch) + 0.5, Math.max(1, n.length * fw - 1), kh - 1, fill, ` stroke="${stroke}" stroke-width="0.6" rx="1"`);
  }
  rect(left, top, plotW, plotH, 'none', ' stroke="#7b818c" stroke-width="1"');
  const seconds = frames.length * frameSeconds(roll.timing);
  parts.push(`<text x="${left}" y="${top + plotH + 28}" font-size="10" fill="#555">bars of ${bar} frames; ${frames.length} frames, ${seconds.toFixed(1)} s</text>`);
  if (options.title) parts.push(`<text x="${left}" y="19" font-size="13" fill="#111">${escapeXml(options.title)}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
