/**
 * Training-step speed of one model (forward + backward, no optimizer), split into GEMM time and the
 * rest. Usage:
 *   node dist/tools/model-speed.js rwkv|lstm [--steps n] [--gemm ts|ort|none] [--batch B] [--time T]
 * Reference configurations: RWKV 4x512, ffn 2048, batch 16, T 256; LSTM 88->512, 2x512, batch 32, T 128.
 * --gemm none skips the products entirely (their outputs are left as they are) to time everything else.
 */
import { Rng } from '../src/engine/random.js';
import type { Gemm, GemmArgs } from '../src/engine/gemm.js';
import { tsGemm } from '../src/engine/gemm-ts.js';
import { createGemm } from '../src/engine/gemm-default.js';
import { createModel } from '../src/models/index.js';
import type { ModelConfig } from '../src/models/model.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const kind = args[0] === 'lstm' ? 'lstm' : 'rwkv';
const steps = Number(opt('steps', '3'));
const gemmName = opt('gemm', 'ts');
const B = Number(opt('batch', kind === 'rwkv' ? '16' : '32'));
const T = Number(opt('time', kind === 'rwkv' ? '256' : '128'));
const config: ModelConfig = kind === 'rwkv'
  ? { kind: 'rwkv', nLayer: 4, nEmbd: 512, ffn: 2048, dropout: 0.1 }
  : { kind: 'lstm', layers: 2, hidden: 512, embed: 512, dropout: 0.1 };

let inner: Gemm;
if (gemmName === 'ts') inner = tsGemm;
else if (gemmName === 'none') inner = { name: 'none (products skipped)', gemm() {} };
else if (gemmName === 'ort') inner = createGemm({ backend: 'ort' });
else throw new Error(`--gemm must be ts, ort or none, got ${gemmName}`);

let gemmMs = 0;
let flops = 0;
const timed: Gemm = {
  name: `timed ${inner.name}`,
  gemm(a: GemmArgs) {
    const t0 = performance.now();
    inner.gemm(a);
    gemmMs += performance.now() - t0;
    flops += 2 * a.M * a.N * a.K;
  },
};

const model = createModel(config, { seed: 1, gemm: timed, rwkvInit: 'pytorch' });
const rng = new Rng(2);
const n = B * T * 88;
const inputs = Float32Array.from({ length: n }, () => (rng.next() < 0.05 ? 1 : 0));
const batch = { B, T, D: 88, inputs, targets: inputs.slice(), mask: new Float32Array(B * T).fill(1) };
console.log(`${kind} B=${B} T=${T} gemm=${inner.name}`);
for (let s = 0; s <= steps; s++) {
  gemmMs = 0;
  flops = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  model.trainStep(batch, 1, rng);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`${s === 0 ? 'warm-up' : `step ${s}`}: ${ms.toFixed(0)} ms (GEMM ${gemmMs.toFixed(0)} ms, ${(flops / 1e9).toFixed(1)} GFLOP` +
    `${gemmMs > 0 ? ` at ${(flops / gemmMs / 1e6).toFixed(1)} GFLOP/s` : ''}; rest ${(ms - gemmMs).toFixed(0)} ms; process CPU ${cpuMs.toFixed(0)} ms)` +
    ` -> ${((B * T) / (ms / 1000)).toFixed(0)} frames/s`);
}
