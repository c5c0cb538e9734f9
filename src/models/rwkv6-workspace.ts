/**
 * RWKV-6's buffers, named as RWKV-4's (rwkv-workspace.ts): a training workspace gives every block its
 * own record, kept for the backward pass; an inference workspace has one record every block uses.
 */
import { allocChannelMixActs, channelMixScratch, type ChannelMixActs, type ChannelMixScratch } from '../engine/layers/channelmix.js';
import { newDropoutMask, type DropoutMask } from '../engine/layers/dropout.js';
import { NO_BUFFER, ScratchPool } from '../engine/layers/scratch.js';
import { allocTimeMix6Acts, timeMix6Scratch, type TimeMix6Acts, type TimeMix6Scratch } from '../engine/layers/timemix6.js';
import { wkv6StateLength } from '../engine/layers/wkv6.js';
import { KEYS } from './common.js';
import type { KeyChainScratch } from './key-chain.js';
import type { LnActs } from './rwkv-workspace.js';
import type { StageWorkspace } from './staged-model.js';

/** What one block computes (and, training, keeps for the backward pass). */
export interface Block6Acts {
  x: Float32Array;
  ln1: LnActs;
  att: TimeMix6Acts;
  attDrop: DropoutMask;
  xm: Float32Array;
  ln2: LnActs;
  ffn: ChannelMixActs;
  ffnDrop: DropoutMask;
}

export interface Rwkv6WorkspaceOptions {
  /** Most rows N = B*T and streams B it serves. */
  rows: number;
  streams: number;
  layers: number;
  channels: number;
  ffn: number;
  headSize: number;
  decayLora: number;
  training: boolean;
  embInputs: number;
  chain: KeyChainScratch | null;
}

export class Rwkv6Workspace implements StageWorkspace {
  readonly rows: number;
  readonly streams: number;
  readonly training: boolean;
  private readonly layers: number;
  readonly embIn: Float32Array;
  readonly emb: Float32Array;
  readonly ln0: { mean: Float32Array; rstd: Float32Array };
  readonly embDrop: DropoutMask;
  private readonly blocks: Block6Acts[];
  readonly xOut: Float32Array;
  readonly lnOut: LnActs;
  readonly branch: Float32Array;
  readonly logits: Float32Array;
  readonly dlogits: Float32Array;
  readonly dx: Float32Array;
  readonly dbranch: Float32Array;
  readonly dln: Float32Array;
  readonly lnScratch: Float64Array;
  readonly attScratch: TimeMix6Scratch;
  readonly ffnScratch: ChannelMixScratch;
  /** The WKV6 state of a forward that starts from zeros [B,H,S,S]. */
  readonly wkv: Float64Array;
  readonly chain: KeyChainScratch | null;

  constructor(o: Rwkv6WorkspaceOptions) {
    const { rows: N, streams: B, layers: L, channels: C, ffn: F, training } = o;
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
      x: nc(), ln1: ln(), att: allocTimeMix6Acts(N, B, C, o.headSize, o.decayLora, training), attDrop: newDropoutMask(),
      xm: nc(), ln2: ln(), ffn: allocChannelMixActs(N, C, F), ffnDrop: newDropoutMask(),
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
    this.attScratch = timeMix6Scratch(pool, C, o.decayLora, training);
    this.ffnScratch = channelMixScratch(pool, F, training);
    this.wkv = new Float64Array(wkv6StateLength(B, C, o.headSize));
    this.chain = o.chain;
  }

  block(l: number): Block6Acts {
    return this.training ? this.blocks[l] : this.blocks[0];
  }

  blockOut(l: number): Float32Array {
    return l + 1 < this.layers ? this.block(l + 1).x : this.xOut;
  }

  blockOutLn(l: number): LnActs {
    return l + 1 < this.layers ? this.block(l + 1).ln1 : this.lnOut;
  }

  get stepInputs(): Float32Array {
    return this.embIn;
  }
}
