/** A named trainable parameter: its values and a gradient buffer of the same size, both row-major. */
export interface Param {
  name: string;
  shape: number[];
  data: Float32Array;
  grad: Float32Array;
  /** Whether AdamW applies weight decay to it (matrices yes; biases, norms, mixes, decays no). */
  decay: boolean;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function makeParam(name: string, shape: number[], decay: boolean): Param {
  const n = sizeOf(shape);
  return { name, shape, data: new Float32Array(n), grad: new Float32Array(n), decay };
}
