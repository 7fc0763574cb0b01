#include "engine/ops/layer_norm.h"

#include <cmath>

namespace mms::ops {

void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols, float eps) {
#pragma omp parallel for schedule(static) if (rows * cols > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    // Two passes (mean, then centred variance) keep the precision of PyTorch's kernel
    // for activations with a large mean, which one-pass E[x²]-E[x]² loses.
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < cols; ++c) sum += in[c];
    const float mean = sum / cols;
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t c = 0; c < cols; ++c) {
      const float d = in[c] - mean;
      sq += d * d;
    }
    const float inv_std = 1.0f / std::sqrt(sq / cols + eps);
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
