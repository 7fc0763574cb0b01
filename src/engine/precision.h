// The number formats a model's matrix products can run in. Everything else (layer norm,
// softmax, residual adds, embeddings) stays float32 whatever the precision.
#pragma once

#include <string_view>

namespace mms {

enum class Precision {
  kFp32,  // float32 weights and activations
  kBf16,  // bfloat16 weights and activations, float32 accumulation and output
  kInt8,  // int8 weights (per output channel) and activations (per call), int32 accumulation
};

const char* PrecisionName(Precision precision);  // "fp32" | "bf16" | "int8"
// Parses "fp32" | "bf16" | "int8"; false for anything else (the caller names the source).
bool ParsePrecision(std::string_view name, Precision* out);

}  // namespace mms
