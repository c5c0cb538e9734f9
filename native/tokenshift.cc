// Token-shift mixes and their backward (src/engine/layers/tokenshift.ts), parallel over rows (b, t).
// Sums over rows (the mix and LayerNorm parameter gradients) go to per-chunk partial sums in double,
// added up in chunk order afterwards, so the result does not depend on the thread count.
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
  double mean, rstd;
  const float* weight;
  double* dw;
  double* db;
  double sh, shx;
};

// dL/dx of one row into g (doubles), and acc[j*C + c] += dout_j * (x - xx), in one pass over the row
// with g in registers (a loop per j, g and acc in memory between them, took 1.5x as long); with kLn
// also the LayerNorm backward's sums over the row, in the same pass.
template <int J, bool kPrev, bool kNext, bool kLn>
void mix_row_grad_pass(double* __restrict g, double* __restrict acc, const float* const* douts, const float* x,
                       const float* const* mus, long row, int C, LnRow* ln) {
  const float* __restrict xr = x + row;
  const float* __restrict xp = kPrev ? x + row - C : xr;
  const float* __restrict d0 = douts[0] + row;
  const float* __restrict d1 = douts[J > 1 ? 1 : 0] + row;
  const float* __restrict d2 = douts[J > 2 ? 2 : 0] + row;
  const float* __restrict m0 = mus[0];
  const float* __restrict m1 = mus[J > 1 ? 1 : 0];
  const float* __restrict m2 = mus[J > 2 ? 2 : 0];
  double* __restrict a0 = acc;
  double* __restrict a1 = acc + C;
  double* __restrict a2 = acc + 2L * C;
  const float* __restrict inp = kLn ? ln->inp : nullptr;
  const float* __restrict w = kLn ? ln->weight : nullptr;
  double* __restrict dw = kLn ? ln->dw : nullptr;
  double* __restrict db = kLn ? ln->db : nullptr;
  const double mean = kLn ? ln->mean : 0, rs = kLn ? ln->rstd : 0;
  double sh = 0, shx = 0;
#pragma omp simd reduction(+ : sh, shx)
  for (int c = 0; c < C; c++) {
    const double diff = kPrev ? static_cast<double>(xr[c]) - xp[c] : static_cast<double>(xr[c]);
    double gc = 0;
    a0[c] += static_cast<double>(d0[c]) * diff;
    gc += static_cast<double>(m0[c]) * d0[c];
    if (kNext) gc += (1.0 - m0[c]) * d0[c + C];
    if (J > 1) {
      a1[c] += static_cast<double>(d1[c]) * diff;
      gc += static_cast<double>(m1[c]) * d1[c];
      if (kNext) gc += (1.0 - m1[c]) * d1[c + C];
    }
    if (J > 2) {
      a2[c] += static_cast<double>(d2[c]) * diff;
      gc += static_cast<double>(m2[c]) * d2[c];
      if (kNext) gc += (1.0 - m2[c]) * d2[c + C];
    }
    g[c] = gc;
    if (kLn) {
      const double xhat = (inp[c] - mean) * rs;
      const double h = gc * w[c];
      sh += h;
      shx += h * xhat;
      dw[c] += gc * xhat;
      db[c] += gc;
    }
  }
  if (kLn) ln->sh = sh, ln->shx = shx;
}

template <int J, bool kLn>
void mix_row_grad(double* g, double* acc, const float* const* douts, const float* x, const float* const* mus, long row,
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

template <int J>
void backward_chunk(float* dx, bool accumulate, const float* const* douts, const float* x, const float* const* mus,
                    int T, int C, int n0, int n1, double* acc, double* g) {
  for (int n = n0; n < n1; n++) {
    const int t = n % T;
    const long row = static_cast<long>(n) * C;
    mix_row_grad<J, false>(g, acc, douts, x, mus, row, t > 0, t < T - 1, C, nullptr);
    float* __restrict out = dx + row;
    if (accumulate) {
#pragma omp simd
      for (int c = 0; c < C; c++) out[c] = static_cast<float>(out[c] + g[c]);
    } else {
#pragma omp simd
      for (int c = 0; c < C; c++) out[c] = static_cast<float>(g[c]);
    }
  }
}

// The rest of the LayerNorm backward of one row, after the fused pass: dinp += rstd (h - mean(h) - xhat mean(h xhat)).
void layer_norm_row_input_grad(float* __restrict dinp, const double* __restrict g, const LnRow& ln, int C) {
  const float* __restrict inp = ln.inp;
  const float* __restrict w = ln.weight;
  const double m = ln.mean, rs = ln.rstd, sh = ln.sh / C, shx = ln.shx / C;
#pragma omp simd
  for (int c = 0; c < C; c++) dinp[c] = static_cast<float>(dinp[c] + rs * (g[c] * w[c] - sh - (inp[c] - m) * rs * shx));
}

template <int J>
void ln_backward_chunk(float* dinp, const float* const* douts, const float* x, const float* const* mus,
                       const float* inp, const float* mean, const float* rstd, const float* weight, int T, int C,
                       int n0, int n1, double* acc, double* dw, double* db, double* g) {
  for (int n = n0; n < n1; n++) {
    const int t = n % T;
    const long row = static_cast<long>(n) * C;
    LnRow ln{inp + row, mean[n], rstd[n], weight, dw, db, 0, 0};
    mix_row_grad<J, true>(g, acc, douts, x, mus, row, t > 0, t < T - 1, C, &ln);
    layer_norm_row_input_grad(dinp + row, g, ln, C);
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
  const long per = static_cast<long>(J + 1) * C;  // acc (J*C) + the row gradient (C)
  double* buf = scratch_f64(per * ch.count);
  parallel_for(ch.count, static_cast<size_t>(N) * C * J * 2, [&](int item) {
    double* acc = buf + per * item;
    double* g = acc + static_cast<long>(J) * C;
    for (long i = 0; i < static_cast<long>(J) * C; i++) acc[i] = 0;
    const int n0 = item * ch.rows, n1 = std::min(N, n0 + ch.rows);
    if (J == 3) backward_chunk<3>(dx, accumulate, douts, x, mus, T, C, n0, n1, acc, g);
    else backward_chunk<2>(dx, accumulate, douts, x, mus, T, C, n0, n1, acc, g);
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
  const long per = static_cast<long>(J + 3) * C;  // acc (J*C), dw, db, the row gradient
  double* buf = scratch_f64(per * ch.count);
  parallel_for(ch.count, static_cast<size_t>(N) * C * (J + 2) * 2, [&](int item) {
    double* acc = buf + per * item;
    double* dw = acc + static_cast<long>(J) * C;
    double* db = dw + C;
    double* g = db + C;
    for (long i = 0; i < static_cast<long>(J + 2) * C; i++) acc[i] = 0;
    const int n0 = item * ch.rows, n1 = std::min(N, n0 + ch.rows);
    if (J == 3) ln_backward_chunk<3>(dinp, douts, x, mus, inp, mean, rstd, weight, T, C, n0, n1, acc, dw, db, g);
    else ln_backward_chunk<2>(dinp, douts, x, mus, inp, mean, rstd, weight, T, C, n0, n1, acc, dw, db, g);
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
