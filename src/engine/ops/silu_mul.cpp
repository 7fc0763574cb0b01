#include "engine/ops/silu_mul.h"

#include <cmath>

namespace mms::ops {

void SiluMul(const float* gate_up, float* out, int64_t rows, int64_t width) {
#pragma omp parallel for schedule(static) if (rows * width > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = gate_up + r * 2 * width;
    const float* u = g + width;
    float* o = out + r * width;
#pragma omp simd
    for (int64_t c = 0; c < width; ++c) o[c] = g[c] / (1.0f + std::exp(-g[c])) * u[c];
  }
}

namespace reference {

void SiluMul(const float* gate_up, float* out, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      const double g = gate_up[r * 2 * width + c], u = gate_up[r * 2 * width + width + c];
      out[r * width + c] = static_cast<float>(g / (1.0 + std::exp(-g)) * u);
    }
  }
}

}  // namespace reference

}  // namespace mms::ops
