// float32 -> bfloat16 conversion of activations, once per matrix product in bf16 mode.
// Round to nearest even, NaN kept quiet: the same bits as FloatToBFloat16 (dtype.h) and
// as PyTorch's conversion, denormals included.
#pragma once

#include <cstdint>

namespace mms::ops {

// Fast path: AVX-512 where the CPU has it (chosen at run time), else the plain loop.
void ConvertToBf16(const float* x, uint16_t* y, int64_t n);

// The same on the calling thread only, for callers already inside a parallel loop (a
// layer norm that writes its rows in bf16).
void ConvertToBf16OnThisThread(const float* x, uint16_t* y, int64_t n);

namespace reference {
void ConvertToBf16(const float* x, uint16_t* y, int64_t n);
}  // namespace reference

}  // namespace mms::ops
