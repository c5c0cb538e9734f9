/**
 * RWKV-6 WKV operator: per head a matrix state with a data-dependent decay.
 *
 * Channels are split into H = C/S heads of S. Per batch row b and head h, with the state
 * St [S,S] (row i = key channel, column j = value channel):
 *   y_t[j] = sum_i r_t[i] (u[i] k_t[i] v_t[j] + St_{t-1}[i][j])
 *   St_t   = diag(w_t) St_{t-1} + k_t^T v_t
 * w_t in (0, 1) is given per position and channel (the caller computes exp(-exp(.))); u = time_faaaa [C].
 *
 * Layout: r, k, v, w, y are [B,T,C]; u is [C]; a state is [B,H,S,S] doubles (b, h, i, j).
 *
 * The backward pass needs every St_{t-1}. Keeping them all would cost T*C*S floats per row, so the
 * training forward keeps only the state at the start of every chunk of WKV6_CHUNK steps (Wkv6Saved:
 * ceil(T/16)*C*S doubles per row, 1/16 of the full record) and the backward recomputes one chunk's
 * states at a time from it (16*S*S doubles of scratch per head).
 */

/** Steps between two saved states. */
export const WKV6_CHUNK = 16;

/** Doubles of a [B,H,S,S] state. */
export function wkv6StateLength(B: number, C: number, S: number): number {
  return B * C * S;
}

/** Doubles of the saved chunk-start states of a training forward over [B,T,C]. */
export function wkv6SavedLength(B: number, T: number, C: number, S: number): number {
  return B * Math.ceil(T / WKV6_CHUNK) * C * S;
}

function checkHeads(C: number, S: number): number {
  if (!(S > 0 && C % S === 0)) throw new Error(`wkv6: head size ${S} does not divide ${C} channels`);
  return C / S;
}

/**
 * Forward over T steps from `state` (updated in place to the state after the last step); y [B,T,C]
 * is assigned. With `save` (wkv6SavedLength doubles) the state at the start of every chunk is kept,
 * laid out [B, chunk, H, S, S].
 */
export function wkv6Forward(
  y: Float32Array, r: Float32Array, k: Float32Array, v: Float32Array, w: Float32Array, u: Float32Array,
  state: Float64Array, B: number, T: number, C: number, S: number, save: Float64Array | null,
): void {
  const H = checkHeads(C, S);
  const SS = S * S;
  const chunks = Math.ceil(T / WKV6_CHUNK);
  const acc = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const so = (b * H + h) * SS;
      const c0 = h * S;
      for (let t = 0; t < T; t++) {
        if (save && t % WKV6_CHUNK === 0) {
          save.set(state.subarray(so, so + SS), ((b * chunks + t / WKV6_CHUNK) * H + h) * SS);
        }
        const row = (b * T + t) * C + c0;
        let a = 0; // sum_i r_i u_i k_i
        for (let i = 0; i < S; i++) a += r[row + i] * u[c0 + i] * k[row + i];
        for (let j = 0; j < S; j++) acc[j] = a * v[row + j];
        for (let i = 0; i < S; i++) {
          const ri = r[row + i];
          const ki = k[row + i];
          const wi = w[row + i];
          const base = so + i * S;
          for (let j = 0; j < S; j++) {
            const s = state[base + j];
            acc[j] += ri * s;
            state[base + j] = wi * s + ki * v[row + j];
          }
        }
        for (let j = 0; j < S; j++) y[row + j] = acc[j];
      }
    }
  }
}

/**
 * Backward over whole sequences from the forward's saved chunk states. With G_t = dL/dSt_t, run
 * backwards from G_{T-1} = 0 (the state after the last step is not part of the loss):
 *   dr_t[i] = u[i] k_t[i] (dy_t·v_t) + sum_j dy_t[j] St_{t-1}[i][j]
 *   dk_t[i] = r_t[i] u[i] (dy_t·v_t) + sum_j G_t[i][j] v_t[j]
 *   dv_t[j] = (sum_i r_t[i] u[i] k_t[i]) dy_t[j] + sum_i k_t[i] G_t[i][j]
 *   dw_t[i] = sum_j G_t[i][j] St_{t-1}[i][j]
 *   du[i]  += r_t[i] k_t[i] (dy_t·v_t)
 *   G_{t-1} = diag(w_t) G_t + r_t^T dy_t
 * dr, dk, dv, dw are assigned, du is added to. With `dstate` ([B,H,S,S]) the gradient with respect to
 * the state the forward started from (G before step 0) is assigned to it.
 */
export function wkv6Backward(
  dr: Float32Array, dk: Float32Array, dv: Float32Array, dw: Float32Array, du: Float32Array, dy: Float32Array,
  r: Float32Array, k: Float32Array, v: Float32Array, w: Float32Array, u: Float32Array, saved: Float64Array,
  B: number, T: number, C: number, S: number, dstate: Float64Array | null,
): void {
  const H = checkHeads(C, S);
  const SS = S * S;
  const chunks = Math.ceil(T / WKV6_CHUNK);
  const G = new Float64Array(SS);
  const states = new Float64Array(WKV6_CHUNK * SS); // St_{t-1} for the steps of one chunk
  const gu = new Float64Array(C);
  const dvAcc = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const c0 = h * S;
      G.fill(0);
      for (let ch = chunks - 1; ch >= 0; ch--) {
        const t0 = ch * WKV6_CHUNK;
        const t1 = Math.min(T, t0 + WKV6_CHUNK);
        // recompute the chunk's states from its saved start
        const from = ((b * chunks + ch) * H + h) * SS;
        for (let q = 0; q < SS; q++) states[q] = saved[from + q];
        for (let t = t0; t + 1 < t1; t++) {
          const row = (b * T + t) * C + c0;
          const prev = (t - t0) * SS;
          const next = prev + SS;
          for (let i = 0; i < S; i++) {
            const wi = w[row + i];
            const ki = k[row + i];
            for (let j = 0; j < S; j++) states[next + i * S + j] = wi * states[prev + i * S + j] + ki * v[row + j];
          }
        }
        for (let t = t1 - 1; t >= t0; t--) {
          const row = (b * T + t) * C + c0;
          const sp = (t - t0) * SS;
          let dyv = 0;
          for (let j = 0; j < S; j++) dyv += dy[row + j] * v[row + j];
          let a = 0;
          for (let i = 0; i < S; i++) a += r[row + i] * u[c0 + i] * k[row + i];
          for (let j = 0; j < S; j++) dvAcc[j] = a * dy[row + j];
          for (let i = 0; i < S; i++) {
            const ri = r[row + i];
            const ki = k[row + i];
            const ui = u[c0 + i];
            const wi = w[row + i];
            const base = i * S;
            let sdy = 0;
            let gv = 0;
            let gs = 0;
            for (let j = 0; j < S; j++) {
              const g = G[base + j];
              const dyj = dy[row + j];
              sdy += dyj * states[sp + base + j];
              gv += g * v[row + j];
              gs += g * states[sp + base + j];
              dvAcc[j] += ki * g;
              G[base + j] = wi * g + ri * dyj;
            }
            dr[row + i] = ui * ki * dyv + sdy;
            dk[row + i] = ri * ui * dyv + gv;
            dw[row + i] = gs;
            gu[c0 + i] += ri * ki * dyv;
          }
          for (let j = 0; j < S; j++) dv[row + j] = dvAcc[j];
        }
      }
      if (dstate) dstate.set(G, (b * H + h) * SS);
    }
  }
  for (let c = 0; c < C; c++) du[c] += gu[c];
}
