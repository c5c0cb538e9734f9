// @ts-check
// Continues the first tune of the Nottingham test split with the bundled LSTM, printing each frame as
// it is drawn, and writes the piece as MIDI and WAV. Run it in the package folder, or in a project
// that installed rwkv-music:   node examples/generate.mjs [output folder]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, loadModel, rollToMidi, rollToWav, sample } from 'rwkv-music';

const out = process.argv[2] ?? 'out/example';
const model = loadModel('lstm'); // or a run folder, or a .safetensors file
const dataset = loadDataset('nottingham');
const primer = dataset.test[0].slice(0, 16);

const [piece] = sample(model, {
  primer,
  length: 64,
  temperature: 0.9,
  seed: 7,
  count: 1,
  // called with every frame as soon as it is drawn (t counts the generated frames from 0)
  onFrame: (t) => process.stdout.write(t % 16 === 15 ? '|' : '.'),
});
process.stdout.write('\n');

const roll = { frames: piece.frames, timing: dataset.timing };
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'continuation.mid'), rollToMidi(roll));
writeFileSync(join(out, 'continuation.wav'), rollToWav(roll));
console.log(`${piece.frames.length} frames (${piece.primerLength} from the primer) -> ${join(out, 'continuation.mid')}, ${join(out, 'continuation.wav')}`);
