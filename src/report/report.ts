/** Everything a comparison report shows, gathered by the caller (compare / demo) before rendering. */
export interface ReportSample {
  /** Short label, e.g. "rwkv seed 1". */
  label: string;
  /** Paths relative to the report folder. */
  wav?: string;
  mid?: string;
  png?: string;
  /** Inline SVG piano roll (embedded so the page is self-contained). */
  svg?: string;
  primerFrames?: number;
}

export interface ReportModel {
  name: string;
  parameters: number;
  wallSeconds?: number;
  framesPerSecond?: number;
  bestValidNll?: number;
  /** Validation NLL of the weights being reported (the best checkpoint). */
  validNll?: number;
  testNll?: number;
  testFrames?: number;
  /** Music metrics of the samples against the reference split (name -> overlap in [0,1]). */
  musicMetrics?: Record<string, number>;
  musicSummary?: number;
  /** Share of empty frames and mean keys per frame of the unprimed samples. */
  emptyShare?: number;
  keysPerFrame?: number;
  /** Loss curves by epoch (nats/frame). */
  trainCurve: { epoch: number; nll: number }[];
  validCurve: { epoch: number; nll: number }[];
  command?: string;
  samples: ReportSample[];
}

export interface Report {
  title: string;
  dataset: string;
  models: ReportModel[];
  /** Free-form lines shown under the table (e.g. how the numbers were measured). */
  notes: string[];
  /**
   * The same music metrics for the validation split against the test split: what a model that
   * plays exactly like the data would score (the ceiling of the music overlap).
   */
  ceiling?: { musicSummary: number; emptyShare: number; keysPerFrame: number };
}

export const KEYS = 88;

export function perKeyBce(nll: number | undefined): number | undefined {
  return nll === undefined ? undefined : nll / KEYS;
}

export function fmt(value: number | undefined, digits = 3): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

export function fmtPercent(share: number | undefined): string {
  return share === undefined || !Number.isFinite(share) ? '–' : `${(100 * share).toFixed(1)}%`;
}

export function fmtInt(value: number | undefined): string {
  return value === undefined ? '–' : Math.round(value).toLocaleString('en-US');
}

export function fmtDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '–';
  const total = Math.round(seconds); // round once, so 1199.97 s reads 20 min 0 s, not 19 min 60 s
  const m = Math.floor(total / 60);
  const s = total % 60;
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}

/** The results table as rows of cells; shared by the HTML and Markdown renderers. */
export function resultsTable(report: Report): { header: string[]; rows: string[][] } {
  const header = ['model', 'parameters', 'train time', 'frames/s', 'best valid NLL', 'test NLL', 'test per-key BCE', 'music overlap', 'empty frames', 'keys/frame'];
  const rows = report.models.map((m) => [
    m.name,
    fmtInt(m.parameters),
    fmtDuration(m.wallSeconds),
    fmtInt(m.framesPerSecond),
    fmt(m.bestValidNll),
    fmt(m.testNll),
    fmt(perKeyBce(m.testNll), 4),
    fmt(m.musicSummary),
    fmtPercent(m.emptyShare),
    fmt(m.keysPerFrame, 2),
  ]);
  const c = report.ceiling;
  if (c) rows.push(['data: valid vs test (ceiling)', '–', '–', '–', '–', '–', '–', fmt(c.musicSummary), fmtPercent(c.emptyShare), fmt(c.keysPerFrame, 2)]);
  return { header, rows };
}
