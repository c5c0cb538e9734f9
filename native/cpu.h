// The addon is compiled with -march=native for the machine that installs it. If the build is then
// run on a CPU without some of those instructions (a copied node_modules, a container image), the
// first kernel would die with an illegal instruction; instead, loading refuses with a message.
#pragma once

namespace rm {

// The first instruction set this build uses that the CPU lacks, or nullptr. Compiled for the
// baseline architecture so that it runs anywhere.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("arch=x86-64"))) inline const char* missing_cpu_feature() {
  __builtin_cpu_init();
#define RM_NEED(name) \
  if (!__builtin_cpu_supports(name)) return name;
#ifdef __SSE4_2__
  RM_NEED("sse4.2")
#endif
#ifdef __AVX__
  RM_NEED("avx")
#endif
#ifdef __AVX2__
  RM_NEED("avx2")
#endif
#ifdef __FMA__
  RM_NEED("fma")
#endif
#ifdef __BMI2__
  RM_NEED("bmi2")
#endif
#ifdef __AVX512F__
  RM_NEED("avx512f")
#endif
#ifdef __AVX512DQ__
  RM_NEED("avx512dq")
#endif
#ifdef __AVX512BW__
  RM_NEED("avx512bw")
#endif
#ifdef __AVX512VL__
  RM_NEED("avx512vl")
#endif
#undef RM_NEED
  return nullptr;
}
#define RM_BASELINE __attribute__((target("arch=x86-64")))
#else
inline const char* missing_cpu_feature() { return nullptr; }
#define RM_BASELINE
#endif

}  // namespace rm
