// LSTM cell nonlinearities of one time step (src/engine/layers/lstm.ts), parallel over batch rows.
#include <algorithm>

#include "kernels.h"
#include "pool.h"
#include "vmath.h"

namespace rm {
namespace {

constexpr int kRowsPerItem = 4;

}  // namespace

void lstm_cell_forward(float* gates, float* c, float* h, float* tc, int t, int B, int H) {
  const long G = 4L * H, BH = static_cast<long>(B) * H;
  const int items = (B + kRowsPerItem - 1) / kRowsPerItem;
  parallel_for(items, BH * 12, [&](int item) {
    for (int b = item * kRowsPerItem, b1 = std::min(B, b + kRowsPerItem); b < b1; b++) {
      float* __restrict gi = gates + (static_cast<long>(t) * B + b) * G;
      float* __restrict gf = gi + H;
      float* __restrict gg = gf + H;
      float* __restrict go = gg + H;
      const long sp = t * BH + static_cast<long>(b) * H;  // previous state row
      const float* __restrict cp = c + sp;
      float* __restrict cn = c + sp + BH;
      float* __restrict hn = h + sp + BH;
      float* __restrict th = tc + sp;
#pragma omp simd
      for (int j = 0; j < H; j++) {
        const float ig = sigmoid_f(gi[j]);
        const float fg = sigmoid_f(gf[j]);
        const float g = tanh_f(gg[j]);
        const float og = sigmoid_f(go[j]);
        gi[j] = ig;
        gf[j] = fg;
        gg[j] = g;
        go[j] = og;
        const float cc = fg * cp[j] + ig * g;
        const float tt = tanh_f(cc);
        cn[j] = cc;
        th[j] = tt;
        hn[j] = og * tt;
      }
    }
  });
}

void lstm_cell_backward(float* dG, float* dc, const float* dh, const float* gates, const float* c, const float* tc,
                        int t, int B, int H) {
  const long G = 4L * H, BH = static_cast<long>(B) * H;
  const int items = (B + kRowsPerItem - 1) / kRowsPerItem;
  parallel_for(items, BH * 4, [&](int item) {
    for (int b = item * kRowsPerItem, b1 = std::min(B, b + kRowsPerItem); b < b1; b++) {
      const long gr = (static_cast<long>(t) * B + b) * G;
      const float* __restrict gi = gates + gr;
      const float* __restrict gf = gi + H;
      const float* __restrict gg = gf + H;
      const float* __restrict go = gg + H;
      float* __restrict di = dG + gr;
      float* __restrict df = di + H;
      float* __restrict dg = df + H;
      float* __restrict dou = dg + H;
      const long sr = t * BH + static_cast<long>(b) * H;  // c_{t-1} row, also the row of dh and tc at t
      const float* __restrict cp = c + sr;
      const float* __restrict th = tc + sr;
      const float* __restrict dhr = dh + sr;
      float* __restrict dcr = dc + static_cast<long>(b) * H;
#pragma omp simd
      for (int j = 0; j < H; j++) {
        const float ig = gi[j], fg = gf[j], g = gg[j], og = go[j], tt = th[j], dhj = dhr[j];
        const float dcj = dcr[j] + dhj * og * (1 - tt * tt);
        di[j] = dcj * g * ig * (1 - ig);
        df[j] = dcj * cp[j] * fg * (1 - fg);
        dg[j] = dcj * ig * (1 - g * g);
        dou[j] = dhj * tt * og * (1 - og);
        dcr[j] = dcj * fg;
      }
    }
  });
}

}  // namespace rm
