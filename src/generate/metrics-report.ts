import {
  IOI_BINS,
  NOTE_LENGTH_BINS,
  PITCH_CLASS_NAMES,
  type Comparison,
  type HistogramName,
  type ScalarName,
  type SetMetrics,
} from './metrics.js';

const SCALAR_LABELS: Record<ScalarName, string> = {
  pitchRange: 'pitch range (semitones)',
  meanPolyphony: 'polyphony (keys per frame)',
  emptyShare: 'empty frames (share)',
  meanIoi: 'inter-onset interval (frames)',
  inKeyRatio: 'in-key ratio',
  repetition: 'bar self-similarity',
};

function binLabels(edges: readonly number[]): string[] {
  return edges.map((e, i) => {
    const lo = i === 0 ? 1 : edges[i - 1] + 1;
    if (e === Infinity) return `${lo}+`;
    return lo === e ? `${e}` : `${lo}-${e}`;
  });
}

const HISTOGRAM_INFO: Record<HistogramName, { label: string; bins: string[] }> = {
  pitchClassHistogram: { label: 'pitch-class histogram (share of notes)', bins: PITCH_CLASS_NAMES },
  noteLengthHistogram: { label: 'note-length histogram (frames, share of notes)', bins: binLabels(NOTE_LENGTH_BINS) },
  ioiHistogram: { label: 'inter-onset-interval histogram (frames, share of intervals)', bins: binLabels(IOI_BINS) },
};

const fmt = (v: number, digits = 3) => (Number.isNaN(v) ? 'n/a' : v.toFixed(digits));
const pad = (s: string, n: number) => (s.length >= n ? s + ' ' : s + ' '.repeat(n - s.length));

/** Human-readable report of one set's metrics, and of the comparison with a reference when given. */
export function formatMetrics(
  gen: { label: string; metrics: SetMetrics },
  ref?: { label: string; metrics: SetMetrics; comparisons: Comparison[]; summary: number },
  barFrames?: number,
): string {
  const lines: string[] = [];
  const describe = (label: string, m: SetMetrics) => `${label}: ${m.pieces} pieces, ${m.frames} frames, ${m.notes} notes`;
  lines.push(describe(gen.label, gen.metrics));
  if (ref) lines.push(`against ${describe(ref.label, ref.metrics)}`);
  if (barFrames !== undefined) lines.push(`bars of ${barFrames} frames`);
  lines.push('');
  const colW = Math.max(18, gen.label.length + 2, (ref?.label.length ?? 0) + 2);
  const header = pad('metric', 32) + pad(gen.label, colW) + (ref ? pad(ref.label, colW) + pad('overlap', 9) + 'KL' : '');
  lines.push(header);
  const cmp = new Map(ref?.comparisons.map((c) => [c.metric, c]));
  for (const name of Object.keys(SCALAR_LABELS) as ScalarName[]) {
    const g = gen.metrics[name];
    let line = pad(SCALAR_LABELS[name], 32) + pad(`${fmt(g.mean)} ± ${fmt(g.std)}`, colW);
    if (ref) {
      const r = ref.metrics[name];
      const c = cmp.get(name);
      line += pad(`${fmt(r.mean)} ± ${fmt(r.std)}`, colW) + (c ? pad(fmt(c.overlap, 2), 9) + fmt(c.kl, 2) : 'n/a');
    }
    lines.push(line);
  }
  const keys = (m: SetMetrics) => m.keys.slice(0, 3).map((k) => `${k.key} (${k.pieces})`).join(', ') || 'none';
  lines.push(pad('most common keys', 32) + keys(gen.metrics));
  if (ref) lines.push(pad('', 32) + `${keys(ref.metrics)} in ${ref.label}`);
  for (const name of Object.keys(HISTOGRAM_INFO) as HistogramName[]) {
    const info = HISTOGRAM_INFO[name];
    lines.push('', info.label);
    const labelW = Math.max(gen.label.length, ref?.label.length ?? 0) + 2;
    lines.push(' '.repeat(labelW) + info.bins.map((b) => b.padStart(6)).join(''));
    const row = (label: string, h: number[]) => pad(label, labelW) + h.map((v) => fmt(v).replace(/^0/, '').padStart(6)).join('');
    lines.push(row(gen.label, gen.metrics[name]));
    if (ref) {
      lines.push(row(ref.label, ref.metrics[name]));
      const c = cmp.get(name);
      lines.push(c ? `overlap ${fmt(c.overlap, 2)}, KL ${fmt(c.kl, 2)}` : 'not compared (no notes in one of the sets)');
    }
  }
  if (ref) {
    lines.push('', `summary: mean overlap ${fmt(ref.summary)} over ${ref.comparisons.length} metrics (1 = the same distributions as ${ref.label})`);
  }
  return lines.join('\n');
}
