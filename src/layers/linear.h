#pragma once

#include <string>
#include <vector>

#include "engine/ops/matmul.h"
#include "engine/tensor.h"

namespace mms::io {
class Checkpoint;
}

namespace mms::layers {

// A fully connected layer. Weights are kept as [in, out] (transposed once at load from
// PyTorch's [out, in]) because that is the layout the matrix product reads row by row.
class Linear {
 public:
  Linear() = default;
  // Loads "<prefix>.weight" [out, in] and, when with_bias, "<prefix>.bias" [out].
  static Linear Load(const io::Checkpoint& ckpt, const std::string& prefix, int64_t in, int64_t out, bool with_bias);
  // One layer computing several projections of the same input side by side (e.g. q, k, v).
  static Linear LoadConcatenated(const io::Checkpoint& ckpt, const std::vector<std::string>& prefixes, int64_t in,
                                 int64_t out_each, bool with_bias);

  // From a row-major [out, in] matrix already in memory (e.g. a reshaped convolution kernel).
  static Linear FromOutIn(const float* weight_out_in, int64_t out, int64_t in, const float* bias);

  // y[rows, out] = epilogue(x[rows, in] · W + b)
  void Forward(const float* x, int64_t rows, float* y, ops::Epilogue epilogue = {}) const;

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 private:
  int64_t in_ = 0, out_ = 0;
  Tensor weight_;  // [in, out] F32
  Tensor bias_;    // [out] F32, or empty
};

}  // namespace mms::layers
