/**
 * What an RWKV kind's time mixing brings to the shared RWKV skeleton (rwkv-core.ts): its parameters,
 * their initialisation, its buffers, its WKV state, and its forward and backward. RWKV-4's is in
 * rwkv.ts, RWKV-6's in rwkv6.ts; everything else (embedding, LayerNorms, channel mixing, dropout,
 * residual stream, stages, token-shift state) is the skeleton's.
 */
import type { Gemm } from '../engine/gemm.js';
import type { Kernels } from '../engine/kernels.js';
import type { Rng } from '../engine/random.js';
import type { Param } from '../engine/tensor.js';
import type { ScratchPool } from '../engine/layers/scratch.js';
import type { InputLayerNorm } from '../engine/layers/tokenshift.js';
import type { ParamList } from './common.js';

export type RwkvInit = 'rwkv-lm' | 'pytorch';

/** How the skeleton's initialisation hands out random draws (in a fixed order, from one generator). */
export interface Initializers {
  readonly rng: Rng;
  readonly scheme: RwkvInit;
  /** PyTorch's Linear default: weight (and bias) U(±1/sqrt(fan_in)). */
  linearDefault(w: Param, b: Param | null): void;
  /** An orthogonal matrix times `gain`. */
  ortho(w: Param, gain: number): void;
}

/** The time mixing's buffers in a workspace. */
export interface MixingBuffers<A, Scr, W> {
  /** Activations of one block for up to N rows in up to B streams (with what the backward reads when training). */
  acts(N: number, B: number, training: boolean): A;
  /** Scratch from the workspace's pool. */
  scratch(pool: ScratchPool, training: boolean): Scr;
  /** A WKV state for `batch` streams, as a fresh piece starts. */
  newState(batch: number): W;
}

/** A forward's start state (token-shift input and WKV state) and where their gradients go (assigned). */
export interface MixStart<W> {
  prev: Float32Array; // [B,C]
  dprev: Float32Array; // [B,C]
  state: W;
  grad: W;
}

/**
 * The WKV state's share of a learnable start state (start-state.ts): a few tensors per layer, named
 * under `blocks.<l>.att.`, shared by every stream.
 */
export interface WkvStart<W> {
  /** Names, shapes, and the value every element has in the default start (a fresh piece). */
  readonly tensors: readonly { name: string; shape: number[]; zero: number }[];
  /** Sets the first `batch` streams of `state` from `tensors` (in the order above). */
  write(state: W, tensors: readonly Float32Array[], batch: number): void;
  /** Adds into `out` the gradient with respect to the tensors, summed over streams, from the gradient with respect to a state `write` built. */
  addGradient(grad: W, out: readonly Float32Array[]): void;
  /** Stream `row` of `state` as tensors (assigned to `out`). */
  read(state: W, row: number, out: readonly Float32Array[]): void;
}

export interface TimeMixing<P, A, Scr, W> extends MixingBuffers<A, Scr, W> {
  readonly start: WkvStart<W>;
  /** The block's time-mixing parameters, named under `prefix` (`blocks.<l>.att`). */
  params(pl: ParamList, prefix: string): P;
  /** Initialises block l of L (its random draws come first in the block, before the channel mixing's). */
  initialize(att: P, l: number, L: number, init: Initializers): void;
  /** Sets the first `batch` streams of a state to a fresh piece's. */
  resetState(state: W, batch: number): void;
  cloneState(state: W): W;
  /** Whether `state` is this mixing's state for `batch` streams. */
  isState(state: unknown, batch: number): boolean;
  /**
   * out[N,C] = TimeMix(x), x the LN1 output [B,T,C]; `prev` [B,C] the token-shift state (null: zeros),
   * `state` the WKV state (advanced in place); `save`: keep what the backward reads.
   */
  forward(gemm: Gemm, K: Kernels, out: Float32Array, x: Float32Array, att: P, acts: A, prev: Float32Array | null,
    state: W, B: number, T: number, save: boolean, scr: Scr): void;
  /**
   * Adds d(input of LN1) into dx and every parameter gradient (LN1's included); dout may be dx. With
   * `start`, the gradients with respect to the start state are assigned to it.
   */
  backward(gemm: Gemm, K: Kernels, dx: Float32Array, dout: Float32Array, x: Float32Array, att: P, acts: A,
    B: number, T: number, scr: Scr, ln: InputLayerNorm, start: MixStart<W> | null): void;
}
