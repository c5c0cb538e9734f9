// RWKV-6 WKV forward and backward (src/engine/layers/wkv6.ts), parallel over (batch row, head): every
// head's matrix state is an independent recurrence in time. Same loops and layouts as the TypeScript
// kernel, in double precision; the backward's sums over a state row are vectorised, so they may differ
// from the TypeScript ones in the last bits of a double.
#include <algorithm>
#include <vector>

#include "kernels.h"
#include "pool.h"

namespace rm {
namespace {

constexpr int kChunk = 16;  // WKV6_CHUNK

struct Fwd {
  float* y;
  const float *r, *k, *v, *w, *u;
  double* state;
  double* save;
  int T, C, S, H, chunks;
};

void forward_head(const Fwd& a, int b, int h) {
  const int S = a.S, C = a.C, SS = S * S;
  double* __restrict st = a.state + (static_cast<long>(b) * a.H + h) * SS;
  const int c0 = h * S;
  thread_local std::vector<double> accv;
  if (static_cast<int>(accv.size()) < S) accv.resize(S);
  double* __restrict acc = accv.data();
  for (int t = 0; t < a.T; t++) {
    if (a.save != nullptr && t % kChunk == 0) {
      std::copy(st, st + SS, a.save + ((static_cast<long>(b) * a.chunks + t / kChunk) * a.H + h) * SS);
    }
    const long row = (static_cast<long>(b) * a.T + t) * C + c0;
    const float* __restrict r = a.r + row;
    const float* __restrict k = a.k + row;
    const float* __restrict v = a.v + row;
    const float* __restrict w = a.w + row;
    const float* __restrict u = a.u + c0;
    double s0 = 0;
    for (int i = 0; i < S; i++) s0 += static_cast<double>(r[i]) * u[i] * k[i];
    for (int j = 0; j < S; j++) acc[j] = s0 * v[j];
    for (int i = 0; i < S; i++) {
      const double ri = r[i], ki = k[i], wi = w[i];
      double* __restrict si = st + static_cast<long>(i) * S;
#pragma omp simd
      for (int j = 0; j < S; j++) {
        const double s = si[j];
        acc[j] += ri * s;
        si[j] = wi * s + ki * v[j];
      }
    }
    for (int j = 0; j < S; j++) a.y[row + j] = static_cast<float>(acc[j]);
  }
}

struct Bwd {
  float *dr, *dk, *dv, *dw;
  const float *dy, *r, *k, *v, *w, *u;
  const double* saved;
  double* dstate;
  double* gu;  // [B,C] partial sums per batch row
  int T, C, S, H, chunks;
};

void backward_head(const Bwd& a, int b, int h) {
  const int S = a.S, C = a.C, SS = S * S;
  const int c0 = h * S;
  thread_local std::vector<double> buf;
  const size_t need = static_cast<size_t>(SS) * (kChunk + 1) + S;
  if (buf.size() < need) buf.resize(need);
  double* __restrict G = buf.data();
  double* __restrict states = G + SS;
  double* __restrict dvacc = states + static_cast<long>(kChunk) * SS;
  std::fill_n(G, SS, 0.0);
  double* __restrict gu = a.gu + static_cast<long>(b) * C + c0;
  std::fill_n(gu, S, 0.0);
  const float* __restrict u = a.u + c0;
  for (int ch = a.chunks - 1; ch >= 0; ch--) {
    const int t0 = ch * kChunk;
    const int t1 = std::min(a.T, t0 + kChunk);
    const double* from = a.saved + ((static_cast<long>(b) * a.chunks + ch) * a.H + h) * SS;
    std::copy(from, from + SS, states);
    for (int t = t0; t + 1 < t1; t++) {
      const long row = (static_cast<long>(b) * a.T + t) * C + c0;
      const double* __restrict prev = states + static_cast<long>(t - t0) * SS;
      double* __restrict next = states + static_cast<long>(t - t0 + 1) * SS;
      const float* __restrict v = a.v + row;
      for (int i = 0; i < S; i++) {
        const double wi = a.w[row + i], ki = a.k[row + i];
#pragma omp simd
        for (int j = 0; j < S; j++) next[i * S + j] = wi * prev[i * S + j] + ki * v[j];
      }
    }
    for (int t = t1 - 1; t >= t0; t--) {
      const long row = (static_cast<long>(b) * a.T + t) * C + c0;
      const double* __restrict sp = states + static_cast<long>(t - t0) * SS;
      const float* __restrict dy = a.dy + row;
      const float* __restrict v = a.v + row;
      const float* __restrict r = a.r + row;
      const float* __restrict k = a.k + row;
      const float* __restrict w = a.w + row;
      double dyv = 0;
      for (int j = 0; j < S; j++) dyv += static_cast<double>(dy[j]) * v[j];
      double s0 = 0;
      for (int i = 0; i < S; i++) s0 += static_cast<double>(r[i]) * u[i] * k[i];
      for (int j = 0; j < S; j++) dvacc[j] = s0 * dy[j];
      for (int i = 0; i < S; i++) {
        const double ri = r[i], ki = k[i], ui = u[i], wi = w[i];
        double* __restrict Gi = G + static_cast<long>(i) * S;
        const double* __restrict si = sp + static_cast<long>(i) * S;
        double sdy = 0, gv = 0, gs = 0;
#pragma omp simd reduction(+ : sdy, gv, gs)
        for (int j = 0; j < S; j++) {
          const double g = Gi[j];
          const double dyj = dy[j];
          sdy += dyj * si[j];
          gv += g * v[j];
          gs += g * si[j];
          dvacc[j] += ki * g;
          Gi[j] = wi * g + ri * dyj;
        }
        a.dr[row + i] = static_cast<float>(ui * ki * dyv + sdy);
        a.dk[row + i] = static_cast<float>(ri * ui * dyv + gv);
        a.dw[row + i] = static_cast<float>(gs);
        gu[i] += ri * ki * dyv;
      }
      for (int j = 0; j < S; j++) a.dv[row + j] = static_cast<float>(dvacc[j]);
    }
  }
  if (a.dstate != nullptr) std::copy(G, G + SS, a.dstate + (static_cast<long>(b) * a.H + h) * SS);
}

}  // namespace

void wkv6_forward(float* y, const float* r, const float* k, const float* v, const float* w, const float* u,
                  double* state, int B, int T, int C, int S, double* save) {
  const int H = C / S;
  const Fwd a{y, r, k, v, w, u, state, save, T, C, S, H, (T + kChunk - 1) / kChunk};
  parallel_for(B * H, static_cast<size_t>(B) * T * C * S * 2, [&](int item) { forward_head(a, item / H, item % H); });
}

void wkv6_backward(float* dr, float* dk, float* dv, float* dw, float* du, const float* dy, const float* r,
                   const float* k, const float* v, const float* w, const float* u, const double* saved, int B, int T,
                   int C, int S, double* dstate) {
  const int H = C / S;
  double* partial = scratch_f64(static_cast<size_t>(B) * C);
  const Bwd a{dr, dk, dv, dw, dy, r, k, v, w, u, saved, dstate, partial, T, C, S, H, (T + kChunk - 1) / kChunk};
  parallel_for(B * H, static_cast<size_t>(B) * T * C * S * 6, [&](int item) { backward_head(a, item / H, item % H); });
  for (int c = 0; c < C; c++) {
    double s = 0;
    for (int b = 0; b < B; b++) s += partial[static_cast<long>(b) * C + c];
    du[c] = static_cast<float>(du[c] + s);
  }
}

}  // namespace rm
