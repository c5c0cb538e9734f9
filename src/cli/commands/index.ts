import type { Command } from 'commander';
import { registerData } from './data.js';
import { registerStudio } from './studio.js';

/** Each command lives in its own file and adds itself to the program here. */
export function registerCommands(program: Command): void {
  registerData(program);
  registerStudio(program);
}
