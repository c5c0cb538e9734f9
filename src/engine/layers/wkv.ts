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

/** What the training forward keeps per (b,t,c) for the backward pass. */
export interface WkvSaved {
  p: Float64Array; // the exponent scale of y_t's numerator and denominator: D_t = e^{p} / invD
  invD: Float32Array; // 1 / (D_t e^{-p}), in (0, 1]
  cu: Float32Array; // e^{u+k_t} / D_t, in (0, 1]
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
 * One of the two scale factors of each max trick is exactly 1, so each step needs one exp for
 * y and one for the state update.
 */
export function wkvForward(
  y: Float32Array, k: Float32Array, v: Float32Array, timeDecay: Float32Array, timeFirst: Float32Array,
  state: WkvState, B: number, T: number, C: number, save: WkvSaved | null, wScratch: Float64Array,
  gate: WkvGate | null = null,
): void {
  const { aa, bb, pp } = state;
  const w = wScratch;
  for (let c = 0; c < C; c++) w[c] = -Math.exp(timeDecay[c]);
  const sp = save ? save.p : null;
  const sInv = save ? save.invD : null;
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
        // output
        let ww = timeFirst[c] + kt;
        let e1: number, e2: number, p: number;
        if (p0 >= ww) {
          e1 = 1;
          e2 = Math.exp(ww - p0);
          p = p0;
        } else {
          e1 = Math.exp(p0 - ww);
          e2 = 1;
          p = ww;
        }
        const inv = 1 / (e1 * b0 + e2);
        const yt = (e1 * a0 + e2 * vt) * inv;
        y[i] = yt;
        if (sp && sInv && sCu) {
          sp[i] = p;
          sInv[i] = inv;
          sCu[i] = e2 * inv;
        }
        if (r && rw) {
          const rr = 1 / (1 + Math.exp(-r[i]));
          r[i] = rr;
          rw[i] = rr * yt;
        }
        // state update
        ww = w[c] + p0;
        if (ww >= kt) {
          e2 = Math.exp(kt - ww);
          aa[si] = a0 + e2 * vt;
          bb[si] = b0 + e2;
          pp[si] = ww;
        } else {
          e1 = Math.exp(ww - kt);
          aa[si] = e1 * a0 + vt;
          bb[si] = e1 * b0 + 1;
          pp[si] = kt;
        }
      }
    }
  }
}

/**
 * Backward over whole sequences that started from the zero state. One pass backward in time per
 * row, carrying (all scaled by e^{-R}, R the running maximum exponent, start -1e38):
 *   P_t  = sum_{s>t} e^{(s-1-t)w} gy_s / D_s          P_{t-1}  = e^w P_t + gy_t / D_t
 *   Q_t  = sum_{s>t} e^{(s-1-t)w} gy_s y_s / D_s      Q_{t-1}  = e^w Q_t + gy_t y_t / D_t
 *   P1_t = sum_{s>t} (s-1-t) e^{(s-1-t)w} gy_s / D_s  P1_{t-1} = e^w (P1_t + P_t)
 *   Q1_t = same with y_s                               Q1_{t-1} = e^w (Q1_t + Q_t)
 * and then
 *   gv_t = gy_t cu_t + e^{k_t} P_t
 *   gk_t = gy_t cu_t (v_t - y_t) + e^{k_t} (v_t P_t - Q_t)
 *   gu  += gy_t cu_t (v_t - y_t)
 *   gw  += e^{k_t} (v_t P1_t - Q1_t);   g(time_decay) = w * gw
 * e^{k_t} e^{R} <= 1 always (R is at most -k_t), so the products never overflow.
 * dk, dv are assigned; dTimeDecay, dTimeFirst are added to.
 * With `gate` (r = sigmoid output, dpre = output), dy is the gradient of r ⊙ y: then
 * gy = dy ⊙ r and dpre = dy ⊙ y ⊙ r (1 - r), in the same pass.
 * `scratch` holds 8*C doubles.
 */
export function wkvBackward(
  dk: Float32Array, dv: Float32Array, dTimeDecay: Float32Array, dTimeFirst: Float32Array,
  dy: Float32Array, k: Float32Array, v: Float32Array, y: Float32Array, saved: WkvSaved,
  timeDecay: Float32Array, B: number, T: number, C: number, scratch: Float64Array,
  gate: { r: Float32Array; dpre: Float32Array } | null = null,
): void {
  const w = scratch.subarray(0, C);
  const P = scratch.subarray(C, 2 * C);
  const Q = scratch.subarray(2 * C, 3 * C);
  const P1 = scratch.subarray(3 * C, 4 * C);
  const Q1 = scratch.subarray(4 * C, 5 * C);
  const R = scratch.subarray(5 * C, 6 * C);
  const gw = scratch.subarray(6 * C, 7 * C);
  const gu = scratch.subarray(7 * C, 8 * C);
  for (let c = 0; c < C; c++) w[c] = -Math.exp(timeDecay[c]);
  gw.fill(0);
  gu.fill(0);
  const { p: pS, invD, cu } = saved;
  const gr = gate ? gate.r : null;
  const gd = gate ? gate.dpre : null;
  for (let b = 0; b < B; b++) {
    P.fill(0);
    Q.fill(0);
    P1.fill(0);
    Q1.fill(0);
    R.fill(WKV_PP_START);
    for (let t = T - 1; t >= 0; t--) {
      const row = (b * T + t) * C;
      for (let c = 0; c < C; c++) {
        const i = row + c;
        const kt = k[i];
        const vt = v[i];
        const yt = y[i];
        let gy = dy[i];
        if (gr && gd) {
          const rr = gr[i];
          gd[i] = gy * yt * rr * (1 - rr);
          gy *= rr;
        }
        const r0 = R[c];
        const Pc = P[c];
        const Qc = Q[c];
        const s = Math.exp(r0 + kt);
        const dir = gy * cu[i];
        dv[i] = dir + s * Pc;
        const dd = dir * (vt - yt);
        dk[i] = dd + s * (vt * Pc - Qc);
        gu[c] += dd;
        gw[c] += s * (vt * P1[c] - Q1[c]);
        // fold step t into the accumulators
        const a = r0 + w[c];
        const nb = -pS[i];
        const g = gy * invD[i];
        if (a >= nb) {
          const e2 = Math.exp(nb - a);
          P1[c] += Pc;
          Q1[c] += Qc;
          P[c] = Pc + e2 * g;
          Q[c] = Qc + e2 * g * yt;
          R[c] = a;
        } else {
          const e1 = Math.exp(a - nb);
          P1[c] = e1 * (P1[c] + Pc);
          Q1[c] = e1 * (Q1[c] + Qc);
          P[c] = e1 * Pc + g;
          Q[c] = e1 * Qc + g * yt;
          R[c] = nb;
        }
      }
    }
  }
  for (let c = 0; c < C; c++) {
    dTimeDecay[c] += gw[c] * w[c];
    dTimeFirst[c] += gu[c];
  }
}
