// Elementwise kernels (src/engine/layers/elementwise.ts), the AdamW update (src/engine/adamw-update.ts),
// and the sums over parameters and rows they need, parallel over fixed-size blocks of elements or rows.
#include <algorithm>
#include <cmath>

#include "dropout.h"
#include "kernels.h"
#include "pool.h"
#include "vmath.h"

namespace rm {
namespace {

constexpr int64_t kBlock = 16384;

template <class Body>
void blocks(int64_t n, int cost, Body&& body) {
  const int items = static_cast<int>((n + kBlock - 1) / kBlock);
  parallel_for(items, static_cast<size_t>(n) * cost, [&](int item) {
    const int64_t i0 = item * kBlock;
    body(i0, std::min(n, i0 + kBlock));
  });
}

}  // namespace

void relu(float* out, const float* x, int64_t n) {
  // out may be x
  blocks(n, 1, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) {
      const float v = x[i];
      out[i] = v > 0 ? v : v != v ? v : 0.0f;  // NaN stays NaN
    }
  });
}

void relu_backward(float* dx, const float* x, int64_t n) {
  blocks(n, 1, [&](int64_t i0, int64_t i1) {
    float* __restrict d = dx;
    const float* __restrict v = x;
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) d[i] = v[i] > 0 ? d[i] : 0.0f;
  });
}

void sigmoid_gate(float* out, float* r, const float* z, int64_t n) {
  blocks(n, 4, [&](int64_t i0, int64_t i1) {
    float* __restrict o = out;
    float* __restrict rr = r;
    const float* __restrict zz = z;
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) {
      const float s = sigmoid_f(rr[i]);
      rr[i] = s;
      o[i] = s * zz[i];
    }
  });
}

void gated_product_backward(float* dz, float* dpre, const float* dout, const float* r, const float* z, int64_t n) {
  // dz may alias dout: each element is read before it is written
  blocks(n, 1, [&](int64_t i0, int64_t i1) {
    float* __restrict dp = dpre;
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) {
      const float g = dout[i], ri = r[i];
      dp[i] = g * z[i] * ri * (1 - ri);
      dz[i] = g * ri;
    }
  });
}

void adamw_update(float* w, const float* g, float* m, float* v, int64_t n, AdamWStep s) {
  blocks(n, 2, [&](int64_t i0, int64_t i1) {
    float* __restrict ww = w;
    const float* __restrict gg = g;
    float* __restrict mm = m;
    float* __restrict vv = v;
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) {
      const double gi = gg[i];
      const double mi = s.beta1 * mm[i] + (1 - s.beta1) * gi;
      const double vi = s.beta2 * vv[i] + (1 - s.beta2) * gi * gi;
      mm[i] = static_cast<float>(mi);
      vv[i] = static_cast<float>(vi);
      ww[i] = static_cast<float>(ww[i] * s.shrink - (s.step_size * mi) / (std::sqrt(vi) * s.inv_sqrt_bc2 + s.eps));
    }
  });
}

void average_into(float* avg, const float* w, int64_t n, double d) {
  const double e = 1 - d;
  blocks(n, 1, [&](int64_t i0, int64_t i1) {
    float* __restrict a = avg;
    const float* __restrict ww = w;
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) a[i] = static_cast<float>(d * a[i] + e * ww[i]);
  });
}

double sum_squares(const float* x, int64_t n) {
  // one partial sum per block, added in block order: the same bits on any number of threads
  const int items = static_cast<int>((n + kBlock - 1) / kBlock);
  double* partial = scratch_f64(items);
  parallel_for(items, static_cast<size_t>(n), [&](int item) {
    const int64_t i0 = item * kBlock, i1 = std::min(n, i0 + kBlock);
    const float* __restrict v = x;  // a local copy: through the capture, gcc gathers every element
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = i0; i < i1; i++) s += static_cast<double>(v[i]) * v[i];
    partial[item] = s;
  });
  double s = 0;
  for (int i = 0; i < items; i++) s += partial[i];
  return s;
}

void dropout(float* out, const float* x, int64_t n, uint32_t seed, uint32_t threshold, double scale) {
  // out may be x: each element is read before it is written
  blocks(n, 2, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) {
      const double keep = drop_keep(seed, threshold, static_cast<uint32_t>(i));
      out[i] = static_cast<float>(x[i] * (keep * scale));
    }
  });
}

void column_sums(double* sums, const float* x, int64_t N, int O) {
  // rows in fixed blocks, each block's column sums in its own partial row, the blocks added in order:
  // every block reads its rows in order, and the result does not depend on the thread count
  constexpr int64_t kRows = 256;
  const int items = static_cast<int>((N + kRows - 1) / kRows);
  if (items == 0) {
    std::fill_n(sums, O, 0.0);
    return;
  }
  double* partial = scratch_f64(static_cast<size_t>(items) * O);
  parallel_for(items, static_cast<size_t>(N) * O, [&](int item) {
    double* __restrict p = partial + static_cast<int64_t>(item) * O;
    std::fill_n(p, O, 0.0);
    const int64_t n1 = std::min(N, (item + 1) * kRows);
    for (int64_t n = item * kRows; n < n1; n++) {
      const float* __restrict row = x + n * O;
#pragma omp simd
      for (int c = 0; c < O; c++) p[c] += row[c];
    }
  });
  std::copy_n(partial, O, sums);
  for (int i = 1; i < items; i++) {
    const double* __restrict p = partial + static_cast<int64_t>(i) * O;
#pragma omp simd
    for (int c = 0; c < O; c++) sums[c] += p[c];
  }
}

void scale_in_place(float* x, int64_t n, double s) {
  blocks(n, 1, [&](int64_t i0, int64_t i1) {
    float* __restrict xx = x;
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) xx[i] = static_cast<float>(xx[i] * s);
  });
}

}  // namespace rm
