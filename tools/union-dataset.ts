/**
 * Builds one dataset from the training splits of the bundled benchmarks, for pretraining a model that
 * is then fine-tuned on each (`rwkv-music train --dataset <out> ...`, then `--init-from`). Every
 * training piece that shares a chord passage or a tune with a validation or test piece of another
 * bundled dataset is left out (src/data/overlap.ts), so no benchmark's held-out pieces are seen in pretraining; the
 * validation and test splits are the union of theirs.
 *
 *   node dist/tools/union-dataset.js <out.json.gz> [--datasets nottingham,jsb-chorales,musedata,piano-midi-de]
 */
import { BUNDLED_DATASETS, loadDataset, saveDataset, type Dataset } from '../src/data/dataset.js';
import { HeldOutIndex, type HeldOutPiece } from '../src/data/overlap.js';
import type { Frame } from '../src/data/pianoroll.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const out = process.argv[2];
if (!out || out.startsWith('--')) {
  console.error('usage: node dist/tools/union-dataset.js <out.json.gz> [--datasets a,b,...]');
  process.exit(2);
}
const chosen = (flag('--datasets') ?? BUNDLED_DATASETS.join(',')).split(',');
for (const name of chosen) {
  if (!(BUNDLED_DATASETS as readonly string[]).includes(name)) {
    console.error(`--datasets: ${name} is not a bundled dataset (${BUNDLED_DATASETS.join(', ')})`);
    process.exit(2);
  }
}

const all = new Map<string, Dataset>(BUNDLED_DATASETS.map((name) => [name, loadDataset(name)]));
const heldOut: HeldOutPiece[] = [];
for (const [name, ds] of all) {
  for (const split of ['valid', 'test'] as const) {
    ds[split].forEach((frames, i) => heldOut.push({ name: `${name}/${split}/${i}`, source: name, frames }));
  }
}
const index = new HeldOutIndex(heldOut);

const union = { train: [] as Frame[][], valid: [] as Frame[][], test: [] as Frame[][] };
for (const name of chosen) {
  const ds = all.get(name)!;
  let dropped = 0;
  ds.train.forEach((frames, i) => {
    const shared = index.shared(frames, name);
    if (shared.length === 0) {
      union.train.push(frames);
      return;
    }
    dropped++;
    const list = shared.map((s) => `${s.heldOut} (${s.passages} chord passages, ${Math.round(100 * s.tune)}% of the tune)`).join(', ');
    console.log(`left out ${name}/train/${i}: shares material with ${list}`);
  });
  union.valid.push(...ds.valid);
  union.test.push(...ds.test);
  console.log(`${name}: ${ds.train.length - dropped} of ${ds.train.length} training pieces kept`);
}
saveDataset(out, { name: out, ...union, timing: all.get(chosen[0])!.timing });
const frames = (seqs: Frame[][]) => seqs.reduce((n, s) => n + s.length, 0);
console.log(`wrote ${out}: train ${union.train.length} pieces (${frames(union.train)} frames), valid ${union.valid.length}, test ${union.test.length}`);
