import { UserError } from '../errors.js';

/** RWKV_MUSIC_THREADS: how many threads the GEMM and the native kernels use (undefined: unset). */
export function envThreads(): number | undefined {
  const v = process.env.RWKV_MUSIC_THREADS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`RWKV_MUSIC_THREADS must be a positive integer, got '${v}'`);
  return n;
}
