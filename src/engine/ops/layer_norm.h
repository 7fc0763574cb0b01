#pragma once

#include <cstdint>

namespace mms::ops {

// y[r,:] = (x[r,:] - mean) / sqrt(var + eps) * gamma + beta, per row of `cols` floats.
// y may alias x.
void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols, float eps);

// The same rows rounded to bf16 (as ConvertToBf16) as they are written: the input of a bf16
// matrix product without a float32 copy in memory between the two.
void LayerNormToBf16(const float* x, const float* gamma, const float* beta, uint16_t* y, int64_t rows, int64_t cols,
                     float eps);

namespace reference {
void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols, float eps);
}  // namespace reference

}  // namespace mms::ops
