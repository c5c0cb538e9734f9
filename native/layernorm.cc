// LayerNorm forward (plain and fused with the residual add and dropout) and backward
// (src/engine/layers/layernorm.ts), parallel over rows.
#include <algorithm>
#include <cmath>

#include "dropout.h"
#include "kernels.h"
#include "pool.h"

namespace rm {
namespace {

constexpr double kEps = 1e-5;
constexpr int kRowsPerItem = 16;
constexpr int kChunks = 16;  // backward: row chunks with their own parameter-gradient sums

void normalize_row(float* __restrict out, float* mean, float* rstd, const float* __restrict inp,
                   const float* __restrict weight, const float* __restrict bias, int n, int C, double s, double s2) {
  const double m = s / C;
  const double var = std::max(s2 / C - m * m, 0.0);
  const double rs = 1.0 / std::sqrt(var + kEps);
  mean[n] = static_cast<float>(m);
  rstd[n] = static_cast<float>(rs);
#pragma omp simd
  for (int c = 0; c < C; c++) out[c] = static_cast<float>((inp[c] - m) * rs * weight[c] + bias[c]);
}

}  // namespace

void layer_norm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                        const float* bias, int N, int C) {
  const int items = (N + kRowsPerItem - 1) / kRowsPerItem;
  parallel_for(items, static_cast<size_t>(N) * C * 2, [&](int item) {
    for (int n = item * kRowsPerItem, n1 = std::min(N, n + kRowsPerItem); n < n1; n++) {
      const long row = static_cast<long>(n) * C;
      const float* __restrict x = inp + row;
      double s = 0, s2 = 0;
#pragma omp simd reduction(+ : s, s2)
      for (int c = 0; c < C; c++) {
        s += x[c];
        s2 += static_cast<double>(x[c]) * x[c];
      }
      normalize_row(out + row, mean, rstd, x, weight, bias, n, C, s, s2);
    }
  });
}

void add_layer_norm_forward(float* sum, float* out, float* mean, float* rstd, const float* a, const float* branch,
                            Dropout drop, const float* weight, const float* bias, int N, int C) {
  const int items = (N + kRowsPerItem - 1) / kRowsPerItem;
  parallel_for(items, static_cast<size_t>(N) * C * 3, [&](int item) {
    for (int n = item * kRowsPerItem, n1 = std::min(N, n + kRowsPerItem); n < n1; n++) {
      const long row = static_cast<long>(n) * C;
      float* __restrict sr = sum + row;
      const float* __restrict ar = a + row;
      const float* __restrict br = branch + row;
      double s = 0, s2 = 0;
      if (drop.on) {
        const double scale = drop.scale;
        const uint32_t base = static_cast<uint32_t>(row);
#pragma omp simd reduction(+ : s, s2)
        for (int c = 0; c < C; c++) {
          const double keep = drop_keep(drop.seed, drop.threshold, base + static_cast<uint32_t>(c));
          const double x = ar[c] + br[c] * (keep * scale);
          sr[c] = static_cast<float>(x);
          s += x;
          s2 += x * x;
        }
      } else {
#pragma omp simd reduction(+ : s, s2)
        for (int c = 0; c < C; c++) {
          const double x = static_cast<double>(ar[c]) + br[c];
          sr[c] = static_cast<float>(x);
          s += x;
          s2 += x * x;
        }
      }
      normalize_row(out + row, mean, rstd, sr, weight, bias, n, C, s, s2);
    }
  });
}

void layer_norm_backward(float* dinp, bool accumulate, float* dweight, float* dbias, const float* dout,
                         const float* inp, const float* mean, const float* rstd, const float* weight, int N, int C) {
  const int chunks = std::min(kChunks, N);
  const int rows = (N + chunks - 1) / chunks;
  double* buf = scratch_f64(2 * static_cast<size_t>(C) * chunks);
  parallel_for(chunks, static_cast<size_t>(N) * C * 4, [&](int item) {
    double* __restrict dw = buf + 2L * C * item;
    double* __restrict db = dw + C;
    const float* __restrict w = weight;  // a local copy: through the capture, gcc gathers it
    for (int c = 0; c < 2 * C; c++) dw[c] = 0;
    for (int n = item * rows, n1 = std::min(N, n + rows); n < n1; n++) {
      const long row = static_cast<long>(n) * C;
      const float* __restrict x = inp + row;
      const float* __restrict go = dout + row;
      float* __restrict di = dinp + row;
      const double m = mean[n], rs = rstd[n];
      double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
      for (int c = 0; c < C; c++) {
        const double xh = (x[c] - m) * rs;
        const double g = static_cast<double>(go[c]) * w[c];
        sg += g;
        sgx += g * xh;
        dw[c] += go[c] * xh;
        db[c] += go[c];
      }
      sg /= C;
      sgx /= C;
      if (accumulate) {
#pragma omp simd
        for (int c = 0; c < C; c++) di[c] = static_cast<float>(di[c] + rs * (static_cast<double>(go[c]) * w[c] - sg - (x[c] - m) * rs * sgx));
      } else {
#pragma omp simd
        for (int c = 0; c < C; c++) di[c] = static_cast<float>(rs * (static_cast<double>(go[c]) * w[c] - sg - (x[c] - m) * rs * sgx));
      }
    }
  });
  for (int c = 0; c < C; c++) {
    double w = 0, b = 0;
    for (int i = 0; i < chunks; i++) {
      w += buf[2L * C * i + c];
      b += buf[2L * C * i + C + c];
    }
    dweight[c] = static_cast<float>(dweight[c] + w);
    dbias[c] = static_cast<float>(dbias[c] + b);
  }
}

}  // namespace rm
