// Exponentials that gcc can vectorise (no libm calls, no branches): range reduction by ln 2 with the
// round-by-adding-1.5*2^52 trick, a Taylor polynomial on [-ln2/2, ln2/2], and 2^k built in the
// exponent bits. They take the place of -ffast-math's vector libm, which would also license
// rewrites (no NaN/Inf, reassociation) that the kernels' max tricks cannot afford.
#pragma once
#include <cstdint>
#include <cstring>

namespace rm {

// e^x in double, relative error below 1e-15. x < -708: 0 (true value below 3e-308);
// x > 709: +inf (true value above 8e307); NaN stays NaN.
static inline double exp_d(double x) {
  const double lo = -708.0, hi = 709.0;
  double xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  const double shifter = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  double kd = xc * 1.4426950408889634 + shifter;
  int64_t kbits;
  std::memcpy(&kbits, &kd, sizeof kd);  // the low bits hold k = round(x / ln 2)
  kd -= shifter;
  const double r = (xc - kd * 0.69314718036912382) - kd * 1.9082149292705877e-10;
  double p = 2.505210838544172e-08;  // 1/11!
  p = p * r + 2.755731922398589e-07;
  p = p * r + 2.7557319223985893e-06;
  p = p * r + 2.48015873015873e-05;
  p = p * r + 0.0001984126984126984;
  p = p * r + 0.001388888888888889;
  p = p * r + 0.008333333333333333;
  p = p * r + 0.041666666666666664;
  p = p * r + 0.16666666666666666;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const int64_t sbits = (kbits + 1023) << 52;  // 2^k (the shifter's own bits shift out)
  double scale;
  std::memcpy(&scale, &sbits, sizeof scale);
  double y = p * scale;
  y = x < lo ? 0.0 : y;
  y = x > hi ? __builtin_inf() : y;
  return y;
}

// e^x in float, within 2 ulp. x < -87.3: 0; x > 88: +inf; NaN stays NaN.
static inline float exp_f(float x) {
  const float lo = -87.3f, hi = 88.0f;
  float xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  const float shifter = 12582912.0f;  // 1.5 * 2^23
  float kf = xc * 1.44269504f + shifter;
  int32_t kbits;
  std::memcpy(&kbits, &kf, sizeof kf);
  kf -= shifter;
  const float r = (xc - kf * 0.693145751953125f) - kf * 1.428606765330187e-06f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t sbits = static_cast<int32_t>(static_cast<uint32_t>(kbits + 127) << 23);
  float scale;
  std::memcpy(&scale, &sbits, sizeof scale);
  float y = p * scale;
  y = x < lo ? 0.0f : y;
  y = x > hi ? __builtin_inff() : y;
  return y;
}

// log(1 + e) for 0 <= e <= 1 (NaN stays NaN), within 2 ulp: 2 atanh(s) with s = e / (2 + e) <= 1/3,
// whose odd series needs no cancellation-prone 1 + e and has converged to double precision by s^37.
// Written out term by term: gcc does not vectorise the loop that would compute the same terms.
static inline double log1p_unit_d(double e) {
  const double s = e / (2.0 + e);
  const double s2 = s * s;
  double p = 1.0 / 37;
  p = p * s2 + 1.0 / 35;
  p = p * s2 + 1.0 / 33;
  p = p * s2 + 1.0 / 31;
  p = p * s2 + 1.0 / 29;
  p = p * s2 + 1.0 / 27;
  p = p * s2 + 1.0 / 25;
  p = p * s2 + 1.0 / 23;
  p = p * s2 + 1.0 / 21;
  p = p * s2 + 1.0 / 19;
  p = p * s2 + 1.0 / 17;
  p = p * s2 + 1.0 / 15;
  p = p * s2 + 1.0 / 13;
  p = p * s2 + 1.0 / 11;
  p = p * s2 + 1.0 / 9;
  p = p * s2 + 1.0 / 7;
  p = p * s2 + 1.0 / 5;
  p = p * s2 + 1.0 / 3;
  p = p * s2 + 1.0 / 1;
  return 2.0 * s * p;
}

static inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }
static inline double sigmoid_d(double x) { return 1.0 / (1.0 + exp_d(-x)); }

// tanh from one exp, as the TypeScript kernels compute it.
static inline float tanh_f(float x) {
  const float ax = x < 0 ? -x : x;
  const float e = exp_f(-2.0f * ax);
  const float v = (1.0f - e) / (1.0f + e);
  return x < 0 ? -v : v;
}

}  // namespace rm
