#pragma once

#include <cstdint>

namespace mms::ops {

// y[r,:] = (x[r,:] - mean) / sqrt(var + eps) * gamma + beta, per row of `cols` floats.
// y may alias x.
void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols, float eps);

namespace reference {
void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols, float eps);
}  // namespace reference

}  // namespace mms::ops
