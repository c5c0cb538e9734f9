/**
 * The output stage every model kind shares: the head Linear(features -> 88) and, when the config has
 * one, the key-chain head on top of it (key-chain.ts). A model computes its features h [N, features]
 * and hands them here; the stage owns the logits' forward, backward, RNN-mode step and frame drawing.
 */
import type { Gemm } from '../engine/gemm.js';
import type { Rng } from '../engine/random.js';
import type { Param } from '../engine/tensor.js';
import { linearBackward, linearForward } from '../engine/layers/linear.js';
import { KEYS, type ParamList } from './common.js';
import { KeyChainHead, KeyChainScratch, newChainStepState, type ChainStepState } from './key-chain.js';
import type { ModelConfig } from './model.js';

export class OutputStage {
  readonly features: number;
  readonly head: { weight: Param; bias: Param };
  readonly chain: KeyChainHead | null;

  /** Adds head.weight, head.bias and the chain's parameters to `pl`, in that order. */
  constructor(pl: ParamList, features: number, config: ModelConfig) {
    this.features = features;
    this.head = { weight: pl.add('head.weight', [KEYS, features], true), bias: pl.add('head.bias', [KEYS], false) };
    this.chain = config.keyChain ? new KeyChainHead(pl, features, config.keyChain, config.keyChainOrder ?? 'up') : null;
  }

  /** Scratch for up to `rows` rows (null without a key chain). */
  scratch(rows: number, training: boolean): KeyChainScratch | null {
    return this.chain ? new KeyChainScratch(rows, this.chain.hidden, training) : null;
  }

  newStepState(batch: number): ChainStepState {
    return newChainStepState(batch, this.chain?.hidden ?? 0);
  }

  /** logits [N, 88] for features h [N, features]; a key chain conditions on the frames `targets`. */
  forward(gemm: Gemm, logits: Float32Array, h: Float32Array, targets: Float32Array, N: number, scratch: KeyChainScratch | null): void {
    linearForward(gemm, logits, h, this.head.weight.data, this.head.bias.data, N, this.features, KEYS);
    this.chain?.forward(gemm, logits, h, targets, N, scratch!);
  }

  /** RNN mode: logits [B, 88] for a frame whose keys are all off yet; keeps the chain's inputs in `state`. */
  step(gemm: Gemm, state: ChainStepState, logits: Float32Array, h: Float32Array, B: number, scratch: KeyChainScratch | null): void {
    linearForward(gemm, logits, h, this.head.weight.data, this.head.bias.data, B, this.features, KEYS);
    this.chain?.step(gemm, state, logits, h, B, scratch!);
  }

  /** Backward of forward(): parameter gradients added, dh [N, features] overwritten with d(loss)/dh. */
  backward(gemm: Gemm, dh: Float32Array, dlogits: Float32Array, h: Float32Array, targets: Float32Array, N: number, scratch: KeyChainScratch | null): void {
    linearBackward(gemm, dh, false, this.head.weight.grad, this.head.bias.grad, dlogits, h, this.head.weight.data, N, this.features, KEYS);
    this.chain?.backward(gemm, dh, dlogits, h, targets, N, scratch!);
  }

  /** The model's drawFrame, reading the chain state `chainOf(state)` keeps (undefined without a chain). */
  drawFrameFor<S>(chainOf: (state: S) => ChainStepState): ((state: S, stream: number, temperature: number, rng: Rng, probs: Float64Array, fixed?: Int8Array) => number[]) | undefined {
    const chain = this.chain;
    if (!chain) return undefined;
    return (state, stream, temperature, rng, probs, fixed) => chain.drawFrame(chainOf(state), stream, temperature, rng, probs, fixed);
  }
}
