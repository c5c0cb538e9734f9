/**
 * A model's learnable start state: the RNN-mode state a piece starts from, as a few named tensors
 * shared by every stream (what state tuning learns, src/tune). By default a model starts every piece
 * from zeros; a start state replaces that.
 *
 * RWKV-4, per layer l:
 *   blocks.l.att.shift, blocks.l.ffn.shift [C]   the token-shift inputs (LN1 and LN2 outputs of "frame -1")
 *   blocks.l.att.wkv_value [C]                   m: the WKV state's value, a_0 / b_0
 *   blocks.l.att.wkv_log_weight [C]              p: log b_0
 * and, with input lags, lags [span, 88]: the frames before the first, oldest first.
 * The WKV state is kept as (m, p), i.e. aa = m, bb = 1, pp = p in the kernel's scaled form
 * (a_0 = m e^{p}, b_0 = e^{p}): it acts like one earlier step with value m and weight e^{p}, so
 * every value of the two tensors is a valid state (b_0 > 0, nothing overflows however large p gets),
 * which learning a_0, b_0 directly would not guarantee. Zeros are m = 0, p = -1e38.
 * RWKV-6, per layer l: blocks.l.att.shift, blocks.l.ffn.shift [C] as RWKV-4's, and
 *   blocks.l.att.wkv_state [H, S, S]                 the WKV6 state itself (every value is a valid state;
 *                                                    zeros are the default start)
 * LSTM, per layer k: layers.k.h0, layers.k.c0 [H], and lags as for RWKV.
 * The WKV tensors, and how they map to and from the state, are each RWKV kind's (`start` of its time
 * mixing: rwkv.ts, rwkv6.ts); the token shifts, the LSTM's and the lags are this file's.
 */
import type { Batch } from '../engine/batch.js';
import { bceLoss, maskSum } from '../engine/layers/bce.js';
import { addRowSums, KEYS, repeatRows, takeRow } from './common.js';
import type { LstmState } from './lstm.js';
import type { LossSum, RecurrentState, SequenceModel } from './model.js';
import type { RwkvCoreState } from './rwkv-core.js';
import { timeMixingOf } from './rwkv-kinds.js';
import type { TimeMixing } from './rwkv-mixing.js';

export interface StartTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A model that can run and differentiate from a given RNN-mode state (RwkvModel, Rwkv6Model and LstmModel). */
export interface StartStateModel extends SequenceModel {
  trainFrom(batch: Batch, start: RecurrentState, grad: RecurrentState, lossScale: number): LossSum;
  logitsFrom(batch: Batch, state: RecurrentState): Float32Array;
}

export function hasStartState(model: SequenceModel): model is StartStateModel {
  const m = model as Partial<StartStateModel>;
  return typeof m.trainFrom === 'function' && typeof m.logitsFrom === 'function';
}

function lagSpan(model: SequenceModel): number {
  const lags = model.config.inputLags ?? [];
  return lags.length > 0 ? lags[lags.length - 1] : 0;
}

/** The tensors' names and shapes, in a fixed order. */
export function startLayout(model: SequenceModel): { name: string; shape: number[] }[] {
  return layoutWithZeros(model).map(({ name, shape }) => ({ name, shape }));
}

function layoutWithZeros(model: SequenceModel): { name: string; shape: number[]; zero: number }[] {
  const out: { name: string; shape: number[]; zero: number }[] = [];
  const cfg = model.config;
  if (cfg.kind === 'lstm') {
    for (let k = 0; k < cfg.layers; k++) for (const n of ['h0', 'c0']) out.push({ name: `layers.${k}.${n}`, shape: [cfg.hidden], zero: 0 });
  } else {
    const wkv = timeMixingOf(cfg).start.tensors;
    for (let l = 0; l < cfg.nLayer; l++) {
      for (const n of ['att.shift', 'ffn.shift']) out.push({ name: `blocks.${l}.${n}`, shape: [cfg.nEmbd], zero: 0 });
      for (const t of wkv) out.push({ name: `blocks.${l}.att.${t.name}`, shape: t.shape, zero: t.zero });
    }
  }
  const span = lagSpan(model);
  if (span > 0) out.push({ name: 'lags', shape: [span, KEYS], zero: 0 });
  return out;
}

/** The start state equal to the model's default (zeros). */
export function zeroStart(model: SequenceModel): StartTensor[] {
  return layoutWithZeros(model).map(({ name, shape, zero }) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (zero !== 0) data.fill(zero);
    return { name, shape, data };
  });
}

/** Layer l's WKV start tensors, in the order of `mixing.start.tensors`. */
function wkvTensors(mixing: TimeMixing<unknown, unknown, unknown, unknown>, get: (name: string) => Float32Array, l: number): Float32Array[] {
  return mixing.start.tensors.map((t) => get(`blocks.${l}.att.${t.name}`));
}

/** The RNN-mode state of `batch` streams, every one starting from `start`. */
export function stateFromStart(model: SequenceModel, start: readonly StartTensor[], batch: number): RecurrentState {
  const state = model.initialState(batch);
  const get = tensorGetter(start);
  const rows = (dst: Float32Array | Float64Array, src: Float32Array) => repeatRows(dst, src, batch);
  const cfg = model.config;
  let history;
  if (cfg.kind === 'lstm') {
    const s = state as LstmState;
    for (let k = 0; k < cfg.layers; k++) {
      rows(s.h[k], get(`layers.${k}.h0`));
      rows(s.c[k], get(`layers.${k}.c0`));
    }
    history = s.input.lagHistory;
  } else {
    const s = state as RwkvCoreState<unknown>;
    const mixing = timeMixingOf(cfg);
    for (let l = 0; l < cfg.nLayer; l++) {
      rows(s.attXx[l], get(`blocks.${l}.att.shift`));
      rows(s.ffnXx[l], get(`blocks.${l}.ffn.shift`));
      mixing.start.write(s.wkv[l], wkvTensors(mixing, get, l), batch);
    }
    history = s.input.lagHistory;
  }
  if (history.span > 0) {
    // ring slot of frame s is s mod span; with seen = span, slot j holds frame j - span (oldest first)
    rows(history.frames, get('lags'));
    history.seen = history.span;
  }
  return state;
}

/**
 * The gradient with respect to the start tensors (summed over streams) from the gradient with
 * respect to a state built by stateFromStart(start) (what trainFrom writes). Added into `out`.
 */
export function addStartGradient(model: SequenceModel, grad: RecurrentState, out: readonly StartTensor[]): void {
  const get = tensorGetter(out);
  const cfg = model.config;
  let history;
  if (cfg.kind === 'lstm') {
    const g = grad as LstmState;
    for (let k = 0; k < cfg.layers; k++) {
      addRowSums(get(`layers.${k}.h0`), g.h[k]);
      addRowSums(get(`layers.${k}.c0`), g.c[k]);
    }
    history = g.input.lagHistory;
  } else {
    const g = grad as RwkvCoreState<unknown>;
    const mixing = timeMixingOf(cfg);
    for (let l = 0; l < cfg.nLayer; l++) {
      addRowSums(get(`blocks.${l}.att.shift`), g.attXx[l]);
      addRowSums(get(`blocks.${l}.ffn.shift`), g.ffnXx[l]);
      mixing.start.addGradient(g.wkv[l], wkvTensors(mixing, get, l));
    }
    history = g.input.lagHistory;
  }
  if (history.span > 0) addRowSums(get('lags'), history.frames);
}

/** Row `row` of an RNN-mode state as start tensors (the state after a piece, as a place to start from). */
export function startFromState(model: SequenceModel, state: RecurrentState, row: number): StartTensor[] {
  const out = zeroStart(model);
  const get = tensorGetter(out);
  const take = (dst: Float32Array, src: Float32Array | Float64Array) => takeRow(dst, src, row);
  const cfg = model.config;
  let history;
  if (cfg.kind === 'lstm') {
    const s = state as LstmState;
    for (let k = 0; k < cfg.layers; k++) {
      take(get(`layers.${k}.h0`), s.h[k]);
      take(get(`layers.${k}.c0`), s.c[k]);
    }
    history = s.input.lagHistory;
  } else {
    const s = state as RwkvCoreState<unknown>;
    const mixing = timeMixingOf(cfg);
    for (let l = 0; l < cfg.nLayer; l++) {
      take(get(`blocks.${l}.att.shift`), s.attXx[l]);
      take(get(`blocks.${l}.ffn.shift`), s.ffnXx[l]);
      mixing.start.read(s.wkv[l], row, wkvTensors(mixing, get, l));
    }
    history = s.input.lagHistory;
  }
  const { span, seen, frames } = history;
  if (span > 0) {
    const lags = get('lags');
    for (let j = 0; j < span; j++) {
      const f = seen - span + j; // frame index, oldest first
      if (f < 0) continue;
      const at = (row * span + (f % span)) * KEYS;
      lags.set(frames.subarray(at, at + KEYS), j * KEYS);
    }
  }
  return out;
}

function tensorGetter(tensors: readonly StartTensor[]): (name: string) => Float32Array {
  const byName = new Map(tensors.map((t) => [t.name, t.data]));
  return (name) => {
    const t = byName.get(name);
    if (!t) throw new Error(`start state: no tensor ${name}`);
    return t;
  };
}

/**
 * The model with every piece starting from `start` instead of zeros: evaluation, logits and RNN-mode
 * sampling (everything but training) see the start state, so it works wherever a model does.
 */
export function startingFrom(model: StartStateModel, start: readonly StartTensor[]): SequenceModel {
  const logits = (batch: Batch) => model.logitsFrom(batch, stateFromStart(model, start, batch.B));
  const styled: SequenceModel = {
    config: model.config,
    inputSize: model.inputSize,
    parameters: () => model.parameters(),
    trainStep: () => {
      throw new Error('a model with a start state is for evaluation and generation; train the model itself');
    },
    evaluate: (batch) => {
      const N = batch.B * batch.T;
      return { nllSum: bceLoss(logits(batch), batch.targets, batch.mask, N, KEYS), frames: maskSum(batch.mask, N) };
    },
    logits,
    initialState: (batch) => stateFromStart(model, start, batch),
    step: (state, frames) => model.step(state, frames),
  };
  const draw = model.drawFrame;
  return draw ? { ...styled, drawFrame: (state, stream, temperature, rng, probs) => draw(state, stream, temperature, rng, probs) } : styled;
}
