#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace mms::io {
class Checkpoint;
}

namespace mms::layers {

class LayerNorm {
 public:
  LayerNorm() = default;
  // Loads "<prefix>.weight" and "<prefix>.bias", both [dim].
  static LayerNorm Load(const io::Checkpoint& ckpt, const std::string& prefix, int64_t dim, float eps);
  // y may alias x.
  void Forward(const float* x, int64_t rows, float* y) const;
  // The normalized rows rounded to bf16: the input of a bf16 product, with no float32 copy.
  void ForwardToBf16(const float* x, int64_t rows, uint16_t* y) const;
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_ = 0;
  float eps_ = 1e-5f;
  Tensor gamma_, beta_;
};

}  // namespace mms::layers
