// Root-mean-square layer norm (LLaMA, Mistral, Qwen2), as Hugging Face's LlamaRMSNorm:
//   y[r,:] = weight * x[r,:] / sqrt(mean(x[r,:]²) + eps)
// per row of `cols` floats, all float32. y may alias x.
#pragma once

#include <cstdint>

namespace mms::ops {

void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t cols, float eps);

namespace reference {
void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t cols, float eps);
}  // namespace reference

}  // namespace mms::ops
