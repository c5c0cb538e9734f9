/**
 * Checkpoints as one atomic step. Each checkpoint is a folder checkpoints/<n>-step-<step>/ holding
 * model.safetensors, optimizer.safetensors and state.json (with the SHA-256 of the two others). It is
 * written completely under a temporary name and then renamed into place: that one rename is the
 * commit, so a crash at any moment leaves either the previous set of checkpoints or the new one, never
 * a mix. The newest whole checkpoint is the run's position; the newest of an earlier step is kept as
 * well, so a checkpoint damaged later (a disk error, an edit) still leaves one to resume from.
 *
 * A run folder written before this layout has its single checkpoint at the top (state.json next to
 * config.json); it is read as the oldest checkpoint, and removed once a newer one is committed.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeRename, TEMPORARY_SUFFIX } from '../atomic-write.js';
import { UserError } from '../errors.js';
import { MAX_SMALL_FILE_BYTES } from '../limits.js';
import { CHECKPOINT_FILES, readRegularFile, RUN_FILES } from './files.js';

/** Complete checkpoints kept: the newest and the newest of an earlier step. */
const KEEP = 2;
const NAME = /^(\d+)-step-(\d+)$/;

export interface CheckpointContent {
  model: Uint8Array;
  optimizer: Uint8Array;
}

export interface LoadedCheckpoint extends CheckpointContent {
  /** The checkpoint's folder. */
  dir: string;
  /** Path of its state.json (for messages). */
  statePath: string;
  /** Its parsed state.json, as the caller's validator accepted it. */
  state: unknown;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The complete checkpoint folders of a run, newest first (a top-level legacy checkpoint last). */
export function listCheckpoints(runDir: string): string[] {
  const root = join(runDir, RUN_FILES.checkpoints);
  const found = existsSync(root)
    ? readdirSync(root)
        .map((name) => ({ name, m: NAME.exec(name) }))
        .filter((e) => e.m !== null)
        .sort((a, b) => Number(b.m![1]) - Number(a.m![1]))
        .map((e) => join(root, e.name))
    : [];
  if (existsSync(join(runDir, CHECKPOINT_FILES.state))) found.push(runDir);
  return found;
}

/** Removes the temporary files and folders a crash may have left in a run folder. */
export function removeTemporaryFiles(runDir: string): void {
  for (const dir of [runDir, join(runDir, RUN_FILES.checkpoints)]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (name.endsWith(TEMPORARY_SUFFIX)) rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}

/**
 * Writes a checkpoint and commits it; returns its folder. `state` is stored as state.json with the
 * files' hashes added (`hashes.model`, `hashes.optimizer`). Older checkpoints beyond the last KEEP
 * are removed afterwards.
 */
export function commitCheckpoint(runDir: string, step: number, content: CheckpointContent, state: object): string {
  const root = join(runDir, RUN_FILES.checkpoints);
  mkdirSync(root, { recursive: true });
  const existing = listCheckpoints(runDir).filter((d) => d !== runDir);
  const last = existing.length > 0 ? Number(NAME.exec(existing[0].slice(root.length + 1))![1]) : 0;
  const name = `${String(last + 1).padStart(6, '0')}-step-${step}`;
  const tmp = join(root, `.${name}.${process.pid}${TEMPORARY_SUFFIX}`);
  const final = join(root, name);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    writeFileSync(join(tmp, CHECKPOINT_FILES.model), content.model);
    writeFileSync(join(tmp, CHECKPOINT_FILES.optimizer), content.optimizer);
    const full = { ...state, hashes: { model: sha256(content.model), optimizer: sha256(content.optimizer) } };
    writeFileSync(join(tmp, CHECKPOINT_FILES.state), JSON.stringify(full, null, 2) + '\n');
    beforeRename();
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  // Keep the newest checkpoint of each of the last KEEP steps (an older one of the same step is redundant).
  const steps = new Set<number>();
  for (const dir of listCheckpoints(runDir)) {
    const step = dir === runDir ? -1 : Number(NAME.exec(dir.slice(root.length + 1))![2]);
    if (steps.size < KEEP && !steps.has(step)) {
      steps.add(step);
      continue;
    }
    if (dir === runDir) for (const f of Object.values(CHECKPOINT_FILES)) rmSync(join(runDir, f), { force: true });
    else rmSync(dir, { recursive: true, force: true });
  }
  return final;
}

/** Reads one checkpoint folder; throws a UserError naming the file at fault. */
function readCheckpoint(dir: string, validate: (state: unknown, path: string) => void): LoadedCheckpoint {
  const statePath = join(dir, CHECKPOINT_FILES.state);
  const text = readRegularFile(statePath, MAX_SMALL_FILE_BYTES);
  if (text === null) throw new UserError(`${statePath} not found: the checkpoint is incomplete`);
  let state: unknown;
  try {
    state = JSON.parse(text.toString('utf8'));
  } catch (err) {
    throw new UserError(`${statePath} is damaged: ${(err as Error).message}`);
  }
  validate(state, statePath);
  const hashes = (state as { hashes?: { model?: unknown; optimizer?: unknown } }).hashes;
  if (!hashes || typeof hashes.model !== 'string' || typeof hashes.optimizer !== 'string') {
    throw new UserError(`${statePath} is damaged: missing file hashes`);
  }
  const files = { model: CHECKPOINT_FILES.model, optimizer: CHECKPOINT_FILES.optimizer } as const;
  const content: Partial<CheckpointContent> = {};
  for (const key of ['model', 'optimizer'] as const) {
    const path = join(dir, files[key]);
    const bytes = readRegularFile(path, Number.MAX_SAFE_INTEGER);
    if (bytes === null) throw new UserError(`${path} not found: the checkpoint is incomplete`);
    if (sha256(bytes) !== hashes[key]) throw new UserError(`${path} does not match ${statePath} (damaged or from another step)`);
    content[key] = bytes;
  }
  return { dir, statePath, state, model: content.model!, optimizer: content.optimizer! };
}

/**
 * The newest whole checkpoint of a run: its state accepted by `validate` and its files matching their
 * hashes. A damaged newer one is skipped with a warning. Null when the run has no checkpoint; a
 * UserError naming the newest one's problem when none is whole.
 */
export function readLatestCheckpoint(
  runDir: string,
  validate: (state: unknown, path: string) => void,
  warn: (line: string) => void,
): LoadedCheckpoint | null {
  const problems: string[] = [];
  for (const dir of listCheckpoints(runDir)) {
    try {
      const loaded = readCheckpoint(dir, validate);
      for (const p of problems) warn(`${p}; resuming from the previous checkpoint, ${dir}`);
      return loaded;
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length > 0) throw new UserError(problems[0]);
  return null;
}

/** Makes a checkpoint's weights the run's best.safetensors (a hard link when possible, else a copy). */
export function publishBest(runDir: string, checkpointDir: string): void {
  const from = join(checkpointDir, CHECKPOINT_FILES.model);
  const to = join(runDir, RUN_FILES.best);
  // Already published (a resume repairing a best that survived): rename() of two hard links to one
  // file does nothing and would leave the temporary link behind.
  if (existsSync(to) && sameFile(to, from)) return;
  const tmp = `${to}.${process.pid}.0${TEMPORARY_SUFFIX}`;
  rmSync(tmp, { force: true });
  try {
    linkSync(from, tmp);
  } catch {
    copyFileSync(from, tmp);
  }
  beforeRename();
  renameSync(tmp, to);
  rmSync(tmp, { force: true });
}

function sameFile(a: string, b: string): boolean {
  const x = statSync(a);
  const y = statSync(b);
  return x.ino === y.ino && x.dev === y.dev;
}
