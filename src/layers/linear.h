#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/ops/matmul.h"
#include "engine/ops/quantize.h"
#include "engine/precision.h"
#include "engine/tensor.h"

namespace mms::io {
class Checkpoint;
}
namespace mms::ops {
class PackedMatMul;
}

namespace mms::layers {

// A fully connected layer in one of three precisions:
// - fp32: weights kept as [in, out] (transposed once at load from PyTorch's [out, in])
//   because that is the layout the float32 matrix product reads row by row;
// - bf16, int8: weights converted once at load (int8: per output channel) and packed in
//   the layout oneDNN's kernel wants (ops::PackedMatMul); activations converted per call.
// Bias, activation and the fused residual add are float32 in every precision.
class Linear {
 public:
  Linear() = default;
  // Loads "<prefix>.weight" [out, in] and, when with_bias, "<prefix>.bias" [out]. A weight
  // stored as int8 (`mmserve quantize`) is used as it is at int8 and dequantized otherwise.
  static Linear Load(const io::Checkpoint& ckpt, const std::string& prefix, int64_t in, int64_t out, bool with_bias,
                     Precision precision = Precision::kFp32);
  // One layer computing several projections of the same input side by side (e.g. q, k, v).
  static Linear LoadConcatenated(const io::Checkpoint& ckpt, const std::vector<std::string>& prefixes, int64_t in,
                                 int64_t out_each, bool with_bias, Precision precision = Precision::kFp32);

  // From a row-major [out, in] matrix already in memory (e.g. a reshaped convolution kernel).
  static Linear FromOutIn(const float* weight_out_in, int64_t out, int64_t in, const float* bias,
                          Precision precision = Precision::kFp32);
  // From int8 [out, in] weights already quantized per output channel (scales [out]).
  static Linear FromOutInInt8(const int8_t* q_out_in, const float* scales, int64_t out, int64_t in, const float* bias);

  // y[rows, out] = epilogue(x[rows, in] · W + b)
  void Forward(const float* x, int64_t rows, float* y, ops::Epilogue epilogue = {}) const;
  // bf16 layers only: x already in bf16 (a layer norm or a product that wrote bf16), y in
  // float32 or, for ForwardToBf16, rounded to bf16 after the epilogue (no accumulate).
  void Forward(const uint16_t* x, int64_t rows, float* y, ops::Epilogue epilogue = {}) const;
  void ForwardToBf16(const uint16_t* x, int64_t rows, uint16_t* y, ops::Epilogue epilogue = {}) const;

  // int8 layers only: x already quantized (ops::LayerNormToU8), with its scale and zero point.
  void Forward(const uint8_t* x, ops::U8Params x_params, int64_t rows, float* y, ops::Epilogue epilogue = {}) const;
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  Precision precision() const { return precision_; }

 private:
  // Takes the [out, in] weights (float32, or int8 with scales) and keeps them in the
  // form `precision` runs on.
  void SetWeights(const float* weight_out_in, Precision precision);
  void SetInt8Weights(const int8_t* q_out_in, const float* scales);

  int64_t in_ = 0, out_ = 0;
  Precision precision_ = Precision::kFp32;
  Tensor weight_;  // [in, out] F32, fp32 only
  Tensor bias_;    // [out] F32, or empty
  std::shared_ptr<const ops::PackedMatMul> packed_;  // bf16 and int8; shared by copies
};

}  // namespace mms::layers
