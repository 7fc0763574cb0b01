#pragma once

#include <cstdint>

#include "engine/ops/quantize.h"

namespace mms::ops {

// y[r,:] = (x[r,:] - mean) / sqrt(var + eps) * gamma + beta, per row of `cols` floats.
// y may alias x.
void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols, float eps);

// The same rows rounded to bf16 (as ConvertToBf16) as they are written: the input of a bf16
// matrix product without a float32 copy in memory between the two.
void LayerNormToBf16(const float* x, const float* gamma, const float* beta, uint16_t* y, int64_t rows, int64_t cols,
                     float eps);

// The same rows quantized to u8 codes with one scale and zero point for all of them, as
// QuantizeU8 would quantize LayerNorm's output (the same bits), without that float32 output
// in memory: a first pass finds each row's statistics and the normalized values' range with
// the row in L1, a second normalizes again and writes the codes. The input of an int8
// matrix product (PackedMatMul::RunU8).
U8Params LayerNormToU8(const float* x, const float* gamma, const float* beta, uint8_t* q, int64_t rows, int64_t cols,
                       float eps, int32_t max_code);

namespace reference {
void LayerNorm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t cols, float eps);
}  // namespace reference

}  // namespace mms::ops
