// The machine's arithmetic ceiling for the benches: independent fused multiply-adds on registers
// only (no memory traffic), on every thread of the pool at once. A GEMM cannot beat this rate, so
// the bench holds its GEMM peak against it (bench/train-speed.ts). On CPUs that split each 512-bit
// instruction into two 256-bit halves the 512- and 256-bit rates are the same.
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <atomic>
#include <chrono>

#include "kernels.h"
#include "pool.h"

namespace rm {
namespace {

// Twelve accumulators in named variables (an array ends up on the stack): more than FMA latency x
// issue width on current x86 cores, so the loop is bound by throughput, not by the dependency chains.
template <class V, V (*Fma)(V, V, V), V (*Set)(float)>
float fma_loop(int64_t iterations) {
  V c0 = Set(1.00f), c1 = Set(1.01f), c2 = Set(1.02f), c3 = Set(1.03f), c4 = Set(1.04f), c5 = Set(1.05f);
  V c6 = Set(1.06f), c7 = Set(1.07f), c8 = Set(1.08f), c9 = Set(1.09f), c10 = Set(1.10f), c11 = Set(1.11f);
  const V a = Set(0.999999f), b = Set(1e-7f);
  for (int64_t n = 0; n < iterations; n++) {
    c0 = Fma(c0, a, b), c1 = Fma(c1, a, b), c2 = Fma(c2, a, b), c3 = Fma(c3, a, b);
    c4 = Fma(c4, a, b), c5 = Fma(c5, a, b), c6 = Fma(c6, a, b), c7 = Fma(c7, a, b);
    c8 = Fma(c8, a, b), c9 = Fma(c9, a, b), c10 = Fma(c10, a, b), c11 = Fma(c11, a, b);
  }
  const V sum = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
  float out[sizeof(V) / sizeof(float)];
  __builtin_memcpy(out, &sum, sizeof out);
  return out[0];
}

#ifdef __AVX512F__
inline __m512 fma512(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
inline __m512 set512(float x) { return _mm512_set1_ps(x); }
#endif
#ifdef __FMA__
inline __m256 fma256(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
inline __m256 set256(float x) { return _mm256_set1_ps(x); }
#endif

}  // namespace

double fma_peak(int vector_bits, int64_t iterations) {
  bool built = false;  // whether this vector width was compiled in: 0 GFLOP/s when not
#ifdef __AVX512F__
  built = built || vector_bits == 512;
#endif
#ifdef __FMA__
  built = built || vector_bits == 256;
#endif
  if (!built) return 0;
  const int threads = pool_threads();
  std::atomic<float> sink{0};
  const auto t0 = std::chrono::steady_clock::now();
  // One item per thread; `work` is large so the pool always runs the items in parallel.
  parallel_for(threads, static_cast<size_t>(1) << 40, [&](int) {
    float r = 0;
#ifdef __AVX512F__
    if (vector_bits == 512) r = fma_loop<__m512, fma512, set512>(iterations);
#endif
#ifdef __FMA__
    if (vector_bits == 256) r = fma_loop<__m256, fma256, set256>(iterations);
#endif
    sink.store(r, std::memory_order_relaxed);
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (void)sink.load();
  const int lanes = vector_bits / 32;
  const double flops = 2.0 * lanes * 12 * static_cast<double>(iterations) * threads;
  return seconds > 0 ? flops / seconds / 1e9 : 0;
}

}  // namespace rm
