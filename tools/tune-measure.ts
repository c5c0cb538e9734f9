/**
 * The state-tuning measurement of docs/results.md: from a bundled model, for each k, tune on the
 * first k pieces of a dataset's train split and score its test split: test NLL before, after state
 * tuning (a time budget), and after fine-tuning every weight for the same wall-clock budget (the
 * trainer, warm-started from the bundled weights, constant learning rate, one run per --finetune-lr).
 * One thread for everything (--finetune-lr none: state tuning only). Writes the style files
 * and a JSON summary into --out.
 *
 *   node dist/tools/tune-measure.js --model rwkv --dataset jsb-chorales --k 1,5,20 --seconds 60 --out /tmp/tune-rwkv
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/dataset.js';
import { createGemm } from '../src/engine/gemm-default.js';
import { createKernels } from '../src/engine/kernels-default.js';
import { resolveModel } from '../src/run/resolve.js';
import { loadModelFile } from '../src/models/io.js';
import { hasStartState, startingFrom } from '../src/models/start-state.js';
import { readRunConfig } from '../src/run/config.js';
import { evaluateSequences } from '../src/train/evaluate.js';
import { train } from '../src/train/loop.js';
import { writeStyleFile } from '../src/tune/files.js';
import { DEFAULT_TUNE, tuneStart } from '../src/tune/tune.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'rwkv' },
    dataset: { type: 'string', default: 'jsb-chorales' },
    k: { type: 'string', default: '1,5,20' },
    seconds: { type: 'string', default: '60' },
    steps: { type: 'string', default: String(DEFAULT_TUNE.steps) },
    'tune-lags': { type: 'boolean', default: false },
    lr: { type: 'string', default: String(DEFAULT_TUNE.lr) },
    'finetune-lr': { type: 'string', default: '3e-4,1e-3' },
    out: { type: 'string', default: 'tune-measure' },
  },
});
const seconds = Number(values.seconds);
const ks = values.k!.split(',').map(Number);
const gemm = createGemm({ threads: 1 });
const kernels = createKernels({ threads: 1 });
const checkpoint = resolveModel(values.model!);
const load = () => loadModelFile(checkpoint.file, { gemm, kernels });
const ds = loadDataset(values.dataset!);
const evalOpts = { batchFrames: 4096, maxLength: Number.MAX_SAFE_INTEGER };
mkdirSync(values.out!, { recursive: true });
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

const base = load();
if (!hasStartState(base)) throw new Error('model without start state');
const before = evaluateSequences(base, ds.test, evalOpts).nll;
log(`${checkpoint.name}: test NLL before ${before.toFixed(3)}`);
const rows = [];
for (const k of ks) {
  const pieces = ds.train.slice(0, k);
  const r = await tuneStart(base, pieces, { ...DEFAULT_TUNE, steps: Number(values.steps), seconds, lr: Number(values.lr), seed: 1, lags: values['tune-lags'] });
  const stylePath = join(values.out!, `${checkpoint.name}-k${k}.safetensors`);
  const bytes = writeStyleFile(stylePath, base, r.start, { name: checkpoint.name, data: `${values.dataset}:train`, pieces: String(k), steps: String(r.steps) });
  const afterState = evaluateSequences(startingFrom(base, r.start), ds.test, evalOpts).nll;
  log(`k=${k}: state tuning ${r.steps} steps in ${r.seconds.toFixed(1)} s, tuning-piece NLL ${r.nllZero.toFixed(3)} -> ${r.nllFinal.toFixed(3)}; test ${afterState.toFixed(3)}; ${bytes} bytes`);

  // full fine-tuning for the same wall-clock budget, warm-started from the bundled weights
  const full = [];
  for (const lr of values['finetune-lr'] === 'none' ? [] : values['finetune-lr']!.split(',').map(Number)) {
    const runDir = mkdtempSync(join(tmpdir(), 'tune-measure-'));
    const run = readRunConfig(join(checkpoint.file, '..'));
    const config = {
      ...run,
      dataset: values.dataset!,
      training: {
        ...run.training, epochs: null, minutes: seconds / 60, initHeadBias: false, transpose: 0, patience: null,
        schedule: { kind: 'constant' as const, lr }, checkpointMinutes: 1e9,
      },
    };
    const started = performance.now();
    const ft = await train({ runDir, config, resume: false, data: { train: pieces, valid: pieces }, buildModel: () => load(), kernels, log: () => {} });
    const ftSeconds = (performance.now() - started) / 1000;
    const test = evaluateSequences(ft.model, ds.test, evalOpts).nll;
    rmSync(runDir, { recursive: true, force: true });
    log(`k=${k}: full fine-tuning at lr ${lr}: ${ft.step} steps in ${ftSeconds.toFixed(1)} s; test ${test.toFixed(3)}`);
    full.push({ lr, steps: ft.step, seconds: ftSeconds, test });
  }
  rows.push({ k, before, afterState, full, tuneSteps: r.steps, tuneSeconds: r.seconds, styleBytes: bytes, tuningPieceNll: [r.nllZero, r.nllInit, r.nllFinal] });
  writeFileSync(join(values.out!, `${checkpoint.name}.json`), JSON.stringify({ model: checkpoint.name, dataset: values.dataset, seconds, rows }, null, 2));
}
