import type { Command } from 'commander';
import { resultsTable, type Report } from '../../report/report.js';
import { MAX_GENERATED_FRAMES } from '../../limits.js';
import { UserError } from '../../errors.js';
import { parseInteger, parsePositive } from '../parse.js';

export interface ReportFlags {
  seed: string;
  samples: string;
  length: string;
  temperature: string;
}

export function addReportOptions(cmd: Command): Command {
  return cmd
    .option('--seed <n>', 'seed for training and sampling', '1')
    .option('--samples <k>', 'pieces per model with audio and pictures', '3')
    .option('--length <frames>', 'frames generated after each primer', '128')
    .option('--temperature <t>', 'sampling temperature', '1');
}

export function reportOptionsFrom(flags: ReportFlags) {
  const length = parseInteger(flags.length, '--length', 1);
  if (length > MAX_GENERATED_FRAMES) throw new UserError(`--length must be at most ${MAX_GENERATED_FRAMES} frames (docs/limits.md), got ${flags.length}`);
  return {
    seed: parseInteger(flags.seed, '--seed', 0, 0xffffffff),
    listenCount: parseInteger(flags.samples, '--samples', 0),
    metricCount: 16,
    length,
    primerFrames: 16,
    temperature: parsePositive(flags.temperature, '--temperature'),
  };
}

/** The results table on the terminal, and where the full report is. */
export function printResults(report: Report, htmlPath: string): void {
  const { header, rows } = resultsTable(report);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(`\nNLL in nats per frame (lower is better). Report: ${htmlPath}`);
}
