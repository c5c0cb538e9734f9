import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

let renames = 0;
const killAtRename = Number(process.env.RWKV_MUSIC_KILL_AT_RENAME ?? 0);

/**
 * Called just before every rename that puts a file or folder in place. A test hook for crash-safety
 * tests: with RWKV_MUSIC_KILL_AT_RENAME=N the process kills itself (SIGKILL, as `kill -9` or a crash
 * would) just before its N-th such rename, so each N is one crash window.
 */
export function beforeRename(): void {
  if (killAtRename > 0 && ++renames === killAtRename) process.kill(process.pid, 'SIGKILL');
}

/** Temporary files end with this, so a folder can be cleaned of those a crash left behind. */
export const TEMPORARY_SUFFIX = '.tmp';

/** Writes a file so that readers see either the old or the complete new content, never a partial file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}${TEMPORARY_SUFFIX}`;
  try {
    writeFileSync(tmp, data);
    beforeRename();
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
