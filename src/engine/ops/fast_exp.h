// exp(x) in float32 from plain arithmetic that compilers vectorize (no libm call, no
// errno), for the softmax of attention and the SiLU gate: the calls to expf kept those
// loops scalar. Cephes' expf reduction and polynomial: relative error below 2e-7 on
// [-87.3, 88.3]; 0 below that (where expf is denormal or 0), exp(88.3) above. NaN in gives an unspecified finite or NaN value: callers do not
// pass NaN.
//
// Also here: the target attribute of the AVX-512 variants that the engine's own loops are
// compiled in (the project builds for baseline x86-64; the variants are picked at run time
// by CpuHasAvx512, base/cpu_features.h, which MMSERVE_CPU_ISA=generic turns off).
#pragma once

#include <bit>
#include <cstdint>

#include "base/cpu_features.h"

namespace mms::ops {

inline float ExpApprox(float x) {
  // lo keeps n >= -126 (a normal 2^n); hi keeps n <= 127.
  const float lo = -87.33654f, hi = 88.3762626647949f;
  const float xc = x < lo ? lo : (x > hi ? hi : x);
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (exact for |n| < 2^22, no rounding call).
  const float shifter = 12582912.0f;
  const float n = (xc * 1.44269504088896341f + shifter) - shifter;
  // r = x - n ln 2 in two parts (Cody-Waite), |r| <= ln 2 / 2.
  const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * (r * r) + r + 1.0f;
  // 2^n through the exponent field, n in [-126, 127] after the clamp.
  const float scale = std::bit_cast<float>(static_cast<int32_t>((static_cast<int32_t>(n) + 127) << 23));
  return x < lo ? 0.0f : y * scale;
}

}  // namespace mms::ops

// The target attribute of those variants (GCC and Clang).
#define MMS_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c,bmi,bmi2")))
