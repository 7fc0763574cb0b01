#include "engine/ops/quantize.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "base/cpu_features.h"
#include "engine/ops/parallel_threshold.h"

// GCC 12's AVX-512 intrinsics warn about their own _mm512_undefined_* placeholders
// where they are inlined (GCC bug 105593, fixed in 13); the warning is about the header.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace mms::ops {

namespace {

// Every value is rounded as x · inverse_scale, half to even: std::nearbyint in the default
// rounding mode and vcvtps2dq under the default MXCSR do the same, so fast and reference
// give the same bits.

struct Range {
  float lo = 0.0f, hi = 0.0f;  // always includes 0, so that 0.0 has an exact code
};

U8Params ParamsFor(Range r, int32_t max_code) {
  U8Params p;
  if (r.hi > r.lo) {
    const float top = static_cast<float>(max_code);
    p.scale = (r.hi - r.lo) / top;
    p.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(-r.lo / p.scale), 0.0f, top));
  }
  return p;
}

Range RangeScalar(const float* x, int64_t n) {
  Range r;
  for (int64_t i = 0; i < n; ++i) {
    r.lo = std::min(r.lo, x[i]);
    r.hi = std::max(r.hi, x[i]);
  }
  return r;
}

void QuantizeU8Scalar(const float* x, int64_t n, float inv, int32_t zero_point, int32_t max_code, uint8_t* q) {
  const float top = static_cast<float>(max_code);
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::nearbyint(x[i] * inv) + static_cast<float>(zero_point);
    q[i] = static_cast<uint8_t>(v >= top ? top : v > 0.0f ? v : 0.0f);  // NaN -> 0, as the AVX-512 path
  }
}

__attribute__((target("avx512f"))) Range RangeAvx512(const float* x, int64_t n) {
  __m512 lo = _mm512_setzero_ps(), hi = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    lo = _mm512_min_ps(lo, v);
    hi = _mm512_max_ps(hi, v);
  }
  if (i < n) {  // masked-off lanes load as 0, which the range holds anyway
    const __m512 v = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n - i)) - 1), x + i);
    lo = _mm512_min_ps(lo, v);
    hi = _mm512_max_ps(hi, v);
  }
  return {_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi)};
}

__attribute__((target("avx512f"))) void QuantizeU8Avx512(const float* x, int64_t n, float inv, int32_t zero_point,
                                                         int32_t max_code, uint8_t* q) {
  const __m512 scale = _mm512_set1_ps(inv);
  const __m512i zp = _mm512_set1_epi32(zero_point), zero = _mm512_setzero_si512(), top = _mm512_set1_epi32(max_code);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), scale)), zp);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtusepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(v, zero), top)));
  }
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512i v =
        _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), scale)), zp);
    _mm512_mask_cvtusepi32_storeu_epi8(q + i, mask, _mm512_min_epi32(_mm512_max_epi32(v, zero), top));
  }
}

struct Kernels {
  Range (*range)(const float*, int64_t);
  void (*quantize)(const float*, int64_t, float, int32_t, int32_t, uint8_t*);
};

Kernels SelectKernels() {
  if (CpuHasAvx512()) return {RangeAvx512, QuantizeU8Avx512};
  return {RangeScalar, QuantizeU8Scalar};
}

constexpr int64_t kChunk = 32768;  // per-thread share

float MaxAbs(const float* x, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(x[i]));
  return m;
}

}  // namespace

void QuantizeRowsS8(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    const float max_abs = MaxAbs(row, cols);
    const float inv = max_abs > 0.0f ? 127.0f / max_abs : 1.0f;
    scales[r] = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
    for (int64_t c = 0; c < cols; ++c) {
      q[r * cols + c] = static_cast<int8_t>(std::clamp(std::nearbyint(row[c] * inv), -127.0f, 127.0f));
    }
  }
}

U8Params QuantizeU8(const float* x, int64_t n, uint8_t* q, int32_t max_code) {
  static const Kernels k = SelectKernels();
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const bool parallel = n > kParallelMinElements;  // else on the calling thread (parallel_threshold.h)
  float lo = 0.0f, hi = 0.0f;
  // min and max are exact in any order, so the threads' split does not change the result.
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi) if (parallel)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk;
    const Range r = k.range(x + begin, std::min(kChunk, n - begin));
    lo = std::min(lo, r.lo);
    hi = std::max(hi, r.hi);
  }
  const U8Params p = U8ParamsForRange(lo, hi, max_code);
  const float inv = 1.0f / p.scale;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk;
    k.quantize(x + begin, std::min(kChunk, n - begin), inv, p.zero_point, max_code, q + begin);
  }
  return p;
}

U8Params U8ParamsForRange(float lo, float hi, int32_t max_code) { return ParamsFor({lo, hi}, max_code); }

namespace reference {

U8Params QuantizeU8(const float* x, int64_t n, uint8_t* q, int32_t max_code) {
  const U8Params p = ParamsFor(RangeScalar(x, n), max_code);
  QuantizeU8Scalar(x, n, 1.0f / p.scale, p.zero_point, max_code, q);
  return p;
}

}  // namespace reference

}  // namespace mms::ops
