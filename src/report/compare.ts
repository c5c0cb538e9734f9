/**
 * Builds the comparison report of several trained models on one dataset: scores on valid and test,
 * samples with the same seeds and primers for every model (MIDI, WAV, piano rolls), and the music
 * metrics of each model's samples against the test split.
 */
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import type { Frame } from '../data/pianoroll.js';
import { sample } from '../generate/sampler.js';
import { writeSample, type SampleSettings } from '../generate/outputs.js';
import { compareSets, setMetrics } from '../generate/metrics.js';
import { rollToMidi } from '../midi/write.js';
import type { SequenceModel } from '../models/model.js';
import { defaultBarFrames, rollToSvg } from '../render/pianoroll-image.js';
import { evaluateSequences } from '../train/evaluate.js';
import type { Report, ReportModel } from './report.js';
import type { RunSummary } from '../run/summary.js';

export interface ComparedModel {
  name: string;
  model: SequenceModel;
  run: RunSummary;
  command?: string;
  /** Validation NLL measured before (a bundled model's card): skips scoring the valid split again. */
  knownValidNll?: number;
}

export interface CompareOptions {
  title: string;
  datasetName: string;
  dataset: Dataset;
  models: ComparedModel[];
  outDir: string;
  seed: number;
  /** Pieces written with audio and pictures, each opened by a primer from the test split. */
  listenCount: number;
  /** Unprimed samples per model for the music metrics. */
  metricCount: number;
  length: number;
  primerFrames: number;
  temperature: number;
  log: (line: string) => void;
  notes?: string[];
}

/** Test sequences used as primers: the first `count` sequences with at least `frames` frames. */
export function pickPrimers(test: readonly Frame[][], count: number, frames: number): { index: number; frames: Frame[] }[] {
  const out: { index: number; frames: Frame[] }[] = [];
  for (let i = 0; i < test.length && out.length < count; i++) {
    if (test[i].length > frames) out.push({ index: i, frames: test[i].slice(0, frames) });
  }
  return out;
}

export function parameterCount(model: SequenceModel): number {
  return model.parameters().reduce((s, p) => s + p.data.length, 0);
}

export async function buildComparison(o: CompareOptions): Promise<Report> {
  const evalOptions = { batchFrames: 8192, maxLength: Number.MAX_SAFE_INTEGER };
  const timing = o.dataset.timing;
  const barFrames = defaultBarFrames({ frames: [], timing });
  const reference = setMetrics(o.dataset.test, barFrames);
  const primers = pickPrimers(o.dataset.test, o.listenCount, o.primerFrames);
  const entries: ReportModel[] = [];
  for (const m of o.models) {
    o.log(`${m.name}: scoring the ${m.knownValidNll === undefined ? 'valid and ' : ''}test split`);
    const validNll = m.knownValidNll ?? evaluateSequences(m.model, o.dataset.valid, evalOptions).nll;
    const test = evaluateSequences(m.model, o.dataset.test, evalOptions);
    o.log(`${m.name}: valid ${validNll.toFixed(4)}, test ${test.nll.toFixed(4)} nats/frame; generating`);
    const settings = (primer: string | null, count: number): SampleSettings => ({
      model: m.name,
      checkpoint: m.name,
      seed: o.seed,
      temperature: o.temperature,
      length: o.length,
      count,
      maxPolyphony: null,
      primer,
    });
    const samples: ReportModel['samples'] = [];
    for (const [i, primer] of primers.entries()) {
      const label = `${o.datasetName}:test:${primer.index}`;
      const [s] = sample(m.model, { length: o.length, temperature: o.temperature, seed: o.seed + i, count: 1, primer: primer.frames });
      const stem = `${m.name}-${i + 1}`;
      writeSample(s, {
        outDir: join(o.outDir, 'samples'),
        stem,
        formats: ['mid', 'wav', 'png', 'json'],
        timing,
        settings: { ...settings(label, 1), seed: o.seed + i },
        midi: (roll) => rollToMidi(roll),
      });
      samples.push({
        label: `${m.name}, seed ${o.seed + i}, primer ${label}`,
        wav: `samples/${stem}.wav`,
        mid: `samples/${stem}.mid`,
        png: `samples/${stem}.png`,
        svg: rollToSvg({ frames: s.frames, timing }, { primerLength: s.primerLength, title: `${m.name} - seed ${o.seed + i} - primer ${label}` }),
        primerFrames: s.primerLength,
      });
    }
    const unprimed = sample(m.model, { length: o.length, temperature: o.temperature, seed: o.seed, count: o.metricCount });
    const generated = setMetrics(unprimed.map((s) => s.frames), barFrames);
    const { comparisons, summary } = compareSets(generated, reference);
    entries.push({
      name: m.name,
      parameters: parameterCount(m.model),
      wallSeconds: m.run.wallSeconds,
      framesPerSecond: m.run.framesPerSecond,
      bestValidNll: m.run.bestValidNll ?? validNll,
      validNll,
      testNll: test.nll,
      testFrames: test.frames,
      musicMetrics: Object.fromEntries(comparisons.map((c) => [c.metric, c.overlap])),
      musicSummary: summary,
      emptyShare: generated.emptyShare.mean,
      keysPerFrame: generated.meanPolyphony.mean,
      trainCurve: m.run.trainCurve,
      validCurve: m.run.validCurve,
      command: m.command,
      samples,
    });
  }
  const validSet = setMetrics(o.dataset.valid, barFrames);
  const ceiling = {
    musicSummary: compareSets(validSet, reference).summary,
    emptyShare: validSet.emptyShare.mean,
    keysPerFrame: validSet.meanPolyphony.mean,
  };
  return {
    title: o.title,
    dataset: o.datasetName,
    models: entries,
    ceiling,
    notes: [
      `Test NLL averaged over ${entries[0]?.testFrames?.toLocaleString('en-US') ?? '?'} predicted frames. ` +
        `Samples: ${o.length} frames after a ${o.primerFrames}-frame primer from the test split, temperature ${o.temperature}, the same seeds for every model. ` +
        `Music overlap: mean histogram overlap of ${o.metricCount} unprimed samples with the test split over the metrics of docs/metrics.md (1 = same distribution); ` +
        `the validation split scores ${ceiling.musicSummary.toFixed(3)} against the test split, the ceiling a model can reach.`,
      ...(o.notes ?? []),
    ],
  };
}
