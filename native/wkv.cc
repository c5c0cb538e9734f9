// WKV forward and backward (src/engine/layers/wkv.ts), parallel over (batch row, block of channels):
// every (b, c) is an independent recurrence in time.
#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "kernels.h"
#include "pool.h"
#include "vmath.h"

namespace rm {
namespace {

// Channels per work item: a whole row of channels where the batch gives enough items (four per
// thread of the pool). The rows of k, v, y, ... are [B, T, C]: an item of all C channels walks each
// array in order, one with a 64-channel slice jumps C floats per step and stalls on memory (measured
// 8.5 -> 5.8 ms forward, 6.2 -> 3.1 ms backward at B16 T256 C512 on 2 threads; on one thread at
// B4 T512 C128, the bundled models' training shape, 1.0-1.2 -> 0.95-0.97 and 0.63-0.81 -> 0.42-0.50).
constexpr int kMaxBlock = 512;  // the backward's per-channel sums live on the stack
constexpr int kMinBlock = 64;
constexpr int kItemsPerThread = 4;

int channel_block(int B, int C) {
  const int want_items = kItemsPerThread * pool_threads();
  const int blocks = std::max(1, (want_items + B - 1) / B);
  int w = (C + blocks - 1) / blocks;
  w = ((w + 15) / 16) * 16;
  return std::min(kMaxBlock, std::max(kMinBlock, w));
}

struct Fwd {
  float* y;
  const float* k;
  const float* v;
  double* aa;
  double* bb;
  double* pp;
  int T, C;
  float *decay, *ek, *g, *cu, *r, *rw;
  const double* w;  // -exp(time_decay)
  const double* u;  // time_first
};

// Both max tricks as one exp each: with x the difference of the two exponents, the factor of the
// smaller one is e^{-|x|} and the other's is 1 (the TypeScript kernel gets the same factors from
// one shared exp and per-channel constants; here a vector exp is cheap).
template <bool Save, bool Gate>
void forward_block(const Fwd& a, int b, int c0, int c1) {
  const int C = a.C;
  for (int t = 0; t < a.T; t++) {
    const long row = (static_cast<long>(b) * a.T + t) * C;
    float* __restrict y = a.y + row;
    const float* __restrict k = a.k + row;
    const float* __restrict v = a.v + row;
    double* __restrict aa = a.aa + static_cast<long>(b) * C;
    double* __restrict bb = a.bb + static_cast<long>(b) * C;
    double* __restrict pp = a.pp + static_cast<long>(b) * C;
#pragma omp simd
    for (int c = c0; c < c1; c++) {
      const double kt = k[c], vt = v[c];
      const double a0 = aa[c], b0 = bb[c], p0 = pp[c];
      const double wc = a.w[c];
      const double d = kt - p0;
      // output: scale p = max(p0, u + k_t); o1 = e^{p0 - p}, o2 = e^{u + k_t - p}
      const double xo = a.u[c] + d;
      const double eo = exp_d(-std::fabs(xo));
      const double o1 = xo <= 0 ? 1.0 : eo;
      const double o2 = xo <= 0 ? eo : 1.0;
      const double inv = 1.0 / (o1 * b0 + o2);
      const double yt = (o1 * a0 + o2 * vt) * inv;
      y[c] = static_cast<float>(yt);
      // state: new scale q = max(w + p0, k_t); s1 = e^{w + p0 - q}, s2 = e^{k_t - q}
      const double xs = d - wc;
      const double es = exp_d(-std::fabs(xs));
      const double s1 = xs <= 0 ? 1.0 : es;
      const double s2 = xs <= 0 ? es : 1.0;
      pp[c] = xs <= 0 ? wc + p0 : kt;
      aa[c] = s1 * a0 + s2 * vt;
      bb[c] = s1 * b0 + s2;
      if (Save) {
        a.decay[row + c] = static_cast<float>(s1);
        a.ek[row + c] = static_cast<float>(s2);
        a.g[row + c] = static_cast<float>(o1 * inv);
        a.cu[row + c] = static_cast<float>(o2 * inv);
      }
      if (Gate) {
        const double rr = sigmoid_d(a.r[row + c]);
        a.r[row + c] = static_cast<float>(rr);
        a.rw[row + c] = static_cast<float>(rr * yt);
      }
    }
  }
}

struct Bwd {
  float* dk;
  float* dv;
  const float *dy, *v, *y, *decay, *ek, *g, *cu, *r;
  float* dpre;
  int T, C;
  double* gw;  // [B,C] partial sums per batch row
  double* gu;
  const double *aa0, *bb0;  // the start state (null: zero)
  double *daa, *dbb, *dpp;  // its gradient
};

template <bool Gate>
void backward_block(const Bwd& a, int b, int c0, int c1) {
  const int C = a.C;
  const int n = c1 - c0;
  double P[kMaxBlock], Q[kMaxBlock], P1[kMaxBlock], Q1[kMaxBlock], gw[kMaxBlock], gu[kMaxBlock];
  for (double* sums : {P, Q, P1, Q1, gw, gu}) std::fill_n(sums, n, 0.0);  // only the block's channels
  for (int t = a.T - 1; t >= 0; t--) {
    const long row = (static_cast<long>(b) * a.T + t) * C + c0;
#pragma omp simd
    for (int j = 0; j < n; j++) {
      const long i = row + j;
      const double vt = a.v[i], yt = a.y[i];
      double gy = a.dy[i];
      if (Gate) {
        const double rr = a.r[i];
        a.dpre[i] = static_cast<float>(gy * yt * rr * (1 - rr));
        gy *= rr;
      }
      const double Pc = P[j], Qc = Q[j];
      const double s = a.ek[i];
      const double dir = gy * a.cu[i];
      a.dv[i] = static_cast<float>(dir + s * Pc);
      const double dd = dir * (vt - yt);
      a.dk[i] = static_cast<float>(dd + s * (vt * Pc - Qc));
      gu[j] += dd;
      gw[j] += s * (vt * P1[j] - Q1[j]);
      // fold step t in: scale from e^{pp_{t+1}} to e^{pp_t}
      const double e = a.decay[i];
      const double gg = gy * a.g[i];
      P1[j] = e * (P1[j] + Pc);
      Q1[j] = e * (Q1[j] + Qc);
      P[j] = e * Pc + gg;
      Q[j] = e * Qc + gg * yt;
    }
  }
  if (a.aa0 != nullptr) {  // the start state as one extra step before t = 0 (see wkv.ts)
    for (int j = 0; j < n; j++) {
      const long si = static_cast<long>(b) * C + c0 + j;
      a.daa[si] = P[j];
      a.dbb[si] = -Q[j];
      a.dpp[si] = a.aa0[si] * P[j] - a.bb0[si] * Q[j];
      gw[j] += a.aa0[si] * P1[j] - a.bb0[si] * Q1[j];
    }
  }
  for (int j = 0; j < n; j++) {
    a.gw[static_cast<long>(b) * C + c0 + j] = gw[j];
    a.gu[static_cast<long>(b) * C + c0 + j] = gu[j];
  }
}

}  // namespace

void wkv_forward(float* y, const float* k, const float* v, const float* time_decay, const float* time_first,
                 double* aa, double* bb, double* pp, int B, int T, int C,
                 float* decay, float* ek, float* g, float* cu, float* r, float* rw) {
  double* consts = scratch_f64(2 * static_cast<size_t>(C));
  for (int c = 0; c < C; c++) {
    consts[c] = -std::exp(static_cast<double>(time_decay[c]));
    consts[C + c] = time_first[c];
  }
  const Fwd a{y, k, v, aa, bb, pp, T, C, decay, ek, g, cu, r, rw, consts, consts + C};
  const int width = channel_block(B, C);
  const int blocks = (C + width - 1) / width;
  const bool save = decay != nullptr, gate = r != nullptr;
  parallel_for(B * blocks, static_cast<size_t>(B) * T * C * 8, [&](int item) {
    const int b = item / blocks;
    const int c0 = (item % blocks) * width;
    const int c1 = std::min(C, c0 + width);
    if (save && gate) forward_block<true, true>(a, b, c0, c1);
    else if (save) forward_block<true, false>(a, b, c0, c1);
    else if (gate) forward_block<false, true>(a, b, c0, c1);
    else forward_block<false, false>(a, b, c0, c1);
  });
}

void wkv_backward(float* dk, float* dv, float* d_time_decay, float* d_time_first, const float* dy,
                  const float* v, const float* y, const float* decay, const float* ek, const float* g,
                  const float* cu, const float* time_decay, int B, int T, int C, const float* r, float* dpre,
                  const double* aa0, const double* bb0, double* daa, double* dbb, double* dpp) {
  double* partial = scratch_f64(2 * static_cast<size_t>(B) * C);
  const Bwd a{dk, dv, dy, v, y, decay, ek, g, cu, r, dpre, T, C, partial, partial + static_cast<long>(B) * C,
              aa0, bb0, daa, dbb, dpp};
  const int width = channel_block(B, C);
  const int blocks = (C + width - 1) / width;
  parallel_for(B * blocks, static_cast<size_t>(B) * T * C * 4, [&](int item) {
    const int b = item / blocks;
    const int c0 = (item % blocks) * width;
    const int c1 = std::min(C, c0 + width);
    if (r != nullptr) backward_block<true>(a, b, c0, c1);
    else backward_block<false>(a, b, c0, c1);
  });
  for (int c = 0; c < C; c++) {
    double gw = 0, gu = 0;
    for (int b = 0; b < B; b++) {
      gw += a.gw[static_cast<long>(b) * C + c];
      gu += a.gu[static_cast<long>(b) * C + c];
    }
    const double w = -std::exp(static_cast<double>(time_decay[c]));
    d_time_decay[c] = static_cast<float>(d_time_decay[c] + gw * w);
    d_time_first[c] = static_cast<float>(d_time_first[c] + gu);
  }
}

}  // namespace rm
