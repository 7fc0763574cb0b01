#pragma once

#include <cstdint>
#include <string>

#include "engine/ops/quantize.h"
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
  // The normalized rows quantized to u8 with one scale and zero point (returned), codes
  // 0..max_code: the input of an int8 product, with no float32 copy.
  ops::U8Params ForwardToU8(const float* x, int64_t rows, uint8_t* q, int32_t max_code) const;
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_ = 0;
  float eps_ = 1e-5f;
  Tensor gamma_, beta_;
};

}  // namespace mms::layers
