#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mms {

enum class DType { kF32, kF16, kBF16, kI8, kU8, kI32, kI64, kBool, kF64 };

size_t DTypeSize(DType dtype);
const char* DTypeName(DType dtype);  // safetensors spelling: "F32", "BF16", ...
// Parses a safetensors dtype string; returns false for one we do not know.
bool ParseDType(std::string_view name, DType* out);

// Scalar conversions used when weights are stored in half precision.
float HalfToFloat(uint16_t h);
float BFloat16ToFloat(uint16_t b);
uint16_t FloatToBFloat16(float f);  // round to nearest even, as PyTorch does

}  // namespace mms
