// The dropout keep decision of src/engine/layers/dropout.ts (dropHash, dropKeep), shared by the kernels
// that drop: element i of a mask is kept when the hash of (seed, i) is at least the threshold.
#pragma once
#include <cstdint>

namespace rm {

inline uint32_t drop_keep(uint32_t seed, uint32_t threshold, uint32_t i) {
  uint32_t x = i * 0x9e3779b1u + seed;
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return (x >> 1) >= threshold ? 1u : 0u;
}

}  // namespace rm
