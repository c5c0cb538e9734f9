/**
 * The native kernels for the native-versus-TypeScript tests. Without the addon those tests are
 * skipped with the reason, unless RWKV_MUSIC_NATIVE=1 asks for the native kernels (CI): then they fail.
 */
import type { Kernels } from '../../src/engine/kernels.js';
import { loadNativeKernels } from '../../src/engine/kernels-native.js';

export interface NativeForTest {
  kernels: Kernels | null;
  /** Passed as node:test's `skip` option: false when the kernels loaded. */
  skip: string | false;
}

export function nativeForTest(threads = 2): NativeForTest {
  try {
    return { kernels: loadNativeKernels(threads), skip: false };
  } catch (e) {
    if (process.env.RWKV_MUSIC_NATIVE === '1') throw e;
    return { kernels: null, skip: `${(e as Error).message}: native-versus-TypeScript comparison skipped` };
  }
}

/**
 * Asserts |actual - expected| <= atol + rtol |expected| elementwise (both NaN counts as equal),
 * naming the worst element.
 */
export function assertClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} vs ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    if (a === e) continue; // also equal infinities
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) throw new Error(`${what}[${worst}]: ${actual[worst]} vs ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
}
