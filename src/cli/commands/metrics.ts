import type { Command } from 'commander';
import { compareSets, setMetrics } from '../../generate/metrics.js';
import { formatMetrics } from '../../generate/metrics-report.js';
import { loadPieceSet } from '../../generate/pieces.js';
import { defaultBarFrames } from '../../render/pianoroll-image.js';
import { parseInteger } from '../parse.js';

export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description('Objective music metrics (Yang & Lerch 2018) of generated samples or a dataset split, optionally against a reference split')
    .argument('<source>', 'a folder of sample .json files written by generate, or a dataset name[:split] (default split: test)')
    .option('--against <dataset:split>', 'reference set: per metric overlap and KL, and a summary')
    .option('--bar-frames <n>', 'bar length in frames for the repetition metric (default: 4 beats of the grid)')
    .option('--json', 'print the numbers as JSON instead of a table')
    .action((source: string, opts: { against?: string; barFrames?: string; json?: boolean }) => {
      const gen = loadPieceSet(source);
      let bar = defaultBarFrames({ frames: [], timing: gen.timing });
      if (opts.barFrames !== undefined) {
        bar = parseInteger(opts.barFrames, '--bar-frames', 1);
      }
      const genMetrics = setMetrics(gen.pieces, bar);
      let ref;
      if (opts.against) {
        const refSet = loadPieceSet(opts.against);
        const refMetrics = setMetrics(refSet.pieces, bar);
        ref = { label: refSet.label, metrics: refMetrics, ...compareSets(genMetrics, refMetrics) };
      }
      if (opts.json) {
        const strip = ({ perPiece: _, ...rest }: typeof genMetrics) => rest;
        const out = {
          source: gen.label,
          barFrames: bar,
          metrics: strip(genMetrics),
          ...(ref ? { against: ref.label, reference: strip(ref.metrics), comparisons: ref.comparisons, summary: ref.summary } : {}),
        };
        console.log(JSON.stringify(out, (_, v) => (typeof v === 'number' && Number.isNaN(v) ? null : v), 2));
        return;
      }
      console.log(formatMetrics({ label: gen.label, metrics: genMetrics }, ref, bar));
    });
}
