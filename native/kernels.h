// The native kernels: the same semantics and buffer layouts as the TypeScript kernels in
// src/engine/layers/ (see the doc comments there). Pointers marked "nullable" may be null.
#pragma once
#include <cstdint>

namespace rm {

// wkv.cc. Saved factors (decay, ek, g, cu) nullable as a group; gate (r, rw) nullable as a group.
void wkv_forward(float* y, const float* k, const float* v, const float* time_decay, const float* time_first,
                 double* aa, double* bb, double* pp, int B, int T, int C,
                 float* decay, float* ek, float* g, float* cu, float* r, float* rw);
// Gate (r, dpre) nullable as a group; the start state (aa0, bb0) and its gradient (daa, dbb, dpp)
// nullable as a group.
void wkv_backward(float* dk, float* dv, float* d_time_decay, float* d_time_first, const float* dy,
                  const float* v, const float* y, const float* decay, const float* ek, const float* g,
                  const float* cu, const float* time_decay, int B, int T, int C, const float* r, float* dpre,
                  const double* aa0, const double* bb0, double* daa, double* dbb, double* dpp);

// wkv6.cc: states [B,H,S,S] doubles; save (the chunk-start states, [B,ceil(T/16),H,S,S]) nullable;
// dstate nullable. dr, dk, dv, dw assigned, du added to.
void wkv6_forward(float* y, const float* r, const float* k, const float* v, const float* w, const float* u,
                  double* state, int B, int T, int C, int S, double* save);
void wkv6_backward(float* dr, float* dk, float* dv, float* dw, float* du, const float* dy, const float* r,
                   const float* k, const float* v, const float* w, const float* u, const double* saved, int B, int T,
                   int C, int S, double* dstate);

// tokenshift.cc: J = 2 or 3 mixes; prev nullable.
void token_shift_mix_forward(int J, float* const* outs, const float* x, const float* const* mus,
                             const float* prev, int B, int T, int C);
void token_shift_mix_backward(int J, float* dx, bool accumulate, float* const* dmus, const float* const* douts,
                              const float* x, const float* const* mus, int B, int T, int C);
void token_shift_mix_ln_backward(int J, float* dinp, float* const* dmus, const float* const* douts, const float* x,
                                 const float* const* mus, const float* inp, const float* mean, const float* rstd,
                                 const float* weight, float* dweight, float* dbias, int B, int T, int C);

// layernorm.cc
struct Dropout {
  bool on;
  uint32_t seed;
  uint32_t threshold;
  double scale;
};
void layer_norm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                        const float* bias, int N, int C);
void add_layer_norm_forward(float* sum, float* out, float* mean, float* rstd, const float* a, const float* branch,
                            Dropout drop, const float* weight, const float* bias, int N, int C);
void layer_norm_backward(float* dinp, bool accumulate, float* dweight, float* dbias, const float* dout,
                         const float* inp, const float* mean, const float* rstd, const float* weight, int N, int C);

// elementwise.cc
void relu(float* out, const float* x, int64_t n);  // out may be x
void relu_backward(float* dx, const float* x, int64_t n);
void sigmoid_gate(float* out, float* r, const float* z, int64_t n);
void gated_product_backward(float* dz, float* dpre, const float* dout, const float* r, const float* z, int64_t n);
struct AdamWStep {
  double beta1, beta2, eps, step_size, inv_sqrt_bc2, shrink;
};
void adamw_update(float* w, const float* g, float* m, float* v, int64_t n, AdamWStep s);
// avg = d avg + (1 - d) w, in double.
void average_into(float* avg, const float* w, int64_t n, double d);
double sum_squares(const float* x, int64_t n);
// out[i] = x[i] * (keep(i) ? scale : 0) with the keep decision of dropout.h; out may be x.
void dropout(float* out, const float* x, int64_t n, uint32_t seed, uint32_t threshold, double scale);
// sums[c] = sum over the N rows of x[N, O] (assigned, in double).
void column_sums(double* sums, const float* x, int64_t N, int O);
void scale_in_place(float* x, int64_t n, double s);

// loss.cc: the loss summed over the scored rows, returned; dlogits = scale * its gradient (assigned).
double bce_loss_backward(float* dlogits, const float* logits, const float* targets, const float* mask, int N, int D,
                         double scale);

// lstm.cc
void lstm_cell_forward(float* gates, float* c, float* h, float* tc, int t, int B, int H);
void lstm_cell_backward(float* dG, float* dc, const float* dh, const float* gates, const float* c, const float* tc,
                        int t, int B, int H);

// gemm.cc: C[M,N] = alpha A[M,K] op(B) + beta C (op(B) = B^T, B stored [N,K], with trans_b); beta = 0
// ignores C's old contents. One thread; meant for few rows.
void gemm_rows(bool trans_b, int M, int N, int K, float alpha, const float* A, const float* B, float beta, float* C);

// sgemm.cc: C[M,N] = alpha op(A) op(B) + beta C, row-major (A stored [K,M] with trans_a, B stored [N,K]
// with trans_b); beta = 0 ignores C's old contents. Blocked for large products, on the kernels' pool.
// `then` is applied to each element of C once its sum is complete, in the same pass (activation.h).
struct GemmEpilogue {
  enum Kind { kNone = 0, kReluSquare = 1, kReluSquareGrad = 2 };
  Kind kind = kNone;
  const float* squares = nullptr;  // kReluSquareGrad: [M,N], laid out as C
};
void gemm_blocked(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, const float* B,
                  float beta, float* C, GemmEpilogue then = {});
// op(B) [K,N] laid out whole for gemm_packed (B stored [N,K] with trans_b) into packed_b_floats(N, K)
// floats, for many products of few rows against one B (the LSTM's recurrent weight at every time step).
int64_t packed_b_floats(int N, int K);
void pack_b(bool trans_b, int N, int K, const float* B, float* packed);
// C[M,N] = alpha A[M,K] op(B) + beta C with op(B) from pack_b; same sums as gemm_blocked's.
void gemm_packed(int M, int N, int K, float alpha, const float* A, const float* packed, float beta, float* C);

// fmapeak.cc: GFLOP/s of independent register FMAs of `vector_bits` (512 or 256; 0 if not built for it)
// on every pool thread at once, `iterations` rounds of 12 FMAs per thread.
double fma_peak(int vector_bits, int64_t iterations);

}  // namespace rm
