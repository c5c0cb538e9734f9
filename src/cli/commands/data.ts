import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { UserError } from '../../errors.js';
import { parseInteger, parseNumber, parsePositive } from '../parse.js';
import { BUNDLED_DATASETS, loadDataset, saveDataset } from '../../data/dataset.js';
import { importMidiFolder, ImportFailedError, DEFAULT_SEED, DEFAULT_SPLIT } from '../../data/import.js';
import { importMidiFolderSharded } from '../../data/shards.js';
import { datasetStats, P_CLAMP, type SplitStats } from '../../data/stats.js';
import { noteName, type FrameTiming } from '../../data/pianoroll.js';
import { DEFAULT_MAX_FRAMES } from '../../midi/read.js';
import { MAX_PIECE_FRAMES } from '../../limits.js';
import { prepareOutputFile } from '../../output-paths.js';

export function registerData(program: Command): void {
  const data = program.command('data').description('Dataset tools: stats, import');

  data
    .command('stats')
    .description('Per-split statistics and the trivial baseline NLL of a dataset')
    .argument('<dataset>', `a bundled dataset (${BUNDLED_DATASETS.join(', ')}), a .json.gz dataset file, or a folder of MIDI files`)
    .option('--json', 'print the statistics as JSON')
    .action((name: string, opts: { json?: boolean }) => {
      const ds = loadDataset(name);
      const stats = datasetStats(ds);
      if (opts.json) {
        console.log(JSON.stringify({ dataset: name, timing: ds.timing, splits: stats }, null, 2));
        return;
      }
      const source = (BUNDLED_DATASETS as readonly string[]).includes(name) ? ` (bundled: data/${name}.json.gz)` : '';
      console.log(`${name}${source}`);
      console.log(`timing: ${describeTiming(ds.timing)}`);
      console.log('');
      console.log(formatStatsTable(stats));
      console.log('');
      console.log(`baseline NLL: nats per frame, first frame of each sequence not scored; each key an independent`);
      console.log(`Bernoulli with its frequency over all training frames, clamped to [${P_CLAMP}, 1-${P_CLAMP}].`);
    });

  data
    .command('import')
    .description('Convert a folder of .mid/.midi files (searched recursively) into a dataset file')
    .argument('<folder>', 'folder of MIDI files')
    .requiredOption('--out <file>', 'dataset file to write (gzip JSON, e.g. my.json.gz), or a new folder with --shard-frames')
    .option('--split <shares>', 'train,valid,test shares', DEFAULT_SPLIT.join(','))
    .option('--seed <n>', 'seed of the shuffle that assigns pieces to splits', String(DEFAULT_SEED))
    .option('--steps-per-quarter <n>', 'frames per quarter note on the tempo-aware grid (default 2: eighth notes)')
    .option('--frame-seconds <s>', 'fixed frame length in seconds instead of the grid (e.g. 0.3)')
    .option('--keep-leading-silence', 'keep the silent frames before the first note of each piece')
    .option('--no-recursive', 'only the files directly in the folder, not in its subfolders')
    .option('--max-frames <n>', 'skip pieces longer than this many frames', String(DEFAULT_MAX_FRAMES))
    .option('--shard-frames <n>', 'write a sharded dataset: --out is a new folder of shards of about n frames each (for collections bigger than memory)')
    .option('--overwrite', 'replace the --out file if it exists')
    .action((folder: string, opts: { overwrite?: boolean; out: string; split: string; seed: string; stepsPerQuarter?: string; frameSeconds?: string; maxFrames: string; recursive: boolean; keepLeadingSilence?: boolean; shardFrames?: string }) => {
      if (opts.stepsPerQuarter !== undefined && opts.frameSeconds !== undefined) {
        throw new UserError('give either --steps-per-quarter or --frame-seconds, not both');
      }
      const split = opts.split.split(',').map((s) => parseNumber(s, '--split', 0));
      if (split.length !== 3) throw new UserError(`--split needs three shares for train, valid and test, got "${opts.split}"`);
      const seed = parseInteger(opts.seed, '--seed', 0, 0xffffffff);
      const stepsPerQuarter = opts.stepsPerQuarter === undefined ? undefined : parseInteger(opts.stepsPerQuarter, '--steps-per-quarter', 1);
      const frameSeconds = opts.frameSeconds === undefined ? undefined : parsePositive(opts.frameSeconds, '--frame-seconds');
      const maxFrames = parseInteger(opts.maxFrames, '--max-frames', 1, MAX_PIECE_FRAMES);
      const shardFrames = opts.shardFrames === undefined ? undefined : parseInteger(opts.shardFrames, '--shard-frames', 1);
      if (shardFrames === undefined) prepareOutputFile(opts.out, { inputs: [folder], overwrite: opts.overwrite === true });

      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar(
            { stream: process.stderr, format: 'importing [{bar}] {value}/{total} files  {file}', hideCursor: true, clearOnComplete: true },
            cliProgress.Presets.shades_classic,
          )
        : null;
      const started = performance.now();
      let barStarted = false;
      try {
        const importOptions = {
          split: split as [number, number, number],
          seed,
          recursive: opts.recursive,
          keepLeadingSilence: opts.keepLeadingSilence === true,
          stepsPerQuarter,
          frameSeconds,
          maxFrames,
          onProgress: (done: number, total: number, file: string) => {
            if (!bar) return;
            if (!barStarted) {
              bar.start(total, 0, { file: '' });
              barStarted = true;
            }
            bar.update(done, { file: file.length > 40 ? '...' + file.slice(-37) : file });
          },
        };
        if (shardFrames !== undefined) {
          const r = importMidiFolderSharded(folder, opts.out, { ...importOptions, shardFrames });
          bar?.stop();
          barStarted = false;
          for (const f of r.failures) console.error(`skipped ${f.file}: ${f.reason}`);
          const count = (s: 'train' | 'valid' | 'test') => r.manifest.splits[s].reduce((n, e) => n + e.sequences, 0);
          const shards = r.manifest.splits.train.length + r.manifest.splits.valid.length + r.manifest.splits.test.length;
          console.log(`converted ${fmt(r.converted)} of ${fmt(r.files)} files in ${((performance.now() - started) / 1000).toFixed(1)} s (${fmt(r.failures.length)} skipped)`);
          console.log(`frames: ${fmt(r.frames)}; notes outside 21..108 dropped: ${fmt(r.dropped)}; timing: ${describeTiming(r.manifest.timing)}`);
          console.log(`split (seed ${seed}): train ${count('train')}, valid ${count('valid')}, test ${count('test')} pieces in ${shards} shards`);
          console.log(`wrote ${opts.out}`);
          return;
        }
        const result = importMidiFolder(folder, importOptions);
        bar?.stop();
        barStarted = false;
        const seconds = (performance.now() - started) / 1000;
        for (const f of result.failures) console.error(`skipped ${f.file}: ${f.reason}`);
        saveDataset(opts.out, result.dataset);
        const ds = result.dataset;
        const frames = result.converted.reduce((n, p) => n + p.frames, 0);
        console.log(`converted ${fmt(result.converted.length)} of ${fmt(result.files)} files in ${seconds.toFixed(1)} s (${fmt(result.failures.length)} skipped)`);
        console.log(`frames: ${fmt(frames)}; notes outside 21..108 dropped: ${fmt(result.dropped)}; timing: ${describeTiming(ds.timing)}`);
        console.log(`split (seed ${seed}): train ${ds.train.length}, valid ${ds.valid.length}, test ${ds.test.length} pieces`);
        console.log(`wrote ${opts.out}`);
      } catch (err) {
        if (barStarted) bar?.stop();
        barStarted = false;
        if (err instanceof ImportFailedError) for (const f of err.failures) console.error(`skipped ${f.file}: ${f.reason}`);
        throw err;
      } finally {
        if (barStarted) bar?.stop();
      }
    });
}

export function formatStatsTable(stats: SplitStats[]): string {
  const header = ['split', 'sequences', 'frames', 'mean len', 'min len', 'max len', 'notes/frame', 'pitch range', 'baseline NLL'];
  const rows = stats.map((s) => [
    s.split,
    fmt(s.sequences),
    fmt(s.frames),
    num(s.meanLength, 1),
    Number.isNaN(s.minLength) ? '-' : fmt(s.minLength),
    Number.isNaN(s.maxLength) ? '-' : fmt(s.maxLength),
    num(s.meanNotesPerFrame, 2),
    s.pitchRange ? `${s.pitchRange.low}..${s.pitchRange.high} (${noteName(s.pitchRange.low)}-${noteName(s.pitchRange.high)})` : '-',
    num(s.baselineNll, 4),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 7 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function describeTiming(t: FrameTiming): string {
  return t.kind === 'grid' ? `${t.stepsPerQuarter} frame(s) per quarter note at ${t.bpm} bpm` : `${t.frameSeconds} s per frame`;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function num(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

