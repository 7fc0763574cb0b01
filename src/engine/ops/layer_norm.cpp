#include "engine/ops/layer_norm.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/cpu_features.h"
#include "engine/ops/bf16_convert.h"
#include "engine/ops/fast_exp.h"
#include "engine/ops/parallel_threshold.h"

// GCC 12's AVX-512 intrinsics warn about their own placeholders (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace mms::ops {

namespace {

// Two passes (mean, then centred variance) keep the precision of PyTorch's kernel for
// activations with a large mean, which one-pass E[x²]-E[x]² loses. The sums are in
// double: a float sum of 768 values near 100 is off by ~1e-5 relative.
void NormalizeRowPortable(const float* in, const float* gamma, const float* beta, float* out, int64_t cols,
                          float eps) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t c = 0; c < cols; ++c) sum += in[c];
  const float mean = static_cast<float>(sum / cols);
  double sq = 0.0;
#pragma omp simd reduction(+ : sq)
  for (int64_t c = 0; c < cols; ++c) {
    const double d = static_cast<double>(in[c]) - mean;
    sq += d * d;
  }
  const float inv_std = static_cast<float>(1.0 / std::sqrt(sq / cols + eps));
#pragma omp simd
  for (int64_t c = 0; c < cols; ++c) out[c] = (in[c] - mean) * inv_std * gamma[c] + beta[c];
}

struct RowStats {
  float mean, inv_std;
};

// The same sums, eight doubles wide (the baseline build's were two wide: the layer norms
// of a bf16 text tower took 4% of its time).
MMS_TARGET_AVX512 RowStats RowStatsAvx512(const float* in, int64_t cols, float eps) {
  __m512d sum_lo = _mm512_setzero_pd(), sum_hi = _mm512_setzero_pd();
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    const __m512 x = _mm512_loadu_ps(in + c);
    sum_lo = _mm512_add_pd(sum_lo, _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
    sum_hi = _mm512_add_pd(sum_hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
  }
  double sum = _mm512_reduce_add_pd(_mm512_add_pd(sum_lo, sum_hi));
  for (; c < cols; ++c) sum += in[c];
  const float mean = static_cast<float>(sum / cols);
  const __m512d mean_d = _mm512_set1_pd(static_cast<double>(mean));
  __m512d sq_lo = _mm512_setzero_pd(), sq_hi = _mm512_setzero_pd();
  for (c = 0; c + 16 <= cols; c += 16) {
    const __m512 x = _mm512_loadu_ps(in + c);
    const __m512d lo = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(x)), mean_d);
    const __m512d hi =
        _mm512_sub_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))), mean_d);
    sq_lo = _mm512_fmadd_pd(lo, lo, sq_lo);
    sq_hi = _mm512_fmadd_pd(hi, hi, sq_hi);
  }
  double sq = _mm512_reduce_add_pd(_mm512_add_pd(sq_lo, sq_hi));
  for (; c < cols; ++c) {
    const double d = static_cast<double>(in[c]) - mean;
    sq += d * d;
  }
  return {mean, static_cast<float>(1.0 / std::sqrt(sq / cols + eps))};
}

// Sixteen normalized values from c on: every path below computes them with these operations
// in this order (no fused multiply-add), so LayerNorm and LayerNormToU8 agree to the bit.
MMS_TARGET_AVX512 inline __m512 Normalized16(const float* in, const float* gamma, const float* beta, int64_t c,
                                             __m512 mean, __m512 inv_std, __mmask16 mask = 0xffff) {
  const __m512 x = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, in + c), mean), inv_std),
                                 _mm512_maskz_loadu_ps(mask, gamma + c));
  return _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, beta + c));
}

MMS_TARGET_AVX512 inline __mmask16 TailMask(int64_t left) { return static_cast<__mmask16>((1u << left) - 1); }

MMS_TARGET_AVX512 void NormalizeRowAvx512(const float* in, const float* gamma, const float* beta, float* out,
                                          int64_t cols, float eps) {
  const RowStats s = RowStatsAvx512(in, cols, eps);
  const __m512 mean = _mm512_set1_ps(s.mean), inv = _mm512_set1_ps(s.inv_std);
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) _mm512_storeu_ps(out + c, Normalized16(in, gamma, beta, c, mean, inv));
  if (c < cols) {
    const __mmask16 mask = TailMask(cols - c);
    _mm512_mask_storeu_ps(out + c, mask, Normalized16(in, gamma, beta, c, mean, inv, mask));
  }
}

// The normalized row's smallest and largest values, with 0 (the range QuantizeU8 takes).
MMS_TARGET_AVX512 void RowRangeAvx512(const float* in, const float* gamma, const float* beta, int64_t cols, RowStats s,
                                      float* lo, float* hi) {
  const __m512 mean = _mm512_set1_ps(s.mean), inv = _mm512_set1_ps(s.inv_std);
  __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    const __m512 y = Normalized16(in, gamma, beta, c, mean, inv);
    vlo = _mm512_min_ps(vlo, y);
    vhi = _mm512_max_ps(vhi, y);
  }
  if (c < cols) {  // masked-off lanes are 0, which the range holds anyway
    const __m512 y = Normalized16(in, gamma, beta, c, mean, inv, TailMask(cols - c));
    vlo = _mm512_min_ps(vlo, y);
    vhi = _mm512_max_ps(vhi, y);
  }
  *lo = _mm512_reduce_min_ps(vlo);
  *hi = _mm512_reduce_max_ps(vhi);
}

// The codes as QuantizeU8's AVX-512 kernel computes them: round(y · inv_scale) + zero point,
// clamped to 0..max_code.
MMS_TARGET_AVX512 inline __m512i Codes16(__m512 y, __m512 scale, __m512i zero_point, __m512i top) {
  const __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(y, scale)), zero_point);
  return _mm512_min_epi32(_mm512_max_epi32(v, _mm512_setzero_si512()), top);
}

MMS_TARGET_AVX512 void NormalizeQuantizeRowAvx512(const float* in, const float* gamma, const float* beta, int64_t cols,
                                                  RowStats s, float inv_scale, int32_t zero_point, int32_t max_code,
                                                  uint8_t* q) {
  const __m512 mean = _mm512_set1_ps(s.mean), inv = _mm512_set1_ps(s.inv_std), scale = _mm512_set1_ps(inv_scale);
  const __m512i zp = _mm512_set1_epi32(zero_point), top = _mm512_set1_epi32(max_code);
  int64_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + c),
                     _mm512_cvtusepi32_epi8(Codes16(Normalized16(in, gamma, beta, c, mean, inv), scale, zp, top)));
  }
  if (c < cols) {
    const __mmask16 mask = TailMask(cols - c);
    _mm512_mask_cvtusepi32_storeu_epi8(q + c, mask,
                                       Codes16(Normalized16(in, gamma, beta, c, mean, inv, mask), scale, zp, top));
  }
}

using RowKernel = void (*)(const float*, const float*, const float*, float*, int64_t, float);

RowKernel SelectRowKernel() { return CpuHasAvx512() ? NormalizeRowAvx512 : NormalizeRowPortable; }

}  // namespace

void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols, float eps) {
  static const RowKernel row = SelectRowKernel();
#pragma omp parallel for schedule(static) if (rows * cols > kParallelMinElements)
  for (int64_t r = 0; r < rows; ++r) row(x + r * cols, gamma, beta, y + r * cols, cols, eps);
}

void LayerNormToBf16(const float* x, const float* gamma, const float* beta, uint16_t* y, int64_t rows, int64_t cols,
                     float eps) {
  static const RowKernel row = SelectRowKernel();
#pragma omp parallel if (rows * cols > kParallelMinElements)
  {
    std::vector<float> normed(cols);  // one row, in L1, between the norm and the rounding
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      row(x + r * cols, gamma, beta, normed.data(), cols, eps);
      ConvertToBf16OnThisThread(normed.data(), y + r * cols, cols);
    }
  }
}

U8Params LayerNormToU8(const float* x, const float* gamma, const float* beta, uint8_t* q, int64_t rows, int64_t cols,
                       float eps, int32_t max_code) {
  static const bool avx512 = CpuHasAvx512();
  if (!avx512) {  // the portable path: the float32 rows, then their quantization
    std::vector<float> y(rows * cols);
    LayerNorm(x, gamma, beta, y.data(), rows, cols, eps);
    return QuantizeU8(y.data(), rows * cols, q, max_code);
  }
  std::vector<RowStats> stats(rows);
  const bool parallel = rows * cols > kParallelMinElements;
  float lo = 0.0f, hi = 0.0f;
  // min and max are exact in any order: the threads' split does not change the codes.
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    stats[r] = RowStatsAvx512(x + r * cols, cols, eps);
    float row_lo, row_hi;
    RowRangeAvx512(x + r * cols, gamma, beta, cols, stats[r], &row_lo, &row_hi);
    lo = std::min(lo, row_lo);
    hi = std::max(hi, row_hi);
  }
  const U8Params p = U8ParamsForRange(lo, hi, max_code);
  const float inv_scale = 1.0f / p.scale;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    NormalizeQuantizeRowAvx512(x + r * cols, gamma, beta, cols, stats[r], inv_scale, p.zero_point, max_code,
                               q + r * cols);
  }
  return p;
}

namespace reference {

void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * cols;
    double mean = 0;
    for (int64_t c = 0; c < cols; ++c) mean += in[c];
    mean /= cols;
    double var = 0;
    for (int64_t c = 0; c < cols; ++c) var += (in[c] - mean) * (in[c] - mean);
    var /= cols;
    const double inv_std = 1.0 / std::sqrt(var + eps);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = static_cast<float>((in[c] - mean) * inv_std * gamma[c] + beta[c]);
  }
}

}  // namespace reference

}  // namespace mms::ops
