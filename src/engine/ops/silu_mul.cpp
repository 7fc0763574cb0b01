#include "engine/ops/silu_mul.h"

#include <cmath>

#include "engine/ops/fast_exp.h"

namespace mms::ops {

namespace {

// One row; inlined into the baseline and the AVX-512 variant below, where the simd loop
// becomes 16 lanes wide (ExpApprox is plain arithmetic; expf kept it scalar).
[[gnu::always_inline]] inline void SiluMulRow(const float* g, const float* u, float* o, int64_t width) {
#pragma omp simd
  for (int64_t c = 0; c < width; ++c) o[c] = g[c] / (1.0f + ExpApprox(-g[c])) * u[c];
}

void SiluMulRowBaseline(const float* g, const float* u, float* o, int64_t width) { SiluMulRow(g, u, o, width); }
MMS_TARGET_AVX512 void SiluMulRowAvx512(const float* g, const float* u, float* o, int64_t width) {
  SiluMulRow(g, u, o, width);
}

}  // namespace

void SiluMul(const float* gate_up, float* out, int64_t rows, int64_t width) {
  const auto row_fn = CpuHasAvx512() ? SiluMulRowAvx512 : SiluMulRowBaseline;
  // Threads only for prompt-sized work: a decode row is microseconds, less than waking a
  // thread on a loaded machine.
#pragma omp parallel for schedule(static) if (rows * width > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = gate_up + r * 2 * width;
    row_fn(g, g + width, out + r * width, width);
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
