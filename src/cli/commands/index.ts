import type { Command } from 'commander';
import { registerCompare } from './compare.js';
import { registerData } from './data.js';
import { registerDemo } from './demo.js';
import { registerEval } from './eval.js';
import { registerGenerate } from './generate.js';
import { registerHarmonize } from './harmonize.js';
import { registerMetrics } from './metrics.js';
import { registerStudio } from './studio.js';
import { registerTrain } from './train.js';
import { registerTune } from './tune.js';

/** Each command lives in its own file and adds itself to the program here. */
export function registerCommands(program: Command): void {
  registerData(program);
  registerTrain(program);
  registerEval(program);
  registerGenerate(program);
  registerHarmonize(program);
  registerMetrics(program);
  registerCompare(program);
  registerDemo(program);
  registerStudio(program);
  registerTune(program);
}
