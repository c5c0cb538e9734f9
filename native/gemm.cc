// Matrix products of few rows (src/engine/gemm-native.ts): C[M,N] = alpha op(A) op(B) + beta C with A
// not transposed, on the calling thread. They are what an RNN-mode step at batch 1 is made of
// (y = x W^T for every weight), where handing each product to a thread pool costs more than the
// arithmetic. Sums are kept in float, eight lanes at a time.
#include <cstring>
#include <vector>

#include "kernels.h"

namespace rm {
namespace {

constexpr int kLanes = 8;
typedef float v8 __attribute__((vector_size(kLanes * sizeof(float))));

inline v8 load(const float* p) {
  v8 x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

inline float lane_sum(v8 x) {
  float s = 0;
  for (int i = 0; i < kLanes; i++) s += x[i];
  return s;
}

inline void store(float* c, float sum, float alpha, float beta) {
  *c = beta == 0 ? alpha * sum : alpha * sum + beta * *c;
}

// NT: MB rows of A against NB rows of B (each row K long): MB x NB dot products.
template <int MB, int NB>
void nt_tile(const float* A, const float* B, int K, float* C, int N, float alpha, float beta) {
  v8 acc[MB][NB] = {};
  const int K8 = K - K % kLanes;
  for (int k = 0; k < K8; k += kLanes) {
    v8 a[MB];
    for (int i = 0; i < MB; i++) a[i] = load(A + static_cast<long>(i) * K + k);
    for (int j = 0; j < NB; j++) {
      const v8 b = load(B + static_cast<long>(j) * K + k);
      for (int i = 0; i < MB; i++) acc[i][j] += a[i] * b;
    }
  }
  for (int i = 0; i < MB; i++) {
    for (int j = 0; j < NB; j++) {
      float s = lane_sum(acc[i][j]);
      for (int k = K8; k < K; k++) s += A[static_cast<long>(i) * K + k] * B[static_cast<long>(j) * K + k];
      store(C + static_cast<long>(i) * N + j, s, alpha, beta);
    }
  }
}

// MB rows of C over all N columns, NB columns at a time.
template <int MB, int NB>
void nt_rows(const float* A, const float* B, int N, int K, float* C, float alpha, float beta) {
  int n = 0;
  for (; n + NB <= N; n += NB) nt_tile<MB, NB>(A, B + static_cast<long>(n) * K, K, C + n, N, alpha, beta);
  for (; n < N; n++) nt_tile<MB, 1>(A, B + static_cast<long>(n) * K, K, C + n, N, alpha, beta);
}

// NN: one row of C as a float sum over the rows of B, scaled by A's row.
void nn_row(const float* a, const float* B, int N, int K, float* c, float alpha, float beta, float* acc) {
  std::memset(acc, 0, sizeof(float) * N);
  for (int k = 0; k < K; k++) {
    const float ak = a[k];
    const float* __restrict b = B + static_cast<long>(k) * N;
#pragma omp simd
    for (int n = 0; n < N; n++) acc[n] += ak * b[n];
  }
  if (beta == 0) {
#pragma omp simd
    for (int n = 0; n < N; n++) c[n] = alpha * acc[n];
  } else {
#pragma omp simd
    for (int n = 0; n < N; n++) c[n] = alpha * acc[n] + beta * c[n];
  }
}

}  // namespace

void gemm_rows(bool trans_b, int M, int N, int K, float alpha, const float* A, const float* B, float beta, float* C) {
  if (trans_b) {
    int m = 0;
    for (; m + 2 <= M; m += 2) nt_rows<2, 4>(A + static_cast<long>(m) * K, B, N, K, C + static_cast<long>(m) * N, alpha, beta);
    if (m < M) nt_rows<1, 8>(A + static_cast<long>(m) * K, B, N, K, C + static_cast<long>(m) * N, alpha, beta);
    return;
  }
  thread_local std::vector<float> acc;
  if (acc.size() < static_cast<size_t>(N)) acc.resize(N);
  for (int m = 0; m < M; m++) nn_row(A + static_cast<long>(m) * K, B, N, K, C + static_cast<long>(m) * N, alpha, beta, acc.data());
}

}  // namespace rm
