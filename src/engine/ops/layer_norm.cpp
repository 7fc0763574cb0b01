#include "engine/ops/layer_norm.h"

#include <immintrin.h>

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

// The same sums, eight doubles wide (the baseline build's were two wide: the layer norms
// of a bf16 text tower took 4% of its time).
MMS_TARGET_AVX512 void NormalizeRowAvx512(const float* in, const float* gamma, const float* beta, float* out,
                                          int64_t cols, float eps) {
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
  const float inv_std = static_cast<float>(1.0 / std::sqrt(sq / cols + eps));
  const __m512 mean_f = _mm512_set1_ps(mean), inv = _mm512_set1_ps(inv_std);
  for (c = 0; c + 16 <= cols; c += 16) {
    const __m512 x = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(in + c), mean_f), inv),
                                   _mm512_loadu_ps(gamma + c));
    _mm512_storeu_ps(out + c, _mm512_add_ps(x, _mm512_loadu_ps(beta + c)));
  }
  for (; c < cols; ++c) out[c] = (in[c] - mean) * inv_std * gamma[c] + beta[c];
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
