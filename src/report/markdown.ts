import { resultsTable, type Report } from './report.js';

/** The report's README: the same results table and the PNG curves. */
export function renderMarkdown(report: Report, chartFiles: { train: string; valid: string }): string {
  const table = resultsTable(report);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const commands = report.models.filter((m) => m.command).map((m) => `- ${m.name}: \`${m.command}\``);
  return [
    `# ${report.title}`,
    '',
    `Dataset: **${report.dataset}**. NLL in nats per frame (Bernoulli NLL summed over 88 keys, averaged over all predicted frames; first frame of each sequence not scored); per-key BCE = NLL / 88. Lower is better.`,
    '',
    line(table.header),
    line(table.header.map(() => '---')),
    ...table.rows.map(line),
    '',
    ...report.notes.flatMap((n) => [n, '']),
    `![training loss](${chartFiles.train})`,
    '',
    `![validation loss](${chartFiles.valid})`,
    '',
    'Samples with audio players and piano rolls: open `index.html`.',
    ...(commands.length ? ['', '## Reproduce', '', ...commands] : []),
    '',
  ].join('\n');
}
