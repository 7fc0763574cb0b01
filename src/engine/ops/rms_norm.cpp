#include "engine/ops/rms_norm.h"

#include <cmath>

namespace mms::ops {

void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t cols, float eps) {
#pragma omp parallel for schedule(static) if (rows * cols > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    // The sum of squares in double: a float sum over thousands of values loses the low
    // bits that the 1e-4 relative logit tolerance of the reference leaves room for.
    double sq = 0.0;
#pragma omp simd reduction(+ : sq)
    for (int64_t c = 0; c < cols; ++c) sq += static_cast<double>(in[c]) * in[c];
    const float inv_rms = static_cast<float>(1.0 / std::sqrt(sq / cols + eps));
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) out[c] = weight[c] * (in[c] * inv_rms);
  }
}

namespace reference {

void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    double sq = 0;
    for (int64_t c = 0; c < cols; ++c) sq += static_cast<double>(x[r * cols + c]) * x[r * cols + c];
    const double inv_rms = 1.0 / std::sqrt(sq / cols + eps);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = static_cast<float>(weight[c] * (x[r * cols + c] * inv_rms));
  }
}

}  // namespace reference

}  // namespace mms::ops
