import { fmt, resultsTable, type Report } from './report.js';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A self-contained page (no network): inline charts and piano rolls, audio and MIDI by relative path. */
export function renderHtml(report: Report, charts: { train: string; valid: string }): string {
  const table = resultsTable(report);
  const metricNames = [...new Set(report.models.flatMap((m) => Object.keys(m.musicMetrics ?? {})))];
  const metricsTable = metricNames.length
    ? `<h2>Music metrics (overlap with the reference split, 1 = identical distributions)</h2>
<table><tr><th>metric</th>${report.models.map((m) => `<th>${esc(m.name)}</th>`).join('')}</tr>
${metricNames.map((k) => `<tr><td>${esc(k)}</td>${report.models.map((m) => `<td>${fmt(m.musicMetrics?.[k])}</td>`).join('')}</tr>`).join('\n')}
</table>`
    : '';
  const samples = report.models
    .map(
      (m) => `<section><h3>${esc(m.name)}</h3>${m.samples
        .map(
          (s) => `<figure>
<figcaption>${esc(s.label)}${s.primerFrames ? ` <span class="muted">(first ${s.primerFrames} frames are the primer, shaded)</span>` : ''}</figcaption>
${s.svg ?? (s.png ? `<img src="${esc(s.png)}" alt="piano roll of ${esc(s.label)}">` : '')}
<div class="links">${s.wav ? `<audio controls preload="none" src="${esc(s.wav)}"></audio>` : ''}
${s.mid ? `<a href="${esc(s.mid)}" download>MIDI</a>` : ''} ${s.wav ? `<a href="${esc(s.wav)}" download>WAV</a>` : ''}</div>
</figure>`,
        )
        .join('\n')}</section>`,
    )
    .join('\n');
  const commands = report.models.filter((m) => m.command).map((m) => `<li><b>${esc(m.name)}</b>: <code>${esc(m.command!)}</code></li>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(report.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.35rem .7rem;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.charts svg{max-width:100%;height:auto}
figure{margin:1rem 0;padding:.5rem;border:1px solid #eee;border-radius:6px}figure svg{max-width:100%;height:auto}
.links{display:flex;gap:1rem;align-items:center;margin-top:.4rem}.muted{color:#777;font-size:.9em}
code{background:#f4f4f4;padding:.1rem .3rem;border-radius:3px}
</style></head><body>
<h1>${esc(report.title)}</h1>
<p>Dataset: <b>${esc(report.dataset)}</b>. Loss is the frame-level negative log-likelihood in nats per frame
(Bernoulli NLL summed over the 88 keys, averaged over every predicted frame; the first frame of each sequence is not scored);
per-key BCE is that divided by 88. Lower is better.</p>
<table><tr>${table.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>
${table.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</table>
${report.notes.map((n) => `<p class="muted">${esc(n)}</p>`).join('\n')}
<h2>Loss curves</h2>
<div class="charts">${charts.train}${charts.valid}</div>
${metricsTable}
<h2>Samples</h2>
${samples}
${commands.length ? `<h2>Reproduce</h2><ul>${commands.join('\n')}</ul>` : ''}
</body></html>
`;
}
