/**
 * RWKV-4 over piano rolls, RWKV-LM's parameter names and layouts: the RWKV skeleton (rwkv-core.ts)
 * with RWKV-4's time mixing (engine/layers/timemix.ts: a decay and a bonus per channel, the WKV state
 * as three vectors per channel).
 */
import type { Gemm } from '../engine/gemm.js';
import type { Kernels } from '../engine/kernels.js';
import {
  allocTimeMixActs, timeMixBackward, timeMixForward, timeMixScratch,
  type TimeMixActs, type TimeMixParams, type TimeMixScratch,
} from '../engine/layers/timemix.js';
import { newWkvState, resetWkvState, WKV_PP_START, type WkvState } from '../engine/layers/wkv.js';
import { addRowSums, repeatRows } from './common.js';
import type { RwkvConfig } from './model.js';
import { RwkvCore, type RwkvCoreState } from './rwkv-core.js';
import type { TimeMixing } from './rwkv-mixing.js';

export type { RwkvInit } from './rwkv-mixing.js';

/** RNN-mode state of RWKV-4: per layer the token-shift inputs and the WKV state (aa, bb, pp [B,C]). */
export type RwkvState = RwkvCoreState<WkvState>;

export class RwkvModel extends RwkvCore<RwkvConfig, TimeMixParams, TimeMixActs, TimeMixScratch, WkvState> {
  constructor(config: RwkvConfig, gemm: Gemm, kernels: Kernels) {
    super('RWKV', config, rwkv4Mixing(config.nEmbd), gemm, kernels);
  }
}

/**
 * RWKV-4's time mixing for C channels. Initialisation (section 2 of the reference): decays
 * -5 + 8 (c/(C-1))^(0.7 + 1.3 l/(L-1)), bonuses log 0.3 plus a zigzag, mixes by layer and channel;
 * with 'rwkv-lm' att.key, att.receptance and att.output zero and att.value orthogonal (gain 1).
 */
export function rwkv4Mixing(C: number): TimeMixing<TimeMixParams, TimeMixActs, TimeMixScratch, WkvState> {
  return {
    params: (pl, p) => ({
      timeDecay: pl.add(`${p}.time_decay`, [C], false),
      timeFirst: pl.add(`${p}.time_first`, [C], false),
      mixK: pl.add(`${p}.time_mix_k`, [1, 1, C], false),
      mixV: pl.add(`${p}.time_mix_v`, [1, 1, C], false),
      mixR: pl.add(`${p}.time_mix_r`, [1, 1, C], false),
      key: pl.add(`${p}.key.weight`, [C, C], true),
      value: pl.add(`${p}.value.weight`, [C, C], true),
      receptance: pl.add(`${p}.receptance.weight`, [C, C], true),
      output: pl.add(`${p}.output.weight`, [C, C], true),
    }),
    initialize(att, l, L, init) {
      const r01 = L > 1 ? l / (L - 1) : 0;
      const r10 = 1 - l / L;
      for (let h = 0; h < C; h++) {
        const ddd = h / C;
        const hc = C > 1 ? h / (C - 1) : 0;
        att.timeDecay.data[h] = -5 + 8 * Math.pow(hc, 0.7 + 1.3 * r01);
        att.timeFirst.data[h] = Math.log(0.3) + 0.5 * (((h + 1) % 3) - 1);
        att.mixK.data[h] = Math.pow(ddd, r10);
        att.mixV.data[h] = Math.pow(ddd, r10) + 0.3 * r01;
        att.mixR.data[h] = Math.pow(ddd, 0.5 * r10);
      }
      if (init.scheme === 'pytorch') {
        for (const m of [att.key, att.value, att.receptance, att.output]) init.linearDefault(m, null);
      } else {
        for (const m of [att.key, att.receptance, att.output]) m.data.fill(0);
        init.ortho(att.value, 1);
      }
    },
    acts: (N, _B, training) => allocTimeMixActs(N, C, training),
    scratch: (pool, training) => timeMixScratch(pool, training),
    newState: (batch) => newWkvState(batch, C),
    resetState: (s, batch) => resetWkvState(s, batch * C),
    cloneState: (s) => ({ aa: s.aa.slice(), bb: s.bb.slice(), pp: s.pp.slice() }),
    isState: (s, batch) => {
      const w = s as Partial<WkvState> | undefined;
      return w?.aa instanceof Float64Array && w.aa.length === batch * C;
    },
    start: {
      // The state as (m, p): aa = m, bb = 1, pp = p in the kernel's scaled form (start-state.ts)
      tensors: [{ name: 'wkv_value', shape: [C], zero: 0 }, { name: 'wkv_log_weight', shape: [C], zero: WKV_PP_START }],
      write: (s, [m, p], batch) => {
        repeatRows(s.aa, m, batch);
        s.bb.fill(1, 0, batch * C);
        repeatRows(s.pp, p, batch);
      },
      addGradient: (g, [m, p]) => {
        // aa = m and pp = p directly (bb is held at 1)
        addRowSums(m, g.aa);
        addRowSums(p, g.pp);
      },
      read: (s, row, [m, p]) => {
        for (let c = 0; c < C; c++) {
          const i = row * C + c;
          // a_0 = aa e^{pp}, b_0 = bb e^{pp}: m = aa / bb, p = pp + log bb (the default start when bb = 0)
          const filled = s.bb[i] > 0;
          m[c] = filled ? s.aa[i] / s.bb[i] : 0;
          p[c] = filled ? s.pp[i] + Math.log(s.bb[i]) : WKV_PP_START;
        }
      },
    },
    forward: (gemm, K, out, x, att, acts, prev, state, B, T, save, scr) =>
      timeMixForward(gemm, K, out, x, att, acts, prev, state, B, T, C, save, scr),
    backward: (gemm, K, dx, dout, x, att, acts, B, T, scr, ln, start) =>
      timeMixBackward(gemm, K, dx, true, dout, x, att, acts, B, T, C, scr, ln,
        start ? { prev: start.prev, dprev: start.dprev, wkv: { start: start.state, grad: start.grad } } : null),
  };
}
