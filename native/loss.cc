// The Bernoulli loss with logits and its gradient (src/engine/layers/bce.ts), parallel over fixed
// blocks of rows; the loss is summed per block in double and the blocks are added in order, so the
// result does not depend on the thread count.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "pool.h"
#include "vmath.h"

namespace rm {
namespace {

constexpr int kRowsPerItem = 64;

}  // namespace

double bce_loss_backward(float* dlogits, const float* logits, const float* targets, const float* mask, int N, int D,
                         double scale) {
  const int items = (N + kRowsPerItem - 1) / kRowsPerItem;
  double* partial = scratch_f64(std::max(1, items));
  parallel_for(items, static_cast<size_t>(N) * D * 16, [&](int item) {
    const int n0 = item * kRowsPerItem, n1 = std::min(N, n0 + kRowsPerItem);
    double total = 0;
    for (int n = n0; n < n1; n++) {
      const long row = static_cast<long>(n) * D;
      float* __restrict dz = dlogits + row;
      const double m = mask[n];
      if (m == 0) {
        std::fill_n(dz, D, 0.0f);
        continue;
      }
      const float* __restrict z = logits + row;
      const float* __restrict y = targets + row;
      const double sm = scale * m;
      double s = 0;
#pragma omp simd reduction(+ : s)
      for (int d = 0; d < D; d++) {
        const double zd = z[d], yd = y[d];
        const double e = exp_d(-std::fabs(zd));
        s += (zd > 0 ? zd : 0.0) + log1p_unit_d(e) - yd * zd;
        const double sig = (zd >= 0 ? 1.0 : e) / (1.0 + e);  // sigmoid(z), stable for both signs
        dz[d] = static_cast<float>(sm * (sig - yd));
      }
      total += m * s;
    }
    partial[item] = total;
  });
  double total = 0;
  for (int i = 0; i < items; i++) total += partial[i];
  return total;
}

}  // namespace rm
