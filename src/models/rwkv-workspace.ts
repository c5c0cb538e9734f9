/**
 * The RWKV kinds' buffers, named (one record per block, as llm.c's ActivationTensors names every
 * activation); the time mixing's own activations, scratch and WKV state come from its plug-in
 * (rwkv-mixing.ts). A training workspace gives every block its own record, kept for the backward
 * pass; an inference workspace (evaluate, logits, step) has one record that every block uses in turn,
 * and no gradients.
 */
import { allocChannelMixActs, channelMixScratch, type ChannelMixActs, type ChannelMixScratch } from '../engine/layers/channelmix.js';
import { newDropoutMask, type DropoutMask } from '../engine/layers/dropout.js';
import { NO_BUFFER, ScratchPool } from '../engine/layers/scratch.js';
import { KEYS } from './common.js';
import type { OutputScratch } from './output-stage.js';
import type { MixingBuffers } from './rwkv-mixing.js';
import type { StageWorkspace } from './staged-model.js';

/** A LayerNorm's output [N,C] and the row statistics [N] its backward reads. */
export interface LnActs {
  out: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
}

/** What one block computes (and, training, keeps for the backward pass). */
export interface BlockActs<A> {
  /** The residual stream entering the block [N,C] (inference: overwritten by the block's output). */
  x: Float32Array;
  /** LN1(x), TimeMix's input (written by the LayerNorm fused into the previous block's last add, or LN0's). */
  ln1: LnActs;
  att: A;
  /** Dropout of the TimeMix branch. */
  attDrop: DropoutMask;
  /** x + TimeMix branch [N,C]. */
  xm: Float32Array;
  /** LN2(xm), ChannelMix's input. */
  ln2: LnActs;
  ffn: ChannelMixActs;
  /** Dropout of the ChannelMix branch. */
  ffnDrop: DropoutMask;
}

export interface RwkvWorkspaceOptions<A, Scr, W> {
  /** Most rows N = B*T and streams B it serves. */
  rows: number;
  streams: number;
  layers: number;
  channels: number;
  ffn: number;
  /** Training (every block's activations, gradient buffers) or inference. */
  training: boolean;
  /** Floats for the embedding's input rows (0 when they are the batch's frames: input-stage.ts). */
  embInputs: number;
  /** The output stage's scratch. */
  output: OutputScratch;
  /** The time mixing's buffers. */
  mixing: MixingBuffers<A, Scr, W>;
}

export class RwkvWorkspace<A, Scr, W> implements StageWorkspace {
  readonly rows: number;
  readonly streams: number;
  readonly training: boolean;
  private readonly layers: number;
  /** The embedding's input rows [N, width]. */
  readonly embIn: Float32Array;
  /** The embedding's output [N,C], LN0's input. */
  readonly emb: Float32Array;
  /** LN0's statistics (its output is block 0's x). */
  readonly ln0: { mean: Float32Array; rstd: Float32Array };
  /** Dropout after LN0. */
  readonly embDrop: DropoutMask;
  /** Training: one per block; inference: one, used by every block. */
  private readonly blocks: BlockActs<A>[];
  /** The residual stream after the last block (inference: the shared record's x). */
  readonly xOut: Float32Array;
  /** ln_out, the head's input. */
  readonly lnOut: LnActs;
  /** A block branch's output (TimeMix or ChannelMix) before the residual add [N,C]. */
  readonly branch: Float32Array;
  readonly logits: Float32Array;
  readonly dlogits: Float32Array;
  /** Backward: the residual stream's gradient, a branch's gradient after dropout, a LayerNorm output's gradient, each [N,C]. */
  readonly dx: Float32Array;
  readonly dbranch: Float32Array;
  readonly dln: Float32Array;
  readonly lnScratch: Float64Array;
  /** TimeMix's and ChannelMix's scratch, views of one pool. */
  readonly attScratch: Scr;
  readonly ffnScratch: ChannelMixScratch;
  /** The WKV state of a forward that starts from zeros. */
  readonly wkv: W;
  readonly output: OutputScratch;

  constructor(o: RwkvWorkspaceOptions<A, Scr, W>) {
    const { rows: N, streams: B, layers: L, channels: C, ffn: F, training, mixing } = o;
    this.rows = N;
    this.streams = B;
    this.training = training;
    this.layers = L;
    const nc = () => new Float32Array(N * C);
    const stats = () => new Float32Array(N);
    const ln = (): LnActs => ({ out: nc(), mean: stats(), rstd: stats() });
    this.embIn = new Float32Array(o.embInputs);
    this.emb = nc();
    this.ln0 = { mean: stats(), rstd: stats() };
    this.embDrop = newDropoutMask();
    this.blocks = Array.from({ length: training ? L : 1 }, () => ({
      x: nc(), ln1: ln(), att: mixing.acts(N, B, training), attDrop: newDropoutMask(),
      xm: nc(), ln2: ln(), ffn: allocChannelMixActs(N, C, F, training), ffnDrop: newDropoutMask(),
    }));
    this.xOut = training ? nc() : this.blocks[0].x;
    this.lnOut = ln();
    this.branch = nc();
    this.logits = new Float32Array(N * KEYS);
    this.dlogits = training ? new Float32Array(N * KEYS) : NO_BUFFER;
    this.dx = training ? nc() : NO_BUFFER;
    this.dbranch = training ? nc() : NO_BUFFER;
    this.dln = training ? nc() : NO_BUFFER;
    this.lnScratch = new Float64Array(2 * C);
    const pool = new ScratchPool(N, C);
    this.attScratch = mixing.scratch(pool, training);
    this.ffnScratch = channelMixScratch(pool, F, training);
    this.wkv = mixing.newState(B);
    this.output = o.output;
  }

  /** Block l's record. */
  block(l: number): BlockActs<A> {
    return this.training ? this.blocks[l] : this.blocks[0];
  }

  /** Where block l writes its output: the next block's input, or xOut after the last. */
  blockOut(l: number): Float32Array {
    return l + 1 < this.layers ? this.block(l + 1).x : this.xOut;
  }

  /** The LayerNorm fused into block l's last add: the next block's LN1, or ln_out after the last. */
  blockOutLn(l: number): LnActs {
    return l + 1 < this.layers ? this.block(l + 1).ln1 : this.lnOut;
  }

  /** An RNN-mode step's embedding input rows. */
  get stepInputs(): Float32Array {
    return this.embIn;
  }
}
