/**
 * The output stage every model kind shares: the head Linear(features -> 88) and, when the config has
 * one, the key-chain head on top of it (key-chain.ts). A model computes its features h [N, features]
 * and hands them here; the stage owns the logits' forward, backward, RNN-mode step and frame drawing.
 *
 * With config.outputDropout > 0 a training forward drops features before both heads read them
 * (inverted dropout, as the cores drop theirs): the models' own dropout stops short of the features
 * the heads read (the LSTM drops between its layers only), so without it the heads, which hold most
 * of a small model's weights, see every feature of every training frame.
 */
import type { Gemm } from '../engine/gemm.js';
import type { Rng } from '../engine/random.js';
import type { Param } from '../engine/tensor.js';
import type { Kernels } from '../engine/kernels.js';
import { drawDropout, newDropoutMask, type DropoutMask } from '../engine/layers/dropout.js';
import { linearBackward, linearForward } from '../engine/layers/linear.js';
import { KEYS, type ParamList } from './common.js';
import { KeyChainHead, KeyChainScratch, newChainStepState, type ChainStepState } from './key-chain.js';
import type { ModelConfig } from './model.js';

/** An output stage's buffers for up to `rows` rows, reused across calls. */
export class OutputScratch {
  /** The key-chain head's (null without one). */
  readonly chain: KeyChainScratch | null;
  /** The features after dropout [rows, features] (training workspaces with output dropout only). */
  readonly dropped: Float32Array;
  readonly mask: DropoutMask = newDropoutMask();
  /** Whether the last forward dropped features (its backward then reads `dropped` and the mask). */
  dropping = false;

  constructor(chain: KeyChainScratch | null, droppedLength: number) {
    this.chain = chain;
    this.dropped = new Float32Array(droppedLength);
  }
}

export class OutputStage {
  readonly features: number;
  readonly head: { weight: Param; bias: Param };
  readonly chain: KeyChainHead | null;
  /** Dropout rate on the features in training (0: none). */
  readonly dropout: number;

  private readonly kernels: Kernels;

  /**
   * Adds head.weight, head.bias and the chain's parameters to `pl`, in that order; `kernels` run the
   * dropout and the bias gradients.
   */
  constructor(pl: ParamList, features: number, config: ModelConfig, kernels: Kernels) {
    this.features = features;
    this.kernels = kernels;
    this.dropout = config.outputDropout ?? 0;
    this.head = { weight: pl.add('head.weight', [KEYS, features], true), bias: pl.add('head.bias', [KEYS], false) };
    this.chain = config.keyChain ? new KeyChainHead(pl, features, config.keyChain, config.keyChainOrder ?? 'up', kernels) : null;
  }

  /** Buffers for up to `rows` rows: the key chain's, and in training with output dropout the dropped features. */
  scratch(rows: number, training: boolean): OutputScratch {
    const chain = this.chain ? new KeyChainScratch(rows, this.chain.hidden, training) : null;
    return new OutputScratch(chain, training && this.dropout > 0 ? rows * this.features : 0);
  }

  newStepState(batch: number): ChainStepState {
    return newChainStepState(batch, this.chain?.hidden ?? 0);
  }

  /**
   * logits [N, 88] for features h [N, features]; a key chain conditions on the frames `targets`.
   * `rng` (training only, null otherwise) draws the output dropout.
   */
  forward(gemm: Gemm, logits: Float32Array, h: Float32Array, targets: Float32Array, N: number, scratch: OutputScratch, rng: Rng | null): void {
    scratch.dropping = rng !== null && this.dropout > 0;
    let x = h;
    if (scratch.dropping) {
      drawDropout(scratch.mask, this.dropout, rng!);
      this.kernels.dropoutInto(scratch.dropped, h, scratch.mask, N * this.features);
      x = scratch.dropped;
    }
    linearForward(gemm, logits, x, this.head.weight.data, this.head.bias.data, N, this.features, KEYS);
    this.chain?.forward(gemm, logits, x, targets, N, scratch.chain!);
  }

  /** RNN mode: logits [B, 88] for a frame whose keys are all off yet; keeps the chain's inputs in `state`. */
  step(gemm: Gemm, state: ChainStepState, logits: Float32Array, h: Float32Array, B: number, scratch: OutputScratch): void {
    linearForward(gemm, logits, h, this.head.weight.data, this.head.bias.data, B, this.features, KEYS);
    this.chain?.step(gemm, state, logits, h, B, scratch.chain!);
  }

  /** Backward of forward(): parameter gradients added, dh [N, features] overwritten with d(loss)/dh. */
  backward(gemm: Gemm, dh: Float32Array, dlogits: Float32Array, h: Float32Array, targets: Float32Array, N: number, scratch: OutputScratch): void {
    const x = scratch.dropping ? scratch.dropped : h;
    linearBackward(gemm, dh, false, this.head.weight.grad, this.head.bias.grad, dlogits, x, this.head.weight.data, N, this.features, KEYS, this.kernels.columnSums);
    this.chain?.backward(gemm, dh, dlogits, x, targets, N, scratch.chain!);
    if (scratch.dropping) this.kernels.applyDropout(dh, scratch.mask, N * this.features);
  }

  /** The model's drawFrame, reading the chain state `chainOf(state)` keeps (undefined without a chain). */
  drawFrameFor<S>(chainOf: (state: S) => ChainStepState): ((state: S, stream: number, temperature: number, rng: Rng, probs: Float64Array, fixed?: Int8Array) => number[]) | undefined {
    const chain = this.chain;
    if (!chain) return undefined;
    return (state, stream, temperature, rng, probs, fixed) => chain.drawFrame(chainOf(state), stream, temperature, rng, probs, fixed);
  }
}
