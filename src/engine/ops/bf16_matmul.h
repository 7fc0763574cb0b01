// bf16 matrix product: weights rounded to bf16 (nearest even) and packed at load;
// activations rounded to bf16 per call; products accumulated in float32; bias, activation
// and residual accumulate applied in float32 on the float32 output.
#pragma once

#include <cstdint>
#include <memory>

#include "engine/ops/packed_matmul.h"

namespace mms::ops {

// w: bf16 bits of a row-major [n, k] matrix (PyTorch's [out, in]).
std::unique_ptr<PackedMatMul> PackBf16(const uint16_t* w, int64_t n, int64_t k);

namespace reference {
// a rounded to bf16 as the fast path does, then exact products summed in double.
void MatMulBf16(const float* a, const uint16_t* w, const float* bias, float* c, int64_t m, int64_t n, int64_t k,
                Epilogue epilogue = {});
}  // namespace reference

}  // namespace mms::ops
