/**
 * Checks for the paths a command writes to (--out), before any work: one clear line instead of an
 * EEXIST/ENOTDIR stack, never a silently overwritten input or existing file.
 */
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from './errors.js';

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/**
 * Creates the folder `path` (and its missing parents) unless it exists; refuses a path that is, or is
 * under, a file. Creates one level at a time: a recursive mkdir never returns on some special file
 * systems (/proc).
 */
export function makeOutputFolder(path: string, flag = '--out'): void {
  const abs = resolve(path);
  const missing: string[] = [];
  let p = abs;
  while (!existsSync(p)) {
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  if (existsSync(p) && !statSync(p).isDirectory()) {
    throw new UserError(`${flag} ${path}: ${p === abs ? 'is a file, not a folder' : `${p} is a file, not a folder`}`);
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      throw new UserError(`${flag} ${path}: cannot create the folder ${dir} (${errorCode(err)})`);
    }
  }
}

/** The real path of an existing file (symbolic links followed), else the absolute path. */
function realOrAbsolute(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * Checks that a new file can be written at `path`: it is none of `inputs`, it does not exist yet
 * (unless `overwrite`), and its folder can be created (which this does).
 */
export function prepareOutputFile(path: string, options: { flag?: string; inputs?: readonly string[]; overwrite?: boolean } = {}): void {
  const flag = options.flag ?? '--out';
  const target = realOrAbsolute(path);
  for (const input of options.inputs ?? []) {
    const from = realOrAbsolute(input);
    if (target === from) throw new UserError(`${flag} ${path} would overwrite the input ${input}; choose another path`);
  }
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) throw new UserError(`${flag} ${path} is a folder; give a file name`);
    if (!options.overwrite) throw new UserError(`${flag} ${path} already exists; choose another path or delete it first`);
  }
  makeOutputFolder(dirname(resolve(path)), flag);
}
