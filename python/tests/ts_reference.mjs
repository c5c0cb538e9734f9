// The TypeScript side of the parity tests: loads a model file with the built toolkit (dist/), runs one
// batch and prints its logits, the summed NLL trained on (trainStep, over the training mask), the summed
// NLL scored (evaluate, over the mask) and every parameter's gradient as JSON.
// usage: node python/tests/ts_reference.mjs request.json
//   request: {model, B, T, inputs, targets, mask, trainMask?, condition?}
import { readFileSync } from 'node:fs';
import { loadModelFile } from '../../dist/src/models/io.js';
import { Rng } from '../../dist/src/engine/random.js';

const req = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const model = loadModelFile(req.model);
const batch = {
  B: req.B, T: req.T, D: 88,
  inputs: Float32Array.from(req.inputs), targets: Float32Array.from(req.targets), mask: Float32Array.from(req.mask),
};
if (req.condition) batch.condition = Float32Array.from(req.condition);
if (req.trainMask) batch.trainMask = Float32Array.from(req.trainMask);
const logits = Array.from(model.logits(batch));
const scored = model.evaluate(batch).nllSum;
for (const p of model.parameters()) p.grad.fill(0);
const { nllSum } = model.trainStep(batch, 1, new Rng(1));
const grads = {};
for (const p of model.parameters()) grads[p.name] = Array.from(p.grad);
process.stdout.write(JSON.stringify({ logits, loss: nllSum, scored, grads }));
