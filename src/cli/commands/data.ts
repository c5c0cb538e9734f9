import type { Command } from 'commander';

export function registerData(program: Command): void {
  program.command('data').description('Dataset tools: stats, import');
}
