#include "engine/ops/layer_norm.h"

#include <cmath>

namespace mms::ops {

void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols, float eps) {
#pragma omp parallel for schedule(static) if (rows * cols > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    // Two passes (mean, then centred variance) keep the precision of PyTorch's kernel
    // for activations with a large mean, which one-pass E[x²]-E[x]² loses. The sums are
    // in double: a float sum of 768 values near 100 is off by ~1e-5 relative, more
    // when the compiler does not vectorize (and so does not split) the reduction.
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
