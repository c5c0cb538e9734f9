// Elementwise kernels (src/engine/layers/elementwise.ts) and the AdamW update
// (src/engine/adamw-update.ts), parallel over fixed-size blocks of elements.
#include <algorithm>
#include <cmath>

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

void relu_square(float* kk, float* pre, int64_t n) {
  blocks(n, 1, [&](int64_t i0, int64_t i1) {
    float* __restrict p = pre;
    float* __restrict k = kk;
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) {
      const float a = (p[i] + std::fabs(p[i])) * 0.5f;  // max(x, 0), NaN stays NaN
      p[i] = a;
      k[i] = a * a;
    }
  });
}

void relu_square_backward(float* dpre, const float* kr, int64_t n) {
  blocks(n, 1, [&](int64_t i0, int64_t i1) {
    float* __restrict d = dpre;
    const float* __restrict k = kr;
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) d[i] *= 2 * k[i];
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

double sum_squares(const float* x, int64_t n) {
  // one partial sum per block, added in block order: the same bits on any number of threads
  const int items = static_cast<int>((n + kBlock - 1) / kBlock);
  double* partial = scratch_f64(items);
  parallel_for(items, static_cast<size_t>(n), [&](int item) {
    const int64_t i0 = item * kBlock, i1 = std::min(n, i0 + kBlock);
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = i0; i < i1; i++) s += static_cast<double>(x[i]) * x[i];
    partial[item] = s;
  });
  double s = 0;
  for (int i = 0; i < items; i++) s += partial[i];
  return s;
}

void scale_in_place(float* x, int64_t n, double s) {
  blocks(n, 1, [&](int64_t i0, int64_t i1) {
    float* __restrict xx = x;
#pragma omp simd
    for (int64_t i = i0; i < i1; i++) xx[i] = static_cast<float>(xx[i] * s);
  });
}

}  // namespace rm
