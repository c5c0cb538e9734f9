/** Helpers shared by the models. */
import type { Batch } from '../engine/batch.js';
import { makeParam, type Param } from '../engine/tensor.js';

export const KEYS = 88;

export function checkBatch(batch: Batch, D: number): void {
  const { B, T } = batch;
  if (!(Number.isInteger(B) && B > 0 && Number.isInteger(T) && T > 0)) throw new Error(`batch: B and T must be positive integers (got ${B}, ${T})`);
  if (batch.D !== D) throw new Error(`batch: expected D = ${D} features, got ${batch.D}`);
  if (batch.inputs.length < B * T * D || batch.targets.length < B * T * D || batch.mask.length < B * T) {
    throw new Error('batch: inputs, targets or mask are shorter than B*T*D');
  }
}

/** Collects parameters in creation order. */
export class ParamList {
  readonly list: Param[] = [];
  add(name: string, shape: number[], decay: boolean): Param {
    const p = makeParam(name, shape, decay);
    this.list.push(p);
    return p;
  }
}

/** dst[b] = x[b, T-1] for every stream b (x is [B,T,C], dst [B,C]): the token-shift input of the next step. */
export function copyLastSteps(dst: Float32Array, x: Float32Array, B: number, T: number, C: number): void {
  for (let b = 0; b < B; b++) dst.set(x.subarray(((b + 1) * T - 1) * C, (b + 1) * T * C), b * C);
}

/** dst[b] = src for each of `batch` rows of dst (src.length wide): one tensor for every stream. */
export function repeatRows(dst: Float32Array | Float64Array, src: Float32Array, batch: number): void {
  for (let b = 0; b < batch; b++) dst.set(src, b * src.length);
}

/** dst += the sum of src's rows (dst.length wide): the gradient of a tensor repeatRows spread. */
export function addRowSums(dst: Float32Array, src: Float32Array | Float64Array): void {
  const n = dst.length;
  for (let i = 0; i < src.length; i++) dst[i % n] += src[i];
}

/** dst = row `row` of src (dst.length wide). */
export function takeRow(dst: Float32Array, src: Float32Array | Float64Array, row: number): void {
  for (let i = 0; i < dst.length; i++) dst[i] = src[row * dst.length + i];
}
