#include "layers/rms_norm.h"

#include "engine/ops/rms_norm.h"
#include "io/checkpoint.h"

namespace mms::layers {

RmsNorm RmsNorm::Load(const io::Checkpoint& ckpt, const std::string& prefix, int64_t hidden, float eps) {
  RmsNorm n;
  n.weight_ = ckpt.Float32(prefix + ".weight", {hidden});
  n.hidden_ = hidden;
  n.eps_ = eps;
  return n;
}

void RmsNorm::Forward(const float* x, int64_t rows, float* y) const {
  ops::RmsNorm(x, weight_.data<float>(), y, rows, hidden_, eps_);
}

}  // namespace mms::layers
