/**
 * The LSTM's buffers, time-major [T,B,.]: any T, B with T*B <= rows and B <= streams fit, a tensor
 * being just the first T*B rows. A training workspace keeps every layer's activations and the
 * gradient buffers; an inference workspace (evaluate, logits, step) keeps one layer's gates and cell
 * states, shared by every layer, and two outputs (a layer reads the one below while writing its own).
 */
import type { PackedB } from '../engine/gemm.js';
import { allocLstmActs, type LstmActs } from '../engine/layers/lstm.js';
import { newDropoutMask, type DropoutMask } from '../engine/layers/dropout.js';
import { NO_BUFFER } from '../engine/layers/scratch.js';
import { KEYS } from './common.js';
import type { OutputScratch } from './output-stage.js';
import type { StageWorkspace } from './staged-model.js';

export interface LstmWorkspaceOptions {
  /** Most rows T*B and streams B it serves. */
  rows: number;
  streams: number;
  layers: number;
  embed: number;
  hidden: number;
  /** Training (every layer's activations, gradient buffers) or inference. */
  training: boolean;
  /** Whether a training forward draws dropout between layers (it keeps the dropped inputs). */
  dropout: boolean;
  /** Width of the embedding's input (88, or wider: input-stage.ts). */
  inputWidth: number;
  /** Floats per row of the batch-major embedding input before the transpose (0 when it is the batch's frames). */
  batchRowWidth: number;
  /** The output stage's scratch. */
  output: OutputScratch;
}

export class LstmWorkspace implements StageWorkspace {
  /** Rows, a multiple of streams. */
  readonly rows: number;
  readonly streams: number;
  readonly training: boolean;
  readonly x: Float32Array; // [T,B,W] embedding inputs, time-major
  readonly batchRows: Float32Array; // [B,T,W] batch-major embedding inputs before the transpose (when W > 88)
  readonly y: Float32Array; // [T,B,88] targets
  readonly m: Float32Array; // [T,B] mask
  readonly emb: Float32Array; // [T,B,E]
  private readonly acts: LstmActs[]; // training: [L]; inference: 2 sharing gates, c and tc
  readonly dropped: Float32Array[]; // [L-1][T,B,H] inputs of layers 1.. after dropout (training with dropout)
  readonly masks: DropoutMask[]; // [L-1]
  readonly logits: Float32Array; // [T,B,88]
  readonly dlogits: Float32Array; // the rest: training only
  readonly dh: Float32Array; // [T,B,H]
  readonly dIn: Float32Array; // [T,B,max(E,H)]
  readonly dG: Float32Array; // [T,B,4H]
  readonly dc: Float32Array; // [B,H]
  readonly bias: Float32Array; // [4H]
  /** The recurrent weight laid out for the products of the loop over time (forward, backward). */
  readonly packedForward: { packed?: PackedB } = {};
  readonly packedBackward: { packed?: PackedB } = {};
  readonly output: OutputScratch;

  constructor(o: LstmWorkspaceOptions) {
    const { layers: L, embed: E, hidden: H, training } = o;
    const B = o.streams;
    const TB = Math.ceil(o.rows / B) * B;
    const T = TB / B;
    this.rows = TB;
    this.streams = B;
    this.training = training;
    const train = (length: number) => (training ? new Float32Array(length) : NO_BUFFER);
    this.x = new Float32Array(TB * o.inputWidth);
    this.batchRows = new Float32Array(TB * o.batchRowWidth);
    this.y = new Float32Array(TB * KEYS);
    this.m = new Float32Array(TB);
    this.emb = new Float32Array(TB * E);
    if (training) this.acts = Array.from({ length: L }, () => allocLstmActs(T, B, H));
    else {
      const shared = allocLstmActs(T, B, H);
      this.acts = L > 1 ? [shared, { ...shared, h: new Float32Array(shared.h.length) }] : [shared];
    }
    this.dropped = training && o.dropout ? Array.from({ length: L - 1 }, () => new Float32Array(TB * H)) : [];
    this.masks = Array.from({ length: L - 1 }, newDropoutMask);
    this.logits = new Float32Array(TB * KEYS);
    this.dlogits = train(TB * KEYS);
    this.dh = train(TB * H);
    this.dIn = train(TB * Math.max(E, H));
    this.dG = train(TB * 4 * H);
    this.dc = train(B * H);
    this.bias = new Float32Array(4 * H);
    this.output = o.output;
  }

  /** Layer k's activations (inference: the shared ones, with an output apart from the layer below's). */
  layer(k: number): LstmActs {
    return this.training ? this.acts[k] : this.acts[k % this.acts.length];
  }

  /** An RNN-mode step's embedding input rows (T = 1: batch-major and time-major agree). */
  get stepInputs(): Float32Array {
    return this.x;
  }
}
