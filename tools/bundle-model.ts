/**
 * Turns a finished training run into a bundled model: models/<name>/ with the best weights in half
 * precision, the run's config and metrics, and a model card (card.json + README.md) whose scores are
 * measured here on the bundled (half-precision) weights.
 *
 *   node dist/tools/bundle-model.js <run folder> <name> --command "<the exact train command>" \
 *       --commit <commit the run was trained at> [--machine "<description>"] [--notes "<how the run ended>"]
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/atomic-write.js';
import { loadDataset } from '../src/data/dataset.js';
import { defaultGemm } from '../src/engine/gemm-default.js';
import { defaultKernels } from '../src/engine/kernels-default.js';
import { loadModelFile, modelFromBytes, modelToBytes } from '../src/models/io.js';
import { parameterCount } from '../src/report/compare.js';
import { readRunConfig } from '../src/run/config.js';
import { RUN_FILES } from '../src/run/files.js';
import { readRunSummary } from '../src/run/summary.js';
import { evaluateSequences } from '../src/train/evaluate.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const [runDir, name] = process.argv.slice(2);
if (!runDir || !name) {
  console.error('usage: bundle-model <run folder> <name> --command "..." --commit <sha> [--machine "..."]');
  process.exit(2);
}
const command = flag('--command') ?? '';
const notes = flag('--notes') ?? '';
const commit = flag('--commit') ?? '';
const machine = flag('--machine') ?? `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`;

const outDir = fileURLToPath(new URL(`../../models/${name}/`, import.meta.url));
const run = readRunConfig(runDir);
const model = loadModelFile(join(runDir, RUN_FILES.best));
const bytes = modelToBytes(model, 'F16');
const bundled = modelFromBytes(bytes, `${name}/best.safetensors`, { gemm: defaultGemm(), kernels: defaultKernels() });
const ds = loadDataset(run.dataset);
const options = { batchFrames: 8192, maxLength: Number.MAX_SAFE_INTEGER };
const valid = evaluateSequences(bundled, ds.valid, options);
const test = evaluateSequences(bundled, ds.test, options);
const summary = readRunSummary(runDir);

mkdirSync(outDir, { recursive: true });
writeFileAtomic(join(outDir, RUN_FILES.best), bytes);
copyFileSync(join(runDir, RUN_FILES.config), join(outDir, RUN_FILES.config));
copyFileSync(join(runDir, RUN_FILES.metrics), join(outDir, RUN_FILES.metrics));
const card = {
  name,
  model: run.model,
  parameters: parameterCount(bundled),
  dataset: run.dataset,
  seed: run.seed,
  command,
  notes,
  commit,
  machine,
  weights: 'best.safetensors (F16)',
  epochs: summary.validCurve.length,
  wallSeconds: summary.wallSeconds,
  framesPerSecond: summary.framesPerSecond,
  validNll: valid.nll,
  testNll: test.nll,
  testPerKeyBce: test.bce,
  testFrames: test.frames,
};
writeFileAtomic(join(outDir, 'card.json'), JSON.stringify(card, null, 2) + '\n');
const cfg = run.model;
const arch = cfg.kind === 'rwkv'
  ? `RWKV-4, ${cfg.nLayer} layers, n_embd ${cfg.nEmbd}, ffn ${cfg.ffn}, dropout ${cfg.dropout}`
  : cfg.kind === 'rwkv6'
  ? `RWKV-6, ${cfg.nLayer} layers, n_embd ${cfg.nEmbd}, heads of ${cfg.headSize}, decay LoRA ${cfg.decayLora}, ffn ${cfg.ffn}, dropout ${cfg.dropout}`
  : `LSTM, Linear(88->${cfg.embed}), ${cfg.layers}x${cfg.hidden} LSTM, Linear(${cfg.hidden}->88), dropout ${cfg.dropout}`;
const readme = `# Bundled model: ${name}

${arch}; ${card.parameters.toLocaleString('en-US')} parameters, stored in half precision (F16).

| | |
|---|---|
| data | ${run.dataset} (Boulanger-Lewandowski splits, see data/PROVENANCE.md) |
| trained with | \`${command}\` |${notes ? `\n| notes | ${notes} |` : ''}
| at commit | ${commit} |
| machine | ${machine} |
| training | ${card.epochs} epochs, ${((card.wallSeconds ?? 0) / 60).toFixed(1)} min wall time, ${Math.round(card.framesPerSecond ?? 0).toLocaleString('en-US')} frames/s at the end |
| valid NLL | ${valid.nll.toFixed(4)} nats/frame |
| test NLL | ${test.nll.toFixed(4)} nats/frame (per-key BCE ${test.bce.toFixed(5)}, over ${test.frames.toLocaleString('en-US')} predicted frames) |

NLL is the frame-level Bernoulli negative log-likelihood summed over the 88 keys and averaged over
every predicted frame (the first frame of each sequence is not scored), measured on these F16 weights.
\`metrics.jsonl\` is the training log (loss curves); \`config.json\` the full run configuration.

Use it: \`rwkv-music generate --checkpoint ${name}\`, \`rwkv-music eval --checkpoint ${name}\`.
`;
writeFileAtomic(join(outDir, 'README.md'), readme);
console.log(`${name}: valid ${valid.nll.toFixed(4)}, test ${test.nll.toFixed(4)} nats/frame -> ${outDir}`);
