import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderLossChart, type CurvePoint } from './charts.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { Report } from './report.js';
import { writeFileAtomic as writeAtomic } from '../atomic-write.js';

/** Writes index.html, README.md and the loss-curve charts (SVG + PNG) into outDir. Sample files are the caller's. */
export async function writeReport(outDir: string, report: Report): Promise<{ html: string; markdown: string }> {
  mkdirSync(outDir, { recursive: true });
  const points = (pick: 'trainCurve' | 'validCurve'): CurvePoint[] =>
    report.models.flatMap((m) => m[pick].map((p) => ({ model: m.name, epoch: p.epoch, nll: p.nll })));
  const train = await renderLossChart('Training loss', points('trainCurve'));
  const valid = await renderLossChart('Validation loss', points('validCurve'));
  writeAtomic(join(outDir, 'loss-train.svg'), train.svg);
  writeAtomic(join(outDir, 'loss-train.png'), train.png);
  writeAtomic(join(outDir, 'loss-valid.svg'), valid.svg);
  writeAtomic(join(outDir, 'loss-valid.png'), valid.png);
  const html = join(outDir, 'index.html');
  const markdown = join(outDir, 'README.md');
  writeAtomic(html, renderHtml(report, { train: train.svg, valid: valid.svg }));
  writeAtomic(markdown, renderMarkdown(report, { train: 'loss-train.png', valid: 'loss-valid.png' }));
  return { html, markdown };
}
