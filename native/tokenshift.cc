// Token-shift mixes and their backward (src/engine/layers/tokenshift.ts), parallel over rows (b, t).
// The backward's arithmetic is float, row by row (in double it took 1.3x as long: twice the vector
// instructions for the same memory traffic). Sums over rows (the mix and LayerNorm parameter gradients)
// add kFlushRows rows in float, then go to per-chunk partial sums in double, added up in chunk order
// afterwards, so the result does not depend on the thread count.
#include <algorithm>

#include "kernels.h"
#include "pool.h"

namespace rm {
namespace {

constexpr int kRowsPerItem = 16;  // forward: rows per work item
constexpr int kChunks = 16;       // backward: fixed number of row chunks, each with its own partial sums

template <int J>
void mix_rows(float* const* outs, const float* x, const float* const* mus, const float* prev, int T, int C,
              int n0, int n1) {
  for (int n = n0; n < n1; n++) {
    const int t = n % T;
    const long row = static_cast<long>(n) * C;
    const float* __restrict xr = x + row;
    // xx: the previous step of this row's sequence, the state at t = 0 (or zeros)
    const float* __restrict xp = t > 0 ? x + row - C : (prev ? prev + static_cast<long>(n / T) * C : nullptr);
    for (int j = 0; j < J; j++) {
      float* __restrict o = outs[j] + row;
      const float* __restrict m = mus[j];
      if (xp) {
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = xp[c] + m[c] * (xr[c] - xp[c]);
      } else {
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = m[c] * xr[c];
      }
    }
  }
}

// The LayerNorm that produced x, at one row, for the fused backward: its input row, mean and 1/std, its
// weight, the weight's and bias's gradient sums, and the row's sums of h = g * weight and h * xhat.
struct LnRow {
  const float* inp;
  float mean, rstd;
  const float* weight;
  float* dw;  // sums over the rows since the last flush
  float* db;
  float sh, shx;
};

// dL/dx of one row into g, and acc[j*C + c] += dout_j * (x - xx), in one pass over the row
// with g in registers (a loop per j, g and acc in memory between them, took 1.5x as long); with kLn
// also the LayerNorm backward's sums over the row, in the same pass.
template <int J, bool kPrev, bool kNext, bool kLn>
void mix_row_grad_pass(float* __restrict g, float* __restrict acc, const float* const* douts, const float* x,
                       const float* const* mus, long row, int C, LnRow* ln) {
  const float* __restrict xr = x + row;
  const float* __restrict xp = kPrev ? x + row - C : xr;
  const float* __restrict d0 = douts[0] + row;
  const float* __restrict d1 = douts[J > 1 ? 1 : 0] + row;
  const float* __restrict d2 = douts[J > 2 ? 2 : 0] + row;
  const float* __restrict m0 = mus[0];
  const float* __restrict m1 = mus[J > 1 ? 1 : 0];
  const float* __restrict m2 = mus[J > 2 ? 2 : 0];
  float* __restrict a0 = acc;
  float* __restrict a1 = acc + C;
  float* __restrict a2 = acc + 2L * C;
  const float* __restrict inp = kLn ? ln->inp : nullptr;
  const float* __restrict w = kLn ? ln->weight : nullptr;
  float* __restrict dw = kLn ? ln->dw : nullptr;
  float* __restrict db = kLn ? ln->db : nullptr;
  const float mean = kLn ? ln->mean : 0, rs = kLn ? ln->rstd : 0;
  float sh = 0, shx = 0;
#pragma omp simd reduction(+ : sh, shx)
  for (int c = 0; c < C; c++) {
    const float diff = kPrev ? xr[c] - xp[c] : xr[c];
    float gc = 0;
    a0[c] += d0[c] * diff;
    gc += m0[c] * d0[c];
    if (kNext) gc += (1.0f - m0[c]) * d0[c + C];
    if (J > 1) {
      a1[c] += d1[c] * diff;
      gc += m1[c] * d1[c];
      if (kNext) gc += (1.0f - m1[c]) * d1[c + C];
    }
    if (J > 2) {
      a2[c] += d2[c] * diff;
      gc += m2[c] * d2[c];
      if (kNext) gc += (1.0f - m2[c]) * d2[c + C];
    }
    g[c] = gc;
    if (kLn) {
      const float xhat = (inp[c] - mean) * rs;
      const float h = gc * w[c];
      sh += h;
      shx += h * xhat;
      dw[c] += gc * xhat;
      db[c] += gc;
    }
  }
  if (kLn) ln->sh = sh, ln->shx = shx;
}

template <int J, bool kLn>
void mix_row_grad(float* g, float* acc, const float* const* douts, const float* x, const float* const* mus, long row,
                  bool has_prev, bool has_next, int C, LnRow* ln) {
  static_assert(J >= 1 && J <= 3, "one to three mixes");
  if (has_prev && has_next) mix_row_grad_pass<J, true, true, kLn>(g, acc, douts, x, mus, row, C, ln);
  else if (has_prev) mix_row_grad_pass<J, true, false, kLn>(g, acc, douts, x, mus, row, C, ln);
  else if (has_next) mix_row_grad_pass<J, false, true, kLn>(g, acc, douts, x, mus, row, C, ln);
  else mix_row_grad_pass<J, false, false, kLn>(g, acc, douts, x, mus, row, C, ln);
}

// The backward's split of N rows: at most kChunks chunks of `rows` rows each.
struct Chunks {
  int count;
  int rows;
  explicit Chunks(int N) : count(std::min(kChunks, N)), rows(count > 0 ? (N + count - 1) / count : 0) {}
};

constexpr int kFlushRows = 16;  // rows summed in float before the partial sums take them in double

inline void flush(double* __restrict dst, float* __restrict src, long n) {
  for (long i = 0; i < n; i++) dst[i] += src[i], src[i] = 0;
}

template <int J>
void backward_chunk(float* dx, bool accumulate, const float* const* douts, const float* x, const float* const* mus,
                    int T, int C, int n0, int n1, double* acc, float* facc, float* g) {
  for (int n = n0; n < n1; n++) {
    const int t = n % T;
    const long row = static_cast<long>(n) * C;
    mix_row_grad<J, false>(g, facc, douts, x, mus, row, t > 0, t < T - 1, C, nullptr);
    float* __restrict out = dx + row;
    if (accumulate) {
#pragma omp simd
      for (int c = 0; c < C; c++) out[c] += g[c];
    } else {
#pragma omp simd
      for (int c = 0; c < C; c++) out[c] = g[c];
    }
    if ((n - n0) % kFlushRows == kFlushRows - 1 || n == n1 - 1) flush(acc, facc, static_cast<long>(J) * C);
  }
}

// The rest of the LayerNorm backward of one row, after the fused pass: dinp += rstd (h - mean(h) - xhat mean(h xhat)).
void layer_norm_row_input_grad(float* __restrict dinp, const float* __restrict g, const LnRow& ln, int C) {
  const float* __restrict inp = ln.inp;
  const float* __restrict w = ln.weight;
  const float m = ln.mean, rs = ln.rstd, sh = ln.sh / C, shx = ln.shx / C;
#pragma omp simd
  for (int c = 0; c < C; c++) dinp[c] += rs * (g[c] * w[c] - sh - (inp[c] - m) * rs * shx);
}

template <int J>
void ln_backward_chunk(float* dinp, const float* const* douts, const float* x, const float* const* mus,
                       const float* inp, const float* mean, const float* rstd, const float* weight, int T, int C,
                       int n0, int n1, double* acc, float* facc, float* g) {
  float* fdw = facc + static_cast<long>(J) * C;
  float* fdb = fdw + C;
  for (int n = n0; n < n1; n++) {
    const int t = n % T;
    const long row = static_cast<long>(n) * C;
    LnRow ln{inp + row, mean[n], rstd[n], weight, fdw, fdb, 0, 0};
    mix_row_grad<J, true>(g, facc, douts, x, mus, row, t > 0, t < T - 1, C, &ln);
    layer_norm_row_input_grad(dinp + row, g, ln, C);
    if ((n - n0) % kFlushRows == kFlushRows - 1 || n == n1 - 1) flush(acc, facc, static_cast<long>(J + 2) * C);
  }
}

}  // namespace

void token_shift_mix_forward(int J, float* const* outs, const float* x, const float* const* mus, const float* prev,
                             int B, int T, int C) {
  const int N = B * T;
  const int items = (N + kRowsPerItem - 1) / kRowsPerItem;
  parallel_for(items, static_cast<size_t>(N) * C * J, [&](int item) {
    const int n0 = item * kRowsPerItem, n1 = std::min(N, n0 + kRowsPerItem);
    if (J == 3) mix_rows<3>(outs, x, mus, prev, T, C, n0, n1);
    else mix_rows<2>(outs, x, mus, prev, T, C, n0, n1);
  });
}

void token_shift_mix_backward(int J, float* dx, bool accumulate, float* const* dmus, const float* const* douts,
                              const float* x, const float* const* mus, int B, int T, int C) {
  const int N = B * T;
  const Chunks ch(N);
  const long per = static_cast<long>(J) * C + (static_cast<long>(J + 1) * C + 1) / 2;  // acc in double; its float sums, the row gradient
  double* buf = scratch_f64(per * ch.count);
  parallel_for(ch.count, static_cast<size_t>(N) * C * J * 2, [&](int item) {
    double* acc = buf + per * item;
    float* facc = reinterpret_cast<float*>(acc + static_cast<long>(J) * C);
    float* g = facc + static_cast<long>(J) * C;
    for (long i = 0; i < static_cast<long>(J) * C; i++) acc[i] = 0, facc[i] = 0;
    const int n0 = item * ch.rows, n1 = std::min(N, n0 + ch.rows);
    if (J == 3) backward_chunk<3>(dx, accumulate, douts, x, mus, T, C, n0, n1, acc, facc, g);
    else backward_chunk<2>(dx, accumulate, douts, x, mus, T, C, n0, n1, acc, facc, g);
  });
  for (int j = 0; j < J; j++)
    for (int c = 0; c < C; c++) {
      double s = 0;
      for (int i = 0; i < ch.count; i++) s += buf[per * i + static_cast<long>(j) * C + c];
      dmus[j][c] = static_cast<float>(dmus[j][c] + s);
    }
}

void token_shift_mix_ln_backward(int J, float* dinp, float* const* dmus, const float* const* douts, const float* x,
                                 const float* const* mus, const float* inp, const float* mean, const float* rstd,
                                 const float* weight, float* dweight, float* dbias, int B, int T, int C) {
  const int N = B * T;
  const Chunks ch(N);
  const long per = static_cast<long>(J + 2) * C + (static_cast<long>(J + 3) * C + 1) / 2;  // acc, dw, db in double; their float sums, the row gradient
  double* buf = scratch_f64(per * ch.count);
  parallel_for(ch.count, static_cast<size_t>(N) * C * (J + 2) * 2, [&](int item) {
    double* acc = buf + per * item;
    float* facc = reinterpret_cast<float*>(acc + static_cast<long>(J + 2) * C);
    float* g = facc + static_cast<long>(J + 2) * C;
    for (long i = 0; i < static_cast<long>(J + 2) * C; i++) acc[i] = 0, facc[i] = 0;
    const int n0 = item * ch.rows, n1 = std::min(N, n0 + ch.rows);
    if (J == 3) ln_backward_chunk<3>(dinp, douts, x, mus, inp, mean, rstd, weight, T, C, n0, n1, acc, facc, g);
    else ln_backward_chunk<2>(dinp, douts, x, mus, inp, mean, rstd, weight, T, C, n0, n1, acc, facc, g);
  });
  for (int j = 0; j < J + 2; j++) {
    float* target = j < J ? dmus[j] : j == J ? dweight : dbias;
    for (int c = 0; c < C; c++) {
      double s = 0;
      for (int i = 0; i < ch.count; i++) s += buf[per * i + static_cast<long>(j) * C + c];
      target[c] = static_cast<float>(target[c] + s);
    }
  }
}

}  // namespace rm
