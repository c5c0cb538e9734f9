/** Shared helpers for the gradient tests (not a test file itself). */
import assert from 'node:assert/strict';
import { Rng } from '../src/engine/random.js';

export function randn(n: number, rng: Rng, scale = 1): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal() * scale;
  return x;
}

export function dot64(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Central finite difference of f with respect to x[i] (x is modified and restored).
 * The step actually taken is measured after rounding to float32.
 */
export function centralDiff(f: () => number, x: Float32Array, i: number, eps: number): number {
  const orig = x[i];
  x[i] = orig + eps;
  const hi = x[i];
  const fp = f();
  x[i] = orig - eps;
  const lo = x[i];
  const fm = f();
  x[i] = orig;
  return (fp - fm) / (hi - lo);
}

export interface CheckOptions {
  eps?: number;
  rtol?: number;
  /** absolute tolerance, relative to the largest analytic gradient magnitude of this tensor */
  atolFrac?: number;
  /** at most this many entries checked (spread over the tensor) */
  maxEntries?: number;
}

/**
 * Compares analytic gradients `grad` of f w.r.t. `x` with central differences on a spread of entries.
 * Returns the number of entries checked.
 */
export function checkGrad(name: string, f: () => number, x: Float32Array, grad: ArrayLike<number>, opts: CheckOptions = {}): number {
  const eps = opts.eps ?? 1e-3;
  const rtol = opts.rtol ?? 1e-2;
  const atolFrac = opts.atolFrac ?? 1e-3;
  const maxEntries = opts.maxEntries ?? 12;
  let gmax = 0;
  for (let i = 0; i < grad.length; i++) gmax = Math.max(gmax, Math.abs(grad[i]));
  const atol = Math.max(atolFrac * gmax, 1e-6);
  const n = x.length;
  const stride = Math.max(1, Math.floor(n / maxEntries));
  let checked = 0;
  for (let i = 0; i < n && checked < maxEntries; i += stride) {
    const fd = centralDiff(f, x, i, eps);
    const an = grad[i];
    const err = Math.abs(fd - an);
    assert.ok(err <= rtol * Math.max(Math.abs(fd), Math.abs(an)) + atol,
      `${name}[${i}]: analytic ${an}, finite difference ${fd} (|err| ${err.toExponential(2)}, atol ${atol.toExponential(2)})`);
    checked++;
  }
  return checked;
}

/** Relative error of the directional derivative: (f(x+h d) - f(x-h d)) / 2h vs grad·d over several tensors. */
export function directionalCheck(f: () => number, xs: Float32Array[], grads: ArrayLike<number>[], rng: Rng, h = 1e-3): { fd: number; an: number } {
  const dirs = xs.map((x) => randn(x.length, rng));
  const orig = xs.map((x) => x.slice());
  let an = 0;
  for (let j = 0; j < xs.length; j++) an += dot64(grads[j], dirs[j]);
  const shift = (s: number) => {
    for (let j = 0; j < xs.length; j++) for (let i = 0; i < xs[j].length; i++) xs[j][i] = orig[j][i] + s * dirs[j][i];
  };
  shift(h);
  const fp = f();
  shift(-h);
  const fm = f();
  for (let j = 0; j < xs.length; j++) xs[j].set(orig[j]);
  return { fd: (fp - fm) / (2 * h), an };
}
