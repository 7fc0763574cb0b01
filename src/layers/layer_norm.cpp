#include "layers/layer_norm.h"

#include "engine/ops/layer_norm.h"
#include "io/checkpoint.h"

namespace mms::layers {

LayerNorm LayerNorm::Load(const io::Checkpoint& ckpt, const std::string& prefix, int64_t dim, float eps) {
  LayerNorm ln;
  ln.dim_ = dim;
  ln.eps_ = eps;
  ln.gamma_ = ckpt.Float32(prefix + ".weight", {dim});
  ln.beta_ = ckpt.Float32(prefix + ".bias", {dim});
  return ln;
}

void LayerNorm::Forward(const float* x, int64_t rows, float* y) const {
  ops::LayerNorm(x, gamma_.data<float>(), beta_.data<float>(), y, rows, dim_, eps_);
}

void LayerNorm::ForwardToBf16(const float* x, int64_t rows, uint16_t* y) const {
  ops::LayerNormToBf16(x, gamma_.data<float>(), beta_.data<float>(), y, rows, dim_, eps_);
}

ops::U8Params LayerNorm::ForwardToU8(const float* x, int64_t rows, uint8_t* q, int32_t max_code) const {
  return ops::LayerNormToU8(x, gamma_.data<float>(), beta_.data<float>(), q, rows, dim_, eps_, max_code);
}

}  // namespace mms::layers
