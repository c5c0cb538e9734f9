/**
 * Temporary paths for files that are produced in several steps and renamed into place together
 * (a checkpoint's three files). Single files use writeFileAtomic from src/atomic-write.ts.
 */
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** A temporary path in the same folder as `path` (so the final rename stays on one filesystem). */
export function temporaryPath(path: string): string {
  counter++;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${counter}.tmp`);
}
