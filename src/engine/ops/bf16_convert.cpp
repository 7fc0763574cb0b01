#include "engine/ops/bf16_convert.h"

#include <immintrin.h>

#include <algorithm>

#include "base/cpu_features.h"
#include "engine/dtype.h"
#include "engine/ops/parallel_threshold.h"

// GCC 12's AVX-512 intrinsics warn about their own _mm512_undefined_* placeholders
// where they are inlined (GCC bug 105593, fixed in 13); the warning is about the header.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace mms::ops {

namespace {

// The integer form of round-to-nearest-even rather than AVX512-BF16's vcvtneps2bf16:
// that instruction flushes denormal inputs to zero, so its bits would differ from the
// reference (and from the weights, converted at load by FloatToBFloat16). The conversion
// is memory-bound either way, and this runs on every AVX-512 CPU.
#define MMS_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

MMS_AVX512 inline __m256i RoundToBf16(__m512i bits) {
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb)), 16);
  const __mmask16 nan =
      _mm512_cmpgt_epi32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  rounded = _mm512_mask_or_epi32(rounded, nan, _mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40));  // quiet NaN
  return _mm512_cvtepi32_epi16(rounded);
}

MMS_AVX512 void ConvertAvx512(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i bits = _mm512_castps_si512(_mm512_loadu_ps(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), RoundToBf16(bits));
  }
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512i bits = _mm512_castps_si512(_mm512_maskz_loadu_ps(mask, x + i));
    _mm256_mask_storeu_epi16(y + i, mask, RoundToBf16(bits));
  }
}

void ConvertScalar(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = FloatToBFloat16(x[i]);
}

using Kernel = void (*)(const float*, uint16_t*, int64_t);

Kernel SelectKernel() {
  if (CpuHasAvx512()) return ConvertAvx512;
  return ConvertScalar;
}

}  // namespace

void ConvertToBf16OnThisThread(const float* x, uint16_t* y, int64_t n) {
  static const Kernel kernel = SelectKernel();
  kernel(x, y, n);
}

void ConvertToBf16(const float* x, uint16_t* y, int64_t n) {
  static const Kernel kernel = SelectKernel();
  // Chunks of 64 KiB of output keep each thread's share contiguous; small inputs stay on
  // the calling thread (parallel_threshold.h).
  constexpr int64_t kChunk = 32768;
  if (n <= kParallelMinElements) {
    kernel(x, y, n);
    return;
  }
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk;
    kernel(x + begin, y + begin, std::min(kChunk, n - begin));
  }
}

namespace reference {

void ConvertToBf16(const float* x, uint16_t* y, int64_t n) { ConvertScalar(x, y, n); }

}  // namespace reference

}  // namespace mms::ops
