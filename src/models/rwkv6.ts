/**
 * RWKV-6 ("Finch") over piano rolls, RWKV-LM v6's parameter names: the RWKV skeleton (rwkv-core.ts)
 * with RWKV-6's time mixing (engine/layers/timemix6.ts: a matrix-valued WKV state per head, a
 * data-dependent decay, a gate, a GroupNorm) and RWKV-4's channel mixing. The token-shift mixes are
 * static per channel (RWKV-6 proper makes them data-dependent: docs/models.md).
 */
import type { Gemm } from '../engine/gemm.js';
import type { Kernels } from '../engine/kernels.js';
import { addRowSums, repeatRows, takeRow } from './common.js';
import { uniformInit } from './init.js';
import {
  allocTimeMix6Acts, timeMix6Backward, timeMix6Forward, timeMix6Scratch,
  type TimeMix6Acts, type TimeMix6Params, type TimeMix6Scratch,
} from '../engine/layers/timemix6.js';
import { wkv6StateLength } from '../engine/layers/wkv6.js';
import type { Rwkv6Config } from './model.js';
import { RwkvCore, type RwkvCoreState } from './rwkv-core.js';
import type { TimeMixing } from './rwkv-mixing.js';

/** RNN-mode state of RWKV-6: per layer the token-shift inputs and the WKV6 state [B,H,S,S]. */
export type Rwkv6State = RwkvCoreState<Float64Array>;

/** Uniform bound of time_decay_w1 at initialisation (time_decay_w2 starts at zero). */
const DECAY_W1_INIT = 1e-4;

export class Rwkv6Model extends RwkvCore<Rwkv6Config, TimeMix6Params, TimeMix6Acts, TimeMix6Scratch, Float64Array> {
  constructor(config: Rwkv6Config, gemm: Gemm, kernels: Kernels) {
    const { nEmbd: C, headSize: S } = config;
    if (C % S !== 0) throw new Error(`RWKV-6: head size ${S} does not divide ${C} channels`);
    super('RWKV-6', config, rwkv6Mixing(C, S, config.decayLora), gemm, kernels);
  }
}

/**
 * RWKV-6's time mixing for C channels in heads of S, with a decay projection of width D.
 * Initialisation after RWKV-LM's v6 trainer: decays -6 + 5 (c/(C-1))^(0.7 + 1.3 l/(L-1)), time_faaaa
 * by layer and channel, the mixes by channel and layer (time_maa = 1 - RWKV-4's mix), time_decay_w1
 * U(±1e-4), time_decay_w2 zero (so the decay starts per channel), ln_x weight 1, bias 0; with
 * 'rwkv-lm' att.output zero, att.receptance and att.value orthogonal (gain 1), att.key and att.gate
 * orthogonal with gain 0.1 (zero would leave the branch with no gradient: k = 0 keeps the state at
 * zero, g = silu(0) = 0 zeroes the output).
 */
export function rwkv6Mixing(C: number, S: number, D: number): TimeMixing<TimeMix6Params, TimeMix6Acts, TimeMix6Scratch, Float64Array> {
  return {
    params: (pl, p) => {
      const vec = (name: string) => pl.add(`${p}.${name}`, [1, 1, C], false);
      return {
        maaR: vec('time_maa_r'), maaK: vec('time_maa_k'), maaV: vec('time_maa_v'), maaG: vec('time_maa_g'), maaW: vec('time_maa_w'),
        timeDecay: vec('time_decay'),
        decayW1: pl.add(`${p}.time_decay_w1`, [C, D], false),
        decayW2: pl.add(`${p}.time_decay_w2`, [D, C], false),
        timeFirst: pl.add(`${p}.time_faaaa`, [C / S, S], false),
        receptance: pl.add(`${p}.receptance.weight`, [C, C], true),
        key: pl.add(`${p}.key.weight`, [C, C], true),
        value: pl.add(`${p}.value.weight`, [C, C], true),
        gate: pl.add(`${p}.gate.weight`, [C, C], true),
        output: pl.add(`${p}.output.weight`, [C, C], true),
        lnxWeight: pl.add(`${p}.ln_x.weight`, [C], false),
        lnxBias: pl.add(`${p}.ln_x.bias`, [C], false),
      };
    },
    initialize(att, l, L, init) {
      const r01 = L > 1 ? l / (L - 1) : 0;
      const r10 = 1 - l / L;
      for (let h = 0; h < C; h++) {
        const ddd = h / C;
        const hc = C > 1 ? h / (C - 1) : 0;
        att.timeDecay.data[h] = -6 + 5 * Math.pow(hc, 0.7 + 1.3 * r01);
        att.timeFirst.data[h] = r01 * (1 - hc) + (((h + 1) % 3) - 1) * 0.1;
        att.maaK.data[h] = 1 - Math.pow(ddd, r10);
        att.maaW.data[h] = 1 - Math.pow(ddd, r10);
        att.maaV.data[h] = 1 - (Math.pow(ddd, r10) + 0.3 * r01);
        att.maaR.data[h] = 1 - Math.pow(ddd, 0.5 * r10);
        att.maaG.data[h] = 1 - Math.pow(ddd, 0.5 * r10);
      }
      uniformInit(att.decayW1.data, DECAY_W1_INIT, init.rng);
      att.decayW2.data.fill(0);
      att.lnxWeight.data.fill(1);
      att.lnxBias.data.fill(0);
      if (init.scheme === 'pytorch') {
        for (const m of [att.receptance, att.key, att.value, att.gate, att.output]) init.linearDefault(m, null);
      } else {
        att.output.data.fill(0);
        init.ortho(att.receptance, 1);
        init.ortho(att.value, 1);
        init.ortho(att.key, 0.1);
        init.ortho(att.gate, 0.1);
      }
    },
    acts: (N, B, training) => allocTimeMix6Acts(N, B, C, S, D, training),
    scratch: (pool, training) => timeMix6Scratch(pool, C, D, training),
    newState: (batch) => new Float64Array(wkv6StateLength(batch, C, S)),
    resetState: (s, batch) => s.fill(0, 0, wkv6StateLength(batch, C, S)),
    cloneState: (s) => s.slice(),
    isState: (s, batch) => s instanceof Float64Array && s.length === wkv6StateLength(batch, C, S),
    start: {
      // the WKV6 state itself: every value is a valid state
      tensors: [{ name: 'wkv_state', shape: [C / S, S, S], zero: 0 }],
      write: (s, [w], batch) => repeatRows(s, w, batch),
      addGradient: (g, [w]) => addRowSums(w, g),
      read: (s, row, [w]) => takeRow(w, s, row),
    },
    forward: (gemm, K, out, x, att, acts, prev, state, B, T, save, scr) =>
      timeMix6Forward(gemm, K, out, x, att, acts, prev, state, B, T, C, S, save, scr),
    backward: (gemm, K, dx, dout, x, att, acts, B, T, scr, ln, start) =>
      timeMix6Backward(gemm, K, dx, dout, x, att, acts, B, T, C, S, scr, ln,
        start ? { prev: start.prev, dprev: start.dprev, dstate: start.grad } : null),
  };
}
