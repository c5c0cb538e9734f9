/** Runs the CLI in-process, capturing what it prints and the exit code it would give. */
import { main } from '../../src/cli/main.js';

export async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  const saved = process.exitCode;
  process.exitCode = undefined;
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = saved;
  }
}
