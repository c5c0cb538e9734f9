/**
 * Scratch memory that layers run one after another can share. A layer's scratch is a record of named
 * views (TimeMixScratch, ChannelMixScratch); building two layers' records from one pool makes them use
 * the same buffers, so a model holds as many buffers as its hungriest layer needs, not their sum.
 */
export class ScratchPool {
  /** Float64 accumulators for per-channel reductions (8 per channel). */
  readonly acc: Float64Array;
  private readonly narrow: Float32Array[] = [];
  private readonly wide = new Map<number, Float32Array[]>();

  /** `rows`: the most rows a layer is run on; `channels`: C. */
  constructor(readonly rows: number, readonly channels: number) {
    this.acc = new Float64Array(8 * channels);
  }

  /** Buffer `i` of [rows, C] floats (allocated when first asked for; the same array every time). */
  buffer(i: number): Float32Array {
    return grow(this.narrow, i, this.rows * this.channels);
  }

  /** Buffer `i` of [rows, width] floats, apart from the [rows, C] ones even when width is C. */
  wideBuffer(width: number, i: number): Float32Array {
    let list = this.wide.get(width);
    if (!list) this.wide.set(width, (list = []));
    return grow(list, i, this.rows * width);
  }
}

function grow(list: Float32Array[], i: number, length: number): Float32Array {
  while (list.length <= i) list.push(new Float32Array(length));
  return list[i];
}

/** Stands for a scratch buffer that a forward-only record does not need. */
export const NO_BUFFER = new Float32Array(0);
