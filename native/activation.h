// ChannelMix's activation relu(x)^2 and its derivative, as the GEMM applies them to a product's
// elements once their sums are complete (sgemm.cc; the same formulas as applyEpilogue in
// src/engine/gemm.ts, so every backend gives the same bits). Each comes for one float and for a
// vector of them (V: a GCC vector of floats); both round the same steps the same way.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#ifdef __AVX2__
#include <immintrin.h>
#endif

namespace rm {

// max(x, 0)^2; (x + |x|) / 2 is exactly max(x, 0) without a branch, and NaN stays NaN.
inline float relu_square(float x) {
  const float a = (x + std::fabs(x)) * 0.5f;
  return a * a;
}

// d(relu(pre)^2)/d(pre) times d, from the square alone: sqrt(relu(pre)^2) is relu(pre) exactly (a
// correctly rounded square root of a correctly rounded square) unless the square underflowed.
inline float relu_square_grad(float d, float square) { return d * (2 * std::sqrt(square)); }

template <class V>
inline V vabs(V x) {
  typedef int32_t VI __attribute__((vector_size(sizeof(V))));
  VI bits;
  std::memcpy(&bits, &x, sizeof x);
  bits &= 0x7fffffff;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

template <class V>
inline V relu_square(V x) {
  const V a = (x + vabs(x)) * 0.5f;
  return a * a;
}

template <class V>
inline V vsqrt(V x) {
#if defined(__AVX512F__)
  if constexpr (sizeof(V) == 64) return (V)_mm512_sqrt_ps((__m512)x);
#endif
#if defined(__AVX2__)
  if constexpr (sizeof(V) == 32) return (V)_mm256_sqrt_ps((__m256)x);
#endif
  for (size_t i = 0; i < sizeof(V) / sizeof(float); i++) x[i] = std::sqrt(x[i]);
  return x;
}

template <class V>
inline V relu_square_grad(V d, V square) {
  return d * (2 * vsqrt(square));
}

}  // namespace rm
