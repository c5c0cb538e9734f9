/**
 * The Compare tab: loss curves from each model's metrics.jsonl and a results table from its card.json.
 * The validation NLL (epoch and final records) and the training loss (step records, else epoch
 * records) each become a chart, one line per model, plotted against step, epoch or wall-clock seconds.
 */
import type { MetricsRecord } from '../../src/run/metrics.js';
import type { CompareModel } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
const PALETTE = ['#f2a03d', '#6f8fb8', '#7cc47f', '#d46a8c', '#b39ddb', '#4dd0e1'];
const X_KEYS = ['step', 'epoch', 'wallSeconds'];
/** The curves a training log has, validation first: they are what the models are compared on. */
const CURVES = ['validNll', 'trainLoss'] as const;

/** A record's numeric field by name (undefined when it has none). */
function field(r: MetricsRecord, key: string): number | undefined {
  const v = (r as unknown as Record<string, unknown>)[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

/** The x fields that the records of every plotted model carry, in preference order. */
function xKeysOf(models: CompareModel[]): string[] {
  return X_KEYS.filter((k) => models.some((m) => (m.metrics?.records ?? []).some((r) => field(r, k) !== undefined)));
}

/**
 * Records holding `metric`. When the log mixes record types (e.g. per-step and per-epoch lines that both
 * report a training loss), the type that reports it most often is used, so the line does not zig-zag.
 */
function recordsFor(records: MetricsRecord[], metric: string): MetricsRecord[] {
  const having = records.filter((r) => field(r, metric) !== undefined);
  const counts = new Map<unknown, number>();
  for (const r of having) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  if (counts.size <= 1) return having;
  const [type] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  return having.filter((r) => r.type === type);
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function chart(title: string, xLabel: string, series: Series[]): HTMLElement {
  const W = 520, H = 260, L = 52, R = 12, T = 28, B = 36;
  const box = el('figure', undefined, 'chart');
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': title });
  const all = series.flatMap((s) => s.points);
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const heading = svg('text', { x: L, y: 16, class: 'chart-title' });
  heading.textContent = title;
  root.append(heading);
  for (const v of niceTicks(y0, y1, 6)) {
    root.append(svg('line', { x1: L, x2: W - R, y1: sy(v), y2: sy(v), class: 'grid' }));
    const t = svg('text', { x: L - 6, y: sy(v) + 3, 'text-anchor': 'end', class: 'tick' });
    t.textContent = String(v);
    root.append(t);
  }
  for (const v of niceTicks(x0, x1, 6)) {
    const t = svg('text', { x: sx(v), y: H - B + 14, 'text-anchor': 'middle', class: 'tick' });
    t.textContent = String(v);
    root.append(t);
  }
  const xl = svg('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle', class: 'tick' });
  xl.textContent = xLabel;
  root.append(xl);
  series.forEach((s, i) => {
    const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    root.append(svg('path', { d, fill: 'none', stroke: s.color, 'stroke-width': 1.8 }));
    if (s.points.length === 1) root.append(svg('circle', { cx: sx(s.points[0][0]), cy: sy(s.points[0][1]), r: 3, fill: s.color }));
    const lx = W - R - 150;
    const ly = T + 4 + i * 14;
    root.append(svg('rect', { x: lx, y: ly - 7, width: 10, height: 3, fill: s.color }));
    const label = svg('text', { x: lx + 14, y: ly - 3, class: 'tick' });
    label.textContent = s.label;
    root.append(label);
  });
  box.append(root);
  return box;
}

/** Card fields shown first, in this order, with their labels; other fields follow as they come. */
const KNOWN_FIELDS: [string, string][] = [
  ['testNll', 'test NLL (nats/frame)'],
  ['validNll', 'valid NLL (nats/frame)'],
  ['testPerKeyBce', 'test per-key BCE'],
  ['parameters', 'parameters'],
  ['file size', 'file size'],
  ['epochs', 'epochs'],
  ['wallSeconds', 'training time'],
  ['framesPerSecond', 'training frames/s'],
  ['dataset', 'dataset'],
  ['seed', 'seed'],
];
/** Shown below the table (command, notes) or not at all (long provenance strings). */
const NOT_IN_TABLE = new Set(['name', 'command', 'notes', 'commit', 'machine']);

function formatField(key: string, value: number): string {
  if (key === 'wallSeconds') return value >= 60 ? `${(value / 60).toFixed(1)} min` : `${value.toFixed(0)} s`;
  if (/nll/i.test(key)) return value.toFixed(3);
  if (/bce/i.test(key)) return value.toFixed(4);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return Number(value.toPrecision(4)).toString();
}

function flatten(value: unknown, prefix: string, out: Map<string, string>, depth: number): void {
  if (value === null || value === undefined || (depth === 1 && NOT_IN_TABLE.has(prefix))) return;
  if (typeof value === 'number') out.set(prefix, formatField(prefix.split('.').pop()!, value));
  else if (typeof value === 'string' || typeof value === 'boolean') out.set(prefix, String(value).slice(0, 60));
  else if (typeof value === 'object' && !Array.isArray(value) && depth < 2)
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out, depth + 1);
}

/** One row per field (known results first, then the card's other fields), one column per model. */
function table(models: CompareModel[]): HTMLElement {
  const cells = models.map((m) => {
    const c = new Map<string, string>();
    c.set('parameters', m.parameters.toLocaleString('en-US'));
    c.set('file size', m.bytes >= 1048576 ? `${(m.bytes / 1048576).toFixed(1)} MiB` : `${Math.ceil(m.bytes / 1024)} KiB`);
    flatten(m.card, '', c, 0);
    return c;
  });
  const fields: string[] = KNOWN_FIELDS.map(([k]) => k).filter((k) => cells.some((c) => c.has(k)));
  const rest: string[] = [];
  for (const c of cells) for (const k of c.keys()) if (!fields.includes(k) && !rest.includes(k)) rest.push(k);
  // Plain fields, then nested ones (e.g. model.*) together.
  fields.push(...rest.filter((k) => !k.includes('.')), ...rest.filter((k) => k.includes('.')));
  const label = new Map(KNOWN_FIELDS);
  const t = el('table', undefined, 'results');
  const head = el('tr');
  head.append(el('th', ''));
  for (const m of models) head.append(el('th', m.name));
  t.append(el('thead'));
  t.tHead!.append(head);
  const body = el('tbody');
  for (const f of fields) {
    const tr = el('tr');
    tr.append(el('th', label.get(f) ?? f));
    for (const c of cells) tr.append(el('td', c.get(f) ?? '–'));
    body.append(tr);
  }
  t.append(body);
  return t;
}

/** The command each model was trained with and the card's notes, when it records them. */
function commands(models: CompareModel[]): HTMLElement | null {
  const list = el('dl', undefined, 'commands');
  for (const m of models) {
    const card = (m.card ?? {}) as { command?: unknown; notes?: unknown };
    if (typeof card.command !== 'string' && typeof card.notes !== 'string') continue;
    list.append(el('dt', m.name));
    const dd = el('dd');
    if (typeof card.command === 'string') dd.append(el('code', card.command));
    if (typeof card.notes === 'string') dd.append(el('p', card.notes, 'hint'));
    list.append(dd);
  }
  return list.childElementCount > 0 ? list : null;
}

/** Fills `host` with the comparison of the given models. */
export function renderCompare(host: HTMLElement, models: CompareModel[]): void {
  host.replaceChildren();
  if (models.length === 0) {
    host.append(el('p', 'No model with a card.json or metrics.jsonl to compare. Bundled models appear here once trained; run folders given with --checkpoint too.', 'hint'));
    return;
  }
  host.append(el('h2', 'Results'));
  const wrap = el('div', undefined, 'table-wrap');
  wrap.append(table(models));
  host.append(wrap);
  const trained = commands(models);
  if (trained) {
    host.append(el('h2', 'How they were trained'));
    host.append(trained);
  }

  const metricNames = CURVES.filter((k) => models.some((m) => (m.metrics?.records ?? []).some((r) => field(r, k) !== undefined)));
  host.append(el('h2', 'Loss curves'));
  if (metricNames.length === 0) {
    host.append(el('p', 'No metrics.jsonl with loss values next to these models.', 'hint'));
    return;
  }
  const xKeys = xKeysOf(models);
  const options = el('label', 'x axis ', 'compare-options');
  const pick = el('select');
  for (const k of xKeys.length > 0 ? xKeys : ['record']) pick.append(new Option(k, k));
  options.append(pick);
  host.append(options);
  const grid = el('div', undefined, 'charts');
  const draw = (): void => {
    const xKey = pick.value;
    grid.replaceChildren();
    for (const metric of metricNames) {
      const series: Series[] = [];
      models.forEach((m, i) => {
        const records = recordsFor(m.metrics?.records ?? [], metric).filter((r) => xKey === 'record' || field(r, xKey) !== undefined);
        if (records.length === 0) return;
        const points = records.map((r, j): [number, number] => [xKey === 'record' ? j : field(r, xKey)!, field(r, metric)!]);
        series.push({ label: m.name, color: PALETTE[i % PALETTE.length], points });
      });
      if (series.length > 0) grid.append(chart(`${metric} (nats/frame)`, xKey, series));
    }
  };
  pick.addEventListener('change', draw);
  draw();
  host.append(grid);
  for (const m of models) {
    if (m.metrics && m.metrics.skippedLines > 0) host.append(el('p', `${m.name}: ${m.metrics.skippedLines} unreadable line(s) in metrics.jsonl were skipped.`, 'hint'));
  }
}
