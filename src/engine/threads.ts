import { UserError } from '../errors.js';
import { MAX_THREADS } from '../limits.js';

/** RWKV_MUSIC_THREADS: how many threads the GEMM and the native kernels use (undefined: unset). */
export function envThreads(): number | undefined {
  const v = process.env.RWKV_MUSIC_THREADS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new UserError(`RWKV_MUSIC_THREADS must be a whole number from 1 to ${MAX_THREADS}, got '${v}'`);
  return n;
}
