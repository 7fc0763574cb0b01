#pragma once

#include <string>

#include "engine/tensor.h"

namespace mms::io {
class Checkpoint;
}

namespace mms::layers {

// RMSNorm with a learned gain ("<prefix>.weight" [hidden]), float32 in every precision.
class RmsNorm {
 public:
  RmsNorm() = default;
  static RmsNorm Load(const io::Checkpoint& ckpt, const std::string& prefix, int64_t hidden, float eps);

  // y[rows, hidden] = norm(x[rows, hidden]); y may alias x.
  void Forward(const float* x, int64_t rows, float* y) const;

 private:
  Tensor weight_;
  int64_t hidden_ = 0;
  float eps_ = 1e-6f;
};

}  // namespace mms::layers
