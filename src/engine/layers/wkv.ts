/**
 * RWKV-4 WKV operator, exact and numerically stable, O(T) forward and backward.
 *
 * Per batch row b and channel c, with w = -exp(time_decay) < 0 and u = time_first:
 *   a_t = sum_{i<t} e^{(t-1-i)w + k_i} v_i,   b_t = sum_{i<t} e^{(t-1-i)w + k_i}
 *   D_t = b_t + e^{u+k_t},   y_t = (a_t + e^{u+k_t} v_t) / D_t
 * a and b are carried scaled by e^{-pp} (pp = running maximum exponent), so nothing overflows
 * even for large k. See docs/models.md for the derivation of the backward recurrences.
 *
 * Layout: k, v, y are [B,T,C]; time_decay, time_first are [C].
 */

/** Recurrent WKV state for B rows of C channels: aa, bb scaled by e^{-pp}. */
export interface WkvState {
  aa: Float64Array; // [B,C]
  bb: Float64Array; // [B,C]
  pp: Float64Array; // [B,C]
}

/** Start value of pp: e^{pp} is exactly 0 in double precision, and pp - x never overflows. */
export const WKV_PP_START = -1e38;

export function newWkvState(B: number, C: number): WkvState {
  const s: WkvState = { aa: new Float64Array(B * C), bb: new Float64Array(B * C), pp: new Float64Array(B * C) };
  resetWkvState(s, B * C);
  return s;
}

export function resetWkvState(s: WkvState, n: number): void {
  s.aa.fill(0, 0, n);
  s.bb.fill(0, 0, n);
  s.pp.fill(WKV_PP_START, 0, n);
}

/**
 * What the training forward keeps per (b,t,c) for the backward pass, all in [0, 1].
 * With pp_t the state's scale before step t, p_t = max(pp_t, u+k_t) the output's scale and
 * Ds_t = D_t e^{-p_t}:
 *   decay = e^{w + pp_t - pp_{t+1}}   (how the scale moves from step t+1 back to step t)
 *   ek    = e^{k_t - pp_{t+1}}
 *   g     = e^{pp_t - p_t} / Ds_t     (= e^{pp_t} / D_t)
 *   cu    = e^{u + k_t - p_t} / Ds_t  (= e^{u+k_t} / D_t)
 */
export interface WkvSaved {
  decay: Float32Array;
  ek: Float32Array;
  g: Float32Array;
  cu: Float32Array;
}

export function allocWkvSaved(n: number): WkvSaved {
  return { decay: new Float32Array(n), ek: new Float32Array(n), g: new Float32Array(n), cu: new Float32Array(n) };
}

/**
 * Receptance gate fused into the WKV loops (TimeMix's r ⊙ WKV):
 * forward: r holds the pre-activation on input and sigmoid of it on output, rw = r ⊙ y;
 * backward: the incoming gradient is d(rw); dpre receives d(pre-activation).
 */
export interface WkvGate {
  r: Float32Array;
  rw: Float32Array;
}

/**
 * Forward over T steps starting from `state` (updated in place to the state after the last step).
 * y [B,T,C] receives the WKV output; with `gate`, r and rw are computed in the same pass.
 * With `save` (training) it also keeps what the backward pass needs (see WkvSaved).
 *
 * Both max tricks compare against the same difference d = k_t - pp_t, so one exp E = e^{d} serves
 * both: the factor that is not 1 is E e^{u}, e^{-u}/E, E e^{-w} or e^{w}/E, with the per-channel
 * constants computed once. (If a constant over- or underflows, the product is NaN and that factor
 * falls back to its own exp.)  `scratch` holds 5*C doubles.
 */
export function wkvForward(
  y: Float32Array, k: Float32Array, v: Float32Array, timeDecay: Float32Array, timeFirst: Float32Array,
  state: WkvState, B: number, T: number, C: number, save: WkvSaved | null, scratch: Float64Array,
  gate: WkvGate | null = null,
): void {
  const { aa, bb, pp } = state;
  const w = scratch.subarray(0, C);
  const eu = scratch.subarray(C, 2 * C); // e^{u}
  const emu = scratch.subarray(2 * C, 3 * C); // e^{-u}
  const ew = scratch.subarray(3 * C, 4 * C); // e^{w}
  const emw = scratch.subarray(4 * C, 5 * C); // e^{-w}
  for (let c = 0; c < C; c++) {
    w[c] = -Math.exp(timeDecay[c]);
    eu[c] = Math.exp(timeFirst[c]);
    emu[c] = Math.exp(-timeFirst[c]);
    ew[c] = Math.exp(w[c]);
    emw[c] = Math.exp(-w[c]);
  }
  const sDecay = save ? save.decay : null;
  const sEk = save ? save.ek : null;
  const sG = save ? save.g : null;
  const sCu = save ? save.cu : null;
  const r = gate ? gate.r : null;
  const rw = gate ? gate.rw : null;
  for (let b = 0; b < B; b++) {
    const s0 = b * C;
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * C;
      for (let c = 0; c < C; c++) {
        const i = row + c;
        const si = s0 + c;
        const kt = k[i];
        const vt = v[i];
        const a0 = aa[si];
        const b0 = bb[si];
        const p0 = pp[si];
        const u = timeFirst[c];
        const wc = w[c];
        const d = kt - p0;
        const E = Math.exp(d);
        // output: scale p = max(p0, u + k_t); o1 = e^{p0 - p}, o2 = e^{u + k_t - p}
        let o1 = 1;
        let o2 = 1;
        if (d <= -u) {
          o2 = E * eu[c];
          if (o2 !== o2) o2 = Math.exp(u + d);
        } else {
          o1 = emu[c] / E;
          if (o1 !== o1) o1 = Math.exp(-u - d);
        }
        const inv = 1 / (o1 * b0 + o2);
        const yt = (o1 * a0 + o2 * vt) * inv;
        y[i] = yt;
        // state: new scale q = max(w + p0, k_t); s1 = e^{w + p0 - q}, s2 = e^{k_t - q}
        let s1 = 1;
        let s2 = 1;
        if (d <= wc) {
          s2 = E * emw[c];
          if (s2 !== s2) s2 = Math.exp(d - wc);
          pp[si] = wc + p0;
        } else {
          s1 = ew[c] / E;
          if (s1 !== s1) s1 = Math.exp(wc - d);
          pp[si] = kt;
        }
        aa[si] = s1 * a0 + s2 * vt;
        bb[si] = s1 * b0 + s2;
        if (sDecay && sEk && sG && sCu) {
          sDecay[i] = s1;
          sEk[i] = s2;
          sG[i] = o1 * inv;
          sCu[i] = o2 * inv;
        }
        if (r && rw) {
          const rr = 1 / (1 + Math.exp(-r[i]));
          r[i] = rr;
          rw[i] = rr * yt;
        }
      }
    }
  }
}

/**
 * The state a forward pass started from, and where the gradient with respect to it goes.
 * `start` is read (aa, bb; the scale pp is not needed); `grad` is assigned, all [B,C]:
 *   grad.aa = dL/d(aa), grad.bb = dL/d(bb), grad.pp = dL/d(pp), for a_0 = aa e^{pp}, b_0 = bb e^{pp}.
 */
export interface WkvStartGrad {
  start: WkvState;
  grad: WkvState;
}

/**
 * Backward over whole sequences: one pass backward in time per row, carrying, for each channel,
 *   P_t  = sum_{s>t} e^{(s-1-t)w} gy_s / D_s          P_{t-1}  = e^w P_t + gy_t / D_t
 *   Q_t  = sum_{s>t} e^{(s-1-t)w} gy_s y_s / D_s      Q_{t-1}  = e^w Q_t + gy_t y_t / D_t
 *   P1_t = sum_{s>t} (s-1-t) e^{(s-1-t)w} gy_s / D_s  P1_{t-1} = e^w (P1_t + P_t)
 *   Q1_t = the same with y_s                           Q1_{t-1} = e^w (Q1_t + Q_t)
 * from which
 *   gv_t = gy_t e^{u+k_t}/D_t + e^{k_t} P_t
 *   gk_t = gy_t e^{u+k_t}/D_t (v_t - y_t) + e^{k_t} (v_t P_t - Q_t)
 *   gu  += gy_t e^{u+k_t}/D_t (v_t - y_t)
 *   gw  += e^{k_t} (v_t P1_t - Q1_t);   g(time_decay) = w * gw
 * The accumulators are kept scaled by e^{pp_{t+1}}, the forward's own scales, which bounds every
 * term by |gy_s|; then each update only needs factors the forward saved (WkvSaved):
 *   e^{k_t} P_t = ek_t * P^_t,  P^_{t-1} = decay_t * P^_t + gy_t * g_t,  etc. No exp at all.
 * dk, dv are assigned; dTimeDecay, dTimeFirst are added to.
 * With `gate` (r = sigmoid output, dpre = output), dy is the gradient of r ⊙ y: then
 * gy = dy ⊙ r and dpre = dy ⊙ y ⊙ r (1 - r), in the same pass.
 * Without `start` the sequences are taken to start from the zero state. With it, the start state acts
 * as one extra step before t = 0 whose e^{k} v is a_0 and e^{k} is b_0, so after the last fold
 * (scaled by e^{pp_0}, the start state's own scale):
 *   dL/d(aa) = P^_{-1},  dL/d(bb) = -Q^_{-1},  dL/d(pp) = aa P^_{-1} - bb Q^_{-1},
 *   gw += aa P1^_{-1} - bb Q1^_{-1}.
 * `scratch` holds 6*C doubles.
 */
export function wkvBackward(
  dk: Float32Array, dv: Float32Array, dTimeDecay: Float32Array, dTimeFirst: Float32Array,
  dy: Float32Array, v: Float32Array, y: Float32Array, saved: WkvSaved,
  timeDecay: Float32Array, B: number, T: number, C: number, scratch: Float64Array,
  gate: { r: Float32Array; dpre: Float32Array } | null = null, start: WkvStartGrad | null = null,
): void {
  const P = scratch.subarray(0, C);
  const Q = scratch.subarray(C, 2 * C);
  const P1 = scratch.subarray(2 * C, 3 * C);
  const Q1 = scratch.subarray(3 * C, 4 * C);
  const gw = scratch.subarray(4 * C, 5 * C);
  const gu = scratch.subarray(5 * C, 6 * C);
  gw.fill(0);
  gu.fill(0);
  const { decay, ek, g: gD, cu } = saved;
  const gr = gate ? gate.r : null;
  const gd = gate ? gate.dpre : null;
  for (let b = 0; b < B; b++) {
    P.fill(0);
    Q.fill(0);
    P1.fill(0);
    Q1.fill(0);
    for (let t = T - 1; t >= 0; t--) {
      const row = (b * T + t) * C;
      for (let c = 0; c < C; c++) {
        const i = row + c;
        const vt = v[i];
        const yt = y[i];
        let gy = dy[i];
        if (gr && gd) {
          const rr = gr[i];
          gd[i] = gy * yt * rr * (1 - rr);
          gy *= rr;
        }
        const Pc = P[c];
        const Qc = Q[c];
        const s = ek[i];
        const dir = gy * cu[i];
        dv[i] = dir + s * Pc;
        const dd = dir * (vt - yt);
        dk[i] = dd + s * (vt * Pc - Qc);
        gu[c] += dd;
        gw[c] += s * (vt * P1[c] - Q1[c]);
        // fold step t in: scale from e^{pp_{t+1}} to e^{pp_t}
        const e = decay[i];
        const gg = gy * gD[i];
        P1[c] = e * (P1[c] + Pc);
        Q1[c] = e * (Q1[c] + Qc);
        P[c] = e * Pc + gg;
        Q[c] = e * Qc + gg * yt;
      }
    }
    if (start) {
      const { aa, bb } = start.start;
      const gs = start.grad;
      for (let c = 0; c < C; c++) {
        const si = b * C + c;
        gs.aa[si] = P[c];
        gs.bb[si] = -Q[c];
        gs.pp[si] = aa[si] * P[c] - bb[si] * Q[c];
        gw[c] += aa[si] * P1[c] - bb[si] * Q1[c];
      }
    }
  }
  for (let c = 0; c < C; c++) {
    const w = -Math.exp(timeDecay[c]);
    dTimeDecay[c] += gw[c] * w;
    dTimeFirst[c] += gu[c];
  }
}
