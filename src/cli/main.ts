import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { UserError } from '../errors.js';

/** Runs the CLI; returns the process exit code. Errors meant for users print as one line, no stack. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('rwkv-music')
    .description('Train, compare and play polyphonic music models (RWKV-4 and an LSTM baseline).')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  registerCommands(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof UserError) {
      console.error(`rwkv-music: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
