/**
 * A training process for crash tests: trains the tiny stand-in model in the run folder given as the
 * first argument up to the step count given second, starting the run if the folder holds none and
 * resuming it otherwise, exactly as `rwkv-music train` / `train --resume` would.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readRunConfig } from '../../src/run/config.js';
import { train } from '../../src/train/loop.js';
import { crashTestConfig, crashTestData } from './crash-run.js';
import { TinyModel } from './tiny-model.js';

const [runDir, steps] = process.argv.slice(2);
const resume = existsSync(join(runDir, 'config.json'));
await train({
  runDir,
  config: resume ? readRunConfig(runDir) : crashTestConfig(),
  resume,
  data: crashTestData(),
  buildModel: (cfg, seed) => new TinyModel(cfg, seed),
  stop: { steps: Number(steps) },
  log: () => {},
});
